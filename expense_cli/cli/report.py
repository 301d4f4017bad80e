"""`expense-cli report`: a folder of receipts → an expense report (XLSX, CSV or JSON)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..errors import BadRequest
from ._options import LangOpt, LocalOpt, ModelOpt, RevisionOpt, ServerOpt, resolve_target

if TYPE_CHECKING:
    from ..aws import AsyncQueue
    from ..report import ReportResult, Row
    from ..targets import Target

__all__ = ["app"]

app = typer.Typer()

PathsArg = Annotated[
    list[Path],
    typer.Argument(
        metavar="FOLDER_OR_FILE",
        help="Folders (searched recursively; hidden entries skipped) and files. "
        "Images and PDFs are found by their content; files named like one (.pdf, .jpg, ...) "
        "that are not become error rows.",
    ),
]
OutOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="The report: .xlsx (Receipts + Summary sheets), .csv (+ NAME.summary.csv) or .json. "
        "An existing report is resumed.",
    ),
]
MinScoreOpt = Annotated[
    float,
    typer.Option(
        "--min-score",
        min=0.0,
        max=1.0,
        help="Fields scored below this are listed in the low_confidence column "
        "(they stay in the totals; the summary says how much rests on them).",
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Recompute every document instead of resuming the report."),
]
DropDuplicatesOpt = Annotated[
    bool,
    typer.Option(
        "--drop-duplicates",
        help="Confirm every likely duplicate (possible_duplicate_of: same merchant, date and "
        "total, different bytes): leave it out of the totals. Without it they stay in the "
        "totals; a row whose duplicate_of you set to its possible_duplicate_of stays confirmed.",
    ),
]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        "-j",
        min=1,
        help="Documents in flight at once for --server / the deployed URL "
        "(default: the target's own). --local runs one at a time.",
    ),
]
AsyncOpt = Annotated[
    bool,
    typer.Option(
        "--async",
        help="Send the documents through the deployment's asynchronous endpoint (uploaded once "
        "to S3, results collected as they land; large PDFs welcome). Chosen automatically for "
        "a deployment made with `expense-cli deploy --async`.",
    ),
]


class _Bar:
    """A rich progress bar (with ETA) on stderr, fed by the report run."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("•"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[queue]}", style="cyan"),
            TextColumn("{task.fields[last]}", style="dim"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("receipts", total=None, last="", queue="", start=False)
        self._waking = False
        self.started = False  # drawn (start() called): the run has begun reading documents

    def __enter__(self) -> _Bar:
        return self  # drawn from start(): an early error (a locked --out) stays one line

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.started:  # stopping a bar never drawn prints a blank line before the error
            self._progress.stop()

    def start(self, total: int) -> None:
        self.started = True
        self._progress.start()
        self._progress.update(self._task, total=total)
        self._progress.start_task(self._task)

    def queue(self, queue: AsyncQueue) -> None:
        """The asynchronous endpoint's queue (``expense_cli/aws/_async.py``), from any thread."""
        waiting = queue.queued + queue.uploading
        self._progress.update(self._task, queue=f"queue {waiting}" if waiting else "")
        if queue.waking and not self._waking:
            self._progress.console.print(
                "[yellow]the endpoint has no instance running:[/yellow] it is starting one for "
                "the queued documents (this takes a few minutes; they wait safely in S3)"
            )
        elif self._waking and queue.instances:
            self._progress.console.print(f"the endpoint is up ({queue.instances} instances)")
        self._waking = queue.waking if queue.instances is not None else self._waking

    def advance(self, row: Row) -> None:
        # row.file is already in the display form of report/_names.py (no control characters)
        last = escape(Path(row.file).name) + (" [red](error)[/red]" if row.error else "")
        self._progress.update(self._task, advance=1, last=last)


def _print_result(console: Console, result: ReportResult) -> None:
    from ..report import display_name, summary_path

    found = result.collected
    parts = [f"{len(found.documents)} documents"]
    if result.processed:
        parts.append(f"{result.processed} processed")
    if result.reused:
        parts.append(f"{result.reused} already done")
    if result.duplicates:
        parts.append(f"{result.duplicates} duplicates (not in totals)")
    if found.skipped:
        parts.append(f"{found.skipped} non-documents skipped")
    if found.hidden:
        parts.append(f"{found.hidden} hidden files skipped")
    if found.unreadable_folders:
        parts.append(
            f"{len(found.unreadable_folders)} unreadable folders skipped "
            f"(first: {found.unreadable_folders[0]})"
        )
    if result.dropped:
        parts.append(f"{result.dropped} old rows no longer in the input dropped")
    written = display_name(result.out)
    if result.out.suffix.lower() == ".csv":
        written += f" (+ {display_name(summary_path(result.out).name)})"
    console.print(escape(f"wrote {written}: " + ", ".join(parts)))
    summary = result.summary
    if summary.by_currency:
        table = Table("currency", "documents", "total", "tax", "low-confidence total")
        for c in summary.by_currency:
            low = f"{c.low_confidence_total} ({c.low_confidence})" if c.low_confidence else ""
            cells = (c.currency or "(none)", str(c.documents), str(c.total), str(c.tax), low)
            table.add_row(*(Text(cell) for cell in cells))
        console.print(table)
    if summary.without_total:
        console.print(f"[yellow]{summary.without_total} documents without a total[/yellow]")
    if summary.low_confidence:
        console.print(
            f"[yellow]{summary.low_confidence} documents have low-confidence fields "
            "(see the low_confidence column)[/yellow]"
        )
    if summary.possible_duplicates:
        console.print(
            f"[yellow]{summary.possible_duplicates} likely duplicates kept in the totals[/yellow] "
            "(see possible_duplicate_of; --drop-duplicates leaves them out)"
        )
    if summary.errors:
        console.print(
            f"[red]{summary.errors} documents failed[/red] (see the error column; "
            "they are retried when you run the command again)"
        )


def _async_target() -> Target:
    """The asynchronous endpoint of the deployment in this directory (``--async``)."""
    from ..aws import async_target, load_config

    return async_target(load_config(Path.cwd()))


@app.command()
def report(
    paths: PathsArg,
    out: OutOpt = Path("report.xlsx"),
    local: LocalOpt = False,
    server: ServerOpt = None,
    model: ModelOpt = None,
    revision: RevisionOpt = None,
    lang: LangOpt = None,
    min_score: MinScoreOpt = 0.5,
    force: ForceOpt = False,
    drop_duplicates: DropDuplicatesOpt = False,
    concurrency: ConcurrencyOpt = None,
    async_: AsyncOpt = False,
) -> None:
    """Turn a folder of receipts (images, PDFs) into an expense report with monthly totals.

    Totals are per currency and month. Re-running resumes: documents already in the report are
    skipped."""
    from ..report import (  # PIL, openpyxl: only when it runs
        build_report,
        check_writable,
        display_name,
    )

    check_writable(out)  # before anything slow: a bad --out is a one-line error
    if async_ and (local or server or model or revision or lang):
        raise BadRequest("--async sends to the deployment: drop --local/--server/--model/--lang")
    if async_:
        target = _async_target()
    elif lang:
        target = resolve_target(local, server, model, revision, lang)
    else:  # the 4-argument call, as before --lang
        target = resolve_target(local, server, model, revision)
    stdout = Console(highlight=False, soft_wrap=True)
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    bar = _Bar(stderr)
    try:
        with bar:
            if hasattr(target, "on_change"):  # the asynchronous endpoint: show its queue
                target.on_change = bar.queue
            result = build_report(
                paths,
                out,
                target,
                min_score=min_score,
                force=force,
                drop_duplicates=drop_duplicates,
                concurrency=concurrency,
                progress=bar,
            )
    except KeyboardInterrupt:
        shown = escape(display_name(out))
        if bar.started:  # build_report writes a partial report once it has started (_run.py)
            said = f"partial report saved to {shown}; run the same command again to finish it"
        else:  # still finding the documents or reading the old report: nothing written
            said = f"before any document was read; {shown} was not written"
        stderr.print(f"[yellow]interrupted:[/yellow] {said}")
        raise typer.Exit(130) from None
    finally:
        close = getattr(target, "close", None)  # HTTP targets hold a connection pool
        if callable(close):
            close()
    _print_result(stdout, result)
