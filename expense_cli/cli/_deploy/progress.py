"""The terminal of the deployment commands: progress on stderr, results on stdout.

Progress is a rich spinner (or a resources-done bar for ``terraform apply``/``destroy``) with the
elapsed time; without a terminal (CI logs) it degrades to one line per finished step or resource.
Text that comes from outside (Terraform and docker output, names) is never read as rich markup.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:
    from ...aws import ApplyProgress

__all__ = ["apply_with_progress", "err", "out", "step"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _spinner_columns() -> list[Any]:
    return [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()]


@contextlib.contextmanager
def step(description: str) -> Iterator[Callable[[str], None]]:
    """A spinner with elapsed time; yields ``update(text)`` to show the latest output line."""
    started = time.monotonic()
    label = escape(description)
    with Progress(
        *_spinner_columns(), console=err, transient=True, disable=not err.is_terminal
    ) as progress:
        task = progress.add_task(label)

        def update(line: str) -> None:
            text = " ".join(line.split())
            if text:
                progress.update(task, description=f"{label}: [dim]{escape(text[:90])}[/dim]")

        yield update
    err.print(f"[green]✓[/green] {label} ({time.monotonic() - started:.0f} s)")


def apply_with_progress(
    description: str, run: Callable[[Callable[[ApplyProgress], None]], ApplyProgress]
) -> ApplyProgress:
    """A bar of resources done / planned, the one in progress, and elapsed time."""
    started = time.monotonic()
    columns = [*_spinner_columns()[:2], BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    label = escape(description)
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(label, total=None)
        last_done = [0]

        def update(state: ApplyProgress) -> None:
            if progress.disable and state.done > last_done[0]:
                # No live display (not a terminal, e.g. CI logs): one line per finished resource.
                last_done[0] = state.done
                err.print(f"  {state.current} ({state.done}/{state.total})", markup=False)
            progress.update(
                task,
                total=state.total,
                completed=state.done,
                description=f"{label}: [dim]{escape(state.current[:80])}[/dim]",
            )

        final = run(update)
    err.print(
        f"[green]✓[/green] {label}: {final.done} resource change(s) "
        f"({time.monotonic() - started:.0f} s)"
    )
    return final
