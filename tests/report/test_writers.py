from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from expense_cli import _files
from expense_cli.errors import BadRequest, ConfigError
from expense_cli.report import (
    COLUMNS,
    ReportInfo,
    Row,
    read_report,
    summarize,
    summary_path,
    write_report,
)

FORMATS = ["csv", "json", "xlsx"]

ROWS = [
    Row(
        file="a.png",
        sha256="a" * 64,
        merchant="ACME COFFEE",
        merchant_address="12 Market St",
        date="2024-01-03",
        total=Decimal("17.37"),
        currency="EUR",
        subtotal=Decimal("14.60"),
        tax=Decimal("2.77"),
        receipt_number="004217",
        page=1,
        pages=1,
        scores={"merchant": 0.97, "date": 0.9, "total": 0.4321, "tax": 0.8},
    ),
    # text a spreadsheet would run as a formula, a leading quote, unicode, a negative amount
    Row(
        file="sub/b.jpg",
        sha256="b" * 64,
        merchant='=HYPERLINK("http://x","y")',
        merchant_address="'quoted",
        receipt_number="-42",
        total=Decimal("-5.10"),
        currency="USD",
        date="2024-02-29",
        scores={"merchant": 0.6},
        pages=2,
        page=2,
    ),
    Row(
        file="c.png",
        sha256="c" * 64,
        merchant="Café Müller",
        total=Decimal("1234567.891"),
        currency="JPY",
        duplicate_of="a.png",
    ),
    Row(file="bad.png", sha256="d" * 64, error="unreadable_document: cannot decode"),
    Row(file="gone.png", error="cannot read: Permission denied"),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_rows_round_trip(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    write_report(out, ROWS, ReportInfo(min_score=0.5, complete=False, expected=9))
    assert read_report(out) == ROWS
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files


def test_csv_opens_with_csv_reader_and_neutralises_formulas(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_report(out, ROWS, ReportInfo(min_score=0.5))
    with out.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert list(records[0]) == list(COLUMNS)
    assert records[0]["total"] == "17.37" and records[0]["low_confidence"] == "total"
    assert records[1]["merchant"].startswith("'=")  # not a formula in Excel/LibreOffice
    assert records[1]["total"] == "-5.10"  # amounts stay numbers
    assert records[2]["merchant"] == "Café Müller"
    with summary_path(out).open(newline="", encoding="utf-8") as handle:
        summary = list(csv.DictReader(handle))
    assert summary_path(out).name == "r.summary.csv"
    by = {(r["group"], r["month"], r["currency"]): r for r in summary}
    assert by["currency", "", "EUR"]["total"] == "17.37"
    assert by["currency", "", "USD"]["total"] == "-5.10"
    assert by["month", "2024-02", "USD"]["documents"] == "1"
    assert ("currency", "", "JPY") not in by  # the duplicate is not totalled


def test_json_has_rows_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    write_report(out, ROWS, ReportInfo(min_score=0.95, complete=False, expected=7, target="t"))
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["rows"][0]["total"] == "17.37"  # Decimal text, not a float
    assert document["rows"][0]["low_confidence"] == ["date", "total", "tax"]
    summary = document["summary"]
    assert (summary["complete"], summary["expected_documents"], summary["documents"]) == (
        False,
        7,
        5,
    )
    assert (summary["errors"], summary["duplicates"], summary["target"]) == (2, 1, "t")
    assert summary["by_currency"][0] == {
        "currency": "EUR",
        "documents": 1,
        "total": "17.37",
        "subtotal": "14.60",
        "tax": "2.77",
        "low_confidence_documents": 1,
        "low_confidence_total": "17.37",
    }


def test_xlsx_opens_with_openpyxl_strings_never_formulas(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    write_report(out, ROWS, ReportInfo(min_score=0.5, complete=False, expected=8))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Receipts", "Summary"]
    sheet = book["Receipts"]
    header = [c.value for c in sheet[1]]
    assert header == list(COLUMNS)
    merchant = sheet.cell(3, header.index("merchant") + 1)
    assert merchant.data_type == "s" and merchant.value.startswith("=HYPERLINK")
    total = sheet.cell(2, header.index("total") + 1)
    assert total.data_type == "n" and total.value == pytest.approx(17.37)
    assert sheet.cell(2, header.index("date") + 1).is_date
    cached = openpyxl.load_workbook(out, data_only=True)["Summary"]
    summary = {r[0]: r[1:] for r in cached.iter_rows(values_only=True) if r[0]}
    assert summary["Status"][0] == "partial (5 of 8 documents)"
    assert summary["Errors (not in totals)"][0] == 2
    assert summary["EUR"][:2] == (1, pytest.approx(17.37))


def test_missing_report_reads_as_empty_and_foreign_files_are_refused(tmp_path: Path) -> None:
    assert read_report(tmp_path / "none.json") == []
    for name, content in [
        ("a.json", b'{"x": 1}'),
        ("b.csv", b"name,amount\nx,1\n"),
        ("c.xlsx", b"PK\x03\x04 not a workbook"),
    ]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ConfigError, match="not an expense report"):
            read_report(tmp_path / name)
    with pytest.raises(BadRequest, match=r"\.csv, \.json or \.xlsx"):
        write_report(tmp_path / "report.txt", ROWS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_write_keeps_the_old_report(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / f"r.{fmt}"
    write_report(out, ROWS[:1])
    before = out.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(out, ROWS)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name] + ([summary_path(out).name] if fmt == "csv" else [])
    )


def _summary_records(out: Path) -> list[dict[str, str]]:
    with summary_path(out).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("info", "status"),
    [
        (ReportInfo(complete=True), "complete"),
        (ReportInfo(complete=False, expected=9), "partial (5 of 9 documents)"),
        (ReportInfo(complete=False), "partial (5 of 5 documents)"),
    ],
)
def test_summary_csv_says_complete_or_partial_on_every_line(
    tmp_path: Path, info: ReportInfo, status: str
) -> None:
    out = tmp_path / "r.csv"
    write_report(out, ROWS, info)
    records = _summary_records(out)
    assert records[0]["group"] == "report" and records[0]["documents"] == "5"
    assert {r["status"] for r in records} == {status}
    assert [r["group"] for r in records[1:]] == ["currency"] * 2 + ["month"] * 2


def test_summary_csv_of_a_report_with_only_errors_still_has_its_status(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_report(out, [ROWS[3]], ReportInfo(complete=False, expected=3))
    assert [(r["group"], r["status"]) for r in _summary_records(out)] == [
        ("report", "partial (1 of 3 documents)")
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "'"])
def test_every_summary_csv_text_cell_is_formula_escaped(tmp_path: Path, start: str) -> None:
    """A dishonest server chooses the date (→ month) and the currency."""
    payload = f"{start}cmd|' /C calc'!A0"
    rows = [
        Row(file="a.png", sha256="a" * 64, total=Decimal(1), date=payload, currency=payload),
        Row(
            file="b.png", sha256="b" * 64, total=Decimal(2), date=f"{start}1+23456", currency="EUR"
        ),
    ]
    out = tmp_path / "r.csv"
    write_report(out, rows)
    records = _summary_records(out)
    text_cells = [r[k] for r in records for k in ("group", "month", "currency", "status")]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in text_cells)
    # a date that is not ISO never becomes a month (``_rows.summarize``): no payload gets there
    assert {r["month"] for r in records if r["group"] == "month"} == {""}
    assert {r["currency"] for r in records if r["group"] == "currency"} == {"'" + payload, "EUR"}
    assert read_report(out) == rows  # the rows file round-trips (escapes removed on read)


def test_xlsx_cells_never_exceed_excels_limit(tmp_path: Path) -> None:
    long = "€" * 40_000 + "\x01"
    rows = [Row(file="a.png", sha256="a" * 64, merchant=long, error=None)]
    out = tmp_path / "r.xlsx"
    write_report(out, rows)
    merchant = read_report(out)[0].merchant
    assert merchant is not None and len(merchant) == 32_767
    assert merchant.startswith("€" * 1000) and merchant.endswith(
        "(truncated; the CSV and JSON reports keep it whole)"
    )
    json_out = tmp_path / "r.json"
    write_report(json_out, rows)
    assert read_report(json_out)[0].merchant == "€" * 40_000 + "\\x01"


def _as_a_spreadsheet_saves_it(path: Path, *, bom: bool, semicolons: bool) -> None:
    """Rewrite a CSV report the way Excel saves it: "CSV UTF-8" adds a byte-order mark and CRLF;
    a decimal-comma locale separates with ``;`` and writes 12,50."""
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    header = records[0]
    numbers = {i for i, c in enumerate(header) if c in ("total", "subtotal", "tax")}
    numbers |= {i for i, c in enumerate(header) if c.endswith("_score")}
    if semicolons:
        records = [
            [v.replace(".", ",") if i in numbers and n else v for i, v in enumerate(r)]
            for n, r in enumerate(records)
        ]
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        csv.writer(handle, delimiter=";" if semicolons else ",", lineterminator="\r\n").writerows(
            records
        )


@pytest.mark.parametrize(
    ("bom", "semicolons"), [(True, False), (False, True), (True, True)], ids=["bom", "semi", "both"]
)
def test_a_csv_report_saved_by_a_spreadsheet_is_still_read(
    tmp_path: Path, bom: bool, semicolons: bool
) -> None:
    """The README sends users to the report to confirm duplicates: a CSV that Excel saved must
    still be resumed, not refused as "not an expense report" (whose way out, --force, loses
    every confirmation)."""
    rows = [
        *ROWS,
        Row(file="odd 😀.png", sha256="e" * 64, merchant="Café; Bar, 1,5", total=Decimal("-3.5")),
    ]
    out = tmp_path / "report.csv"
    write_report(out, rows)
    _as_a_spreadsheet_saves_it(out, bom=bom, semicolons=semicolons)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") == bom
    assert read_report(out) == rows


def _edit_cell(path: Path, row: int, column: str, value: object) -> None:
    """Set one cell of data row ``row`` (0-based) the way a user would in each format."""
    if path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8"))
        document["rows"][row][column] = value
        path.write_text(json.dumps(document), encoding="utf-8")
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            records = list(csv.reader(handle))
        records[row + 1][records[0].index(column)] = str(value)
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(records)
    else:
        book = openpyxl.load_workbook(path)
        sheet = book["Receipts"]
        header = [c.value for c in sheet[1]]
        sheet.cell(row + 2, header.index(column) + 1).value = value
        book.save(path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("total", "12,50 €"),
        ("total", "NaN"),
        ("tax", "-Infinity"),
        ("subtotal", "1e999999"),
        ("page", "two"),
        ("pages", "1.5"),
        ("total_score", "high"),
        ("merchant_score", "nan"),
    ],
)
def test_a_bad_cell_typed_into_a_report_is_named_not_the_whole_report_refused(
    tmp_path: Path, fmt: str, column: str, value: str
) -> None:
    """The README invites corrections in the report (a total in the XLSX sheet, a duplicate_of);
    one cell typed wrong must be named (where, which column, what) so the user can fix it, not
    refused as "not an expense report" with a Python exception name, nor read as NaN."""
    out = tmp_path / f"my report 😀.{fmt}"
    write_report(out, ROWS)
    _edit_cell(out, 1, column, value)
    where = {"csv": "line 3", "json": "rows[1]", "xlsx": "Receipts row 3"}[fmt]
    with pytest.raises(ConfigError) as caught:
        read_report(out)
    message = str(caught.value)
    assert message.startswith(f"{out}, {where}: {column} {value!r} is not a number: "), message
    assert (
        "correct that cell, or pass --force" in message and "not an expense report" not in message
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_row_without_its_file_is_named(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    write_report(out, ROWS)
    _edit_cell(out, 0, "file", None if fmt != "csv" else "")
    where = {"csv": "line 2", "json": "rows[0]", "xlsx": "Receipts row 2"}[fmt]
    with pytest.raises(ConfigError, match=rf"{re.escape(where)}: the file cell is empty"):
        read_report(out)
    huge = tmp_path / "huge.json"
    write_report(huge, ROWS)
    _edit_cell(huge, 0, "page", 10**400)  # a JSON integer past float's range
    with pytest.raises(ConfigError, match=r"rows\[0\]: page '1000.*' is not a number"):
        read_report(huge)


@pytest.mark.parametrize(
    ("typed", "read_as", "month"),
    [
        ("03.01.2024", "2024-01-03", "2024-01"),  # Excel, German locale: day first, certain
        ("3.1.2024", "2024-01-03", "2024-01"),
        ("2024/01/03", "2024-01-03", "2024-01"),  # Japanese locale
        ("1/3/2024", "1/3/2024", ""),  # US or UK? not guessed: the unknown month
        ("31.02.2024", "31.02.2024", ""),  # no such day
        ("2024-13-01", "2024-13-01", ""),
        ("Jan 3", "Jan 3", ""),
    ],
)
def test_a_date_rewritten_by_a_spreadsheet_never_makes_up_a_month(
    tmp_path: Path, typed: str, read_as: str, month: str
) -> None:
    """Excel saves a CSV's dates in its locale's form; the summary used the first 7 characters
    of whatever was there as the month ("03.01.2", "1/3/202")."""
    out = tmp_path / "report.csv"
    row = Row(file="a.png", sha256="a" * 64, date="2024-01-03", total=Decimal(5), currency="EUR")
    write_report(out, [row])
    _edit_cell(out, 0, "date", typed)
    (back,) = read_report(out)
    assert back.date == read_as
    assert [(m.month, m.total) for m in summarize([back], 0.5).by_month] == [(month, Decimal(5))]
