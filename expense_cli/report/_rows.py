"""One report row per document, and the summary (totals per currency and per month).

Amounts are :class:`~decimal.Decimal` from end to end (the engine sends them as Decimal text);
a float never touches a sum. Low-confidence fields are *kept* in the totals and flagged: each row
lists them in ``low_confidence``, and the summary shows, per currency, how many documents and how
much of the total rest on a low-confidence total. Error rows and duplicates (same content hash as
an earlier document) are left out of the totals and counted.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..engine import DEFAULT_FIELDS
from ._names import safe_text

__all__ = [
    "AMOUNT_FIELDS",
    "COLUMNS",
    "FIELDS",
    "TEXT_FIELDS",
    "CurrencyTotal",
    "FieldBoxes",
    "MonthTotal",
    "Row",
    "Summary",
    "field_boxes",
    "row_from_result",
    "summarize",
]

FIELDS: tuple[str, ...] = tuple(DEFAULT_FIELDS)
AMOUNT_FIELDS: tuple[str, ...] = ("total", "subtotal", "tax")
TEXT_FIELDS: tuple[str, ...] = ("merchant", "merchant_address", "receipt_number")
UNKNOWN_CURRENCY = ""  # shown as "(none)": amounts without a currency are not mixed with others
UNKNOWN_MONTH = ""

# The columns of every format, in order.
COLUMNS: tuple[str, ...] = (
    "file",
    "merchant",
    "merchant_address",
    "date",
    "total",
    "currency",
    "subtotal",
    "tax",
    "receipt_number",
    "page",
    "pages",
    *(f"{name}_score" for name in FIELDS),
    "low_confidence",
    "duplicate_of",
    "possible_duplicate_of",
    "sha256",
    "error",
)


@dataclass(frozen=True)
class FieldBoxes:
    """Where one field's answer is: its page (1-based) and word boxes ``[x0, y0, x1, y1]``."""

    page: int | None
    boxes: tuple[tuple[int, int, int, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "boxes": [list(box) for box in self.boxes]}


def field_boxes(value: object) -> FieldBoxes | None:
    """``{"page": 1, "boxes": [[x0, y0, x1, y1], ...]}`` → FieldBoxes; None without valid boxes
    (a box is four integers on the 0..1000 grid; anything else is dropped)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("boxes"), list):
        return None
    boxes = []
    for box in value["boxes"]:
        if (
            isinstance(box, list | tuple)
            and len(box) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) for v in box)
            and all(0 <= v <= 1000 for v in box)
        ):
            boxes.append((box[0], box[1], box[2], box[3]))
    return FieldBoxes(_int(value.get("page")), tuple(boxes)) if boxes else None


@dataclass
class Row:
    """One document of the report (``error`` set when it failed)."""

    file: str
    sha256: str = ""
    merchant: str | None = None
    merchant_address: str | None = None
    date: str | None = None  # ISO 8601
    total: Decimal | None = None
    currency: str | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    receipt_number: str | None = None
    page: int | None = None  # where the total was found (1-based)
    pages: int | None = None
    scores: dict[str, float] = field(default_factory=dict)  # field → score, answered fields only
    duplicate_of: str | None = None
    error: str | None = None
    possible_duplicate_of: str | None = None  # same merchant, date and total (``_dupes.py``)
    boxes: dict[str, FieldBoxes] = field(default_factory=dict)  # field → where its answer is

    @property
    def done(self) -> bool:
        """Done rows are skipped by a re-run; error rows are tried again."""
        return self.error is None and bool(self.sha256)

    def low_confidence(self, min_score: float) -> list[str]:
        """The fields that have a value but a score below ``min_score`` (in column order)."""
        return [
            name
            for name in FIELDS
            if name in self.scores
            and self.scores[name] < min_score
            and getattr(self, name) not in (None, "")
        ]

    def copy(self, **changes: Any) -> Row:
        fresh = {"scores": dict(self.scores), "boxes": dict(self.boxes)}
        return dataclasses.replace(self, **{**fresh, **changes})


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _text(value: object) -> str | None:
    """Whitespace collapsed; control characters and lone surrogates escaped (``_names``)."""
    if value is None:
        return None
    text = safe_text(" ".join(str(value).split()))
    return text or None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def row_from_result(file: str, sha256: str, result: Mapping[str, Any]) -> Row:
    """A target's JSON result (the contract: docs/architecture.md) → a row. Tolerates gaps."""
    raw_fields = result.get("fields")
    fields: Mapping[str, Any] = raw_fields if isinstance(raw_fields, Mapping) else {}
    row = Row(file=safe_text(file), sha256=sha256, pages=_int(result.get("pages")))

    def get(name: str) -> Mapping[str, Any]:
        value = fields.get(name)
        return value if isinstance(value, Mapping) else {}

    for name in FIELDS:
        item = get(name)
        score = item.get("score")
        answered = _text(item.get("answer")) is not None
        if answered and isinstance(score, int | float) and not isinstance(score, bool):
            row.scores[name] = float(score)
    for name in TEXT_FIELDS:
        setattr(row, name, _text(get(name).get("answer")))
    row.date = _text(get("date").get("value"))
    for name in AMOUNT_FIELDS:
        setattr(row, name, _decimal(get(name).get("value")))
    for name in AMOUNT_FIELDS:  # the total's currency; else the first amount that has one
        currency = _text(get(name).get("currency"))
        if currency and getattr(row, name) is not None:
            row.currency = currency.upper()
            break
    row.page = _int(get("total").get("page"))
    for name in FIELDS:
        found = field_boxes(get(name))
        if found is not None and name in row.scores:
            row.boxes[name] = found
    return row


@dataclass
class CurrencyTotal:
    currency: str
    documents: int = 0
    total: Decimal = Decimal(0)
    subtotal: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    low_confidence: int = 0  # documents whose total has a low score (still in ``total``)
    low_confidence_total: Decimal = Decimal(0)


@dataclass
class MonthTotal:
    month: str  # YYYY-MM, or "" when the date is unknown
    currency: str
    documents: int = 0
    total: Decimal = Decimal(0)


@dataclass
class Summary:
    documents: int = 0  # rows in the report
    totalled: int = 0  # rows that contributed to a total
    errors: int = 0
    duplicates: int = 0
    possible_duplicates: int = 0  # likely duplicates not confirmed (kept in the totals)
    without_total: int = 0
    low_confidence: int = 0  # rows with any low-confidence field
    by_currency: list[CurrencyTotal] = field(default_factory=list)
    by_month: list[MonthTotal] = field(default_factory=list)


# A month only from an ISO date: a date typed into the report as "03.01.2024" or "1/3/2024" is
# counted under the unknown month, never as a month "03.01.2".
_ISO_MONTH = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])(?:-|$)")


