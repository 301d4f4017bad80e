"""A corpus of hostile documents, built in memory (no files in the repository), shared by the
hardening tests and ``bench/bench_hardening.py``.

Each :class:`Case` is a name, a builder (bytes) and what :func:`expense_cli.engine.load_document`
must do with it: raise the given :class:`~expense_cli.errors.ExpenseError` subclass, or (``None``)
load it with at most ``max_pages`` pages. Builders are deterministic and cheap (the biggest writes a
few MB); the documents are small on the wire and expensive only if a decoder trusted them.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from expense_cli.errors import (
    DocumentTooLarge,
    ExpenseError,
    UnreadableDocument,
    UnsupportedDocument,
)

__all__ = ["CASES", "Case", "case", "pdf", "pdf_one_page"]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    error: type[ExpenseError] | None  # None: loads fine
    max_pages: int = 1  # when it loads: at most this many pages (first frame only, ...)
    what: str = ""


# --------------------------------------------------------------------------------- helpers


def _save(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _small() -> Image.Image:
    return Image.new("L", (64, 32), 255)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zlib_repeat(block: bytes, times: int) -> bytes:
    """zlib data that inflates to ``block * times``, built in milliseconds: after a full flush
    deflate forgets its history, so every copy of ``block`` compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(times):
        checksum = zlib.adler32(block, checksum)
    return b"\x78\xda" + piece * times + compressor.flush() + struct.pack(">I", checksum)


def _png(width: int, height: int, rows: int | None = None, *, bit_depth: int = 8) -> bytes:
    """A grayscale PNG declaring ``width``×``height`` whose IDAT really inflates to ``rows`` rows
    of zeros (all of them by default: a true zlib bomb, ~1000:1)."""
    rows = height if rows is None else rows
    row = b"\x00" * (1 + width * bit_depth // 8)  # filter byte + pixels
    group = next(n for n in (100, 50, 20, 10, 5, 4, 2, 1) if rows % n == 0)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", _zlib_repeat(row * group, rows // group))
        + _png_chunk(b"IEND", b"")
    )


def _tiff_header_only(width: int, height: int) -> bytes:
    """A little-endian TIFF whose one IFD declares ``width``×``height`` with a 1-byte strip."""
    entries = [
        (256, 4, 1, width),  # ImageWidth (LONG)
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 8),  # StripOffsets → the byte after the header
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, 1),  # StripByteCounts
    ]
    ifd_offset = 16
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset))
    out += b"\x00" * (ifd_offset - len(out))
    out += struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<H", value) + b"\x00\x00" if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, count) + packed
    out += struct.pack("<I", 0)
    return bytes(out)


def _tiff_cyclic_ifds() -> bytes:
    """A real one-page TIFF whose IFD's next-IFD pointer points back at itself (an endless chain
    to a naive reader)."""
    data = bytearray(_save(_small(), "TIFF"))
    first = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[first : first + 2])[0]
    next_at = first + 2 + 12 * count
    data[next_at : next_at + 4] = struct.pack("<I", first)
    return bytes(data)


def _multi_tiff(frames: int) -> bytes:
    first, *rest = [_small() for _ in range(frames)]
    return _save(first, "TIFF", save_all=True, append_images=rest)


def _tiff_broken_second_page(tag: int, value: int | None) -> bytes:
    """A two-page TIFF whose second directory's ``tag`` is set to ``value`` (``None``: the tag is
    renamed to an unknown one, so the page lacks it); page one is fine."""
    data = bytearray(_multi_tiff(2))
    first = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[first : first + 2])[0]
    second = struct.unpack("<I", data[first + 2 + 12 * count : first + 6 + 12 * count])[0]
    for i in range(struct.unpack("<H", data[second : second + 2])[0]):
        at = second + 2 + 12 * i
        if struct.unpack("<H", data[at : at + 2])[0] == tag:
            if value is None:
                data[at : at + 2] = struct.pack("<H", 0xFFF0)
            else:
                data[at + 8 : at + 12] = struct.pack("<I", value)
            return bytes(data)
    raise AssertionError(f"no tag {tag}")


