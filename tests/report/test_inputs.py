"""Hostile report folders: huge and sparse files, failures of any kind, files that only look like
documents, pipes, unreadable folders (expense_cli/report/_read.py, _collect.py, _run.py)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from expense_cli.errors import DocumentTooLarge, UnreadableDocument, UnsupportedDocument
from expense_cli.report import Row, _run, build_report, collect_documents, read_report
from tests.report._fake import (
    CORRUPT,
    ORDER,
    SPECS,
    FakeTarget,
    documents,
    folder_answers,
    refuse_listing,
    result_for,
    sha256,
)

PNG_HEAD = documents()["a.png"][:64]


def _rows(rows: list[Row], root: Path) -> dict[str, Row]:
    return {Path(r.file).relative_to(root).as_posix(): r for r in rows}


def _sparse(path: Path, size: int, head: bytes = PNG_HEAD) -> Path:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


@pytest.mark.parametrize(
    "size",
    [1_000_001, 64 * 2**20, 32 * 2**30],  # one byte over the cap; 64 MiB; 32 GiB (sparse)
)
def test_files_over_the_targets_limit_are_error_rows_without_being_read(
    receipts: Path, tmp_path: Path, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sparse(receipts / "b_huge.png", size)
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        reads.append(len(data))
        return data

    monkeypatch.setattr("expense_cli.report._read.os.read", counting_read)
    target = FakeTarget(folder_answers(), max_bytes=1_000_000)
    result = build_report([receipts], tmp_path / "r.json", target)
    rows = _rows(result.rows, receipts)
    assert rows["b_huge.png"].error is not None
    assert rows["b_huge.png"].error.startswith(f"{DocumentTooLarge.code}: the file is ")
    assert "the limit is 1.0 MB" in rows["b_huge.png"].error
    assert sum(reads) < 2_000_000  # the documents themselves; not the big file
    # every other document was processed, in order
    assert [name for name in rows if name != "b_huge.png"] == ORDER
    assert len(target.calls) == 5


def test_a_file_at_the_limit_is_sent(tmp_path: Path) -> None:
    data = documents()["a.png"]
    (tmp_path / "a.png").write_bytes(data)
    target = FakeTarget({sha256(data): result_for(SPECS["a.png"])}, max_bytes=len(data))
    result = build_report([tmp_path / "a.png"], tmp_path / "r.json", target)
    assert result.errors == 0 and target.calls == [sha256(data)]


@contextmanager
def _audit_opens(paths: set[str]) -> Iterator[Counter[str]]:
    """How often each of ``paths`` is opened (``open`` audit events: open() and os.open())."""
    opened: Counter[str] = Counter()
    active = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if active[0] and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            name = os.fsdecode(args[0])
            if name in paths:
                opened[name] += 1

    sys.addaudithook(hook)  # hooks cannot be removed: this one switches itself off
    try:
        yield opened
    finally:
        active[0] = False


def test_each_document_is_read_once(receipts: Path, tmp_path: Path) -> None:
    paths = {str(receipts / name) for name in ORDER}
    with _audit_opens(paths) as opened:
        build_report([receipts], tmp_path / "r.json", FakeTarget(folder_answers()))
    # named like documents: not even sniffed; read and hashed in one go
    assert opened == Counter(paths)


def test_memory_error_and_any_failure_is_that_documents_row(
    receipts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _run.read_document

    def failing_read(path: Path, max_bytes: int) -> bytes:
        if path.name == "a.png":
            raise MemoryError
        if path.name == "c.png":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, max_bytes)

    monkeypatch.setattr(_run, "read_document", failing_read)
    answers = folder_answers()
    answers[sha256(documents()["b.jpg"])] = MemoryError()
    answers[sha256(documents()["nested/d.pdf"])] = {"fields": ["not", "a", "mapping"]}
    result = build_report([receipts], tmp_path / "r.csv", FakeTarget(answers))
    rows = _rows(result.rows, receipts)
    assert list(rows) == ORDER
    assert rows["a.png"].error == "internal error: MemoryError: out of memory for this document"
    assert rows["b.jpg"].error == "internal error: MemoryError: out of memory for this document"
    assert rows["b.jpg"].sha256 == sha256(documents()["b.jpg"])
    assert rows["nested/c.png"].error == (
        "internal error: RecursionError: maximum recursion depth exceeded"
    )
    assert rows["nested/d.pdf"].error is None and rows["nested/d.pdf"].total is None
    assert rows[CORRUPT].error is not None
    assert result.errors == 4 and len(read_report(tmp_path / "r.csv")) == 5


# content that is not a document, under a document's name
NOT_DOCUMENTS = {
    "receipt.pdf": b"Thanks for your order! Total: 12.00\n",
    "scan.TIFF": b"<html>404 Not Found</html>",
    "photo.webp": b"RIFF\x00\x00\x00\x00WAVEfmt ",
    "anim.gif": b"GIF90a not a gif",
    "Scan 2024.JPEG": b"\x00" * 4096,
}
UNREADABLE = {
    "IMG_0001.HEIC": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    "photo.heif": b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic",
    "photo.avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1",
    "old scan.bmp": b"BM" + b"\x00" * 60,
}


def test_files_named_like_documents_are_error_rows(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in {**NOT_DOCUMENTS, **UNREADABLE}.items():
        (folder / name).write_bytes(data)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("lunch\n")
    (folder / "receipt.pdf.txt").write_text("a receipt, as text\n")
    (folder / "data.csv").write_text("a,b\n1,2\n")
    target = FakeTarget({})
    result = build_report([folder], tmp_path / "r.json", target)
    assert target.calls == []  # nothing to send
    rows = {Path(r.file).name: r for r in result.rows}
    assert set(rows) == set(NOT_DOCUMENTS) | set(UNREADABLE) | {"empty.jpg"}
    assert rows["empty.jpg"].error == "empty_document: the file is empty (0 bytes)"
    for name in NOT_DOCUMENTS:
        suffix = Path(name).suffix.lower()
        assert rows[name].error == (
            f"{UnsupportedDocument.code}: named {suffix} but the content is not a PDF or an "
            "image we read (PNG, JPEG, TIFF, WebP, GIF): check the file, or convert it"
        ), name
    assert rows["IMG_0001.HEIC"].error == (
        f"{UnsupportedDocument.code}: HEIC images are not supported: convert it to JPEG or PNG "
        "(or print it to PDF)"
    )
    assert rows["old scan.bmp"].error is not None and "BMP images" in rows["old scan.bmp"].error
    assert result.collected.skipped == 3  # notes.txt, receipt.pdf.txt, data.csv
    # error rows are tried again next time, and stay error rows
    again = FakeTarget({})
    assert build_report([folder], tmp_path / "r.json", again).errors == len(rows)
    assert again.calls == []


def test_pipes_sockets_and_folders_named_like_documents_never_block(tmp_path: Path) -> None:
    data = documents()["a.png"]
    (tmp_path / "a.png").write_bytes(data)
    os.mkfifo(tmp_path / "pipe.pdf")
    (tmp_path / "folder.pdf").mkdir()
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    found = collect_documents([tmp_path])
    assert [p.name for p in found.documents] == ["a.png"]
    assert found.skipped == 2  # the pipe and the dangling link
    target = FakeTarget({sha256(data): result_for(SPECS["a.png"])})
    assert build_report([tmp_path], tmp_path / "r.json", target).errors == 0


def test_a_pipe_given_by_name_is_a_user_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.pdf")
    with pytest.raises(Exception, match="not a regular file or folder"):
        collect_documents([tmp_path / "pipe.pdf"])


def test_a_file_replaced_by_a_pipe_after_collecting_is_an_error_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.png").write_bytes(documents()["a.png"])
    found = collect_documents([tmp_path])
    (tmp_path / "a.png").unlink()
    os.mkfifo(tmp_path / "a.png")
    monkeypatch.setattr(_run, "collect_documents", lambda paths, exclude=(): found)
    result = build_report([tmp_path], tmp_path / "r.json", FakeTarget({}))
    error = UnreadableDocument("not a regular file (a pipe, device or socket)")
    assert result.rows[0].error == f"{error.code}: {error.message}"


def test_unreadable_folders_are_counted(
    receipts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (receipts / "locked").mkdir()
    (receipts / "locked" / "x.png").write_bytes(documents()["a.png"])
    refuse_listing(monkeypatch, "locked")
    found = collect_documents([receipts])
    assert found.unreadable_folders == [str(receipts / "locked")]
    assert [p.relative_to(receipts).as_posix() for p in found.documents] == ORDER


def test_interrupted_resume_keeps_the_rows_it_had_not_reached(
    receipts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.xlsx"
    first = build_report([receipts], out, FakeTarget(folder_answers()))
    new = documents()["a.png"] + b"\x00new"
    (receipts / "0_new.png").write_bytes(new)  # sorts first: the run starts with it
    answers = {**folder_answers(), sha256(new): result_for(SPECS["a.png"])}
    with pytest.raises(KeyboardInterrupt):
        build_report([receipts], out, FakeTarget(answers, interrupt_on=1))
    kept = {r.sha256 for r in read_report(out)}
    assert {r.sha256 for r in first.rows if r.done} <= kept
    rest = FakeTarget(answers)
    result = build_report([receipts], out, rest)
    assert sorted(rest.calls) == sorted([sha256(new), sha256(documents()[CORRUPT])])
    assert len(result.rows) == 6


class _OldTarget:
    """A Python-API target written before Target.max_bytes existed."""

    name = "old"
    concurrency = 1

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, data: bytes, **_: object) -> dict[str, object]:
        self.calls += 1
        return result_for(SPECS["a.png"])

    def close(self) -> None:
        pass


def test_a_target_without_max_bytes_gets_the_engines_default(
    receipts: Path, tmp_path: Path
) -> None:
    _sparse(receipts / "b_huge.png", 20_000_001)
    target = _OldTarget()
    result = build_report([receipts], tmp_path / "r.json", target)  # type: ignore[arg-type]
    rows = _rows(result.rows, receipts)
    assert target.calls == 5 and rows["a.png"].error is None
    assert rows["b_huge.png"].error is not None and "20.0 MB" in rows["b_huge.png"].error


class _Progress:
    def __init__(self) -> None:
        self.total: int | None = None
        self.rows: list[Row] = []

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, row: Row) -> None:
        self.rows.append(row)


def test_progress_counts_every_document_once(receipts: Path, tmp_path: Path) -> None:
    (receipts / "copy.png").write_bytes(documents()["a.png"])
    (receipts / "x.pdf").write_text("text")
    out = tmp_path / "r.json"
    build_report([receipts], out, FakeTarget(folder_answers()))
    progress = _Progress()
    build_report([receipts], out, FakeTarget(folder_answers()), progress=progress)
    assert progress.total == len(ORDER) + 2 == len(progress.rows)
    assert sorted(Path(r.file).name for r in progress.rows) == sorted(
        [Path(name).name for name in ORDER] + ["copy.png", "x.pdf"]
    )


def test_targets_declare_their_input_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from expense_cli.aws._target import MAX_UPLOAD_BYTES, FunctionUrlTarget
    from expense_cli.targets import HttpTarget, LocalTarget, ServerTarget

    monkeypatch.setenv("EXPENSE_MAX_BYTES", "1234")
    assert LocalTarget().max_bytes == 1234  # the engine's limit, without loading a model
    with ServerTarget("http://127.0.0.1:9") as server, HttpTarget("http://x", max_bytes=5) as http:
        assert (server.max_bytes, http.max_bytes) == (20_000_000, 5)
    # images are shrunk to the upload limit: the function URL takes larger files than it uploads
    with FunctionUrlTarget("https://u.lambda-url.eu-west-1.on.aws/", auth="token", token="t") as f:
        assert f.max_bytes == 20_000_000 > f.upload_bytes == MAX_UPLOAD_BYTES
