"""checkov over terraform/: no failed check, and every skip is inline with its reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.terraform._tf import TERRAFORM_SRC

pytestmark = pytest.mark.terraform

DEFAULT_CHECKOV = Path("/opt/checkov-venv/bin/checkov")


def _checkov() -> str:
    candidates = [os.environ.get("CHECKOV"), str(DEFAULT_CHECKOV), shutil.which("checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI"):
        pytest.fail("checkov is required in CI (set CHECKOV or put it on PATH)")
    pytest.skip("checkov not installed (set CHECKOV or put it on PATH)")


def test_checkov_has_no_failed_checks(tmp_path: Path) -> None:
    checkov = _checkov()
    proc = subprocess.run(
        [
            checkov,
            "--directory",
            str(TERRAFORM_SRC),
            "--framework",
            "terraform",
            "--skip-path",
            r"\.terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert proc.stdout.strip(), proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']})"
        for c in report["results"].get("failed_checks", [])
    ]
    assert summary["failed"] == 0 and not failed, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0

    # Every skip is an inline `#checkov:skip=ID:reason` with a real reason.
    skipped = report["results"].get("skipped_checks", [])
    for check in skipped:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']} has no reason"

    inline = set()
    for path in TERRAFORM_SRC.rglob("*.tf"):
        for match in re.finditer(r"#checkov:skip=(CKV2?_[A-Z]+_\d+):(.*)", path.read_text()):
            assert len(match.group(2).strip()) > 20, f"{path}: {match.group(1)} without reason"
            inline.add(match.group(1))
    assert {c["check_id"] for c in skipped} <= inline
    assert proc.returncode == 0, proc.stderr[-4000:]
