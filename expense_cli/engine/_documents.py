"""Document bytes → pages: images (PNG, JPEG, TIFF, WebP, GIF) and PDFs, with hard limits.

The type is decided by magic bytes, never by a file name. Every limit (bytes, pages, pixels) is
checked from headers *before* anything is decoded, so a decompression bomb costs nothing.
PDF pages that carry embedded text use it directly (no OCR); others are rendered for OCR.
"""

from __future__ import annotations

import ctypes
import io
import math
import re
import struct
import sys
import unicodedata
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from PIL import Image, ImageOps

from ..errors import BadRequest, DocumentTooLarge, UnreadableDocument, UnsupportedDocument
from ._config import Limits

__all__ = ["Box", "Page", "grid_box", "load_document", "sniff_type", "to_gray"]

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 on LayoutLM's 0..1000 grid

_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}

_MAX_PDF_POINTS = 14_400  # PDF 1.7 user-space limit (200 in); bigger media boxes are hostile
# PDF streams inflate inside pdfium with no cap of its own. A FlateDecode stream may inflate to at
# most what an RGB image at the page pixel limit needs; all of them to that for the document's.
_BYTES_PER_PIXEL = 3
_INFLATE_CHUNK = 1 << 20
# pdfium skips anything between the ``stream`` keyword and the end of its line (a space, junk).
_STREAM_START = re.compile(rb"(?<!end)stream[^\r\n]{0,256}(?:\r\n|\n|\r)")


@dataclass
class Page:
    """One page: an image to OCR, or words + boxes already known (PDF text layer)."""

    number: int  # 1-based
    width: int
    height: int
    image: Image.Image | None = None
    words: list[str] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)

    @property
    def needs_ocr(self) -> bool:
        return self.image is not None and not self.words


def sniff_type(data: bytes) -> str | None:
    """The MIME type by magic bytes, or None."""
    for magic, mime in _IMAGE_MAGIC.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if b"%PDF-" in data[:1024]:
        return "application/pdf"
    return None


def load_document(data: bytes, limits: Limits | None = None) -> list[Page]:
    """Validate ``data`` and split it into pages. Raises an ExpenseError on bad input."""
    limits = limits or Limits()
    if not data:
        raise BadRequest("empty document: send the bytes of an image or PDF")
    if len(data) > limits.max_bytes:
        raise DocumentTooLarge(
            f"document is {len(data):,} bytes; the limit is {limits.max_bytes:,} "
            "(shrink the scan or split the PDF)"
        )
    mime = sniff_type(data)
    if mime is None:
        raise UnsupportedDocument(
            "not a supported document: send PNG, JPEG, TIFF, WebP, GIF or PDF bytes"
        )
    if mime == "application/pdf":
        return _load_pdf(data, limits)
    return _load_image(data, mime, limits)


def _check_pixels(width: int, height: int, limits: Limits, total: int) -> int:
    pixels = width * height
    if width <= 0 or height <= 0:
        raise UnreadableDocument("image has no pixels")
    if pixels > limits.max_pixels:
        raise DocumentTooLarge(
            f"page is {width}x{height} pixels; the limit is {limits.max_pixels:,} pixels a page "
            "(downscale the scan)"
        )
    if total + pixels > limits.max_total_pixels:
        raise DocumentTooLarge(f"document has more than {limits.max_total_pixels:,} pixels")
    return total + pixels


# What Pillow raises on a malformed file: its documented errors, and (from deep in a broken TIFF
# directory, found by mutating real files) TypeError "Missing dimensions", KeyError for an unknown
# compression, struct.error, IndexError.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, TypeError, KeyError, IndexError,
                  struct.error, ZeroDivisionError)  # fmt: skip