def _webp_declaring(width: int, height: int) -> bytes:
    """A valid lossless WebP whose VP8X canvas claims ``width``×``height`` (≤ 16384 each)."""
    small = _save(_small().convert("RGB"), "WEBP", lossless=True)
    vp8l = small[12:]  # the one 'VP8L' chunk of a simple-format file
    flags = b"\x00\x00\x00\x00"
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    vp8x = b"VP8X" + struct.pack("<I", 10) + flags + canvas
    body = b"WEBP" + vp8x + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _animated(fmt: str, frames: int) -> bytes:
    images = [Image.new("L", (64, 32), 255 - (i % 200)) for i in range(frames)]
    if fmt == "WEBP":
        images = [image.convert("RGB") for image in images]
    first, *rest = images
    return _save(first, fmt, save_all=True, append_images=rest, duration=10, loop=0)


def _gif_huge_screen() -> bytes:
    """A GIF whose logical screen is 65535×65535 around a 1×1 frame."""
    data = bytearray(_save(Image.new("L", (1, 1), 255), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def _jpeg_huge_sof() -> bytes:
    """A small JPEG whose SOF marker declares 65500×65500."""
    data = bytearray(_save(_small(), "JPEG"))
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            data[at + 5 : at + 9] = struct.pack(">HH", 65500, 65500)
            return bytes(data)
    raise AssertionError("no SOF marker")


# --------------------------------------------------------------------------------- PDF


def pdf(objects: Sequence[bytes], *, root: int = 1, prefix: bytes = b"") -> bytes:
    """A PDF with the given objects numbered 1.. and a correct xref table."""
    out = bytearray(prefix + b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out) - len(prefix))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out) - len(prefix)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        root,
        xref,
    )
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"", *, flate: bool = False) -> bytes:
    if flate:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(parent: int, contents: int | None = None, box: bytes = b"0 0 595 842") -> bytes:
    extra = b" /Contents %d 0 R" % contents if contents is not None else b""
    return (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [%s]%s /Resources << /Font << /F1 3 0 R >> >> >>"
        % (parent, box, extra)
    )


def _pdf_text(text: bytes = b"ACME COFFEE ROASTERS") -> bytes:
    content = b"BT /F1 12 Tf 72 770 Td (" + text + b") Tj ET"
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            _FONT,
            _page(2, 5),
            _stream(content),
        ]
    )


def pdf_one_page(
    text: bytes = b"ACME COFFEE",
    *,
    box: bytes = b"0 0 595 842",
    extra: bytes = b"",
    at: tuple[int, int] = (72, 770),
    size: int = 12,
) -> bytes:
    """One page showing ``text`` in Helvetica at ``at`` (user space), with media box ``box`` and
    ``extra`` page keys (``/Rotate 90``, ``/CropBox [...]``)."""
    content = b"BT /F1 %d Tf %d %d Td (" % (size, *at) + text + b") Tj ET"
    page = _page(2, 5, box)
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            _FONT,
            page[:-3] + b" " + extra + b" >>",
            _stream(content),
        ]
    )


_PASSWORD_PAD = bytes.fromhex("28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a")


def _rc4(key: bytes, data: bytes) -> bytes:
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(byte ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def encrypted_pdf(
    user: bytes = b"", owner: bytes = b"owner", content: bytes = b"", *, flate: bool = False
) -> bytes:
    """A one-page PDF under the standard security handler (RC4 40-bit, revision 2): with an
    empty ``user`` password any reader opens it (owner restrictions only); with one, it is
    locked. ``content`` (default: a text line; ``flate``: zlib data) is the page's content
    stream, encrypted."""
    import hashlib

    content = content or b"BT /F1 12 Tf 72 770 Td (ACME COFFEE ROASTERS) Tj ET"
    file_id = b"0123456789abcdef"
    o_value = _rc4(
        hashlib.md5((owner + _PASSWORD_PAD)[:32]).digest()[:5], (user + _PASSWORD_PAD)[:32]
    )
    permissions = -4
    key = hashlib.md5(
        (user + _PASSWORD_PAD)[:32] + o_value + struct.pack("<i", permissions) + file_id
    ).digest()[:5]
    u_value = _rc4(key, _PASSWORD_PAD)
    object_key = hashlib.md5(key + struct.pack("<I", 5)[:3] + b"\x00\x00").digest()[:10]
    data = pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            _FONT,
            _page(2, 5),
            _stream(_rc4(object_key, content), b" /Filter /FlateDecode" if flate else b""),
            b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
            % (o_value.hex().encode(), u_value.hex().encode(), permissions),
        ]
    )
    trailer = b"/Root 1 0 R >>"
    return data.replace(
        trailer, b"/Root 1 0 R /Encrypt 6 0 R /ID [<%s> <%s>] >>" % ((file_id.hex().encode(),) * 2)
    )


