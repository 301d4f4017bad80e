"""Expense reports: a folder of receipts → one row per document + totals per currency and month.

    >>> from expense_cli.report import build_report
    >>> from expense_cli.targets import LocalTarget
    >>> result = build_report(["receipts/"], "report.xlsx", LocalTarget())
    >>> [(c.currency, c.total) for c in result.summary.by_currency]
    [('EUR', Decimal('41.20')), ('USD', Decimal('12.00'))]

Formats: CSV (+ ``<name>.summary.csv``), JSON (``rows`` + ``summary``), XLSX (Receipts + Summary
sheets; JSON rows also carry the answers' boxes). Re-running resumes (documents are keyed by
content sha256); see ``_run`` and ``_rows`` for the rules on errors, duplicates and low-confidence
fields, ``_dupes`` for likely duplicates.
"""

from __future__ import annotations

from ._collect import DOCUMENT_SUFFIXES, UNREADABLE_SUFFIXES, Collected, collect_documents
from ._dupes import mark_possible_duplicates, same_merchant
from ._lock import lock_output, lock_path
from ._names import display_name, name_bytes, name_path, safe_text
from ._rows import (
    COLUMNS,
    CurrencyTotal,
    FieldBoxes,
    MonthTotal,
    Row,
    Summary,
    row_from_result,
    summarize,
)
from ._run import ReportProgress, ReportResult, build_report, extract_with_retries
from ._writers import (
    FORMATS,
    ReportInfo,
    check_writable,
    read_report,
    report_format,
    summary_path,
    write_report,
)

__all__ = [
    "COLUMNS",
    "DOCUMENT_SUFFIXES",
    "FORMATS",
    "UNREADABLE_SUFFIXES",
    "Collected",
    "CurrencyTotal",
    "FieldBoxes",
    "MonthTotal",
    "ReportInfo",
    "ReportProgress",
    "ReportResult",
    "Row",
    "Summary",
    "build_report",
    "check_writable",
    "collect_documents",
    "display_name",
    "extract_with_retries",
    "lock_output",
    "lock_path",
    "mark_possible_duplicates",
    "name_bytes",
    "name_path",
    "read_report",
    "report_format",
    "row_from_result",
    "safe_text",
    "same_merchant",
    "summarize",
    "summary_path",
    "write_report",
]