def _without_icc(png: bytes) -> bytes:
    """A PNG without its ``iCCP`` chunk. Pages are read in gray without colour management, so the
    profile is never used, but Pillow inflates it on open and refuses the whole image when it
    inflates past 1 MB (printer and scanner profiles can be 2-4 MB; the same profile in a JPEG
    loads). A malformed chunk list is left for Pillow to report."""
    at, kept, dropped = 8, [png[:8]], False
    while at + 12 <= len(png):
        (size,) = struct.unpack(">I", png[at : at + 4])
        end = at + 12 + size
        if end > len(png):
            break
        if png[at + 4 : at + 8] == b"iCCP":
            dropped = True
        else:
            kept.append(png[at:end])
        at = end
    return b"".join([*kept, png[at:]]) if dropped else png


def _load_image(data: bytes, mime: str, limits: Limits) -> list[Page]:
    if mime == "image/png":
        data = _without_icc(data)
    with quiet_pillow():  # we enforce our own, lower pixel limits from the headers
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise DocumentTooLarge(f"image is too large to decode safely: {exc}") from None
        except _PILLOW_ERRORS as exc:
            raise UnreadableDocument(f"cannot read {mime} image: {exc}") from None
        with image:
            return _image_pages(image, mime, limits)


def _image_pages(image: Image.Image, mime: str, limits: Limits) -> list[Page]:
    try:
        # Only TIFF frames are pages; animated GIF/WebP use their first frame. Counting reads
        # every TIFF directory, so a broken later one fails here.
        frames = getattr(image, "n_frames", 1) if mime == "image/tiff" else 1
    except _PILLOW_ERRORS as exc:
        raise UnreadableDocument(f"cannot read {mime} image: a page is broken ({exc})") from None
    if frames > limits.max_pages:
        raise DocumentTooLarge(f"document has {frames} pages; the limit is {limits.max_pages}")
    pages: list[Page] = []
    total = 0
    for index in range(frames):
        try:
            image.seek(index)
            width, height = image.size
            total = _check_pixels(width, height, limits, total)
            image.load()
            frame = to_gray(ImageOps.exif_transpose(image))
        except Image.DecompressionBombError as exc:
            raise DocumentTooLarge(f"image is too large to decode safely: {exc}") from None
        except _PILLOW_ERRORS as exc:
            raise UnreadableDocument(
                f"cannot decode {mime} image (page {index + 1}): {exc}"
            ) from None
        pages.append(Page(index + 1, frame.width, frame.height, image=frame))
    return pages