def pdf_incremental_update(old: bytes, new: bytes) -> bytes:
    """A text page showing ``old``, then an incremental update (appended object 5 and xref
    section with /Prev) that replaces its content with ``new``: readers show ``new``."""
    import re

    base = _pdf_text(old)
    previous = int(re.findall(rb"startxref\n(\d+)", base)[-1])
    content = _stream(b"BT /F1 12 Tf 72 770 Td (" + new + b") Tj ET")
    body = b"5 0 obj\n" + content + b"\nendobj\n"
    xref = len(base) + len(body)
    return (
        base
        + body
        + b"xref\n0 1\n0000000000 65535 f \n5 1\n%010d 00000 n \n" % len(base)
        + b"trailer\n<< /Size 6 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (previous, xref)
    )


def pdf_wrong_xref(text: bytes) -> bytes:
    """A text page whose xref table points every object at offset 1 (readers rebuild it)."""
    import re

    return re.sub(rb"\d{10} 00000 n", b"0000000001 00000 n", _pdf_text(text))


def _pdf_actions() -> bytes:
    """A text page whose catalog runs JavaScript on open and whose page launches a program on
    open: a reader that only extracts text must ignore both."""
    data = _pdf_text()
    return data.replace(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\);"
        b" while\\(true\\){}) >> /AA << /WC << /S /Launch /F (/bin/sh) >> >> >>",
    )


def _jpeg_corrupt_exif() -> bytes:
    """A JPEG whose EXIF block (orientation 6) is cut short: Pillow warns and skips it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(_small(), "JPEG", exif=exif)
    at = data.find(b"Exif\x00\x00") + 6
    return data[:at] + b"II*\x00\x08\x00\x00\x00\xff\xff" + data[at + 10 :]


def _pdf_huge_count() -> bytes:
    """One real page, but the page tree claims 2,000,000,000."""
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 2000000000 >>",
            _FONT,
            _page(2, 5),
            _stream(b"BT /F1 12 Tf 72 770 Td (ACME) Tj ET"),
        ]
    )


def _pdf_cyclic_tree() -> bytes:
    """Pages node 2 → Pages node 4 → back to 2 (a cycle), no real page."""
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 5 >>",
            _FONT,
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 5 >>",
        ]
    )


def _pdf_deep_tree(depth: int = 5000) -> bytes:
    """A chain of ``depth`` nested Pages nodes with one page at the bottom."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _FONT]
    # node numbers: 2, then 4 .. 4+depth-2, page after them
    nodes = [2, *range(4, 4 + depth - 1)]
    page_number = 4 + depth - 1
    bodies: dict[int, bytes] = {}
    for i, node in enumerate(nodes):
        child = nodes[i + 1] if i + 1 < len(nodes) else page_number
        parent = b" /Parent %d 0 R" % nodes[i - 1] if i else b""
        bodies[node] = b"<< /Type /Pages%s /Kids [%d 0 R] /Count 1 >>" % (parent, child)
    bodies[page_number] = _page(nodes[-1])
    objects[1] = bodies[2]
    for number in range(4, page_number + 1):
        objects.append(bodies[number])
    return pdf(objects)


def _pdf_pages(count: int, box: bytes = b"0 0 595 842") -> bytes:
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(count))
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
            _FONT,
            *[_page(2, box=box) for _ in range(count)],
        ]
    )


def _pdf_flate_content(megabytes: int) -> bytes:
    """A page whose FlateDecode content stream inflates to ``megabytes`` MB of spaces."""
    compressed = _zlib_repeat(b" " * (1 << 20), megabytes)
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(compressed)
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            _FONT,
            _page(2, 5),
            content + compressed + b"\nendstream",
        ]
    )


def _pdf_object_stream_bomb(megabytes: int = 400) -> bytes:
    """An /ObjStm (PDF 1.5 object stream, referenced by an xref stream) that inflates to
    ``megabytes`` MB: one tiny object, then padding."""
    header = b"4 0 "
    body = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    block = (header + body).ljust(1 << 20)
    stream = _zlib_repeat(block, megabytes)
    first = len(header)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        _FONT,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    objstm_offset = len(out)
    out += (
        b"5 0 obj\n<< /Type /ObjStm /N 1 /First %d /Length %d /Filter /FlateDecode >>\nstream\n"
        % (first, len(stream))
        + stream
        + b"\nendstream\nendobj\n"
    )
    xref_offset = len(out)
    rows = [(0, 0, 65535)]
    rows += [(1, offset, 0) for offset in offsets]
    rows.append((2, 5, 0))  # object 4 lives in object stream 5 at index 0
    rows.append((1, objstm_offset, 0))  # object 5
    rows.append((1, xref_offset, 0))  # object 6: this xref stream
    table = b"".join(struct.pack(">BIH", kind, a, b) for kind, a, b in rows)
    out += (
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % len(table)
        + table
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    )
    return bytes(out)


