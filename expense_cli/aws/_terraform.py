"""Terraform runner: init / plan / apply / destroy / output on a private copy of the stack.

Where the stack comes from (first that exists): ``$EXPENSE_TERRAFORM_DIR``, then the ``terraform/``
folder shipped inside the installed package or of the source checkout this package runs from
(``expense_cli/_assets.py``). It is copied into
``<project>/.expense/terraform/module`` before every command, so Terraform never writes into the
source tree (no ``.terraform/``, lock file or state there); ``TF_DATA_DIR`` keeps providers next
to that copy, in the project's ``.expense/terraform``.

State: a ``backend.tf`` is written beside the copy. By default it is ``backend "local" {}``,
configured at init with ``-backend-config=path=.expense/terraform/terraform.tfstate`` (no
deprecated ``-state`` flag); with :class:`S3Backend` (``deploy --state-bucket``) it is
``backend "s3" {}`` with bucket, key, region and locking (``use_lockfile``, or a DynamoDB table)
given at init, so a team and CI share one state. Terraform runs under umask 077 and the files of
``.expense/terraform`` are set to 0600 (folders 0700) after every command: state, plans and logs
are the owner's only.

``apply`` and ``destroy`` first save a plan (``plan -json -out``) whose change summary is the
progress bar's total, then apply that plan with ``-json``, reporting resources done and the one
being worked on through a callback; the full output goes to a ``.log`` file beside the state, and
a failure raises :class:`TerraformError` with Terraform's first error message. An apply that runs
past ``timeout_s`` is stopped with an error naming the resource it was still working on.
"""

from __future__ import annotations

import json
import os
import shutil
import time
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
    "S3Backend",
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
    "backend.tf",
)
_FINISH = (
    "run `expense-cli status` to see what exists, then `expense-cli deploy` to finish or "
    "`expense-cli destroy` to remove it"
)


class TerraformError(ExpenseError):
    """Terraform exited with an error."""

    code = "terraform_failed"


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
class S3Backend:
    """A shared state in S3 (``backend "s3"``): locked with an S3 lock file (Terraform >= 1.10)
    unless a DynamoDB ``lock_table`` is named."""

    bucket: str
    key: str = "expense/terraform.tfstate"
    region: str | None = None
    lock_table: str | None = None
    extra: tuple[str, ...] = ()  # more KEY=VALUE settings (S3-compatible stores: use_path_style)

    def init_args(self) -> list[str]:
        args = [f"-backend-config=bucket={self.bucket}", f"-backend-config=key={self.key}"]
        if self.region:
            args.append(f"-backend-config=region={self.region}")
        if self.lock_table:
            args.append(f"-backend-config=dynamodb_table={self.lock_table}")
        else:
            args.append("-backend-config=use_lockfile=true")
        args.append("-backend-config=encrypt=true")
        args.extend(f"-backend-config={item}" for item in self.extra)
        return args

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class ApplyProgress:
    """Where an apply/destroy stands: ``done`` of ``total`` changes, working on ``current``."""

    done: int
    total: int | None
    current: str
    action: str  # "apply" or "destroy"


