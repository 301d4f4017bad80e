"""`expense-cli report`: the command, target selection, and end to end with the real engine."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import types
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from expense_cli.cli import _options, app
from expense_cli.cli import report as report_cli
from expense_cli.errors import BadRequest, ConfigError, UnreadableDocument
from expense_cli.report import display_name, read_report
from expense_cli.synthetic import RECEIPT_LINES, receipt_pdf, render_receipt
from expense_cli.targets import LocalTarget, ServerTarget
from tests.report._fake import (
    CORRUPT,
    ORDER,
    FakeTarget,
    folder_answers,
    likely_duplicates,
    make_folder,
    refuse_listing,
)

runner = CliRunner()


@pytest.fixture
def receipts(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "receipts")


@pytest.fixture
def use_target(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], list[tuple[Any, ...]]]:
    """Make the command use ``target``; returns the calls to resolve_target."""

    def install(target: Any) -> list[tuple[Any, ...]]:
        calls: list[tuple[Any, ...]] = []

        def resolve(*args: Any) -> Any:
            calls.append(args)
            return target

        monkeypatch.setattr(report_cli, "resolve_target", resolve)
        return calls

    return install


def _read_rows(out: Path) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """Rows and the per-currency totals, read with each format's own reader."""
    if out.suffix == ".csv":
        with out.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        summary = out.with_name(out.stem + ".summary.csv").read_text(encoding="utf-8")
        totals = {
            r["currency"]: Decimal(r["total"])
            for r in csv.DictReader(io.StringIO(summary))
            if r["group"] == "currency"
        }
        return rows, totals
    if out.suffix == ".json":
        document = json.loads(out.read_text(encoding="utf-8"))
        by = document["summary"]["by_currency"]
        return document["rows"], {c["currency"]: Decimal(c["total"]) for c in by}
    book = openpyxl.load_workbook(out, data_only=True)  # the totals' cached values
    header, *records = list(book["Receipts"].iter_rows(values_only=True))
    rows = [dict(zip(header, record, strict=True)) for record in records]
    lines = list(book["Summary"].iter_rows(values_only=True))
    start = next(i for i, line in enumerate(lines) if line[0] == "Currency") + 1
    end = next(i for i in range(start, len(lines)) if lines[i][0] is None)
    return rows, {line[0]: Decimal(str(line[2])) for line in lines[start:end]}


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_report_in_each_format(
    receipts: Path, tmp_path: Path, fmt: str, use_target: Callable[[Any], Any]
) -> None:
    use_target(FakeTarget(folder_answers()))
    out = tmp_path / f"expenses.{fmt}"
    result = runner.invoke(app, ["report", str(receipts), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 documents, 5 processed, 2 non-documents skipped, 2 hidden files skipped" in (
        result.stdout
    )
    assert "1 documents failed" in result.stdout
    rows, totals = _read_rows(out)
    assert [Path(str(r["file"])).relative_to(receipts).as_posix() for r in rows] == ORDER
    errors = [r for r in rows if r["error"]]
    assert len(errors) == 1 and str(errors[0]["file"]).endswith(CORRUPT)
    assert totals == {"EUR": Decimal("141.27"), "USD": Decimal("12.00")}
    low = [r["low_confidence"] for r in rows]
    assert low[2] in ("total", ["total"])  # nested/c.png: total scored 0.3 < 0.5


def test_ctrl_c_leaves_partial_report_that_a_rerun_completes(
    receipts: Path, tmp_path: Path, use_target: Callable[[Any], Any]
) -> None:
    out = tmp_path / "expenses.xlsx"
    use_target(FakeTarget(folder_answers(), interrupt_on=3))
    result = runner.invoke(app, ["report", str(receipts), "-o", str(out)])
    assert result.exit_code == 130
    assert "partial report saved" in result.stderr
    rows, _ = _read_rows(out)
    assert len(rows) == 2
    summary = {
        r[0]: r[1]
        for r in openpyxl.load_workbook(out, data_only=True)["Summary"].iter_rows(values_only=True)
    }
    assert summary["Status"] == "partial (2 of 5 documents)"

    rest = FakeTarget(folder_answers())
    use_target(rest)
    result = runner.invoke(app, ["report", str(receipts), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 processed, 2 already done" in result.stdout
    assert len(rest.calls) == 3
    rows, totals = _read_rows(out)
    assert len(rows) == 5 and totals["EUR"] == Decimal("141.27")


def test_options_are_passed_on(
    receipts: Path, tmp_path: Path, use_target: Callable[[Any], Any]
) -> None:
    fake = FakeTarget(folder_answers(), concurrency=4)
    calls = use_target(fake)
    out = tmp_path / "r.json"
    args = [
        "report",
        str(receipts),
        "-o",
        str(out),
        "--server",
        "http://127.0.0.1:9",
        "--min-score",
        "0.95",
        "-j",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls == [(False, "http://127.0.0.1:9", None, None)]
    document = json.loads(out.read_text())
    assert document["summary"]["min_score"] == 0.95
    assert document["rows"][0]["low_confidence"] == [
        "merchant",
        "date",
        "total",
        "subtotal",
        "tax",
        "receipt_number",
    ]
    # --force recomputes everything
    result = runner.invoke(app, [*args, "--force"])
    assert result.exit_code == 0 and len(fake.calls) == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "r.txt"], "--out must end in .csv, .json or .xlsx"),
        (["--local", "--server", "http://127.0.0.1:1"], "choose one of --local and --server"),
        (["--model", "/m"], "--model and --revision apply to --local only"),
        (["--server", "ftp://x"], "--server must be an http(s) URL"),
    ],
)
def test_user_errors_are_one_line(receipts: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", str(receipts), *args])
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_folder(tmp_path: Path, use_target: Callable[[Any], Any]) -> None:
    use_target(FakeTarget({}))
    result = runner.invoke(app, ["report", str(tmp_path / "nope"), "-o", str(tmp_path / "r.csv")])
    assert result.exit_code == 1 and "no such file or folder" in result.stderr


def test_resolve_target(monkeypatch: pytest.MonkeyPatch) -> None:
    local = _options.resolve_target(True, None, "/models/x", "abc")
    assert isinstance(local, LocalTarget) and local.concurrency == 1
    server = _options.resolve_target(False, "http://127.0.0.1:8080", None, None)
    assert isinstance(server, ServerTarget) and server.name == "http://127.0.0.1:8080"
    sentinel = FakeTarget({}, name="remote")
    fake_aws = types.ModuleType("expense_cli.aws")
    fake_aws.remote_target = lambda: sentinel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "expense_cli.aws", fake_aws)
    assert _options.resolve_target(False, None, None, None) is sentinel

    def nothing_deployed() -> None:
        raise ConfigError("no deployment found")

    fake_aws.remote_target = nothing_deployed  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="no deployment found"):
        _options.resolve_target(False, None, None, None)
    with pytest.raises(BadRequest, match="--revision needs --model"):
        _options.resolve_target(True, None, None, "abc")


