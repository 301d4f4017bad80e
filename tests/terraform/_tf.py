"""Helpers for the Terraform tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_SRC = REPO_ROOT / "terraform"
OFFLINE_CONFIG = REPO_ROOT.parent / "shared" / "tf-offline-config"

TfRunner = Callable[..., subprocess.CompletedProcess[str]]


def missing(what: str) -> None:
    """Skip on a developer machine without the tool; fail in CI, where it must be installed."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI but was not found")
    pytest.skip(f"{what} not found")


def copy_terraform_tree(dest: Path) -> Path:
    """Copy terraform/ (without working data or state) to dest/terraform and return that path."""
    target = dest / "terraform"
    shutil.copytree(
        TERRAFORM_SRC,
        target,
        ignore=shutil.ignore_patterns(
            ".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "*.tfplan"
        ),
    )
    return target


def copy_root_stack(dest: Path) -> Path:
    """Copy terraform/ with ``cli/providers.tf`` beside it, as expense-cli runs the stack.

    The stack itself has no provider block (terraform-aws-modules style); expense_cli/aws/
    _terraform.py adds ``terraform/cli/providers.tf`` to its copy the same way.
    """
    target = copy_terraform_tree(dest)
    shutil.copy2(TERRAFORM_SRC / "cli" / "providers.tf", target / "providers.tf")
    return target


def make_runner(terraform: str, base_env: dict[str, str], data_root: Path) -> TfRunner:
    """A function running ``terraform -chdir=<dir> ARGS`` with a per-directory TF_DATA_DIR."""

    def run(
        workdir: Path,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 300,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        data_dir = data_root / (str(workdir).strip("/").replace("/", "_") or "root")
        full_env = {**base_env, **(env or {}), "TF_DATA_DIR": str(data_dir)}
        proc = subprocess.run(
            [terraform, f"-chdir={workdir}", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} in {workdir} exited {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
            )
        return proc

    return run