class _ProgressParser:
    """Turns ``terraform apply -json`` lines into ApplyProgress updates and error messages."""

    def __init__(
        self,
        action: str,
        callback: Callable[[ApplyProgress], None] | None,
        total: int | None = None,
        timeout_s: float | None = None,
        started: float | None = None,
    ) -> None:
        self.action = action
        self.callback = callback
        self.total: int | None = total
        self.done = 0  # resources finished, failed ones included (the progress bar)
        self.made = 0  # changes that were made (a failed create made nothing)
        self.current = "planning"
        self.errors: list[str] = []
        self._planned = 0
        start = time.monotonic() if started is None else started
        self._deadline = None if timeout_s is None else start + timeout_s
        self._timeout_s = timeout_s

    def _check_time(self) -> None:
        """Stop (the runner kills terraform) once past the deadline, naming the resource in
        progress: Terraform prints ``apply_progress`` every 10 s while it waits on one."""
        if self._deadline is None or time.monotonic() < self._deadline:
            return
        raise TerraformError(
            f"terraform {self.action} did not finish within {self._timeout_s:.0f} s: still at "
            f"{self.current!r} ({self.done}/{self.total if self.total is not None else '?'} "
            "done); the AWS API may be slow or may not support this resource (an emulator?): "
            + _FINISH
            + " (with --state-bucket, `terraform force-unlock` may be needed first)"
        )

    def _emit(self) -> None:
        if self.callback is not None:
            self.callback(ApplyProgress(self.done, self.total, self.current, self.action))

    def __call__(self, line: str) -> None:
        if self._parse(line) == "apply_progress":
            self._check_time()  # the heartbeat of a resource Terraform is still waiting on

    def _parse(self, line: str) -> object:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            if line.strip():
                self.current = line.strip()[:120]
                self._emit()
            return None
        kind = event.get("type")
        hook = event.get("hook") or {}
        addr = str((hook.get("resource") or {}).get("addr", ""))
        if kind == "planned_change":
            self._planned += 1
            return None
        elif kind == "change_summary":
            changes = event.get("changes") or {}
            if changes.get("operation") in ("plan", "destroy") and self.total is None:
                self.total = int(changes.get("add", 0)) + int(changes.get("change", 0))
                self.total += int(changes.get("remove", 0))
        elif kind == "apply_start":
            if self.total is None and hook.get("action") != "read":
                self.total = self._planned
            self.current = f"{hook.get('action', 'apply')} {addr}"
        elif kind == "apply_progress":
            elapsed = hook.get("elapsed_seconds")
            self.current = f"{hook.get('action', 'apply')} {addr} ({elapsed}s)"
        elif kind in ("apply_complete", "apply_errored"):
            # data sources are read (action "read") while planning and applying: not changes
            change = hook.get("action") != "read"
            self.done += change
            self.made += change and kind == "apply_complete"
            self.current = f"{'done' if kind == 'apply_complete' else 'FAILED'} {addr}"
        elif kind == "diagnostic" and event.get("@level") == "error":
            diagnostic = event.get("diagnostic") or {}
            summary = str(diagnostic.get("summary", "")).strip()
            detail = " ".join(str(diagnostic.get("detail", "")).split())
            self.errors.append(f"{summary}: {detail}" if detail else summary)
            return None
        else:
            return kind
        self._emit()
        return kind


