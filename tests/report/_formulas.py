"""A LibreOffice-free evaluator for the Summary sheet's formulas (expense_cli/report/_xlsx.py):
``SUMIFS``/``COUNTIFS`` over ``Sheet!$X$2:$X$9`` ranges with the criteria Excel documents
(``""`` blank, ``"<>"`` not blank, ``"<0.5"``, ``">="&DATE(y,m,d)``, text: case-insensitive)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from openpyxl.utils import column_index_from_string

_CALL = re.compile(r"=(SUMIFS|COUNTIFS)\((.*)\)")
_RANGE = re.compile(r"(\w+)!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)")
_CRITERION = re.compile(r'"([^"]*)"(?:&DATE\((\d+),(\d+),(\d+)\))?')
_OPS = ("<>", ">=", "<=", "<", ">", "=")


def split_args(text: str) -> list[str]:
    """Top-level comma split (commas inside quotes or parentheses stay)."""
    args, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and depth == 0 and ch == ",":
            args.append(text[start:i])
            start = i + 1
    args.append(text[start:])
    return args


def parse_range(text: str) -> tuple[str, str, int, int]:
    """``Receipts!$E$2:$E$9`` → (sheet, column letter, first row, last row); one column only."""
    match = _RANGE.fullmatch(text)
    assert match, text
    sheet, col, first, col2, last = match.groups()
    assert col == col2, text
    return sheet, col, int(first), int(last)


def _values(book: Any, text: str) -> list[Any]:
    sheet, col, first, last = parse_range(text)
    index = column_index_from_string(col)
    return [book[sheet].cell(r, index).value for r in range(first, last + 1)]


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal | dt.date) and not isinstance(value, bool)


def _matches(value: Any, criterion: str) -> bool:
    match = _CRITERION.fullmatch(criterion)
    assert match, criterion
    text, year = match.group(1), match.group(2)
    if year is not None:  # ">="&DATE(2024,1,1)
        operand: Any = dt.datetime(int(year), int(match.group(3)), int(match.group(4)))
        op = text
    else:
        op = next((o for o in _OPS if text.startswith(o)), "")
        operand = text[len(op) :]
        if text == "":
            return _blank(value)
        if text == "<>":
            return not _blank(value)
        if op:
            operand = float(operand)
    if not op:  # text equality, case-insensitive
        return isinstance(value, str) and value.casefold() == str(operand).casefold()
    if not _number(value):
        return False
    if isinstance(operand, dt.datetime) != isinstance(value, dt.date):
        return False  # a date against a number, or the other way round
    compare = {
        "<": value < operand,
        ">": value > operand,
        "<=": value <= operand,
        ">=": value >= operand,
        "=": value == operand,
        "<>": value != operand,
    }
    return bool(compare[op])


def evaluate(book: Any, formula: str) -> Decimal | int:
    """The value of one of our formulas against ``book`` (loaded with formulas, not data_only)."""
    call = _CALL.fullmatch(formula)
    assert call, formula
    name, args = call.group(1), split_args(call.group(2))
    summed = _values(book, args.pop(0)) if name == "SUMIFS" else None
    assert len(args) % 2 == 0 and args, formula
    pairs = [(_values(book, args[i]), args[i + 1]) for i in range(0, len(args), 2)]
    size = len(pairs[0][0])
    assert all(len(values) == size for values, _ in pairs), "ranges of different sizes"
    chosen = [i for i in range(size) if all(_matches(v[i], c) for v, c in pairs)]
    if summed is None:
        return len(chosen)
    assert len(summed) == size
    return sum((Decimal(repr(summed[i])) for i in chosen if _number(summed[i])), start=Decimal(0))
