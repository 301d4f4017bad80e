"""Terraform runner: init / plan / apply / destroy / output on a private copy of the stack.

Where the stack comes from (first that exists): ``$EXPENSE_TERRAFORM_DIR``, then the ``terraform/``
folder shipped inside the installed package or of the source checkout this package runs from
(``expense_cli/_assets.py``). It is copied into
``<project>/.expense/terraform/module`` before every command, so Terraform never writes into the
source tree (no ``.terraform/``, lock file or state there); ``TF_DATA_DIR`` and ``-state`` keep
providers and state next to that copy, in the project's ``.expense/terraform``.

``apply`` and ``destroy`` run with ``-json`` and report progress (planned changes, resources done,
the one being worked on) through a callback; the full output goes to a ``.log`` file beside the
state, and a failure raises :class:`TerraformError` with Terraform's first error message.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._assets import asset_root
from ..errors import ExpenseError
from ._config import state_dir, write_private
from ._runner import Completed, LineCallback, Runner, SubprocessRunner, require_tool

__all__ = [
    "ApplyProgress",
    "Terraform",
    "TerraformError",
    "find_terraform_source",
]

TERRAFORM_DIR_ENV = "EXPENSE_TERRAFORM_DIR"
_INSTALL = (
    "install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install) "
    "and put it on PATH"
)
_IGNORE = (
    ".terraform",
    ".terraform.lock.hcl",
    "*.tfstate",
    "*.tfstate.*",
    "terraform.tfvars",
    "terraform.tfvars.json",
    "*.auto.tfvars",
    "*.auto.tfvars.json",
    "examples",
    "tests",
    "cli",
    "__pycache__",
    ".gitignore",
)


class TerraformError(ExpenseError):
    """Terraform exited with an error."""

    code = "terraform_failed"
    status = 502


def find_terraform_source() -> Path:
    """The Terraform root stack: ``$EXPENSE_TERRAFORM_DIR``, else the ``terraform/`` shipped with
    this package or of its checkout (``expense_cli/_assets.py``)."""
    configured = os.environ.get(TERRAFORM_DIR_ENV)
    if configured:
        path = Path(configured).expanduser()
        if not (path / "main.tf").is_file():
            raise _config_error(
                f"{TERRAFORM_DIR_ENV}={configured} has no main.tf: point it at the terraform/ "
                "folder of the expense repository"
            )
        return path
    shipped = asset_root() / "terraform"  # in the installed package, or the checkout's
    if (shipped / "main.tf").is_file():
        return shipped
    raise _config_error(
        f"the Terraform stack was not found in {shipped}: reinstall expense-cli, or set "
        f"{TERRAFORM_DIR_ENV} to the terraform/ folder of a checkout of the expense repository"
    )


def _config_error(message: str) -> ExpenseError:
    from ..errors import ConfigError

    return ConfigError(message)


@dataclass(frozen=True)
class ApplyProgress:
    """Where an apply/destroy stands: ``done`` of ``total`` changes, working on ``current``."""

    done: int
    total: int | None
    current: str
    action: str  # "apply" or "destroy"


class _ProgressParser:
    """Turns ``terraform apply -json`` lines into ApplyProgress updates and error messages."""

    def __init__(self, action: str, callback: Callable[[ApplyProgress], None] | None) -> None:
        self.action = action
        self.callback = callback
        self.total: int | None = None
        self.done = 0
        self.current = "planning"
        self.errors: list[str] = []
        self._planned = 0

    def _emit(self) -> None:
        if self.callback is not None:
            self.callback(ApplyProgress(self.done, self.total, self.current, self.action))

    def __call__(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            if line.strip():
                self.current = line.strip()[:120]
                self._emit()
            return
        kind = event.get("type")
        hook = event.get("hook") or {}
        addr = str((hook.get("resource") or {}).get("addr", ""))
        if kind == "planned_change":
            self._planned += 1
            return
        elif kind == "change_summary":
            changes = event.get("changes") or {}
            if changes.get("operation") in ("plan", "destroy") and self.total is None:
                self.total = int(changes.get("add", 0)) + int(changes.get("change", 0))
                self.total += int(changes.get("remove", 0))
        elif kind == "apply_start":
            if self.total is None:
                self.total = self._planned
            self.current = f"{hook.get('action', 'apply')} {addr}"
        elif kind == "apply_progress":
            elapsed = hook.get("elapsed_seconds")
            self.current = f"{hook.get('action', 'apply')} {addr} ({elapsed}s)"
        elif kind in ("apply_complete", "apply_errored"):
            self.done += 1
            self.current = f"{'done' if kind == 'apply_complete' else 'FAILED'} {addr}"
        elif kind == "diagnostic" and event.get("@level") == "error":
            diagnostic = event.get("diagnostic") or {}
            summary = str(diagnostic.get("summary", "")).strip()
            detail = " ".join(str(diagnostic.get("detail", "")).split())
            self.errors.append(f"{summary}: {detail}" if detail else summary)
            return
        else:
            return
        self._emit()


class Terraform:
    """The stack for one project directory (``<project>/.expense/terraform``)."""

    def __init__(
        self,
        project_dir: Path | None = None,
        *,
        source: Path | None = None,
        runner: Runner | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.binary = require_tool("terraform", _INSTALL)
        self.source = source or find_terraform_source()
        self.root = state_dir(project_dir).resolve() / "terraform"
        self.module = self.root / "module"
        self.state = self.root / "terraform.tfstate"
        self.var_file = self.root / "expense.tfvars.json"
        self.runner: Runner = runner or SubprocessRunner()
        self.env: dict[str, str] = {
            "TF_DATA_DIR": str(self.root / "data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            **(env or {}),
        }

    # --- set-up -------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Copy the stack into ``module/`` (keeping the lock file Terraform wrote there before)."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root.parent, 0o700)
        lock = self.module / ".terraform.lock.hcl"
        kept = lock.read_text() if lock.is_file() else None
        if self.module.exists():
            shutil.rmtree(self.module)
        shutil.copytree(self.source, self.module, ignore=shutil.ignore_patterns(*_IGNORE))
        # The stack has no provider block (terraform-aws-modules style): add the root's own.
        providers = self.source / "cli" / "providers.tf"
        if providers.is_file():
            shutil.copy2(providers, self.module / "providers.tf")
        source_lock = self.source / ".terraform.lock.hcl"
        if source_lock.is_file():
            shutil.copy2(source_lock, lock)
        elif kept is not None:
            lock.write_text(kept)

    def write_vars(self, variables: Mapping[str, Any]) -> Path:
        """Write the variables file (0600: it may name secrets' parameters) and return its path."""
        write_private(self.var_file, json.dumps(dict(variables), indent=2, sort_keys=True) + "\n")
        return self.var_file

    # --- commands -----------------------------------------------------------------------------

    def _run(
        self, args: Sequence[str], log_name: str, on_line: LineCallback | None = None
    ) -> Completed:
        result = self.runner([self.binary, *args], cwd=self.module, env=self.env, on_line=on_line)
        write_private(self.root / f"{log_name}.log", result.output + "\n")
        return result

    def _fail(self, what: str, result: Completed, errors: Sequence[str] = ()) -> TerraformError:
        log = self.root / f"{what}.log"
        first = next(iter(errors), None)
        if first is None:
            tail = [line.strip() for line in result.lines if line.strip()]
            errs = [line for line in tail if line.startswith(("Error:", "│ Error:"))]
            first = (errs or tail or [f"exit code {result.returncode}"])[-1].lstrip("│ ")
        return TerraformError(f"terraform {what} failed: {first} (full output in {log})")

    def init(self, on_line: LineCallback | None = None) -> None:
        self.prepare()
        result = self._run(["init", "-input=false", "-no-color"], "init", on_line)
        if result.returncode != 0:
            raise self._fail("init", result)

    def _var_args(self) -> list[str]:
        return [f"-var-file={self.var_file}", f"-state={self.state}"]

    def plan(self, on_line: LineCallback | None = None) -> Completed:
        result = self._run(
            ["plan", "-input=false", "-no-color", *self._var_args()], "plan", on_line
        )
        if result.returncode != 0:
            raise self._fail("plan", result)
        return result

    def _apply(
        self, verb: str, extra: Sequence[str], progress: Callable[[ApplyProgress], None] | None
    ) -> ApplyProgress:
        parser = _ProgressParser(verb, progress)
        args = [verb, "-input=false", "-auto-approve", "-json", *self._var_args(), *extra]
        result = self._run(args, verb, parser)
        if result.returncode != 0:
            raise self._fail(verb, result, parser.errors)
        return ApplyProgress(parser.done, parser.total, "complete", verb)

    def apply(
        self,
        *,
        targets: Sequence[str] = (),
        progress: Callable[[ApplyProgress], None] | None = None,
    ) -> ApplyProgress:
        """``terraform apply`` (of ``targets`` only, when given); returns the final progress."""
        return self._apply("apply", [f"-target={t}" for t in targets], progress)

    def destroy(self, progress: Callable[[ApplyProgress], None] | None = None) -> ApplyProgress:
        return self._apply("destroy", [], progress)

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs as plain values (``{}`` when nothing is deployed)."""
        result = self._run(["output", "-json", f"-state={self.state}"], "output")
        if result.returncode != 0:
            raise self._fail("output", result)
        text = result.output.strip()
        start = text.find("{")
        data = json.loads(text[start:]) if start >= 0 else {}
        return {str(k): v.get("value") for k, v in data.items() if isinstance(v, dict)}

    def state_resources(self) -> list[dict[str, Any]]:
        """Resources in the state file (``[]`` when there is none), read directly from JSON."""
        if not self.state.is_file():
            return []
        data = json.loads(self.state.read_text())
        resources: list[dict[str, Any]] = data.get("resources") or []
        return resources

    def has_state(self) -> bool:
        return any(r.get("instances") for r in self.state_resources())
