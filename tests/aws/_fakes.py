"""Test doubles shared by tests/aws and tests/cli/test_deploy.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from expense_cli.aws import Completed


@dataclass
class Call:
    argv: list[str]
    cwd: Path | None
    env: dict[str, str]
    input: str | None


@dataclass
class RecordingRunner:
    """Records every command instead of running it.

    ``results`` maps an argv prefix (after the program name, e.g. ``("buildx", "version")``) to
    ``(returncode, output lines)``; the first matching prefix wins, anything else succeeds with no
    output. ``on_call`` may inspect the call (e.g. the build context while it still exists).
    """

    results: dict[tuple[str, ...], tuple[int, list[str]]] = field(default_factory=dict)
    on_call: Callable[[Call], None] | None = None
    calls: list[Call] = field(default_factory=list)

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Completed:
        call = Call(list(argv), cwd, dict(env or {}), input)
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        code, lines = 0, list[str]()
        for prefix, result in self.results.items():
            if tuple(argv[1 : 1 + len(prefix)]) == prefix:
                code, lines = result
                break
        for line in lines:
            if on_line is not None:
                on_line(line)
        return Completed(tuple(argv), code, tuple(lines))

    def commands(self) -> list[list[str]]:
        """Every argv with the program reduced to its name (``/usr/bin/docker`` → ``docker``)."""
        return [[Path(c.argv[0]).name, *c.argv[1:]] for c in self.calls]