def summarize(rows: Iterable[Row], min_score: float) -> Summary:
    """Totals per currency and per (month, currency), with Decimal arithmetic."""
    summary = Summary()
    currencies: dict[str, CurrencyTotal] = {}
    months: dict[tuple[str, str], MonthTotal] = {}
    for row in rows:
        summary.documents += 1
        if row.error is not None:
            summary.errors += 1
            continue
        low = row.low_confidence(min_score)
        if low:
            summary.low_confidence += 1
        if row.duplicate_of is not None:
            summary.duplicates += 1
            continue
        if row.possible_duplicate_of is not None:
            summary.possible_duplicates += 1
        if row.total is None:
            summary.without_total += 1
            continue
        summary.totalled += 1
        code = row.currency or UNKNOWN_CURRENCY
        bucket = currencies.setdefault(code, CurrencyTotal(code))
        bucket.documents += 1
        bucket.total += row.total
        bucket.subtotal += row.subtotal or 0
        bucket.tax += row.tax or 0
        if "total" in low:
            bucket.low_confidence += 1
            bucket.low_confidence_total += row.total
        month = row.date[:7] if row.date and _ISO_MONTH.match(row.date) else UNKNOWN_MONTH
        per_month = months.setdefault((month, code), MonthTotal(month, code))
        per_month.documents += 1
        per_month.total += row.total
    # Unknown currency / month sort last.
    summary.by_currency = sorted(currencies.values(), key=lambda c: (c.currency == "", c.currency))
    summary.by_month = sorted(months.values(), key=lambda m: (m.month == "", m.month, m.currency))
    return summary
