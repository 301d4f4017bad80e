"""Likely duplicates (expense_cli/report/_dupes.py): OCR-tolerant merchant, same date and total."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from expense_cli.report import Row, build_report, read_report, summarize
from expense_cli.report._dupes import confirmed, mark_possible_duplicates, same_merchant
from tests.report._fake import FakeTarget, likely_duplicates


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ACME COFFEE ROASTERS", "ACME C0FFEE ROASTERS"),  # 0 for O
        ("ACME COFFEE ROASTERS", "ACME COFFEE R0ASTERS."),
        ("ACME COFFEE ROASTERS", "acme coffee-roasters"),
        ("ACME COFFEE ROASTERS", "ACME COFEE ROASTRS"),  # two letters lost in a photo
        ("Café Müller", "CAFE MULLER"),
        ("ＡＣＭＥ ＣＯＦＦＥＥ", "ACME COFFEE"),  # full-width (NFKC)
        ("𝐀𝐂𝐌𝐄 COFFEE", "ACME COFFEE"),  # mathematical bold, outside the BMP
        ("HOTEL AM SEE", "H0TEL AM 5EE"),
        ("Lidl", "L1dl"),
    ],
)
def test_same_merchant_despite_ocr_noise(a: str, b: str) -> None:
    assert same_merchant(a, b) and same_merchant(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CITY BOOKS", "CITY BIKES"),
        ("ACME COFFEE ROASTERS", "ACME TEA ROASTERS"),
        ("Lidl", "Aldi"),
        ("REWE", "EDEKA"),
        ("", ""),
        ("---", "..."),  # no letters: nothing to compare
        ("🍕", "🍔"),
    ],
)
def test_different_merchants(a: str, b: str) -> None:
    assert not same_merchant(a, b)


def _row(
    file: str,
    merchant: str | None = "ACME COFFEE ROASTERS",
    total: str | None = "17.37",
    date: str | None = "2024-01-03",
    currency: str | None = "EUR",
    **kw: object,
) -> Row:
    return Row(
        file=file,
        sha256=file * 2,
        merchant=merchant,
        total=None if total is None else Decimal(total),
        date=date,
        currency=currency,
        **kw,
    )  # type: ignore[arg-type]


def _flags(rows: list[Row]) -> list[tuple[str | None, str | None]]:
    return [(r.possible_duplicate_of, r.duplicate_of) for r in rows]


def test_flagged_against_the_first_copy_and_kept_in_the_totals() -> None:
    rows = [
        _row("scan.pdf"),
        _row("photo.jpg", merchant="ACME C0FFEE R0ASTERS"),
        _row("photo2.jpg", merchant="acme coffee roasters", currency=None),  # lost the symbol
        _row("other.png", merchant="CITY BOOKS"),
    ]
    marked = mark_possible_duplicates(rows)
    assert _flags(marked) == [(None, None), ("scan.pdf", None), ("scan.pdf", None), (None, None)]
    summary = summarize(marked, 0.5)
    assert (summary.by_currency[0].total, summary.possible_duplicates) == (Decimal("52.11"), 2)
    assert summary.duplicates == 0
    assert mark_possible_duplicates(marked) == marked  # stable under re-marking


@pytest.mark.parametrize(
    "change",
    [
        {"total": "17.38"},
        {"date": "2024-01-04"},
        {"currency": "USD"},
        {"merchant": "ACME TEA"},
        {"merchant": None},
        {"total": None},
        {"date": None},
        {"error": "unreadable_document: x"},
    ],
)
def test_not_flagged_when_anything_disagrees_or_is_missing(change: dict[str, str | None]) -> None:
    changed = _row("b", **change)
    assert _flags(mark_possible_duplicates([_row("a"), changed])) == [(None, None), (None, None)]
    assert _flags(mark_possible_duplicates([changed, _row("a")])) == [(None, None), (None, None)]


def test_drop_confirms_and_leaves_them_out_of_the_totals() -> None:
    rows = [_row("a"), _row("b", merchant="ACME C0FFEE ROASTERS"), _row("c", total="1.00")]
    marked = mark_possible_duplicates(rows, drop=True)
    assert _flags(marked) == [(None, None), ("a", "a"), (None, None)]
    assert confirmed(marked[1])
    summary = summarize(marked, 0.5)
    assert (summary.by_currency[0].total, summary.duplicates) == (Decimal("18.37"), 1)
    assert summary.possible_duplicates == 0
    # a confirmation in the rows (a re-run reads it back) is kept without --drop-duplicates
    assert _flags(mark_possible_duplicates(marked)) == _flags(marked)
    # ... and by sha256 (a reused row comes back with duplicate_of cleared)
    cleared = [r.copy(duplicate_of=None) for r in marked]
    again = mark_possible_duplicates(cleared, keep_confirmed={"bb"})
    assert _flags(again) == _flags(marked)


def test_a_stale_confirmation_is_dropped_when_the_pair_no_longer_matches() -> None:
    stale = _row("b", total="99.00", possible_duplicate_of="a", duplicate_of="a")
    assert _flags(mark_possible_duplicates([_row("a"), stale])) == [(None, None), (None, None)]


def test_byte_identical_duplicates_stay_as_they_are() -> None:
    rows = [_row("a"), _row("a-copy", duplicate_of="a"), _row("b", merchant="ACME C0FFEE")]
    marked = mark_possible_duplicates(rows)
    assert _flags(marked) == [(None, None), (None, "a"), (None, None)]
    assert marked[1] is rows[1]


def test_many_rows_compare_only_within_date_and_total() -> None:
    rows = [_row(f"r{i}", total=f"{i}.00", merchant=f"SHOP {i}") for i in range(3000)]
    rows.append(_row("late", total="2999.00", merchant="SH0P 2999"))
    marked = mark_possible_duplicates(rows)
    assert [r.file for r in marked if r.possible_duplicate_of] == ["late"]
    assert marked[-1].possible_duplicate_of == "r2999"


# -- through build_report (fake target: the photo and the scan have different bytes) --------------
def _pair(tmp_path: Path) -> tuple[Path, FakeTarget]:
    return likely_duplicates(tmp_path / "in")


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_build_report_flags_then_a_confirmation_survives_reruns(tmp_path: Path, fmt: str) -> None:
    folder, target = _pair(tmp_path)
    out = tmp_path / f"r.{fmt}"
    result = build_report([folder], out, target)
    flags = [(Path(r.file).name, r.possible_duplicate_of, r.duplicate_of) for r in result.rows]
    scan = str(folder / "1-scan.png")
    assert flags == [
        ("1-scan.png", None, None),
        ("2-photo 📷.jpg", scan, None),
        ("3-copy.png", None, scan),
    ]
    assert result.summary.by_currency[0].total == Decimal("34.74")  # kept until confirmed
    assert read_report(out) == result.rows

    confirmed_run = build_report([folder], out, target, drop_duplicates=True)
    assert confirmed_run.summary.by_currency[0].total == Decimal("17.37")
    assert confirmed_run.rows[1].duplicate_of == scan
    assert len(target.calls) == 2  # nothing sent twice

    again = build_report([folder], out, target)  # no flag: the confirmation in the file stays
    assert again.rows == confirmed_run.rows
    assert again.summary.by_currency[0].total == Decimal("17.37")
    forced = build_report([folder], out, target, force=True)  # --force: asked again, unconfirmed
    assert forced.summary.by_currency[0].total == Decimal("34.74")


def test_a_user_confirms_by_copying_the_name_into_duplicate_of(tmp_path: Path) -> None:
    folder, target = _pair(tmp_path)
    out = tmp_path / "r.csv"
    build_report([folder], out, target)
    with out.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    records[1]["duplicate_of"] = records[1]["possible_duplicate_of"]  # the user's edit
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    result = build_report([folder], out, target)
    assert result.summary.by_currency[0].total == Decimal("17.37")
    assert (result.summary.duplicates, result.summary.possible_duplicates) == (2, 0)
