"""Run a report: collect → lock → read each document once (size from ``fstat`` first) → skip what is
done → extract (bounded concurrency, retries) → write.

The report on disk is always a valid, loadable file: it is rewritten atomically every few
documents, at the end, and when the run is interrupted (Ctrl-C), with ``complete: false`` until
the run finishes. Each rewrite costs more as the report grows, so checkpoints are also spaced by
their own cost (at most about a tenth of the run: a 3,000-row XLSX takes seconds to write). A
re-run reads it back and skips every document whose content hash already has a good row (error
rows are tried again); ``force=True`` recomputes everything.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..engine import sniff_type
from ..errors import BadRequest, ConfigError, ExpenseError, ModelNotReady, Overloaded
from ._collect import Collected, collect_documents, not_a_document
from ._dupes import confirmed, mark_possible_duplicates
from ._lock import lock_output
from ._names import display_name, safe_text
from ._read import read_document
from ._rows import Row, Summary, row_from_result
from ._writers import (
    ReportInfo,
    check_writable,
    read_report,
    report_format,
    summary_path,
    write_report,
)

if TYPE_CHECKING:
    from ..targets import Target

__all__ = ["ReportProgress", "ReportResult", "build_report", "extract_with_retries"]

_DEFAULT_MAX_BYTES = 20_000_000  # engine/_config.py Limits.max_bytes
# A checkpoint waits at least this many times as long as it is expected to take to write
# (the last one's time per row × the rows now).
_CHECKPOINT_SPACING = 9.0


class ReportProgress(Protocol):
    """What the run tells its caller (the CLI draws a rich progress bar from it): ``start`` with
    the number of documents, then ``advance`` once per document as its row is known (reused,
    duplicate, refused before sending, or extracted)."""

    def start(self, total: int) -> None: ...

    def advance(self, row: Row) -> None: ...


@dataclass
class ReportResult:
    out: Path
    rows: list[Row]
    summary: Summary
    collected: Collected
    processed: int = 0  # documents sent to the target in this run
    reused: int = 0  # documents whose row came from the existing report
    duplicates: int = 0  # documents with the same content as an earlier one (not sent again)
    dropped: int = 0  # rows of the old report whose documents are no longer in the input
    errors: int = 0


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ExpenseError):
        text = f"{exc.code}: {exc.message}"
    elif isinstance(exc, OSError):
        text = f"cannot read: {exc.strerror or exc}"
    elif isinstance(exc, MemoryError):
        text = "internal error: MemoryError: out of memory for this document"
    else:
        text = f"internal error: {type(exc).__name__}: {exc}"
    return safe_text(text)


def extract_with_retries(
    target: Target,
    data: bytes,
    *,
    content_type: str | None,
    retries: int = 4,
    max_wait: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """``target.extract`` that waits out 429/503 (their Retry-After, at most ``max_wait`` s a
    time) and tries again, at most ``retries`` times; then the last error is raised."""
    for attempt in itertools.count():
        try:
            return target.extract(data, content_type=content_type)
        except (Overloaded, ModelNotReady) as exc:
            if attempt >= retries:
                raise type(exc)(
                    f"{exc.message} (gave up after {retries} retries)",
                    retry_after=exc.retry_after,
                ) from exc
            wait_s = exc.retry_after if exc.retry_after is not None else 1
            sleep(min(max(float(wait_s), 0.0), max_wait))
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class _Run:
    target: Target
    out: Path
    info: ReportInfo
    files: list[str]  # display name of each input document, in input order
    rows: dict[int, Row] = field(default_factory=dict)  # input index → row
    duplicate_of: dict[int, int] = field(default_factory=dict)  # input index → first index
    previous: list[Row] = field(default_factory=list)  # done rows of the report on disk
    drop_duplicates: bool = False  # likely duplicates confirmed (``_dupes.py``)
    confirmed: set[str] = field(default_factory=set)  # sha256s confirmed in the report on disk

    def ordered(self) -> list[Row]:
        """The rows known so far, in input order (duplicates follow their first copy)."""
        rows = []
        for index, name in enumerate(self.files):
            if index in self.rows:
                rows.append(self.rows[index])
            elif index in self.duplicate_of and self.duplicate_of[index] in self.rows:
                first = self.rows[self.duplicate_of[index]]
                rows.append(first.copy(file=name, duplicate_of=first.file))
        return rows

    def write(self, *, complete: bool) -> tuple[list[Row], Summary]:
        rows = self.ordered()
        if not complete:
            # Documents are read one by one: rows of the old report that this run has not
            # reached yet are kept in a partial report, or an interrupted resume would lose them.
            reached = {row.sha256 for row in rows}
            rows += [row for row in self.previous if row.sha256 not in reached]
        rows = mark_possible_duplicates(
            rows, drop=self.drop_duplicates, keep_confirmed=self.confirmed
        )
        info = ReportInfo(
            min_score=self.info.min_score,
            complete=complete,
            expected=len(self.files),
            target=self.info.target,
        )
        try:
            return rows, write_report(self.out, rows, info)
        except OSError as exc:  # a full disk, a folder gone read-only: one line, not a traceback
            raise ConfigError(
                f"cannot write the report {display_name(self.out)}: {exc.strerror or exc}"
            ) from None


def build_report(
    paths: Sequence[Path | str],
    out: Path | str,
    target: Target,
    *,
    min_score: float = 0.5,
    force: bool = False,
    drop_duplicates: bool = False,
    concurrency: int | None = None,
    progress: ReportProgress | None = None,
    checkpoint_every: int = 10,
    checkpoint_seconds: float = 30.0,
    retries: int = 4,
    max_wait: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReportResult:
    """Build (or finish) the report at ``out`` from the documents under ``paths``.

    Documents go to ``target`` one at a time when its ``concurrency`` is 1 (the in-process
    engine), else up to ``concurrency`` (default: the target's own) at once. Each document is
    read once, after a size check against ``target.max_bytes`` (``_read.py``), and only while a
    slot is free, so memory stays bounded. One bad document (any exception, MemoryError
    included) becomes an error row; it never stops the run. KeyboardInterrupt writes a partial
    report and is re-raised. The output is locked for the whole run (``_lock.py``).

    Likely duplicates (same merchant, date and total, different bytes) are flagged
    ``possible_duplicate_of`` and kept in the totals; ``drop_duplicates=True`` confirms them
    (left out of the totals), as does a confirmation already in the report (``_dupes.py``).
    """
    out = Path(out)
    check_writable(out)
    if not 0.0 <= min_score <= 1.0:
        raise BadRequest(f"--min-score must be between 0 and 1, got {min_score}")
    if concurrency is not None and concurrency < 1:
        raise BadRequest(f"--concurrency must be at least 1, got {concurrency}")
    ours = [out, summary_path(out)] if report_format(out) == "csv" else [out]
    collected = collect_documents(paths, exclude=ours)
    if not collected.documents:
        raise BadRequest(
            "no images or PDFs found"
            + (f" ({collected.skipped} other files skipped)" if collected.skipped else "")
        )
    with lock_output(out):
        return _build_locked(
            collected,
            out,
            target,
            _Options(
                min_score, force, concurrency, checkpoint_every, checkpoint_seconds, drop_duplicates
            ),
            progress,
            lambda data, content_type: extract_with_retries(
                target,
                data,
                content_type=content_type,
                retries=retries,
                max_wait=max_wait,
                sleep=sleep,
            ),
            clock,
        )


@dataclass(frozen=True)
class _Options:
    min_score: float
    force: bool
    concurrency: int | None
    checkpoint_every: int
    checkpoint_seconds: float
    drop_duplicates: bool = False


@dataclass(frozen=True)
class _Todo:
    index: int
    name: str
    data: bytes
    sha256: str
    content_type: str


def _build_locked(
    collected: Collected,
    out: Path,
    target: Target,
    options: _Options,
    progress: ReportProgress | None,
    extract: Callable[[bytes, str], dict[str, Any]],
    clock: Callable[[], float] = time.monotonic,
) -> ReportResult:
    previous = [] if options.force else read_report(out)
    done: dict[str, Row] = {}
    for row in previous:
        if row.done:
            done.setdefault(row.sha256, row)

    # A target of the Python API written before Target.max_bytes: the engine's default limit.
    max_bytes: int = getattr(target, "max_bytes", _DEFAULT_MAX_BYTES)
    files = [display_name(path) for path in collected.documents]
    info = ReportInfo(min_score=options.min_score, target=target.name)
    run = _Run(
        target,
        out,
        info,
        files,
        previous=list(done.values()),
        drop_duplicates=options.drop_duplicates,
        confirmed={row.sha256 for row in previous if confirmed(row)},
    )
    result = ReportResult(out, [], Summary(), collected)
    first_index: dict[str, int] = {}
    hashes: set[str] = set()

    def note(row: Row) -> None:
        if progress is not None:
            progress.advance(row)

    def prepare(index: int, path: Path) -> _Todo | None:
        """Read, hash and sort one document: None when it needs no call to the target."""
        name = files[index]
        try:
            data = read_document(path, max_bytes)
            sha = hashlib.sha256(data).hexdigest()
        except Exception as exc:  # too large, empty, unreadable, MemoryError: this document's row
            run.rows[index] = Row(file=name, error=_error_text(exc))
            note(run.rows[index])
            return None
        hashes.add(sha)
        if sha in first_index:
            run.duplicate_of[index] = first_index[sha]
            result.duplicates += 1
            note(Row(file=name, sha256=sha, duplicate_of=files[first_index[sha]]))
            return None
        first_index[sha] = index
        content_type = sniff_type(data)
        if sha in done:
            run.rows[index] = done[sha].copy(file=name, duplicate_of=None)
            result.reused += 1
        elif content_type is None:
            run.rows[index] = Row(file=name, sha256=sha, error=_error_text(not_a_document(path)))
        else:
            return _Todo(index, name, data, sha, content_type)
        note(run.rows[index])
        return None

    def work(todo: _Todo) -> Row:
        try:
            return row_from_result(todo.name, todo.sha256, extract(todo.data, todo.content_type))
        except Exception as exc:  # one bad document never stops the run
            return Row(file=todo.name, sha256=todo.sha256, error=_error_text(exc))

    if progress is not None:
        progress.start(len(files))
    since_write = 0
    last_write = clock()
    row_cost, written = 0.0, 0  # seconds per row of the last checkpoint, and its rows

    def finish(index: int, row: Row) -> None:
        nonlocal since_write, last_write, row_cost, written
        run.rows[index] = row
        result.processed += 1
        note(row)
        since_write += 1
        waited = clock() - last_write
        due = since_write >= options.checkpoint_every or waited >= options.checkpoint_seconds
        if due and waited >= _CHECKPOINT_SPACING * row_cost * (written + since_write):
            started = clock()
            rows, _ = run.write(complete=False)
            last_write = clock()
            since_write, written = 0, len(rows)
            row_cost = (last_write - started) / max(written, 1)

    todo = (
        item
        for item in itertools.starmap(prepare, enumerate(collected.documents))
        if item is not None
    )
    workers = 1 if target.concurrency <= 1 else (options.concurrency or target.concurrency)
    try:
        if workers == 1:
            for item in todo:
                finish(item.index, work(item))
        else:
            _pooled(todo, work, finish, workers)
    except BaseException:
        run.write(complete=False)
        raise
    names = set(files)
    result.dropped = sum(
        1 for r in previous if (r.sha256 not in hashes if r.sha256 else r.file not in names)
    )
    rows, summary = run.write(complete=True)
    result.rows, result.summary = rows, summary
    result.errors = summary.errors
    return result


def _pooled(
    todo: Iterator[_Todo],
    work: Callable[[_Todo], Row],
    finish: Callable[[int, Row], None],
    workers: int,
) -> None:
    """At most ``workers`` documents in flight (read only when a slot is free); results are
    recorded on this (main) thread."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="expense-report")
    pending: dict[Future[Row], int] = {}

    def submit(n: int) -> None:
        for item in itertools.islice(todo, n):
            pending[pool.submit(work, item)] = item.index

    try:
        submit(workers)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(pending.pop(future), future.result())
            submit(len(finished))
    finally:
        # On Ctrl-C: drop what has not started; requests in flight end on their own timeouts.
        pool.shutdown(wait=False, cancel_futures=True)
