"""How file names and text cells are written: always valid UTF-8 text that every format can hold.

A file name is the bytes the OS gives (``os.fsencode``). :func:`display_name` shows them as text:

* bytes that decode as UTF-8 stay as they are (accents, emoji, right-to-left scripts);
* a byte that is not part of valid UTF-8 becomes ``\\xNN`` (NN ≥ 80, the byte itself);
* a control or invisible character becomes ``\\xNN`` (C0 controls and DEL, NN < 80) or ``\\uNNNN``
  (C1 controls, bidirectional overrides and isolates, line/paragraph separators, U+FFFE/U+FFFF);
* a backslash becomes ``\\\\``.

So the form is lossless: :func:`name_bytes` turns it back into the exact bytes. Text that is not a
name (answers read from a PDF text layer, error messages) goes through :func:`safe_text`: the same
escapes for the same characters (and ``\\uDNNN`` for a lone UTF-16 surrogate half), but a backslash
stays as it is, so applying it twice changes nothing. Neither form ever holds a character that
XML 1.0 (XLSX), strict UTF-8 (CSV, JSON) or a terminal would choke on. README.md ("Expense
reports") documents the form; ``tests/report/test_names.py`` checks it on real files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["display_name", "name_bytes", "name_path", "safe_text"]

# Characters escaped in names and in text: C0 controls, DEL, C1 controls, lone surrogates,
# line/paragraph separators, bidi embeddings/overrides/isolates (they reorder what follows and
# can make "invoice<RLO>fdp.exe" read as "invoiceexe.pdf"), and the XML non-characters.
_ESCAPED = "\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff"
_TEXT_UNSAFE = re.compile(f"[{_ESCAPED}]")
_NAME_UNSAFE = re.compile(f"[{_ESCAPED}\\\\]")
_NAME_ESCAPE = re.compile(r"\\(?:\\|x([0-9a-f]{2})|u([0-9a-f]{4}))")


def _escape_char(char: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` with control/invisible characters and lone surrogates escaped (idempotent)."""
    return _TEXT_UNSAFE.sub(lambda m: _escape_char(m.group()), text)


def display_name(path: str | bytes | os.PathLike[str]) -> str:
    """The lossless, readable text form of a file name (see the module docstring)."""
    try:
        raw = os.fsencode(path)
    except UnicodeEncodeError:  # a str with lone surrogates that surrogateescape did not make
        raw = os.fspath(path).encode("utf-8", "surrogatepass")  # type: ignore[union-attr]
    parts: list[str] = []
    while raw:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = raw[: exc.start].decode("utf-8")
            bad = raw[exc.start : exc.end]
            raw = raw[exc.end :]
        else:
            bad, raw = b"", b""
        parts.append(_NAME_UNSAFE.sub(lambda m: _escape_char(m.group()), text))
        parts.extend(f"\\x{byte:02x}" for byte in bad)
    return "".join(parts)


def name_bytes(shown: str) -> bytes:
    """The inverse of :func:`display_name`: the exact bytes of the name."""
    out = bytearray()
    position = 0
    for match in _NAME_ESCAPE.finditer(shown):
        out += shown[position : match.start()].encode("utf-8")
        if match.group(1) is not None:
            out.append(int(match.group(1), 16))
        elif match.group(2) is not None:
            out += chr(int(match.group(2), 16)).encode("utf-8", "surrogatepass")
        else:
            out += b"\\"
        position = match.end()
    out += shown[position:].encode("utf-8")
    return bytes(out)


def name_path(shown: str) -> Path:
    """The path a displayed name stands for (``os.fsdecode`` of :func:`name_bytes`)."""
    return Path(os.fsdecode(name_bytes(shown)))