@contextmanager
def quiet_pillow() -> Iterator[None]:
    """Decode without Pillow's warnings: we enforce our own, lower pixel limits from the header
    (DecompressionBombWarning), and the metadata it warns about and then skips (UserWarning:
    "Corrupt EXIF data", a broken ICC or text chunk) is the sender's file, not a fault here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def to_gray(image: Image.Image) -> Image.Image:
    """``image`` in 8-bit grayscale as a viewer shows it, for OCR and the previews (_preview.py).

    ``convert("L")`` alone loses the text of two common kinds of file: transparent parts (a
    screenshot or exported PNG with black text on a transparent background, a GIF's transparent
    colour) keep the colour under them, mostly black, so they are put on white here; and 16-bit,
    32-bit and float samples are clipped at 255 (a 16-bit scan became all white), so they are
    scaled from their own range. CIELab (a TIFF kind) keeps its lightness channel.
    """
    if image.mode == "LAB":
        return image.getchannel("L")
    if image.mode in ("La", "RGBa"):  # premultiplied alpha: no direct conversion to LA
        image = image.convert("RGBA")
    if image.mode == "F" or image.mode.startswith("I"):
        return _stretch(image)
    if "A" in image.mode or "transparency" in image.info:
        gray, alpha = image.convert("LA").split()
        page = Image.new("L", image.size, 255)
        page.paste(gray, mask=alpha)
        return page
    return image.convert("L")


def _stretch(image: Image.Image) -> Image.Image:
    """A 16/32-bit integer or float image mapped linearly from its darkest to its lightest sample
    onto 0..255 (a blank page, or one with NaN or infinite samples, becomes white)."""
    if image.mode.startswith("I;16"):
        # Through numpy (Pillow has no extrema for big-endian I;16B, a Motorola-order TIFF) and
        # a 65,536-entry table: no 32-bit copy of a page at the pixel limit (2 bytes a pixel).
        import numpy as np

        samples = np.asarray(image)
        low, high = float(samples.min()), float(samples.max())
        if high <= low:
            return Image.new("L", image.size, 255)
        table = np.clip((np.arange(65_536) - low) * (255 / (high - low)), 0, 255)
        return Image.fromarray(table.astype(np.uint8)[samples])
    if image.mode not in ("F", "I"):
        image = image.convert("I")
    extrema = image.getextrema()  # one band: (low, high)
    low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        return Image.new("L", image.size, 255)
    scale = 255 / (high - low)
    return image.point(lambda value: value * scale - low * scale).convert("L")


def _check_inflated_size(data: bytes, limits: Limits) -> None:
    """Refuse PDFs whose zlib (FlateDecode) streams inflate past the pixel limits' worth of bytes,
    before pdfium inflates them in memory. Streams are inflated in 1 MB steps and thrown away, so
    this costs at most the limit in CPU and 1 MB of memory; non-zlib data fails at its first bytes.
    """
    per_stream = limits.max_pixels * _BYTES_PER_PIXEL
    total_limit = limits.max_total_pixels * _BYTES_PER_PIXEL
    total = 0
    view = memoryview(data)
    for match in _STREAM_START.finditer(data):
        inflater = zlib.decompressobj()
        size = 0
        pending: bytes | memoryview = view[match.end() : match.end() + _INFLATE_CHUNK]
        position = match.end() + _INFLATE_CHUNK
        try:
            while pending and not inflater.eof:
                size += len(inflater.decompress(pending, _INFLATE_CHUNK))
                if size > per_stream or total + size > total_limit:
                    raise DocumentTooLarge(
                        f"a PDF stream inflates to more than "
                        f"{min(per_stream, total_limit - total):,} bytes: refused as a "
                        "decompression bomb"
                    )
                pending = inflater.unconsumed_tail
                if not pending and not inflater.eof and position < len(data):
                    pending = view[position : position + _INFLATE_CHUNK]
                    position += _INFLATE_CHUNK
        except zlib.error:
            pass  # not zlib data, or corrupt: pdfium decides what to make of it
        total += size


def _load_pdf(data: bytes, limits: Limits) -> list[Page]:
    """The pages of a PDF, read by pdfium in a child process with a memory and time budget
    (``_sandbox.py`` says why), after the cheap check for plain zlib bombs."""
    from ._sandbox import isolated

    _check_inflated_size(data, limits)
    return isolated(_read_pdf, data, limits)


def _read_pdf(data: bytes, limits: Limits) -> list[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise UnreadableDocument(_open_error(str(exc))) from None
    try:
        count = len(pdf)
        if count == 0:
            raise UnreadableDocument("PDF has no pages")
        if count > limits.max_pages:
            raise DocumentTooLarge(f"PDF has {count} pages; the limit is {limits.max_pages}")
        pages: list[Page] = []
        total = chars = 0
        for index in range(count):
            page, total = _pdf_page(pdf, index, limits, total)
            pages.append(page)
            chars += sum(len(word) for word in page.words)
            if chars > limits.max_document_chars:
                raise DocumentTooLarge(
                    f"PDF has more than {limits.max_document_chars:,} characters of text; "
                    "split it into smaller documents"
                )
        return pages
    except pdfium.PdfiumError as exc:
        raise UnreadableDocument(f"cannot read PDF: {exc}") from None
    finally:
        pdf.close()


def _open_error(pdfium_message: str) -> str:
    """What to tell the sender when pdfium cannot open a PDF. Its own words can mislead: a PDF
    with no pages or no page tree fails with "(PDFium: Success)"."""
    if "password" in pdfium_message:
        return (
            "cannot read PDF: it is password-protected; remove the password (or print it to a "
            "new PDF) and send it again"
        )
    if "security scheme" in pdfium_message:
        return "cannot read PDF: it is encrypted with a scheme this reader does not support"
    if "(PDFium: Success)" in pdfium_message:
        return "cannot read PDF: it has no pages (its page tree is missing, empty or broken)"
    return f"cannot read PDF: {pdfium_message}"


def _pdf_page(pdf: object, index: int, limits: Limits, total: int) -> tuple[Page, int]:
    import pypdfium2 as pdfium

    assert isinstance(pdf, pdfium.PdfDocument)
    page = pdf[index]
    try:
        width_pt, height_pt = page.get_size()
        if not (width_pt > 0 and height_pt > 0):
            raise UnreadableDocument(f"PDF page {index + 1} has an empty media box")
        if max(width_pt, height_pt) > _MAX_PDF_POINTS:
            raise DocumentTooLarge(
                f"PDF page {index + 1} is {width_pt:.0f}x{height_pt:.0f} pt: too large to render "
                "(the PDF format's own limit is 14400 pt, 200 inches)"
            )
        words, boxes = _pdf_words(page, limits.max_page_chars)
        if words:
            return Page(
                index + 1, round(width_pt), round(height_pt), words=words, boxes=boxes
            ), total
        # No text layer: render for OCR, lowering the resolution for giant media boxes.
        scale = limits.pdf_dpi / 72
        pixels = width_pt * height_pt * scale * scale
        shrunk = pixels > limits.max_pixels
        if shrunk:
            scale *= (limits.max_pixels / pixels) ** 0.5
        width, height = max(1, int(width_pt * scale)), max(1, int(height_pt * scale))
        # A giant page shrunk to a sliver is refused; a small page renders small, like an image.
        if shrunk and min(width, height) < 16:
            raise DocumentTooLarge(
                f"PDF page {index + 1} is {width_pt:.0f}x{height_pt:.0f} pt: too large to render"
            )
        total = _check_pixels(width, height, limits, total)
        image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
        return Page(index + 1, image.width, image.height, image=image), total
    finally:
        page.close()


def _pdf_words(page: object, max_chars: int) -> tuple[list[str], list[Box]]:
    """Words and 0..1000 boxes from a PDF page's text layer (empty when it has none): only
    encodable Unicode, no control characters (see ``_characters`` and ``_kind``). Boxes are on
    the page as displayed and rendered (``_page_to_grid``)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    assert isinstance(page, pdfium.PdfPage)
    to_grid = _page_to_grid(page)
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        if count > max_chars:
            raise DocumentTooLarge(
                f"a PDF page has {count:,} characters of text; the limit is "
                f"{max_chars:,} a page (split the document)"
            )
        words: list[str] = []
        boxes: list[Box] = []
        chars: list[str] = []
        x0 = y0 = float("inf")
        x1 = y1 = float("-inf")

        def flush() -> None:
            nonlocal x0, y0, x1, y1
            if chars:
                words.append("".join(chars))
                boxes.append(grid_box(x0, y0, x1, y1, 1000, 1000))
                chars.clear()
            x0 = y0 = float("inf")
            x1 = y1 = float("-inf")

        units = [raw.FPDFText_GetUnicode(textpage.raw, i) for i in range(count)]
        for first, last, char in _characters(units):
            kind = _kind(char)
            if kind == _SEPARATOR:
                flush()
                continue
            if kind == _INVISIBLE:
                continue
            left, bottom, right, top = textpage.get_charbox(first)
            if last != first:  # a surrogate pair: both halves' boxes
                left2, bottom2, right2, top2 = textpage.get_charbox(last)
                left, bottom = min(left, left2), min(bottom, bottom2)
                right, top = max(right, right2), max(top, top2)
            (ax, ay), (bx, by) = to_grid(left, bottom), to_grid(right, top)
            x0, x1 = min(x0, ax, bx), max(x1, ax, bx)
            y0, y1 = min(y0, ay, by), max(y1, ay, by)
            chars.append(char)
        flush()
        return words, boxes
    finally:
        textpage.close()