class Terraform:
    """The stack for one project directory (``<project>/.expense/terraform``)."""

    def __init__(
        self,
        project_dir: Path | None = None,
        *,
        source: Path | None = None,
        runner: Runner | None = None,
        env: Mapping[str, str] | None = None,
        backend: S3Backend | None = None,
    ) -> None:
        self.binary = require_tool("terraform", _INSTALL)
        self.source = source or find_terraform_source()
        self.root = state_dir(project_dir).resolve() / "terraform"
        self.module = self.root / "module"
        self.state = self.root / "terraform.tfstate"
        self.var_file = self.root / "expense.tfvars.json"
        self.plan_file = self.root / "apply.tfplan"
        self.backend = backend
        self.runner: Runner = runner or SubprocessRunner()
        self.env: dict[str, str] = {
            "TF_DATA_DIR": str(self.root / "data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            **(env or {}),
        }

    # --- set-up -------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Copy the stack into ``module/`` (keeping the lock file Terraform wrote there before)
        and write its ``backend.tf``."""
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
        kind = "s3" if self.backend is not None else "local"
        (self.module / "backend.tf").write_text(
            f"# Written by expense-cli: the state's place is given at init (-backend-config).\n"
            f'terraform {{\n  backend "{kind}" {{}}\n}}\n'
        )
        source_lock = self.source / ".terraform.lock.hcl"
        if source_lock.is_file():
            shutil.copy2(source_lock, lock)
        elif kept is not None:
            lock.write_text(kept)
        self.fix_modes()

    def write_vars(self, variables: Mapping[str, Any]) -> Path:
        """Write the variables file (0600: it may name secrets' parameters) and return its path."""
        write_private(self.var_file, json.dumps(dict(variables), indent=2, sort_keys=True) + "\n")
        return self.var_file

    def fix_modes(self) -> None:
        """Folders of ``.expense/terraform`` 0700, files 0600 (Terraform writes its state and
        lock files with its own modes; providers stay executable for their owner only)."""
        if not self.root.is_dir():
            return
        os.chmod(self.root, 0o700)
        for path in self.root.rglob("*"):
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            if path.is_dir():
                os.chmod(path, 0o700)
            else:
                os.chmod(path, 0o700 if mode & 0o100 else 0o600)

    # --- commands -----------------------------------------------------------------------------

    def _run(
        self, args: Sequence[str], log_name: str, on_line: LineCallback | None = None
    ) -> Completed:
        old = os.umask(0o077)  # the state, plan and lock files terraform writes: owner only
        try:
            result = self.runner(
                [self.binary, *args], cwd=self.module, env=self.env, on_line=on_line
            )
        finally:
            os.umask(old)
            self.fix_modes()
        write_private(self.root / f"{log_name}.log", result.output + "\n")
        return result

    def _fail(
        self, what: str, result: Completed, errors: Sequence[str] = (), then: str = ""
    ) -> TerraformError:
        log = self.root / f"{what}.log"
        first = next(iter(errors), None)
        if first is None:
            tail = [line.strip().lstrip("│ ") for line in result.lines if line.strip()]
            errs = [i for i, line in enumerate(tail) if line.startswith("Error:")]
            at = errs[-1] if errs else len(tail) - 1
            first = tail[at] if tail else f"exit code {result.returncode}"
            if first.endswith(":"):  # "Error: ... 2 problems:" and its "- ..." lines
                items = [line for line in tail[at + 1 :] if line.startswith("- ")]
                first = " ".join([first, *items])[:600]
        return TerraformError(f"terraform {what} failed: {first} (full output in {log}){then}")

    def _backend_args(self) -> list[str]:
        if self.backend is None:
            # Local state at the same path as before (-reconfigure: only its place is given).
            return ["-reconfigure", f"-backend-config=path={self.state}"]
        # A local state left by an earlier deploy is copied into the bucket the first time.
        return ["-migrate-state", "-force-copy", *self.backend.init_args()]

    def init(self, on_line: LineCallback | None = None) -> None:
        if self.backend is None:
            self.state_resources()  # a damaged state file: one clear error, before terraform
        self.prepare()
        args = ["init", "-input=false", "-no-color", *self._backend_args()]
        result = self._run(args, "init", on_line)
        if result.returncode != 0:
            raise self._fail("init", result)

    def _var_args(self) -> list[str]:
        return [f"-var-file={self.var_file}"]

    def plan(self, on_line: LineCallback | None = None) -> Completed:
        result = self._run(
            ["plan", "-input=false", "-no-color", *self._var_args()], "plan", on_line
        )
        if result.returncode != 0:
            raise self._fail("plan", result)
        return result

    def _saved_plan(self, verb: str, extra: Sequence[str]) -> int:
        """``terraform plan -json -out`` for ``verb``; the number of changes it holds."""
        summary = _ProgressParser(verb, None)
        mode = ["-destroy"] if verb == "destroy" else []
        args = ["plan", "-input=false", "-json", *mode, f"-out={self.plan_file}"]
        result = self._run([*args, *self._var_args(), *extra], f"{verb}-plan", summary)
        if result.returncode != 0:
            raise self._fail(f"{verb}-plan", result, summary.errors)
        return summary.total if summary.total is not None else summary._planned

    def _apply(
        self,
        verb: str,
        extra: Sequence[str],
        progress: Callable[[ApplyProgress], None] | None,
        timeout_s: float | None,
    ) -> ApplyProgress:
        started = time.monotonic()
        total = self._saved_plan(verb, extra)
        parser = _ProgressParser(verb, progress, total, timeout_s, started)
        parser._emit()
        args = ["apply", "-input=false", "-auto-approve", "-json", str(self.plan_file)]
        try:
            result = self._run(args, verb, parser)
        except TerraformError:
            self._drop_lock()  # the timeout killed terraform: its local lock is stale
            raise
        finally:
            self.plan_file.unlink(missing_ok=True)
        if result.returncode != 0:
            then = (
                f"; {parser.made} of {total} change(s) were made: {_FINISH}" if parser.made else ""
            )
            raise self._fail(verb, result, parser.errors, then)
        return ApplyProgress(parser.done, total, "complete", verb)

    def apply(
        self,
        *,
        targets: Sequence[str] = (),
        progress: Callable[[ApplyProgress], None] | None = None,
        timeout_s: float | None = None,
    ) -> ApplyProgress:
        """``terraform apply`` (of ``targets`` only, when given); returns the final progress."""
        return self._apply("apply", [f"-target={t}" for t in targets], progress, timeout_s)

    def destroy(
        self,
        progress: Callable[[ApplyProgress], None] | None = None,
        timeout_s: float | None = None,
    ) -> ApplyProgress:
        return self._apply("destroy", [], progress, timeout_s)

    def _drop_lock(self) -> None:
        """Remove the local state's lock file left by a terraform this process killed (an S3
        lock expires only with ``terraform force-unlock``: the timeout message says so)."""
        if self.backend is None:
            (self.state.parent / f".{self.state.name}.lock.info").unlink(missing_ok=True)

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs as plain values (``{}`` when nothing is deployed)."""
        result = self._run(["output", "-json"], "output")
        if result.returncode != 0:
            raise self._fail("output", result)
        text = result.output.strip()
        start = text.find("{")
        data = json.loads(text[start:]) if start >= 0 else {}
        return {str(k): v.get("value") for k, v in data.items() if isinstance(v, dict)}

    def state_resources(self) -> list[dict[str, Any]]:
        """Resources in the state (``[]`` when there is none): the local file read directly, or
        ``terraform state pull`` of the S3 state (after :meth:`init`)."""
        if self.backend is None:
            if not self.state.is_file():
                return []
            text = self.state.read_text(encoding="utf-8", errors="replace")
            where = str(self.state)
        else:
            result = self._run(["state", "pull"], "state")
            if result.returncode != 0:
                raise self._fail("state pull", result)
            # `state pull` prints nothing for an empty state, and may print warnings before it
            text = result.output[max(result.output.find("{"), 0) :]
            where = self.backend.where
        return _parse_state(text, where)

    def has_state(self) -> bool:
        return any(r.get("instances") for r in self.state_resources())


def _parse_state(text: str, where: str) -> list[dict[str, Any]]:
    """The resources of a state file's text; empty text is no state (as for Terraform). A state
    that is not a JSON object with a resource list (a truncated copy, a file overwritten by
    something else) is a ConfigError saying where it is and what to do: never an empty state
    (that would make `destroy` say "nothing to destroy" while resources exist) nor a crash."""
    if not text.strip():
        return []
    cause: ValueError | None = None
    try:
        data = json.loads(text)
    except ValueError as exc:
        data, cause = None, exc
    reason = "not valid JSON" if cause is not None else "not a Terraform state"
    resources = (data.get("resources") or []) if isinstance(data, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        backup = (
            ""
            if "://" in where
            else f", e.g. from {where}.backup (the state before the last change)"
        )
        raise _config_error(
            f"the Terraform state {where} is damaged ({reason}): restore it{backup}; "
            "until then expense-cli cannot tell what is deployed"
        ) from cause
    return resources
