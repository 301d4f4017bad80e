"""Running external programs (terraform, docker) with their output streamed line by line.

Everything that starts a process goes through a :class:`Runner`, so tests can swap in a recorder
and assert the exact argv without docker or AWS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        return Completed(tuple(argv), returncode, tuple(lines))


def require_tool(name: str, advice: str) -> str:
    """The full path of ``name`` on PATH, or ConfigError("<name> not found: <advice>")."""
    path = shutil.which(name)
    if path is None:
        raise ConfigError(f"{name} not found: {advice}")
    return path
