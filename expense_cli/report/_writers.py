"""Write and read reports as CSV, JSON or XLSX, always atomically (temp file + ``os.replace``).

- CSV: the rows in ``<name>.csv``; the summary in the sibling ``<name>.summary.csv`` (a table
  with a ``group`` column: ``currency`` rows, then ``month`` rows), so the main file stays a plain
  table that any CSV reader loads.
- JSON: ``{"version": 1, "rows": [...], "summary": {...}}``; amounts are strings (Decimal text);
  each row also has ``boxes`` (field → ``{"page", "boxes"}``, where the answer is on its page).
- XLSX: a "Receipts" sheet (amounts as numbers in their currency's format, dates as dates,
  low-confidence cells marked, autofilter) and a "Summary" sheet whose totals are formulas over
  the Receipts sheet with their values cached (``_xlsx.py``).

Every text cell goes through :func:`~._names.safe_text` (control characters, lone surrogates and
what XML 1.0 cannot hold are escaped; file names are already in the form of ``_names``), so each
format can always be written. Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
``@`` first) is neutralised: CSV cells (rows and summary) get a leading ``'`` (removed again when
the report is read back), XLSX cells are stored as strings. The summary CSV says in its ``status``
column whether the report is complete or partial. ``read_report`` loads the rows back so that a
re-run can skip finished documents.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from .._files import atomic_write
from ..errors import BadRequest, ConfigError
from ._names import display_name, safe_text
from ._read import stat_argument
from ._rows import COLUMNS, FIELDS, Row, Summary, field_boxes, summarize
from ._xlsx import Formula, SummaryFormulas, amount_format, format_receipts, with_cached_values

__all__ = [
    "FORMATS",
    "ReportInfo",
    "check_writable",
    "read_report",
    "report_format",
    "summary_path",
    "write_report",
]

FORMATS = ("csv", "json", "xlsx")
JSON_VERSION = 1
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_COLUMNS = frozenset(
    {
        "file",
        "merchant",
        "merchant_address",
        "receipt_number",
        "error",
        "duplicate_of",
        "possible_duplicate_of",
        "currency",
        "date",
    }
)
_RECEIPTS_SHEET = "Receipts"
_SUMMARY_SHEET = "Summary"


@dataclass(frozen=True)
class ReportInfo:
    """What the summary says about the run besides the rows."""

    min_score: float = 0.5
    complete: bool = True
    expected: int | None = None  # documents in the input (a partial report has fewer rows)
    target: str | None = None

    def status(self, documents: int) -> str:
        """``complete``, or ``partial (3 of 5 documents)``."""
        if self.complete:
            return "complete"
        total = self.expected if self.expected is not None else documents
        return f"partial ({documents} of {total} documents)"


def report_format(path: Path) -> str:
    """``csv`` | ``json`` | ``xlsx`` from the file name."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise BadRequest(f"--out must end in .csv, .json or .xlsx, got {path.name!r}")
    return suffix


# ``atomic_write`` (expense_cli/_files.py) writes ``.NAME.XXXXXXXX.tmp`` beside each file.
_TEMP_EXTRA = len("..XXXXXXXX.tmp")


def _check_name_length(path: Path, fmt: str) -> None:
    """The temp files beside the report must fit the folder's name limit too, or the run would
    fail only when it first writes the report, after all its work."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):  # no limit known here: the write will tell
        return
    written = [path.name, summary_path(path).name] if fmt == "csv" else [path.name]
    longest = max(len(os.fsencode(name)) for name in written) + _TEMP_EXTRA
    if longest > limit:
        size = len(os.fsencode(path.name))
        raise BadRequest(
            f"--out {display_name(path.name)} is too long: its name is {size} bytes, at most "
            f"{size - (longest - limit)} fit (the temp files written beside it have longer names)"
        )


def check_writable(path: Path) -> str:
    """Fail early (before any work) if the report cannot be written to ``path``."""
    fmt = report_format(path)
    parent = stat_argument(path.parent)
    if parent is None or not stat.S_ISDIR(parent.st_mode):
        shown = display_name(path.parent)
        raise BadRequest(f"folder {shown} does not exist (for --out {display_name(path)})")
    _check_name_length(path, fmt)
    found = stat_argument(path)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise BadRequest(
            f"--out {display_name(path)} is a folder; give a file name such as report.xlsx"
        )
    beside = stat_argument(summary_path(path)) if fmt == "csv" else None
    if beside is not None and stat.S_ISDIR(beside.st_mode):  # it would fail after all the work
        raise BadRequest(
            f"{display_name(summary_path(path))} (where the summary of --out "
            f"{display_name(path)} goes) is a folder: move it, or choose another --out"
        )
    if fmt == "xlsx":
        _openpyxl()
    return fmt


def summary_path(path: Path) -> Path:
    """Where a CSV report's summary goes: ``report.csv`` → ``report.summary.csv``."""
    return path.with_name(f"{path.stem}.summary.csv")


