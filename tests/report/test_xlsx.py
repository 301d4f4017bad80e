"""The XLSX report as a spreadsheet (issue 18): currency formats per row, widths, autofilter,
low-confidence marks, and Summary totals that are formulas over the Receipts sheet with their
values cached. The formulas are checked without LibreOffice by tests/report/_formulas.py."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from expense_cli.report import COLUMNS, ReportInfo, Row, read_report, summarize, write_report
from expense_cli.report._xlsx import LOW_CONFIDENCE_FILL, POSSIBLE_DUPLICATE_FILL, amount_format
from tests.report._formulas import evaluate, parse_range

_LETTER = {name: get_column_letter(i + 1) for i, name in enumerate(COLUMNS)}


def _rows(seed: int, count: int = 60) -> list[Row]:
    """Input we did not pick one by one: currencies (and none), dates across month and year ends
    (and none), amounts with 0-3 decimals, negatives, errors, duplicates, likely duplicates,
    low scores and astral-plane merchants."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.08:
            rows.append(Row(file=f"bad{i}.png", sha256=f"{i:064x}", error="unreadable: x"))
            continue
        currency = rng.choice(["EUR", "EUR", "USD", "JPY", "KWD", None])
        places = {"JPY": 0, "KWD": 3}.get(currency or "", 2)
        amount = Decimal(rng.randint(-500, 90_000)).scaleb(-places)
        day = rng.choice(["2023-12-31", "2024-01-01", "2024-01-31", "2024-02-29", "2024-12-01"])
        rows.append(
            Row(
                file=f"r{i} 🧾.png",
                sha256=f"{i:064x}",
                merchant=rng.choice(["ACME", "𝐂𝐈𝐓𝐘 BOOKS", "Café", None]),
                date=None if rng.random() < 0.1 else day,
                total=None if rng.random() < 0.1 else amount,
                currency=currency,
                subtotal=amount - 1 if rng.random() < 0.5 else None,
                tax=Decimal("1.19") if rng.random() < 0.5 else None,
                scores={"total": round(rng.random(), 4), "merchant": round(rng.random(), 4)},
                duplicate_of="r0 🧾.png" if rng.random() < 0.08 else None,
                possible_duplicate_of="r1 🧾.png" if rng.random() < 0.08 else None,
            )
        )
    return rows


def _write(tmp_path: Path, rows: list[Row], min_score: float = 0.5) -> Path:
    out = tmp_path / "r.xlsx"
    write_report(out, rows, ReportInfo(min_score=min_score))
    return out


def _summary_cells(sheet: Any) -> dict[str, Any]:
    """Coordinate → value of every numeric-looking Summary cell (formulas as text)."""
    return {
        cell.coordinate: cell.value
        for line in sheet.iter_rows()
        for cell in line[1:]
        if isinstance(cell.value, int | float) or str(cell.value).startswith("=")
    }


def _expected(rows: list[Row], min_score: float) -> dict[str, Decimal | int]:
    """What each Summary line should say, keyed like the sheet: label or (currency/month, col)."""
    s = summarize(rows, min_score)
    out: dict[str, Decimal | int] = {
        "Documents": s.documents,
        "In totals": s.totalled,
        "Errors (not in totals)": s.errors,
        "Duplicates (not in totals)": s.duplicates,
        "Likely duplicates (kept in totals)": s.possible_duplicates,
        "Without a total": s.without_total,
        "With low-confidence fields (kept in totals)": s.low_confidence,
    }
    for c in s.by_currency:
        values = (c.documents, c.total, c.subtotal, c.tax, c.low_confidence)
        for n, value in enumerate((*values, c.low_confidence_total)):
            out[f"{c.currency or '(none)'}#{n}"] = value
    for m in s.by_month:
        out[f"{m.month or '(no date)'}/{m.currency or '(none)'}#0"] = m.documents
        out[f"{m.month or '(no date)'}/{m.currency or '(none)'}#1"] = m.total
    return out


