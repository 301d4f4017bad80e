"""PDFs whose text layer maps glyphs to arbitrary UTF-16 through a ``/ToUnicode`` CMap.

This is how a real PDF carries emoji, CJK extension B or mathematical alphanumerics: each glyph
code maps to UTF-16BE, astral characters as a surrogate pair (``<D83DDE00>``). A hostile (or
buggy) producer can also map a code to a lone surrogate half or a control character; pdfium then
hands those units over one at a time (see ``_pdf_words`` in expense_cli/engine/_documents.py).

``unicode_pdf([["ACME 😀 COFFEE"]])`` writes each line with Helvetica: ASCII letters keep their
own byte code (real glyph widths, so real word boxes); every other unit gets a spare code whose
CMap entry is the unit's UTF-16BE, surrogates included (``"\\ud83d"`` stays one lone half).
A unit is one character, or a string passed in ``units`` (e.g. a lone surrogate, or two
characters that one glyph stands for).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["unicode_pdf"]

# Codes given to non-ASCII units: Latin-1 range first (Helvetica has glyphs there, so boxes have
# height), then the C0 range, which has none.
_SPARE_CODES = [*range(0xA1, 0x100), *range(0x80, 0xA1), *range(0x01, 0x20)]


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


def unicode_pdf(
    pages: Sequence[Sequence[str]], units: Sequence[str] = (), *, font_size: int = 12
) -> bytes:
    """A PDF, one page per list of lines, whose text layer decodes through a ToUnicode CMap."""
    codes: dict[str, int] = {}
    spare = iter(_SPARE_CODES)
    contents: list[bytes] = []
    for lines in pages:
        shown: list[str] = []
        for line in lines:
            encoded = bytearray()
            for unit in _split(line, units):
                if len(unit) == 1 and 0x20 <= ord(unit) < 0x7F:
                    code = ord(unit)
                elif unit in codes:
                    code = codes[unit]
                else:
                    code = codes[unit] = next(spare)  # StopIteration: too many distinct units
                encoded.append(code)
            shown.append(f"<{encoded.hex()}> '")
        leading = font_size + font_size // 6
        contents.append(
            f"BT /F1 {font_size} Tf {leading} TL 40 800 Td {' '.join(shown)} ET".encode("ascii")
        )
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

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    first_page = 5
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 4 0 R >>",
        stream(cmap),
    ]
    for i, content in enumerate(contents):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents "
            f"{first_page + 2 * i + 1} 0 R /Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(stream(content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        xref,
    )
    return bytes(out)