# -- atomic writes --------------------------------------------------------------------------------
def _atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write via a hidden temp file in the same folder, then rename over ``path``."""
    atomic_write(path, write)


def _text_writer(write: Callable[[io.TextIOBase], None]) -> Callable[[IO[bytes]], None]:
    def inner(handle: IO[bytes]) -> None:
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        write(text)
        text.flush()
        text.detach()

    return inner


# -- cell values ----------------------------------------------------------------------------------
def _escape(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) or text.startswith("'") else text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _score(value: float | None) -> str:
    return "" if value is None else repr(value)


def _clean(value: Any) -> Any:
    return safe_text(value) if isinstance(value, str) else value


def _plain(row: Row, min_score: float) -> dict[str, Any]:
    """Column → Python value (Decimal/int/float/str/None) for one row; text made writable."""
    values: dict[str, Any] = {
        "file": row.file,
        "merchant": row.merchant,
        "merchant_address": row.merchant_address,
        "date": row.date,
        "total": row.total,
        "currency": row.currency,
        "subtotal": row.subtotal,
        "tax": row.tax,
        "receipt_number": row.receipt_number,
        "page": row.page,
        "pages": row.pages,
        "low_confidence": row.low_confidence(min_score),
        "duplicate_of": row.duplicate_of,
        "possible_duplicate_of": row.possible_duplicate_of,
        "sha256": row.sha256,
        "error": row.error,
    }
    for name in FIELDS:
        values[f"{name}_score"] = row.scores.get(name)
    return {column: _clean(value) for column, value in values.items()}


class _BadCell(ValueError):
    """A cell of a report that cannot be read back (a total typed as ``12,50 €``): the message
    says where, so the user can correct that cell instead of losing the report to --force."""


def _number(where: str, name: str, value: Any, convert: Callable[[Any], Any]) -> Any:
    try:
        number = convert(value)
        finite = math.isfinite(number)
    except (ArithmeticError, ValueError, TypeError):  # OverflowError: an int past float's range
        finite = False
    if not finite:
        raise _BadCell(f"{where}: {name} {safe_text(str(value))!r} is not a number")
    return number


# Dates a spreadsheet writes back into a CSV in its locale's form, where the order is certain:
# 03.01.2024 (day first wherever dots are used) and 2024/01/03. "1/3/2024" stays as it is.
_LOCALE_DATES = (
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), (3, 2, 1)),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), (1, 2, 3)),
)


def _iso_date(text: str) -> str:
    for pattern, order in _LOCALE_DATES:
        match = pattern.fullmatch(text.strip())
        if match:
            try:
                return dt.date(*(int(match.group(i)) for i in order)).isoformat()
            except ValueError:
                return text
    return text


def _row_from_plain(values: Mapping[str, Any], where: str = "a row") -> Row:
    """The inverse of ``_plain`` (after each format's own decoding to str/number/None);
    ``where`` names the row in a _BadCell error (``row 7``)."""

    def text(name: str) -> str | None:
        value = values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime | dt.date):
            return value.strftime("%Y-%m-%d")
        return str(value)

    def to_decimal(value: Any) -> Decimal:
        if isinstance(value, float):
            return Decimal(repr(value))  # shortest round-trip text: 17.37 stays 17.37
        return Decimal(str(value).strip())

    def amount(name: str) -> Decimal | None:
        value = values.get(name)
        if value is None or value == "":
            return None
        return _number(where, name, value, to_decimal)  # type: ignore[no-any-return]

    def integer(name: str) -> int | None:
        value = values.get(name)
        if value is None or value == "":
            return None
        return _number(where, name, value, int)  # type: ignore[no-any-return]

    scores: dict[str, float] = {}
    for name in FIELDS:
        value = values.get(f"{name}_score")
        if value is not None and value != "":
            scores[name] = _number(where, f"{name}_score", value, float)
    file, date = text("file"), text("date")
    if file is None:
        raise _BadCell(f"{where}: the file cell is empty")
    return Row(
        file=file,
        sha256=text("sha256") or "",
        merchant=text("merchant"),
        merchant_address=text("merchant_address"),
        date=None if date is None else _iso_date(date),
        total=amount("total"),
        currency=text("currency"),
        subtotal=amount("subtotal"),
        tax=amount("tax"),
        receipt_number=text("receipt_number"),
        page=integer("page"),
        pages=integer("pages"),
        scores=scores,
        duplicate_of=text("duplicate_of"),
        error=text("error"),
        possible_duplicate_of=text("possible_duplicate_of"),
    )


def _summary_dict(summary: Summary, info: ReportInfo) -> dict[str, Any]:
    return {
        "complete": info.complete,
        "expected_documents": info.expected,
        "documents": summary.documents,
        "in_totals": summary.totalled,
        "errors": summary.errors,
        "duplicates": summary.duplicates,
        "possible_duplicates": summary.possible_duplicates,
        "without_total": summary.without_total,
        "with_low_confidence": summary.low_confidence,
        "min_score": info.min_score,
        "target": _clean(info.target),
        "by_currency": [
            {
                "currency": _clean(c.currency) or None,
                "documents": c.documents,
                "total": str(c.total),
                "subtotal": str(c.subtotal),
                "tax": str(c.tax),
                "low_confidence_documents": c.low_confidence,
                "low_confidence_total": str(c.low_confidence_total),
            }
            for c in summary.by_currency
        ],
        "by_month": [
            {
                "month": _clean(m.month) or None,
                "currency": _clean(m.currency) or None,
                "documents": m.documents,
                "total": str(m.total),
            }
            for m in summary.by_month
        ],
    }


# -- CSV ------------------------------------------------------------------------------------------
def _csv_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ", ".join(value)
    if isinstance(value, float):
        return _score(value)
    text = str(value)
    return _escape(text) if column in _ESCAPED_COLUMNS else text


def _write_csv(path: Path, rows: Sequence[Row], summary: Summary, info: ReportInfo) -> None:
    def rows_csv(handle: io.TextIOBase) -> None:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            values = _plain(row, info.min_score)
            writer.writerow([_csv_cell(c, values[c]) for c in COLUMNS])

    def summary_csv(handle: io.TextIOBase) -> None:
        writer = csv.writer(handle)
        for line in _summary_lines(summary, info):
            writer.writerow(_escape(safe_text(v)) if isinstance(v, str) else v for v in line)

    # The summary first: if we are interrupted between the two, the rows (what a re-run reads)
    # are the older, consistent file.
    _atomic(summary_path(path), _text_writer(summary_csv))
    _atomic(path, _text_writer(rows_csv))


SUMMARY_CSV_COLUMNS = (
    "group",
    "month",
    "currency",
    "documents",
    "total",
    "subtotal",
    "tax",
    "low_confidence_documents",
    "low_confidence_total",
    "status",
)


def _summary_lines(summary: Summary, info: ReportInfo) -> Iterable[Sequence[Any]]:
    """The summary CSV: a ``report`` line (documents + status), then ``currency`` and ``month``
    lines; every line repeats the status, so a partial report is visible whatever is filtered."""
    status = info.status(summary.documents)
    yield SUMMARY_CSV_COLUMNS
    yield ("report", "", "", summary.documents, "", "", "", "", "", status)
    for c in summary.by_currency:
        yield (
            "currency",
            "",
            c.currency,
            c.documents,
            c.total,
            c.subtotal,
            c.tax,
            c.low_confidence,
            c.low_confidence_total,
            status,
        )
    for m in summary.by_month:
        yield ("month", m.month, m.currency, m.documents, m.total, "", "", "", "", status)


_DECIMAL_COMMA = re.compile(r"-?\d+,\d+")
_NUMBER_COLUMNS = frozenset({"total", "subtotal", "tax", *(f"{name}_score" for name in FIELDS)})


def _csv_number(text: str) -> str:
    """``12,50`` → ``12.50``: a CSV saved by a spreadsheet set to a decimal-comma locale."""
    return text.replace(",", ".") if _DECIMAL_COMMA.fullmatch(text.strip()) else text


def _read_csv(path: Path) -> list[Row]:
    """The rows of a CSV report, also after a round trip through a spreadsheet (the README asks
    users to confirm duplicates there): Excel's "CSV UTF-8" adds a byte-order mark, and in a
    decimal-comma locale it separates cells with ``;`` and writes ``12,50``."""
    text = path.read_text(encoding="utf-8-sig")
    header = text.partition("\n")[0]
    semicolons = ";" in header and "," not in header
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";" if semicolons else ",")
    if reader.fieldnames is None or not {"file", "sha256"} <= set(reader.fieldnames):
        raise ValueError("no file/sha256 header")
    rows = []
    for record in reader:
        values = {k: _unescape(v) if k in _ESCAPED_COLUMNS else v for k, v in record.items()}
        if semicolons:
            values.update((k, _csv_number(values[k])) for k in _NUMBER_COLUMNS & set(values))
        rows.append(_row_from_plain(values, f"line {reader.line_num}"))
    return rows


# -- JSON -----------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _json_row(row: Row, min_score: float) -> dict[str, Any]:
    """The columns + ``boxes``: field → ``{"page": 1, "boxes": [[x0, y0, x1, y1], ...]}``."""
    out = {k: _json_value(v) for k, v in _plain(row, min_score).items()}
    out["boxes"] = {name: found.to_json() for name, found in row.boxes.items()}
    return out


def _write_json(path: Path, rows: Sequence[Row], summary: Summary, info: ReportInfo) -> None:
    document = {
        "version": JSON_VERSION,
        "rows": [_json_row(row, info.min_score) for row in rows],
        "summary": _summary_dict(summary, info),
    }
    payload = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def write(handle: IO[bytes]) -> None:
        handle.write(payload)

    _atomic(path, write)


def _read_json(path: Path) -> list[Row]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
        raise ValueError("no rows list")
    if document.get("version") != JSON_VERSION:
        raise ValueError(f"unknown version {document.get('version')!r}")
    rows = []
    for index, record in enumerate(document["rows"]):
        if not isinstance(record, dict):
            raise _BadCell(f"rows[{index}] is not an object")
        row = _row_from_plain(record, f"rows[{index}]")
        boxes = record.get("boxes")  # absent in reports written before boxes
        for name, value in boxes.items() if isinstance(boxes, dict) else ():
            found = field_boxes(value)
            if name in FIELDS and found is not None:
                row.boxes[name] = found
        rows.append(row)
    return rows


# -- XLSX -----------------------------------------------------------------------------------------
def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError:
        raise ConfigError(
            "XLSX reports need openpyxl: pip install 'expense-cli[report]' "
            "(or use --out report.csv / report.json)"
        ) from None
    return openpyxl


def _xlsx_value(column: str, value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(value) or None
    if column == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


_XLSX_MAX_CHARS = 32_767  # Excel's limit per cell: a longer string makes it "repair" the file
_TRUNCATED = " …(truncated; the CSV and JSON reports keep it whole)"


def _xlsx_text(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _XLSX_MAX_CHARS:
        return value[: _XLSX_MAX_CHARS - len(_TRUNCATED)] + _TRUNCATED
    return value


def _append(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """Append a row and return its cells; strings always stay strings (never formulas) and fit a
    cell. The cells are made here: looking them up after ``append`` (``sheet.max_row``) scans
    every cell of the sheet, which made a 3,000-row report take ~40 s to write."""
    from openpyxl.cell.cell import Cell

    cells = []
    for value in values:
        cell = Cell(sheet, value=_xlsx_text(value))
        if isinstance(cell.value, str):
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)
    return cells


def _write_xlsx(path: Path, rows: Sequence[Row], summary: Summary, info: ReportInfo) -> None:
    """Receipts + Summary sheets; formats, marks and formulas from ``_xlsx.py``."""
    openpyxl = _openpyxl()
    from openpyxl.styles import Font

    bold = Font(bold=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _RECEIPTS_SHEET
    for cell in _append(sheet, COLUMNS):
        cell.font = bold
    date_column = COLUMNS.index("date")
    plain = [_plain(row, info.min_score) for row in rows]
    for values in plain:
        cell = _append(sheet, (_xlsx_value(c, values[c]) for c in COLUMNS))[date_column]
        if isinstance(cell.value, dt.date):
            cell.number_format = "yyyy-mm-dd"
    format_receipts(sheet, rows, plain, info.min_score)
    sheet.freeze_panes = "B2"

    formulas = SummaryFormulas(_RECEIPTS_SHEET, rows, summary, info.min_score)
    cached: dict[str, Decimal | int] = {}
    out = book.create_sheet(_SUMMARY_SHEET)

    def line(values: Sequence[Any], currency: str | None = None, *, header: bool = False) -> None:
        cells = _append(out, (None if isinstance(v, Formula | Decimal) else v for v in values))
        for column, (cell, value) in enumerate(zip(cells, values, strict=True), start=1):
            if header or (column == 1 and currency is None):
                cell.font = bold
            if isinstance(value, Formula):
                cell.value = value.value
                cached[cell.coordinate] = value.cached
            elif isinstance(value, Decimal):
                cell.value = value
            if isinstance(value, Formula | Decimal) and currency is not None:
                amount = value.cached if isinstance(value, Formula) else value
                if isinstance(amount, Decimal):
                    cell.number_format = amount_format(currency, amount)

    line(("Status", info.status(summary.documents)))
    for label, cell in formulas.counts():
        line((label, cell))
    line(("Min score", info.min_score))
    line(("Target", _clean(info.target)))
    line(("Marks on Receipts", "amber: low-confidence value and score; orange: likely duplicate"))
    line(
        (
            "Confirm a likely duplicate",
            "copy its possible_duplicate_of into duplicate_of (or run with --drop-duplicates)",
        )
    )
    _append(out, ())
    line(
        (
            "Currency",
            "Documents",
            "Total",
            "Subtotal",
            "Tax",
            "Low-confidence documents",
            "Low-confidence total",
        ),
        header=True,
    )
    for c, cells in zip(summary.by_currency, formulas.by_currency(), strict=True):
        line(cells, _clean(c.currency))
    _append(out, ())
    line(("Month", "Currency", "Documents", "Total"), header=True)
    for m, cells in zip(summary.by_month, formulas.by_month(), strict=True):
        line(cells, _clean(m.currency))
    out.column_dimensions["A"].width = 44
    for letter in "BCDEFG":
        out.column_dimensions[letter].width = 18
    buffer = io.BytesIO()
    book.save(buffer)
    package = with_cached_values(buffer.getvalue(), 2, cached)

    def write(handle: IO[bytes]) -> None:
        handle.write(package)

    _atomic(path, write)


def _read_xlsx(path: Path) -> list[Row]:
    openpyxl = _openpyxl()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if _RECEIPTS_SHEET not in book.sheetnames:
            raise ValueError(f"no {_RECEIPTS_SHEET!r} sheet")
        # A generator over the open sheet: closed here, or a bad cell's error would leave the
        # file open until garbage collection.
        with contextlib.closing(book[_RECEIPTS_SHEET].iter_rows(values_only=True)) as records:
            header = [str(h) if h is not None else "" for h in next(records, ())]
            if not {"file", "sha256"} <= set(header):
                raise ValueError("no file/sha256 header")
            rows = []
            for number, record in enumerate(records, start=2):
                if all(v is None for v in record):
                    continue
                values = dict(zip(header, record, strict=False))
                rows.append(_row_from_plain(values, f"{_RECEIPTS_SHEET} row {number}"))
            return rows
    finally:
        book.close()


# -- public ---------------------------------------------------------------------------------------
_WRITERS = {"csv": _write_csv, "json": _write_json, "xlsx": _write_xlsx}
_READERS = {"csv": _read_csv, "json": _read_json, "xlsx": _read_xlsx}


def write_report(path: Path, rows: Sequence[Row], info: ReportInfo | None = None) -> Summary:
    """Write ``rows`` + their summary to ``path`` (format from the suffix), atomically."""
    info = info or ReportInfo()
    path = Path(path)
    fmt = report_format(path)
    summary = summarize(rows, info.min_score)
    _WRITERS[fmt](path, rows, summary, info)
    return summary


def read_report(path: Path) -> list[Row]:
    """The rows of an existing report ([] when ``path`` does not exist).

    Raises ConfigError when the file exists but is not a report of ours (so it is never
    silently overwritten).
    """
    path = Path(path)
    fmt = report_format(path)
    if not path.exists():
        return []
    try:
        return _READERS[fmt](path)
    except ConfigError:
        raise
    except _BadCell as exc:
        raise ConfigError(
            f"{display_name(path)}, {exc}: correct that cell, or pass --force to recompute "
            "every row"
        ) from None
    except Exception as exc:
        raise ConfigError(
            f"{path} exists but is not an expense report ({type(exc).__name__}: {exc}); "
            "choose another --out, or pass --force to replace it"
        ) from None