def _read_summary(sheet: Any, value: Any) -> dict[str, Any]:
    """The Summary sheet in the keys of ``_expected``; ``value(cell)`` reads one cell."""
    out: dict[str, Any] = {}
    section = ""
    for line in sheet.iter_rows():
        label = line[0].value
        if label in ("Currency", "Month"):
            section = label
            continue
        if label is None:
            continue
        if section == "":
            skip = label in ("Status", "Min score", "Target", "Marks on Receipts")
            if not skip and not str(label).startswith("Confirm"):
                out[label] = value(line[1])
        elif section == "Currency":
            for n in range(6):
                out[f"{label}#{n}"] = value(line[1 + n])
        else:
            for n in range(2):
                out[f"{label}/{line[1].value}#{n}"] = value(line[2 + n])
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_summary_formulas_compute_the_summary_and_cache_it(tmp_path: Path, seed: int) -> None:
    rows = _rows(seed)
    out = _write(tmp_path, rows)
    expected = _expected(rows, 0.5)
    book = openpyxl.load_workbook(out)
    summary = book["Summary"]
    formulas = _read_summary(summary, lambda cell: cell.value)
    assert set(formulas) == set(expected)
    assert all(str(f).startswith(("=SUMIFS(", "=COUNTIFS(")) for f in formulas.values())
    # every range is one Receipts column over exactly the data rows
    last = book["Receipts"].max_row
    for formula in formulas.values():
        for part in str(formula).replace("(", ",").replace(")", ",").split(","):
            if "!" in part:
                sheet, _, first, end = parse_range(part)
                assert (sheet, first, end) == ("Receipts", 2, last), formula
    # LibreOffice-free: evaluated against the cells, they give the Decimal summary
    assert {k: evaluate(book, str(f)) for k, f in formulas.items()} == expected
    # readers that do not calculate see the same numbers
    cached = _read_summary(
        openpyxl.load_workbook(out, data_only=True)["Summary"], lambda cell: cell.value
    )
    assert {k: Decimal(repr(v)) if isinstance(v, float) else v for k, v in cached.items()} == {
        k: Decimal(v) if isinstance(v, Decimal) else v for k, v in expected.items()
    }
    assert read_report(out) == rows  # the Receipts sheet still reads back whole


def test_a_users_correction_changes_the_totals(tmp_path: Path) -> None:
    rows = [
        Row(file="a", sha256="a", merchant="ACME", total=Decimal("10.00"), currency="EUR",
            date="2024-01-05", scores={"total": 0.9}),
        Row(file="b", sha256="b", merchant="ACME", total=Decimal("10.00"), currency="EUR",
            date="2024-01-05", possible_duplicate_of="a", scores={"total": 0.9}),
        Row(file="c", sha256="c", merchant="BOOKS", total=Decimal("7.50"), currency="USD",
            date="2024-02-01", scores={"total": 0.2}),
    ]  # fmt: skip
    out = _write(tmp_path, rows)
    book = openpyxl.load_workbook(out)
    receipts = book["Receipts"]
    receipts[f"{_LETTER['total']}4"] = 75.0  # the OCR read 7.50 for 75.00
    receipts[f"{_LETTER['total_score']}4"] = 1.0  # ... the user checked it
    receipts[f"{_LETTER['low_confidence']}4"] = None  # (the count of such rows reads this column)
    receipts[f"{_LETTER['duplicate_of']}3"] = "a"  # ... and confirmed the likely duplicate
    corrected = [
        rows[0],
        rows[1].copy(duplicate_of="a"),
        rows[2].copy(total=Decimal("75.0"), scores={"total": 1.0}),
    ]
    got = _read_summary(book["Summary"], lambda cell: evaluate(book, str(cell.value)))
    want = _expected(corrected, 0.5)
    assert got["EUR#1"] == want["EUR#1"] == Decimal("10.00")
    assert got["USD#1"] == Decimal("75.0") and got["USD#4"] == 0
    assert got["2024-02/USD#1"] == Decimal("75.0")
    assert got["Duplicates (not in totals)"] == 1
    assert {k: v for k, v in got.items() if k in want} == want


