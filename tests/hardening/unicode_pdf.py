"""PDFs whose text layer maps glyphs to arbitrary UTF-16 through a ``/ToUnicode`` CMap.

This is how a real PDF carries emoji, CJK extension B or mathematical alphanumerics: each glyph
code maps to UTF-16BE, astral characters as a surrogate pair (``<D83DDE00>``). A hostile (or
buggy) producer can also map a code to a lone surrogate half or a control character; pdfium then
hands those units over one at a time (see ``_pdf_words`` in expense_cli/engine/_documents.py).

``unicode_pdf([["ACME 😀 COFFEE"]])`` writes each line in Helvetica: ASCII letters keep their
own byte code (real glyph widths, so real word boxes); every other unit gets a spare code whose
CMap entry is the unit's UTF-16BE, surrogates included (``"\\ud83d"`` stays one lone half).
A unit is one character, or a string passed in ``units`` (e.g. a lone surrogate, or two
characters that one glyph stands for).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from expense_cli.synthetic import receipt_pdf

__all__ = ["unicode_pdf"]

# Codes given to non-ASCII units: Latin-1 range first (Helvetica has glyphs there, so boxes have
# height), then the C0 range, which has none (not CR or LF: a PDF string reads them as a line end).
_SPARE_CODES = [
    *range(0xA1, 0x100),
    *range(0x80, 0xA1),
    *(code for code in range(0x01, 0x20) if code not in (0x0A, 0x0D)),
]


def _split(line: str, units: Sequence[str]) -> list[str]:
    """``line`` as glyph units: the longest of ``units`` that matches, else one character."""
    ordered = sorted(units, key=len, reverse=True)
    out: list[str] = []
    i = 0
    while i < len(line):
        unit = next((u for u in ordered if line.startswith(u, i)), line[i])
        out.append(unit)
        i += len(unit)
    return out


def _utf16_hex(unit: str) -> str:
    return unit.encode("utf-16-be", "surrogatepass").hex().upper()


def unicode_pdf(pages: Sequence[Sequence[str]], units: Sequence[str] = ()) -> bytes:
    """A PDF, one page per list of lines, whose text layer decodes through a ToUnicode CMap.

    The pages are ``receipt_pdf``'s text PDF (expense_cli/synthetic.py) with each unit written as
    its one-byte code; an incremental update (PDF 1.7, 7.5.6) then redefines its Helvetica font
    (object 3) with a ``/ToUnicode`` stream.
    """
    codes: dict[str, int] = {}
    spare = iter(_SPARE_CODES)
    encoded_pages: list[list[str]] = []
    for lines in pages:
        encoded: list[str] = []
        for line in lines:
            chars = []
            for unit in _split(line, units):
                if len(unit) == 1 and 0x20 <= ord(unit) < 0x7F:
                    code = ord(unit)
                elif unit in codes:
                    code = codes[unit]
                else:
                    code = codes[unit] = next(spare)  # StopIteration: too many distinct units
                chars.append(chr(code))
            encoded.append("".join(chars))
        encoded_pages.append(encoded)
    base = receipt_pdf([], text_layer=encoded_pages)
    font = b"3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    assert font in base, "expense_cli/synthetic.py's text PDF changed its font object"

    mapping = {code: _utf16_hex(chr(code)) for code in range(0x20, 0x7F)}
    mapping |= {code: _utf16_hex(unit) for unit, code in codes.items()}
    entries = "\n".join(f"<{code:02X}> <{hexed}>" for code, hexed in sorted(mapping.items()))
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <00> <FF> endcodespacerange\n"
        f"{len(mapping)} beginbfchar\n{entries}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode("ascii")
    size = int(re.findall(rb"/Size (\d+)", base)[-1])
    previous = int(re.findall(rb"startxref\n(\d+)", base)[-1])
    out = bytearray(base)
    font_at = len(out)
    out += b"3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
    out += b"/ToUnicode %d 0 R >>\nendobj\n" % size
    cmap_at = len(out)
    out += b"%d 0 obj\n<< /Length %d >>\nstream\n" % (size, len(cmap))
    out += cmap + b"\nendstream\nendobj\n"
    xref = len(out)
    out += b"xref\n3 1\n%010d 00000 n \n%d 1\n%010d 00000 n \n" % (font_at, size, cmap_at)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Prev %d >>\n" % (size + 1, previous)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