# -- end to end: the real engine (tiny planted model + tesseract), and a real local server ---------
def _real_folder(root: Path) -> Path:
    """Two rendered receipts, a 2-page PDF with a text layer, a corrupt file, a text file."""
    root.mkdir()
    lines = list(RECEIPT_LINES)
    for i, extra in enumerate(["Table 4", "Table 9"]):
        buffer = io.BytesIO()
        render_receipt([*lines[:3], extra, *lines[3:]]).save(buffer, format="PNG")
        (root / f"receipt{i}.png").write_bytes(buffer.getvalue())
    (root / "pdf").mkdir()
    pdf = receipt_pdf([], text_layer=[lines, ["Page 2", "Thank you"]])
    (root / "pdf" / "invoice.pdf").write_bytes(pdf)
    (root / "pdf" / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 300)
    (root / "readme.txt").write_text("not a receipt")
    return root


def _check_real_report(out: Path, root: Path) -> None:
    rows = json.loads(out.read_text())["rows"]
    by = {Path(r["file"]).relative_to(root).as_posix(): r for r in rows}
    assert list(by) == ["receipt0.png", "receipt1.png", "pdf/broken.pdf", "pdf/invoice.pdf"]
    for name in ["receipt0.png", "receipt1.png", "pdf/invoice.pdf"]:
        row = by[name]
        assert row["error"] is None
        assert row["merchant"] == "ACME COFFEE ROASTERS"  # what the planted model answers
        assert row["sha256"] == hashlib.sha256((root / name).read_bytes()).hexdigest()
        assert 0.0 <= row["merchant_score"] <= 1.0
    assert by["pdf/invoice.pdf"]["pages"] == 2 and by["receipt0.png"]["pages"] == 1
    assert by["pdf/broken.pdf"]["error"].startswith(f"{UnreadableDocument.code}: ")


