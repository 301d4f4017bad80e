"""What makes the XLSX report a spreadsheet rather than a dump (issue 18), for ``_writers.py``:

- Receipts sheet: each amount in its row's currency format (``#,##0.00 "EUR"``, no decimals for
  JPY, three for KWD, more digits when the amount has them, so nothing is hidden), column widths
  from the content, an autofilter over the table, low-confidence cells (value and score) filled
  amber and likely duplicates (``possible_duplicate_of``) filled orange.
- Summary sheet: the counts and the totals per currency and per month are formulas over the
  Receipts sheet (``SUMIFS``/``COUNTIFS`` on bounded ranges such as ``Receipts!$E$2:$E$41``), so a
  user who corrects a total, a currency or a ``duplicate_of`` cell sees the totals follow.
  openpyxl writes formulas without values, so :func:`with_cached_values` writes the values that
  ``_rows.summarize`` computed into each formula cell's ``<v>`` in the saved package: a reader
  that does not calculate (``openpyxl`` with ``data_only=True``, pandas, most previews) sees the
  numbers; Excel and LibreOffice recalculate on load (openpyxl sets ``fullCalcOnLoad``).
- A total is written as a plain value instead of a formula where a formula could disagree with
  the Decimal summary: a currency that is not three capital letters (``SUMIFS`` criteria are
  case-insensitive and treat ``* ? < =`` specially), or a month table over dates that are not
  ISO dates (they stay text in the sheet).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._rows import COLUMNS, FIELDS, Row, Summary

__all__ = [
    "Formula",
    "SummaryFormulas",
    "amount_format",
    "format_receipts",
    "with_cached_values",
]

# Currencies whose minor unit is not 1/100 (ISO 4217); every other code gets two decimals.
_MINOR_DIGITS = {
    **dict.fromkeys(("JPY", "KRW", "ISK", "CLP", "VND", "PYG", "UGX", "XOF", "XAF", "XPF"), 0),
    **dict.fromkeys(("BHD", "KWD", "JOD", "OMR", "TND", "IQD", "LYD"), 3),
}
_CODE = re.compile(r"[A-Z]{3}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LOW_CONFIDENCE_FILL = "FFFFD966"  # amber
POSSIBLE_DUPLICATE_FILL = "FFF4B084"  # orange
_MIN_WIDTH, _MAX_WIDTH = 8, 60


def amount_format(currency: str | None, value: Decimal | None = None) -> str:
    """The number format of an amount: ``#,##0.00 "EUR"``; the currency's own decimals, plus as
    many optional digits as ``value`` has beyond them."""
    code = currency if currency and _CODE.fullmatch(currency) else None
    digits = _MINOR_DIGITS.get(code or "", 2)
    places = 0
    if value is not None and value.is_finite():
        exponent = value.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    decimals = "0" * digits + "#" * max(0, places - digits)
    text = "#,##0" + ("." + decimals if decimals else "")
    return f'{text} "{code}"' if code else text


def _letter(column: str) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(COLUMNS.index(column) + 1))


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, list):
        value = ", ".join(value)
    if isinstance(value, Decimal):
        return len(f"{value:,}") + 4  # + the currency code
    if isinstance(value, float):
        return 6
    return max((len(line) for line in str(value).splitlines()), default=0)


def format_receipts(
    sheet: Any, rows: Sequence[Row], values: Sequence[Mapping[str, Any]], min_score: float
) -> None:
    """Number formats, marks, widths and the autofilter of the Receipts sheet (header in row 1,
    ``rows[i]`` in row ``i + 2``; ``values`` are ``_writers._plain`` of each row)."""
    from openpyxl.styles import PatternFill

    amber = PatternFill(fill_type="solid", start_color=LOW_CONFIDENCE_FILL)
    orange = PatternFill(fill_type="solid", start_color=POSSIBLE_DUPLICATE_FILL)
    index = {column: i + 1 for i, column in enumerate(COLUMNS)}
    widths = {column: len(column) + 3 for column in COLUMNS}  # + the filter button
    for number, (row, plain) in enumerate(zip(rows, values, strict=True), start=2):
        for column in COLUMNS:
            widths[column] = max(widths[column], _width(plain[column]))
        for name in ("total", "subtotal", "tax"):
            amount = getattr(row, name)
            if amount is not None:
                sheet.cell(number, index[name]).number_format = amount_format(row.currency, amount)
        for name in FIELDS:
            if row.scores.get(name) is not None:
                sheet.cell(number, index[f"{name}_score"]).number_format = "0.00"
        for name in row.low_confidence(min_score):
            sheet.cell(number, index[f"{name}_score"]).fill = amber
            if name in index:
                sheet.cell(number, index[name]).fill = amber
        if row.possible_duplicate_of is not None:
            sheet.cell(number, index["possible_duplicate_of"]).fill = orange
    for column, width in widths.items():
        sheet.column_dimensions[_letter(column)].width = min(max(width, _MIN_WIDTH), _MAX_WIDTH)
    sheet.auto_filter.ref = f"A1:{_letter(COLUMNS[-1])}{len(rows) + 1}"


@dataclass(frozen=True)
class Formula:
    """A Summary cell: ``text`` (without ``=``) and the value it has for the rows as written."""

    text: str
    cached: Decimal | int

    @property
    def value(self) -> str:
        return "=" + self.text


Cell = Formula | Decimal | int


class SummaryFormulas:
    """The formulas of the Summary sheet over the Receipts rows (``sheet`` = its title)."""

    def __init__(self, sheet: str, rows: Sequence[Row], summary: Summary, min_score: float):
        self._sheet = sheet
        self._last = len(rows) + 1
        self._summary = summary
        self._min = format(Decimal(repr(min_score)), "f")
        self.enabled = bool(rows)  # no rows: no range to point at
        codes = {row.currency for row in rows if row.currency}
        folded = Counter(code.casefold() for code in codes)
        # criteria are case-insensitive: "EUR" would also select "eur" rows
        self._unsafe_codes = {
            code.casefold()
            for code in codes
            if not _CODE.fullmatch(code) or folded[code.casefold()] > 1
        }
        self.months_enabled = self.enabled and all(
            row.date is None or (_ISO_DATE.fullmatch(row.date) and _valid(row.date))
            for row in rows
            if row.error is None
        )

    def range(self, column: str) -> str:
        letter = _letter(column)
        return f"{self._sheet}!${letter}$2:${letter}${self._last}"

    def _conditions(self, pairs: Iterable[tuple[str, str]]) -> str:
        return ",".join(f"{self.range(column)},{criterion}" for column, criterion in pairs)

    def count(self, cached: int, *pairs: tuple[str, str]) -> Cell:
        if not self.enabled:
            return cached
        return Formula(f"COUNTIFS({self._conditions(pairs)})", cached)

    def sum(self, column: str, cached: Decimal, *pairs: tuple[str, str]) -> Cell:
        if not self.enabled:
            return cached
        return Formula(f"SUMIFS({self.range(column)},{self._conditions(pairs)})", cached)

    # -- the cells of the Summary sheet ------------------------------------------------------
    _KEPT = (("error", '""'), ("duplicate_of", '""'))

    def counts(self) -> list[tuple[str, Cell]]:
        s = self._summary
        kept = self._KEPT
        return [
            ("Documents", self.count(s.documents, ("file", '"<>"'))),
            ("In totals", self.count(s.totalled, *kept, ("total", '"<>"'))),
            ("Errors (not in totals)", self.count(s.errors, ("error", '"<>"'))),
            (
                "Duplicates (not in totals)",
                self.count(s.duplicates, ("error", '""'), ("duplicate_of", '"<>"')),
            ),
            (
                "Likely duplicates (kept in totals)",
                self.count(s.possible_duplicates, *kept, ("possible_duplicate_of", '"<>"')),
            ),
            ("Without a total", self.count(s.without_total, *kept, ("total", '""'))),
            (
                "With low-confidence fields (kept in totals)",
                self.count(s.low_confidence, ("error", '""'), ("low_confidence", '"<>"')),
            ),
        ]

    def currency(self, code: str) -> tuple[str, str] | None:
        """The currency criterion pair, or None when no formula can select exactly ``code``."""
        if code.casefold() in self._unsafe_codes:
            return None
        return ("currency", f'"{code}"')

    def by_currency(self) -> list[list[Cell | str]]:
        lines: list[list[Cell | str]] = []
        for c in self._summary.by_currency:
            label = c.currency or "(none)"
            pair = self.currency(c.currency)
            if pair is None or not self.enabled:
                lines.append([label, c.documents, c.total, c.subtotal, c.tax])
                lines[-1] += [c.low_confidence, c.low_confidence_total]
                continue
            kept = (*self._KEPT, pair)
            counted = (*kept, ("total", '"<>"'))
            low = ("total_score", f'"<{self._min}"')
            lines.append(
                [
                    label,
                    self.count(c.documents, *counted),
                    self.sum("total", c.total, *kept),
                    self.sum("subtotal", c.subtotal, *counted),
                    self.sum("tax", c.tax, *counted),
                    self.count(c.low_confidence, *counted, low),
                    self.sum("total", c.low_confidence_total, *kept, low),
                ]
            )
        return lines

    def by_month(self) -> list[list[Cell | str]]:
        lines: list[list[Cell | str]] = []
        for m in self._summary.by_month:
            labels: list[Cell | str] = [m.month or "(no date)", m.currency or "(none)"]
            pair = self.currency(m.currency)
            if pair is None or not self.months_enabled:
                lines.append([*labels, m.documents, m.total])
                continue
            if m.month:
                year, month = int(m.month[:4]), int(m.month[5:7])
                after = (year + month // 12, month % 12 + 1)
                when: tuple[tuple[str, str], ...] = (
                    ("date", f'">="&DATE({year},{month},1)'),
                    ("date", f'"<"&DATE({after[0]},{after[1]},1)'),
                )
            else:
                when = (("date", '""'),)
            kept = (*self._KEPT, pair, *when)
            lines.append(
                [
                    *labels,
                    self.count(m.documents, *kept, ("total", '"<>"')),
                    self.sum("total", m.total, *kept),
                ]
            )
        return lines


def _valid(date: str) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(date)
    except ValueError:
        return False
    return True


# a formula cell as openpyxl writes it: <c r="C12" s="3"><f>SUMIFS(...)</f><v /></c>
_FORMULA_CELL = re.compile(rb'(<c r="([A-Z]+[0-9]+)"[^>]*><f>[^<]*</f>)(?:<v\s*/>|<v></v>)')


def with_cached_values(
    package: bytes, sheet_number: int, cached: Mapping[str, Decimal | int]
) -> bytes:
    """``package`` (a saved workbook) with ``cached[ref]`` as the value of each formula cell of
    its ``sheet_number``-th sheet (``xl/worksheets/sheet<N>.xml``, as openpyxl names them)."""
    member = f"xl/worksheets/sheet{sheet_number}.xml"

    def fill(match: re.Match[bytes]) -> bytes:
        value = cached.get(match.group(2).decode("ascii"))
        if value is None:
            return match.group(0)
        text = format(value, "f") if isinstance(value, Decimal) else str(value)
        return match.group(1) + f"<v>{text}</v>".encode("ascii")

    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                data = _FORMULA_CELL.sub(fill, data)
            target.writestr(info, data)
    return out.getvalue()