def _pdf_content_filtered(filters: bytes, payload: bytes, contents: bytes = b"5 0 R") -> bytes:
    """One page whose content stream (object 5) is ``payload`` under ``/Filter filters``;
    ``contents`` is the page's /Contents (an array may list object 5 many times)."""
    page = _page(2, 5).replace(b"/Contents 5 0 R", b"/Contents " + contents)
    stream = b"<< /Length %d /Filter %s >>\nstream\n" % (len(payload), filters)
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            _FONT,
            page,
            stream + payload + b"\nendstream",
        ]
    )


def _pdf_hex_flate(megabytes: int) -> bytes:
    """A Flate bomb behind /ASCIIHexDecode: its bytes start with hex digits, not zlib's header."""
    flate = _zlib_repeat(b" " * (1 << 20), megabytes)
    return _pdf_content_filtered(b"[/ASCIIHexDecode /FlateDecode]", flate.hex().encode() + b">")


def _pdf_stream_repeated(megabytes: int, times: int) -> bytes:
    """One Flate content stream (under the per-stream cap), listed ``times`` in /Contents."""
    flate = _zlib_repeat(b" " * (1 << 20), megabytes)
    return _pdf_content_filtered(b"/FlateDecode", flate, b"[" + b"5 0 R " * times + b"]")


def _pdf_stream_keyword_space(megabytes: int) -> bytes:
    """A Flate bomb whose ``stream`` keyword has a space before its end of line."""
    data = _pdf_flate_content(megabytes)
    return data.replace(b"stream\n", b"stream \n", 1)


def _pdf_nested_forms(levels: int, fanout: int, drawing: bytes = b"0 0 m 1 1 l S") -> bytes:
    """Form XObjects ``levels`` deep, each drawing the one below ``fanout`` times: ``fanout **
    levels`` drawings from about a kilobyte (the "billion laughs" of PDF)."""
    top = 6 + levels
    page = _page(2, 5).replace(b">> >> >>", b">> /XObject << /X %d 0 R >> >> >>" % top)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        _FONT,
        page,
        _stream(b"/X Do"),
    ]
    for level in range(levels + 1):
        if level == 0:
            body, resources = drawing, b"<< >>"
        else:
            body = b" ".join([b"/X Do"] * fanout)
            resources = b"<< /XObject << /X %d 0 R >> >>" % (5 + level)
        extra = b" /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources " + resources
        objects.append(_stream(body, extra))
    return pdf(objects)


def _pdf_text_flood(pages: int = 1, lines: int = 800, words: int = 300) -> bytes:
    """Pages whose (compressed, ~2 KB) content streams show ``lines × words`` tiny words each: a
    text-layer bomb that costs nothing to render but everything to tokenize and answer."""
    line = b"(" + b"ab " * words + b") Tj 0 -1 Td"
    content = b"BT /F1 1 Tf 0 841 Td " + b" ".join([line] * lines) + b" ET"
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        _FONT,
    ]
    for i in range(pages):
        objects += [_page(2, 5 + 2 * i), _stream(content, flate=True)]
    return pdf(objects)


def _pdf_truncated() -> bytes:
    data = _pdf_text()
    return data[: len(data) // 2]


def _pdf_garbage_body() -> bytes:
    return b"%PDF-1.7\n" + bytes((i * 37 + 11) % 256 for i in range(4096))


def _png_then_pdf() -> bytes:
    """A PNG signature and header, then a whole PDF: the PNG prefix decides (and is broken)."""
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", 64, 32, 8, 0, 0, 0, 0)
    )
    return head + _pdf_text()


def _junk_then_pdf(junk: int) -> bytes:
    return b"J" * junk + _pdf_text()


def _jpeg_with_zip() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.txt", "x" * 100_000)
    return _save(_small(), "JPEG") + buffer.getvalue()


# --------------------------------------------------------------------------------- the corpus