@pytest.mark.model
@pytest.mark.ocr
def test_local_end_to_end_and_resume(tmp_path: Path, tiny_model_dir: Path) -> None:
    root = _real_folder(tmp_path / "docs")
    out = tmp_path / "report.json"
    args = ["report", str(root), "-o", str(out), "--local", "--model", str(tiny_model_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 documents, 4 processed, 1 non-documents skipped" in result.stdout
    _check_real_report(out, root)
    again = runner.invoke(app, args)  # only the broken PDF is tried again
    assert again.exit_code == 0, again.output
    assert "4 documents, 1 processed, 3 already done" in again.stdout
    _check_real_report(out, root)


@pytest.mark.model
@pytest.mark.ocr
@pytest.mark.server
def test_server_end_to_end(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests._servers import serving_model

    root = _real_folder(tmp_path / "docs")
    out = tmp_path / "report.json"
    made: list[Any] = []

    def resolve(*args: Any) -> Any:
        made.append(_options.resolve_target(*args))
        return made[-1]

    monkeypatch.setattr(report_cli, "resolve_target", resolve)
    with serving_model(tiny_model_dir) as url:
        args = ["report", str(root), "-o", str(out), "--server", url, "-j", "2"]
        result = runner.invoke(app, args)
        if not hasattr(made[0], "close"):  # until ServerTarget has close(): no unclosed sockets
            made[0]._client.close()
    assert result.exit_code == 0, result.output
    assert isinstance(made[0], ServerTarget)
    _check_real_report(out, root)


# -- issue 12: names, locks, folders the run cannot read -------------------------------------------
ODD_NAMES = [
    b"caf\xe9 latin-1.png",
    b"[red]markup[bold] x.png",
    b"ctl\x01 tab\t nl\n.png",
    "emoji 🧾 فاتورة.png".encode(),
    b"\xff\xfe.png",
]


def test_odd_names_in_every_output(
    tmp_path: Path, use_target: Callable[[Any], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    answers = folder_answers()
    png = _documents()["a.png"]
    for i, raw in enumerate(ODD_NAMES):
        data = png + b"\x00" * (i + 1)
        with open(os.path.join(os.fsencode(root), raw), "wb") as handle:
            handle.write(data)
        answers[hashlib.sha256(data).hexdigest()] = answers[hashlib.sha256(png).hexdigest()]
    use_target(FakeTarget(answers))
    out = os.path.join(os.fsdecode(tmp_path), os.fsdecode(b"r\xe9port [bold].csv"))
    result = runner.invoke(app, ["report", str(root), "-o", out])
    assert result.exit_code == 0, result.output
    assert "wrote " + display_name(out) in result.stdout
    assert "(+ " + display_name(b"r\xe9port [bold].summary.csv") + ")" in result.stdout
    assert "5 documents, 5 processed" in result.stdout
    # the progress bar shows the last name, markup and all, in its display form
    assert display_name(ODD_NAMES[-1]) in result.stderr
    rows, totals = _read_rows(Path(out))
    assert sorted(r["file"] for r in rows) == sorted(
        display_name(os.path.join(os.fsencode(root), raw)) for raw in ODD_NAMES
    )
    assert totals == {"EUR": Decimal("17.37") * 5}


def _documents() -> dict[str, bytes]:
    from tests.report._fake import documents

    return documents()


def test_a_second_run_on_the_same_out_is_a_one_line_error(
    receipts: Path, tmp_path: Path, use_target: Callable[[Any], Any]
) -> None:
    from expense_cli.report import lock_output

    target = FakeTarget(folder_answers())
    use_target(target)
    out = tmp_path / "r.xlsx"
    with lock_output(out):
        result = runner.invoke(app, ["report", str(receipts), "-o", str(out)])
    assert result.exit_code == 1
    assert f"another report run (pid {os.getpid()} on " in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert target.calls == [] and not out.exists()


def test_unreadable_folders_and_not_documents_are_reported(
    receipts: Path,
    tmp_path: Path,
    use_target: Callable[[Any], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (receipts / "locked").mkdir()
    (receipts / "receipt.pdf").write_text("Total 12.00 EUR\n")
    refuse_listing(monkeypatch, "locked")
    use_target(FakeTarget(folder_answers()))
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["report", str(receipts), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"1 unreadable folders skipped (first: {receipts / 'locked'})" in result.stdout
    assert "6 documents, 5 processed" in result.stdout
    assert "2 documents failed" in result.stdout
    rows = {Path(r["file"]).name: r for r in json.loads(out.read_text())["rows"]}
    assert "named .pdf but the content is not a PDF" in rows["receipt.pdf"]["error"]


def test_likely_duplicates_are_kept_until_drop_duplicates(
    tmp_path: Path, use_target: Callable[[Any], Any]
) -> None:
    folder, target = likely_duplicates(tmp_path / "in")
    use_target(target)
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["report", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 likely duplicates kept in the totals" in result.stdout
    assert "--drop-duplicates" in result.stdout
    summary = json.loads(out.read_text(encoding="utf-8"))["summary"]
    assert (summary["by_currency"][0]["total"], summary["possible_duplicates"]) == ("34.74", 1)

    result = runner.invoke(app, ["report", str(folder), "--out", str(out), "--drop-duplicates"])
    assert result.exit_code == 0, result.output
    assert "likely duplicates" not in result.stdout
    summary = json.loads(out.read_text(encoding="utf-8"))["summary"]
    assert (summary["by_currency"][0]["total"], summary["duplicates"]) == ("17.37", 2)
    assert len(target.calls) == 2  # the second run resumed


def test_drop_duplicates_is_a_flag(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--help"])
    assert "--drop-duplicates" in result.stdout
    result = runner.invoke(app, ["report", str(tmp_path), "--drop-duplicates=yes"])
    assert result.exit_code == 1
    assert result.output == "error: Option '--drop-duplicates' does not take a value\n"


def _unusable_paths(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Inputs and --out values whose ``stat`` fails with more than "not found"."""
    long = "é" * 200
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    return {
        "long input": ([str(tmp_path / f"{long}.png")], "File name too long"),
        "looping input": ([str(tmp_path / "loop")], "Too many levels of symbolic links"),
        "long out folder": (["-o", str(tmp_path / long / "r.csv")], "File name too long"),
        "looping out": (["-o", str(tmp_path / "loop" / "r.json")], "Too many levels"),
        # fits the folder, but not the temp file written beside it: refused before any work
        "long out": (["-o", str(tmp_path / f"{'r' * 240}.json")], "at most 241 fit"),
        "long csv out": (["-o", str(tmp_path / f"{'😀' * 58}.csv")], "at most 233 fit"),
    }


@pytest.mark.parametrize(
    "kind",
    ["long input", "looping input", "long out folder", "looping out", "long out", "long csv out"],
)
def test_unusable_paths_are_one_line_errors_before_any_work(
    receipts: Path, tmp_path: Path, use_target: Callable[[Any], Any], kind: str
) -> None:
    fake = FakeTarget(folder_answers())
    use_target(fake)
    args, message = _unusable_paths(tmp_path)[kind]
    inputs = [str(receipts)] if args[0] == "-o" else []
    outs = [] if args[0] == "-o" else ["-o", str(tmp_path / "r.json")]
    result = runner.invoke(app, ["report", *inputs, *args, *outs])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and fake.calls == []


def test_the_longest_out_name_that_fits_is_written(
    receipts: Path, tmp_path: Path, use_target: Callable[[Any], Any]
) -> None:
    use_target(FakeTarget(folder_answers()))
    for name in (f"{'r' * 236}.json", f"{'😀' * 57}r.csv"):  # 241 and 233 bytes
        out = tmp_path / name
        result = runner.invoke(app, ["report", str(receipts), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert len(read_report(out)) == len(ORDER)


@pytest.mark.parametrize("where", ["collect_documents", "read_report"])
def test_ctrl_c_before_any_document_says_nothing_was_written(
    receipts: Path,
    tmp_path: Path,
    use_target: Callable[[Any], Any],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """Ctrl-C while a big tree is still being listed (or the old report read) must not claim a
    partial report was saved: there is none, and an old report is left exactly as it was."""
    from expense_cli.report import _run

    use_target(FakeTarget(folder_answers()))
    out = tmp_path / "expenses.csv"
    if where == "read_report":
        out.write_bytes(b"file,sha256\r\nold.png,abc\r\n")

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(_run, where, interrupted)
    before = out.read_bytes() if out.exists() else None
    result = runner.invoke(app, ["report", str(receipts), "-o", str(out)])
    assert result.exit_code == 130
    assert "partial report saved" not in result.stderr
    assert "interrupted: before any document was read" in result.stderr
    assert f"{out} was not written" in " ".join(result.stderr.split())
    assert (out.read_bytes() if out.exists() else None) == before


def test_a_folder_where_the_csv_summary_goes_is_refused_before_any_work(
    receipts: Path, tmp_path: Path, use_target: Callable[[Any], Any]
) -> None:
    """The summary was written at the first checkpoint: after the work, as an internal error,
    and before the rows file, so nothing of the run was kept."""
    fake = FakeTarget(folder_answers())
    use_target(fake)
    (tmp_path / "expenses.summary.csv").mkdir()
    result = runner.invoke(app, ["report", str(receipts), "-o", str(tmp_path / "expenses.csv")])
    assert result.exit_code == 1 and fake.calls == []
    assert result.stderr.startswith("error: ") and "expenses.summary.csv" in result.stderr
    assert "is a folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("errno_", [28, 30, 13])  # ENOSPC, EROFS, EACCES
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_report_that_cannot_be_written_is_one_line_naming_why(
    receipts: Path,
    tmp_path: Path,
    use_target: Callable[[Any], Any],
    monkeypatch: pytest.MonkeyPatch,
    errno_: int,
    fmt: str,
) -> None:
    """A full disk (or a folder remounted read-only) at a checkpoint was an internal error."""
    from expense_cli import _files

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno_, os.strerror(errno_))

    use_target(FakeTarget(folder_answers()))
    monkeypatch.setattr(_files.tempfile, "mkstemp", full)
    out = tmp_path / f"expenses.{fmt}"
    result = runner.invoke(app, ["report", str(receipts), "-o", str(out)])
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]  # after the progress bar
    assert last == f"error: cannot write the report {out}: {os.strerror(errno_)}"
    assert "internal error" not in result.stderr and "Traceback" not in result.output