def test_receipts_sheet_formats_filter_widths_and_marks(tmp_path: Path) -> None:
    long_merchant = "𝐀" * 300
    rows = [
        Row(file="a.png", sha256="a", merchant="ACME", total=Decimal("17.37"), currency="EUR",
            tax=Decimal("2.77"), scores={"total": 0.31, "merchant": 0.9, "tax": 0.2}),
        Row(file="b.png", sha256="b", merchant=long_merchant, total=Decimal("1234567.891"),
            currency="JPY", scores={"merchant": 0.95}),
        Row(file="c.png", sha256="c", total=Decimal("-5.125"), currency="KWD",
            possible_duplicate_of="a.png"),
        Row(file="d.png", sha256="d", total=Decimal("3"), currency=None),
        Row(file="e.png", sha256="e", total=Decimal("3.10"), currency="E$R"),
        Row(file="f.png", sha256="f", total=Decimal("500"), currency="JPY"),
    ]  # fmt: skip
    out = _write(tmp_path, rows)
    sheet = openpyxl.load_workbook(out)["Receipts"]
    totals = [sheet[f"{_LETTER['total']}{n}"].number_format for n in range(2, 8)]
    assert totals == [
        '#,##0.00 "EUR"',
        '#,##0.### "JPY"',  # the currency has no decimals, this amount has three: all shown
        '#,##0.000 "KWD"',
        "#,##0.00",
        "#,##0.00",  # not a currency code: no quotes from the document in a format
        '#,##0 "JPY"',
    ]
    assert sheet[f"{_LETTER['tax']}2"].number_format == '#,##0.00 "EUR"'
    assert sheet.auto_filter.ref == f"A1:{_LETTER[COLUMNS[-1]]}7"
    assert sheet.freeze_panes == "B2"
    widths = {name: sheet.column_dimensions[_LETTER[name]].width for name in COLUMNS}
    assert all(widths[name] >= len(name) + 2 for name in COLUMNS)  # headers and filter buttons
    assert widths["merchant"] == 60  # capped, not 300
    assert widths["total"] >= len("1,234,567.891 JPY")
    assert widths["file"] < widths["merchant"]

    def fill(column: str, number: int) -> str:
        return str(sheet[f"{_LETTER[column]}{number}"].fill.start_color.rgb)

    amber = [(c, n) for c in COLUMNS for n in range(2, 8) if fill(c, n) == LOW_CONFIDENCE_FILL]
    assert sorted(amber) == sorted([("total", 2), ("total_score", 2), ("tax", 2), ("tax_score", 2)])
    assert fill("possible_duplicate_of", 4) == POSSIBLE_DUPLICATE_FILL
    assert fill("merchant", 3) != LOW_CONFIDENCE_FILL


@pytest.mark.parametrize(
    ("currency", "value", "expected"),
    [
        ("EUR", Decimal("1"), '#,##0.00 "EUR"'),
        ("EUR", Decimal("1.2345"), '#,##0.00## "EUR"'),
        ("EUR", Decimal("1.500"), '#,##0.00 "EUR"'),
        ("JPY", Decimal("1000"), '#,##0 "JPY"'),
        ("JPY", Decimal("1E+3"), '#,##0 "JPY"'),
        ("BHD", Decimal("0.1"), '#,##0.000 "BHD"'),
        ("eur", Decimal("1"), "#,##0.00"),
        ('"; @', Decimal("1"), "#,##0.00"),
        (None, None, "#,##0.00"),
    ],
)
def test_amount_format(currency: str | None, value: Decimal | None, expected: str) -> None:
    assert amount_format(currency, value) == expected


@pytest.mark.parametrize(
    "rows",
    [
        [Row(file="a", sha256="a", total=Decimal("1.00"), currency="EUR", date="2024-1-5")],
        [
            Row(file="a", sha256="a", total=Decimal("1.00"), currency="EUR"),
            Row(file="b", sha256="b", total=Decimal("2.00"), currency="Eur"),
        ],
        [Row(file="a", sha256="a", total=Decimal("1.00"), currency="EU*")],
    ],
    ids=["non-ISO date", "currencies differing in case", "wildcard in currency"],
)
def test_totals_a_formula_cannot_match_are_plain_values(tmp_path: Path, rows: list[Row]) -> None:
    out = _write(tmp_path, rows)
    book = openpyxl.load_workbook(out)
    expected = _expected(rows, 0.5)
    got = _read_summary(book["Summary"], lambda cell: cell.value)
    for key, value in got.items():
        if isinstance(value, str) and value.startswith("="):
            assert evaluate(book, value) == expected[key], key
        else:
            assert Decimal(repr(value)) == expected[key], key


def test_no_rows_no_formulas(tmp_path: Path) -> None:
    out = _write(tmp_path, [])
    cells = _summary_cells(openpyxl.load_workbook(out)["Summary"])
    assert not any(str(v).startswith("=") for v in cells.values())


@pytest.mark.parametrize("count", [10, 400])
def test_writing_does_not_rescan_the_sheet_per_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    """``Worksheet.max_row`` scans every cell: read once per row it made a 3,000-row report
    (rewritten at each checkpoint) take ~40 s per write. Its reads must not grow with the rows."""
    from openpyxl.worksheet.worksheet import Worksheet

    reads = 0
    real = Worksheet.max_row

    def counted(self: Worksheet) -> int:
        nonlocal reads
        reads += 1
        return int(real.fget(self))  # type: ignore[attr-defined]

    monkeypatch.setattr(Worksheet, "max_row", property(counted))
    _write(tmp_path, _rows(seed=4, count=count))
    assert reads <= 12, reads