CASES: tuple[Case, ...] = (
    # decompression bombs / huge dimensions
    Case("png_bomb_10k", lambda: _png(10_000, 10_000), DocumentTooLarge,
         what="PNG 10000×10000 whose IDAT inflates to 100 MB (~100 KB on the wire)"),
    Case("png_header_100k", lambda: _png(100_000, 100_000, rows=1), DocumentTooLarge,
         what="PNG header declaring 100000×100000 (10 Gpx)"),
    Case("png_16bit_at_limit", lambda: _png(7_000, 7_000, bit_depth=16), None,
         what="16-bit PNG of 49 Mpx (just under the 50 Mpx limit): decoded, one page"),
    Case("tiff_header_100k", lambda: _tiff_header_only(100_000, 100_000), DocumentTooLarge,
         what="TIFF IFD declaring 100000×100000 with a 1-byte strip"),
    Case("tiff_cyclic_ifd", _tiff_cyclic_ifds, None,
         what="TIFF whose IFD chain loops back on itself"),
    Case("tiff_page2_compression_65407", lambda: _tiff_broken_second_page(259, 65407),
         UnreadableDocument, what="2-page TIFF, page 2's compression unknown (Pillow: KeyError)"),
    Case("tiff_page2_no_width", lambda: _tiff_broken_second_page(256, None), UnreadableDocument,
         what="2-page TIFF, page 2 without ImageWidth (Pillow: TypeError)"),
    Case("tiff_page2_3_bit", lambda: _tiff_broken_second_page(258, 3), UnreadableDocument,
         what="2-page TIFF, page 2 with 3 bits a sample (Pillow: SyntaxError)"),
    Case("tiff_page2_ifd_past_end", lambda: _multi_tiff(2)[:-40], UnreadableDocument,
         what="2-page TIFF cut inside page 2's directory"),
    Case("tiff_500_pages", lambda: _multi_tiff(500), DocumentTooLarge,
         what="TIFF with 500 frames (page limit 20)"),
    Case("webp_canvas_16k", lambda: _webp_declaring(16_384, 16_384), DocumentTooLarge,
         what="WebP whose VP8X canvas claims 16384×16384 (268 Mpx)"),
    Case("gif_screen_64k", _gif_huge_screen, DocumentTooLarge,
         what="GIF logical screen 65535×65535 around a 1×1 frame"),
    Case("jpeg_sof_65k", _jpeg_huge_sof, DocumentTooLarge,
         what="JPEG SOF declaring 65500×65500"),
    # colour profiles (never used: pages are read in gray)
    Case("png_icc_2mb", lambda: _save(_small(), "PNG", icc_profile=bytes(2_000_000)), None,
         what="PNG whose ICC profile inflates to 2 MB (Pillow alone refuses past 1 MB)"),
    Case("png_icc_bomb_200mb", lambda: _save(_small(), "PNG", icc_profile=bytes(200_000_000)),
         None, what="PNG whose ICC profile inflates to 200 MB: skipped, never inflated"),
    Case("jpeg_icc_16mb", lambda: _save(_small(), "JPEG", icc_profile=bytes(16_000_000)), None,
         what="JPEG carrying a 16 MB ICC profile in 245 APP2 segments"),
    # animations: the first frame only
    Case("gif_2000_frames", lambda: _animated("GIF", 2000), None,
         what="animated GIF, 2000 frames → page 1 only"),
    Case("webp_500_frames", lambda: _animated("WEBP", 500), None,
         what="animated WebP, 500 frames → page 1 only"),
    # PDF bombs
    Case("pdf_count_2e9", _pdf_huge_count, None,
         what="PDF with 1 real page, page tree /Count 2000000000 → the real page only"),
    Case("pdf_cyclic_tree", _pdf_cyclic_tree, UnreadableDocument,
         what="PDF page tree with a cycle and no page"),
    Case("pdf_deep_tree", _pdf_deep_tree, UnreadableDocument,
         what="PDF page tree 5000 levels deep"),
    Case("pdf_mediabox_1e6", lambda: _pdf_pages(1, b"0 0 1000000 1000000"), DocumentTooLarge,
         what="PDF page with a 1000000×1000000 pt media box"),
    Case("pdf_20_giant_blank", lambda: _pdf_pages(20, b"0 0 14400 14400"), DocumentTooLarge,
         what="20 blank pages of 14400×14400 pt (each rendered at 50 Mpx)"),
    Case("pdf_flate_400mb", lambda: _pdf_flate_content(400), DocumentTooLarge,
         what="content stream inflating to 400 MB of spaces (~400 KB on the wire)"),
    Case("pdf_flate_20mb_ok", lambda: _pdf_flate_content(20), None,
         what="content stream inflating to 20 MB (under the cap): loads"),
    Case("pdf_objstm_400mb", _pdf_object_stream_bomb, DocumentTooLarge,
         what="object stream (PDF 1.5) inflating to 400 MB"),
    Case("pdf_hex_flate_1500mb", lambda: _pdf_hex_flate(1500), DocumentTooLarge,
         what="Flate stream behind /ASCIIHexDecode inflating to 1500 MB (~3 MB on the wire)"),
    Case("pdf_stream_space_400mb", lambda: _pdf_stream_keyword_space(400), DocumentTooLarge,
         what="400 MB Flate bomb whose 'stream' keyword has a space before its end of line"),
    Case("pdf_contents_140mb_x20", lambda: _pdf_stream_repeated(140, 20), DocumentTooLarge,
         what="a 140 MB content stream (under the per-stream cap) listed 20 times in /Contents"),
    Case("pdf_forms_6x10", lambda: _pdf_nested_forms(6, 10), DocumentTooLarge,
         what="form XObjects 6 deep, 10 wide: a million drawings from 1 KB"),
    Case("pdf_forms_3x100", lambda: _pdf_nested_forms(3, 100), DocumentTooLarge,
         what="form XObjects 3 deep, 100 wide"),
    Case("pdf_forms_4x10_ok", lambda: _pdf_nested_forms(4, 10), None,
         what="form XObjects 4 deep, 10 wide (10,000 drawings): loads"),
    Case("pdf_text_240k_words", _pdf_text_flood, DocumentTooLarge,
         what="2 KB PDF whose text layer is 240,000 words (a tokenizer/forward bomb)"),
    Case("pdf_text_20_pages", lambda: _pdf_text_flood(20, 20, 300), DocumentTooLarge,
         what="20 pages of 6,000 words each: under the page cap, over the document cap"),
    # encryption, actions, odd page sizes
    Case("pdf_encrypted_no_user_password", encrypted_pdf, None,
         what="RC4-encrypted PDF with only an owner password: opens, text read"),
    Case("pdf_encrypted_user_password", lambda: encrypted_pdf(user=b"secret"), UnreadableDocument,
         what="RC4-encrypted PDF locked with a user password"),
    Case("pdf_encrypted_flate_1500mb",
         lambda: encrypted_pdf(content=_zlib_repeat(b" " * (1 << 20), 1500), flate=True),
         DocumentTooLarge,
         what="1500 MB Flate bomb hidden by encryption from the inflate check"),
    Case("pdf_javascript_launch", _pdf_actions, None,
         what="OpenAction JavaScript (an endless loop) and a Launch action: ignored"),
    Case("pdf_page_1pt", lambda: _pdf_pages(1, b"0 0 1 1"), None,
         what="a 1x1 pt page without text: rendered (3x3 px), like a 1x1 image"),
    Case("pdf_page_7000x5pt", lambda: _pdf_pages(1, b"0 0 7000 5"), None,
         what="a 7000x5 pt strip: rendered at 19445x14 px"),
    Case("pdf_no_page_tree", lambda: pdf([b"<< /Type /Catalog >>"]), UnreadableDocument,
         what="a catalog without /Pages"),
    Case("jpeg_corrupt_exif", _jpeg_corrupt_exif, None,
         what="JPEG whose EXIF block is cut short: loads, no warning"),
    # malformed
    Case("pdf_truncated", _pdf_truncated, UnreadableDocument,
         what="PDF cut in half"),
    Case("pdf_garbage", _pdf_garbage_body, UnreadableDocument,
         what="PDF header then 4 KB of garbage"),
    Case("png_truncated", lambda: _save(_small(), "PNG")[:60], UnreadableDocument,
         what="PNG cut after its header"),
    # polyglots
    Case("png_prefix_pdf", _png_then_pdf, UnreadableDocument,
         what="PNG signature + header, then a whole PDF"),
    Case("junk_1000_pdf", lambda: _junk_then_pdf(1000), None,
         what="1000 junk bytes before %PDF- (within the 1024 bytes PDF readers scan)"),
    Case("junk_2000_pdf", lambda: _junk_then_pdf(2000), UnsupportedDocument,
         what="2000 junk bytes before %PDF-"),
    Case("jpeg_plus_zip", _jpeg_with_zip, None,
         what="JPEG with a ZIP archive appended"),
)  # fmt: skip


def case(name: str) -> Case:
    for item in CASES:
        if item.name == name:
            return item
    raise KeyError(name)