def _page_to_grid(page: object) -> Callable[[float, float], tuple[float, float]]:
    """PDF user space → the 0..1000 grid of the page as pdfium renders it: its crop box (which
    need not start at 0,0), turned by its ``/Rotate``, y downwards. Text-layer character boxes
    are in user space, so without this a rotated or cropped page's answers point elsewhere.

    The map is affine; pdfium's own ``FPDF_PageToDevice`` gives it at three corners of the crop
    box, on a 1,000,000-unit device so that its integer results lose nothing."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    assert isinstance(page, pdfium.PdfPage)
    left, bottom, right, top = page.get_bbox()
    size = 1_000_000

    def device(x: float, y: float) -> tuple[float, float]:
        dx, dy = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page.raw, 0, 0, size, size, 0, x, y, dx, dy)
        return dx.value * 1000 / size, dy.value * 1000 / size

    (ox, oy), (ax, ay), (bx, by) = device(left, bottom), device(right, bottom), device(left, top)
    width, height = (right - left) or 1.0, (top - bottom) or 1.0

    def to_grid(x: float, y: float) -> tuple[float, float]:
        u, v = (x - left) / width, (y - bottom) / height
        return ox + u * (ax - ox) + v * (bx - ox), oy + u * (ay - oy) + v * (by - oy)

    return to_grid


_HIGH = range(0xD800, 0xDC00)
_LOW = range(0xDC00, 0xE000)
_SEPARATOR, _INVISIBLE, _TEXT = "separator", "invisible", "text"
# Format characters (Unicode category Cf) kept inside words: they shape emoji and Indic text.
_KEPT_FORMAT = frozenset("\u200c\u200d") | frozenset(map(chr, range(0xE0020, 0xE0080)))


def _characters(units: Sequence[int]) -> Iterator[tuple[int, int, str]]:
    """pdfium's text units → ``(first index, last index, character)``.

    pdfium reports a ``/ToUnicode`` mapping to an astral character (emoji, CJK extension B,
    mathematical letters) as two UTF-16 surrogate halves, one text index each: a pair becomes
    its one character, spanning both indices. A lone half (or anything outside Unicode) cannot
    be encoded in UTF-8 (JSON, CSV, XLSX), so it becomes U+FFFD REPLACEMENT CHARACTER.
    """
    i = 0
    while i < len(units):
        unit = units[i]
        if unit < 0xD800:  # the usual case
            yield i, i, chr(unit)
            i += 1
            continue
        if unit in _HIGH and i + 1 < len(units) and units[i + 1] in _LOW:
            yield i, i + 1, chr(0x10000 + ((unit - 0xD800) << 10) + (units[i + 1] - 0xDC00))
            i += 2
            continue
        lone = unit in _HIGH or unit in _LOW or unit > sys.maxunicode
        yield i, i, "\ufffd" if lone else chr(unit)
        i += 1


def _kind(char: str) -> str:
    """How a text-layer character counts for word splitting.

    Separators end a word: white space, control characters (``\\x01``, DEL, C1 controls; they
    must never reach a field, where XLSX refuses them), U+200B ZERO WIDTH SPACE and
    noncharacters (pdfium marks a hyphen at a line break with U+FFFE). Other format characters
    (soft hyphen, byte order mark, bidirectional overrides) are invisible and dropped, except the
    joiners and tags that emoji sequences are built from.
    """
    code = ord(char)
    if 0x20 < code < 0x7F:  # the usual case
        return _TEXT
    if char.isspace() or code == 0x200B or code & 0xFFFE == 0xFFFE or 0xFDD0 <= code <= 0xFDEF:
        return _SEPARATOR
    category = unicodedata.category(char)
    if category == "Cc":
        return _SEPARATOR
    if category == "Cf" and char not in _KEPT_FORMAT:
        return _INVISIBLE
    return _TEXT


def grid_box(x0: float, y0: float, x1: float, y1: float, width: float, height: float) -> Box:
    def scale(value: float, size: float) -> int:
        return max(0, min(1000, int(1000 * value / size)))

    return (scale(x0, width), scale(y0, height), scale(x1, width), scale(y1, height))
