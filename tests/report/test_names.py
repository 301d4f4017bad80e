"""File names that are not UTF-8 or hold control characters, and text no format can hold as is.

Real files with such names go through a whole report run in every format (expense_cli/report/
_names.py): the run never stops, the name comes back lossless, a re-run reuses every row.
"""

from __future__ import annotations

import csv
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from expense_cli.report import (
    Row,
    build_report,
    display_name,
    name_bytes,
    name_path,
    read_report,
    safe_text,
    summary_path,
    write_report,
)
from expense_cli.report._writers import ReportInfo
from tests.report._fake import FakeTarget, Spec, documents, result_for, sha256

FORMATS = ["csv", "json", "xlsx"]

# Names as the OS hands them over (bytes): old NAS shares, zip extracts, hostile uploads.
NAMES: list[bytes] = [
    b"caf\xe9 latin-1.png",  # Latin-1 é: not UTF-8
    b"\xff\xfe\xfd.png",  # no valid UTF-8 at all
    b"ctl \x01 start.png",
    b"line\nbreak.png",
    b"tab\there.png",
    b"del\x7f.png",
    b"esc\x1b[31mred.png",  # a terminal escape sequence
    "c1 \u0085 next-line.png".encode(),
    "bidi invoice\u202egnp.exe.png".encode(),  # right-to-left override
    "emoji 🧾💶.png".encode(),
    "فاتورة מס קבלה.png".encode(),  # RTL scripts stay readable
    "café NFC.png".encode(),
    "cafe\u0301 NFD.png".encode(),
    b"back\\slash \\x41 not an escape.png",
    b"[red]markup[bold] =1+1.png",
    b"truncated \xf0\x9f\xa7.png",  # the first 3 bytes of an emoji
    b"surrogate \xed\xa0\xbd.png",  # CESU-8 surrogate half
    ("🧾" * 62 + ".png").encode(),  # 252 bytes, 66 characters
    b"\xe9" * 251 + b".png",  # 255 bytes, the longest name ext4 takes
]
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("raw", NAMES, ids=range(len(NAMES)))
def test_display_form_is_readable_safe_and_lossless(raw: bytes) -> None:
    shown = display_name(raw)
    assert name_bytes(shown) == raw
    assert not _UNSAFE.search(shown)
    shown.encode("utf-8")  # strict: no surrogates
    assert display_name(os.fsdecode(raw)) == shown  # str paths from os.walk give the same form
    assert safe_text(shown) == shown  # already safe: writers leave it alone


def test_display_form_examples() -> None:
    assert display_name(b"caf\xe9.png") == "caf\\xe9.png"
    assert display_name("café.png") == "café.png"
    assert display_name(b"a\x01b\nc\x7f") == "a\\x01b\\x0ac\\x7f"
    assert display_name("\u202e\u0085") == "\\u202e\\u0085"
    assert display_name(b"C:\\x41") == "C:\\\\x41"  # a literal backslash is doubled
    assert display_name("🧾 فاتورة") == "🧾 فاتورة"


def test_safe_text_escapes_what_no_format_holds_and_is_idempotent() -> None:
    text = "A\x01B\ud83d\u2028\ufffe\\x01 🧾"
    once = safe_text(text)
    assert once == "A\\x01B\\ud83d\\u2028\\ufffe\\x01 🧾"
    assert safe_text(once) == once
    once.encode("utf-8")


def _folder(root: Path) -> dict[bytes, bytes]:
    """One real file per name, each a distinct PNG (trailing bytes after IEND)."""
    root.mkdir()
    contents = {}
    for i, raw in enumerate(NAMES):
        data = documents()["a.png"] + b"\x00" * (i + 1)
        with open(os.path.join(os.fsencode(root), raw), "wb") as handle:
            handle.write(data)
        contents[raw] = data
    return contents


# What a PDF text layer or a dishonest server can put in a field.
HOSTILE_TEXT = [
    "ACME\x01 GmbH",
    '=HYPERLINK("http://x")',
    "\ud83d half an emoji",
    "tab\tand\x0bvertical\x0cfeed",
    "\u202eevil",
    "nul\x00byte",
    "\ufffe\uffff non-characters",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_files_with_odd_names_and_text_in_every_format(tmp_path: Path, fmt: str) -> None:
    root = tmp_path / "receipts"
    contents = _folder(root)
    answers = {}
    for i, data in enumerate(contents.values()):
        spec = Spec(HOSTILE_TEXT[i % len(HOSTILE_TEXT)], "1.00", "EUR", "2024-01-03")
        answers[sha256(data)] = result_for(spec)
    target = FakeTarget(answers)  # type: ignore[arg-type]
    out = tmp_path / f"report.{fmt}"
    result = build_report([root], out, target)
    assert result.errors == 0 and len(result.rows) == len(NAMES)
    assert result.summary.by_currency[0].total == Decimal(len(NAMES))
    # every name comes back as the exact bytes of a file that exists
    back = {os.fsencode(name_path(row.file)) for row in read_report(out)}
    assert back == {os.path.join(os.fsencode(root), raw) for raw in NAMES}
    for row in read_report(out):
        for value in (row.file, row.merchant):
            assert value is not None and not _UNSAFE.search(value)
    # the files load with each format's own reader
    if fmt == "csv":
        with out.open(newline="", encoding="utf-8") as handle:
            assert len(list(csv.DictReader(handle))) == len(NAMES)
        summary_path(out).read_text(encoding="utf-8")
    elif fmt == "json":
        json.loads(out.read_bytes().decode("utf-8"))
    else:
        assert openpyxl.load_workbook(out)["Receipts"].max_row == len(NAMES) + 1
    # a re-run works too, and needs no call
    again = FakeTarget(answers)  # type: ignore[arg-type]
    second = build_report([root], out, again)
    assert again.calls == [] and second.reused == len(NAMES)
    assert read_report(out) == result.rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_any_text_cell_is_writable(tmp_path: Path, fmt: str) -> None:
    """Rows made by hand (the public write_report) with raw characters in every text column."""
    bad = "".join(HOSTILE_TEXT)
    rows = [
        Row(
            file=bad,
            sha256="a" * 64,
            merchant=bad,
            merchant_address=bad,
            date=bad,
            total=Decimal("1.5"),
            currency=bad,
            receipt_number=bad,
            duplicate_of=bad,
        ),
        Row(file="x\x01.png", error=bad),
    ]
    out = tmp_path / f"r.{fmt}"
    write_report(out, rows, ReportInfo(target=bad))
    back = read_report(out)
    assert [r.merchant for r in back] == [safe_text(bad), None]
    assert back[1].error == safe_text(bad)
    assert back[0].file == safe_text(bad)
