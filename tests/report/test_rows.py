from __future__ import annotations

from decimal import Decimal

from expense_cli.report import Row, row_from_result, summarize
from tests.report._fake import Spec, result_for


def test_row_from_result_maps_every_field() -> None:
    spec = Spec(
        "ACME",
        "17.37",
        "EUR",
        "2024-01-03",
        tax="2.77",
        subtotal="14.60",
        receipt_number="004217",
        total_score=0.42,
        page=2,
        pages=3,
    )
    row = row_from_result("a.png", "ab" * 32, result_for(spec))
    assert (row.file, row.sha256, row.merchant, row.date) == (
        "a.png",
        "ab" * 32,
        "ACME",
        "2024-01-03",
    )
    assert (row.total, row.subtotal, row.tax) == (
        Decimal("17.37"),
        Decimal("14.60"),
        Decimal("2.77"),
    )
    assert (row.currency, row.receipt_number, row.page, row.pages) == ("EUR", "004217", 2, 3)
    # only answered fields have a score (merchant_address was empty)
    assert row.scores == {
        "merchant": 0.9,
        "date": 0.9,
        "total": 0.42,
        "subtotal": 0.9,
        "tax": 0.9,
        "receipt_number": 0.9,
    }
    assert row.low_confidence(0.5) == ["total"]
    assert row.low_confidence(0.95) == [
        "merchant",
        "date",
        "total",
        "subtotal",
        "tax",
        "receipt_number",
    ]
    assert row.done


def test_row_from_result_tolerates_odd_results() -> None:
    row = row_from_result(
        "x.png",
        "00",
        {"fields": {"total": {"answer": "abc", "value": "abc", "score": "high"}}, "pages": "two"},
    )
    assert (row.total, row.currency, row.pages, row.scores) == (None, None, None, {})
    row = row_from_result("x.png", "00", {"fields": []})
    assert row.merchant is None and row.done


def test_currency_falls_back_to_another_amount() -> None:
    result = result_for(Spec("X", "5.00", None, None, tax="1.00"))
    result["fields"]["tax"]["currency"] = "gbp"
    assert row_from_result("x", "0", result).currency == "GBP"


def _row(total: str | None, currency: str | None, date: str | None = None, **kw: object) -> Row:
    return Row(
        file="f",
        sha256="s",
        total=None if total is None else Decimal(total),
        currency=currency,
        date=date,
        **kw,
    )  # type: ignore[arg-type]


def test_summary_is_exact_decimal_and_keeps_currencies_apart() -> None:
    rows = [
        _row("0.10", "EUR", "2024-01-31"),
        _row("0.20", "EUR", "2024-02-01"),
        _row("0.30", "EUR", "2024-01-02"),
        _row("5", "USD", "2024-01-05"),
        _row("7.5", None),
        _row(None, "EUR"),
    ]
    assert 0.1 + 0.2 + 0.3 != 0.6  # what float would get wrong
    summary = summarize(rows, 0.5)
    got = {(c.currency, c.documents, c.total) for c in summary.by_currency}
    assert got == {("EUR", 3, Decimal("0.60")), ("USD", 1, Decimal("5")), ("", 1, Decimal("7.5"))}
    assert [c.currency for c in summary.by_currency] == ["EUR", "USD", ""]  # unknown last
    months = [(m.month, m.currency, m.documents, m.total) for m in summary.by_month]
    assert months == [
        ("2024-01", "EUR", 2, Decimal("0.40")),
        ("2024-01", "USD", 1, Decimal("5")),
        ("2024-02", "EUR", 1, Decimal("0.20")),
        ("", "", 1, Decimal("7.5")),
    ]
    assert (summary.documents, summary.totalled, summary.without_total) == (6, 5, 1)


def test_errors_and_duplicates_are_counted_not_totalled_low_confidence_is_kept() -> None:
    low = _row("10.00", "EUR", scores={"total": 0.2})
    rows = [
        _row("1.00", "EUR", scores={"total": 0.9}),
        low,
        _row("99.00", "EUR", duplicate_of="a.png"),
        Row(file="bad", error="boom"),
    ]
    summary = summarize(rows, 0.5)
    (eur,) = summary.by_currency
    assert (eur.documents, eur.total, eur.low_confidence, eur.low_confidence_total) == (
        2,
        Decimal("11.00"),
        1,
        Decimal("10.00"),
    )
    assert (summary.errors, summary.duplicates, summary.low_confidence) == (1, 1, 1)
    assert summarize(rows, 0.1).by_currency[0].low_confidence == 0
