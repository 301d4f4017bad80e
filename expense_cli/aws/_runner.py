"""Running external programs (terraform, docker) with their output streamed line by line.

Everything that starts a process goes through a :class:`Runner`, so tests can swap in a recorder
and assert the exact argv without docker or AWS.

Ctrl-C: the program runs in its own process group, so a terminal's Ctrl-C reaches this process
only; it then sends the program one SIGINT and waits for it to stop. Terraform stops gracefully on
one interrupt (it finishes the calls in flight and writes its state) and immediately on a second
one, and a killed Terraform forgets resources it was creating: they would exist in AWS (and bill)
without being in the state, and the next apply would fail with "already exists". A second Ctrl-C
while waiting kills the program. ``tests/aws/test_runner.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import ConfigError

__all__ = ["Completed", "LineCallback", "Runner", "SubprocessRunner", "require_tool"]

LineCallback = Callable[[str], None]


@dataclass(frozen=True)
class Completed:
    """What a finished command left: exit code and its combined output lines."""

    argv: tuple[str, ...]
    returncode: int
    lines: tuple[str, ...]

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


class Runner(Protocol):
    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        on_line: LineCallback | None = None,
    ) -> Completed: ...


class SubprocessRunner:
    """The real runner: ``env`` is added to this process's environment; stderr joins stdout."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        on_line: LineCallback | None = None,
    ) -> Completed:
        full_env = {**os.environ, **(env or {})}
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=full_env,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                start_new_session=True,  # Ctrl-C reaches this process only: see _stop_gently
            )
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{argv[0]} not found: install it and make sure it is on PATH"
            ) from exc
        lines: list[str] = []
        with proc:  # closes the pipes whatever happens
            try:
                if input is not None and proc.stdin is not None:
                    proc.stdin.write(input)
                    proc.stdin.close()
                assert proc.stdout is not None
                for raw in proc.stdout:
                    line = raw.rstrip("\n")
                    lines.append(line)
                    if on_line is not None:
                        on_line(line)
                returncode = proc.wait()
            except KeyboardInterrupt:
                _stop_gently(proc, str(argv[0]))
                raise
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        return Completed(tuple(argv), returncode, tuple(lines))


def _stop_gently(proc: subprocess.Popen[str], name: str) -> None:
    """Ctrl-C while ``proc`` runs: send it one SIGINT and wait until it exits (its output is
    read and dropped, so it never blocks on a full pipe); a second Ctrl-C kills it."""
    program = os.path.basename(name)
    if proc.poll() is not None:
        return
    print(
        f"interrupted: waiting for {program} to stop cleanly (Terraform saves its state); "
        "press Ctrl-C again to kill it (resources being created may then be left out of the "
        "state)",
        file=sys.stderr,
        flush=True,
    )
    try:
        proc.send_signal(signal.SIGINT)
        if proc.stdout is not None:
            for _line in proc.stdout:
                pass
        proc.wait()
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()


def require_tool(name: str, advice: str) -> str:
    """The full path of ``name`` on PATH, or ConfigError("<name> not found: <advice>")."""
    path = shutil.which(name)
    if path is None:
        raise ConfigError(f"{name} not found: {advice}")
    return path
