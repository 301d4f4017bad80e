from __future__ import annotations

import base64
import io
import unicodedata
import zlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from expense_cli.engine import Limits, load_document, sniff_type
from expense_cli.errors import (
    BadRequest,
    DocumentTooLarge,
    ExpenseError,
    UnreadableDocument,
    UnsupportedDocument,
)
from expense_cli.synthetic import receipt_pdf, render_receipt
from tests.conftest import png_bytes
from tests.hardening.unicode_pdf import unicode_pdf

SMALL = render_receipt(["ACME", "TOTAL 1.00"], width=300, height=200, font_size=20)


@pytest.mark.parametrize(
    ("fmt", "mime", "kwargs"),
    [
        ("PNG", "image/png", {}),
        ("JPEG", "image/jpeg", {"quality": 90}),
        ("TIFF", "image/tiff", {}),
        ("WEBP", "image/webp", {}),
        ("GIF", "image/gif", {}),
    ],
)
def test_images_load_as_one_grayscale_page(fmt: str, mime: str, kwargs: dict[str, object]) -> None:
    data = png_bytes(SMALL, fmt, **kwargs)
    assert sniff_type(data) == mime
    pages = load_document(data)
    assert len(pages) == 1
    assert pages[0].image is not None and pages[0].image.mode == "L"
    assert (pages[0].width, pages[0].height) == SMALL.size
    assert pages[0].needs_ocr


def test_multi_frame_tiff_is_one_page_per_frame() -> None:
    frames = [SMALL, SMALL.rotate(180), SMALL.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    pages = load_document(buffer.getvalue())
    assert [p.number for p in pages] == [1, 2, 3]
    assert [p.image.tobytes() for p in pages if p.image] == [f.tobytes() for f in frames]


def test_pdf_text_layer_is_used_instead_of_ocr() -> None:
    data = receipt_pdf([], text_layer=[["ACME COFFEE", "TOTAL 17.37"], ["page two words"]])
    pages = load_document(data)
    assert [p.words for p in pages] == [
        ["ACME", "COFFEE", "TOTAL", "17.37"],
        ["page", "two", "words"],
    ]
    assert not any(p.needs_ocr for p in pages)
    for page in pages:
        for x0, y0, x1, y1 in page.boxes:
            assert 0 <= x0 < x1 <= 1000 and 0 <= y0 < y1 <= 1000
    # "ACME" is left of "COFFEE" on the same line; "TOTAL" is below it
    (a, c, t, _) = pages[0].boxes
    assert a[2] <= c[0] and a[1] == pytest.approx(c[1], abs=5) and t[1] > a[3]


def test_scanned_pdf_pages_are_rendered_for_ocr() -> None:
    pages = load_document(receipt_pdf([SMALL, SMALL]))
    assert len(pages) == 2 and all(p.needs_ocr for p in pages)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = png_bytes(SMALL, "JPEG", exif=exif)
    (page,) = load_document(data)
    assert (page.width, page.height) == (SMALL.height, SMALL.width)


def _huge_png(width: int, height: int) -> bytes:
    """A tiny file that declares a huge image (a decompression bomb)."""
    raw = zlib.compress(b"\x00" + b"\x00" * ((width + 7) // 8), 9)  # one row, then truncated
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _tiff_pages(n: int) -> bytes:
    buffer = io.BytesIO()
    tiny = Image.new("L", (8, 8), 255)
    tiny.save(buffer, format="TIFF", save_all=True, append_images=[tiny] * (n - 1))
    return buffer.getvalue()


def _giant_pdf() -> bytes:
    pdf = receipt_pdf([], text_layer=[[]])
    return pdf.replace(b"/MediaBox [0 0 595 842]", b"/MediaBox [0 0 14400000 14400000]")


PNG = png_bytes(SMALL)


@pytest.mark.parametrize(
    ("name", "data", "error", "message"),
    [
        ("empty", b"", BadRequest, "empty document"),
        ("text", b"hello, I am not a receipt", UnsupportedDocument, "not a supported document"),
        ("html", b"<html><body>receipt</body></html>", UnsupportedDocument, "PNG, JPEG"),
        ("zip", b"PK\x03\x04" + b"\x00" * 100, UnsupportedDocument, "not a supported"),
        ("truncated png", PNG[: len(PNG) // 2], UnreadableDocument, "cannot decode image/png"),
        ("png header only", PNG[:16], UnreadableDocument, "cannot read image/png"),
        ("truncated jpeg", png_bytes(SMALL, "JPEG")[:300], UnreadableDocument, "image/jpeg"),
        ("bomb png", _huge_png(30_000, 30_000), DocumentTooLarge, "pixels"),
        ("too many tiff pages", _tiff_pages(21), DocumentTooLarge, "21 pages; the limit is 20"),
        ("broken pdf", b"%PDF-1.4\n1 0 obj <<>> garbage", UnreadableDocument, "cannot read PDF"),
        ("too many pdf pages", receipt_pdf([], text_layer=[["x"]] * 21), DocumentTooLarge, "21"),
        ("giant pdf media box", _giant_pdf(), DocumentTooLarge, "too large to render"),
        ("too many bytes", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2_000_001, DocumentTooLarge, "bytes"),
    ],
)
def test_bad_input_gets_a_clear_error(
    name: str, data: bytes, error: type[ExpenseError], message: str
) -> None:
    with pytest.raises(error) as caught:
        load_document(data, Limits(max_bytes=2_000_000))
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_page_and_pixel_limits_are_configurable() -> None:
    with pytest.raises(DocumentTooLarge):
        load_document(PNG, Limits(max_pixels=SMALL.width * SMALL.height - 1))
    assert len(load_document(_tiff_pages(3), Limits(max_pages=3))) == 3


# --- PDF text layers that decode to astral characters, lone surrogates and control characters ---
# (tests/hardening/unicode_pdf.py writes a real /ToUnicode CMap; pdfium reports UTF-16 units)

LONE = ["\ud83d", "\ude00", "\udbff", "\udc00"]  # high and low halves, each on its own


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("ACME 😀 COFFEE", ["ACME", "😀", "COFFEE"]),
        ("Café☕😀🍩 17.37", ["Café☕😀🍩", "17.37"]),
        ("𠀀𠀁𪚲 CJK-B", ["𠀀𠀁𪚲", "CJK-B"]),
        ("𝐓𝐎𝐓𝐀𝐋 𝟏𝟕.𝟑𝟕", ["𝐓𝐎𝐓𝐀𝐋", "𝟏𝟕.𝟑𝟕"]),
        ("max 𐏿\U0010fffd end", ["max", "𐏿\U0010fffd", "end"]),  # plane 16, last assignable
        ("👩‍👩‍👧 family", ["👩‍👩‍👧", "family"]),  # ZWJ sequence stays one word
        ("flag 🏴󠁧󠁢󠁳󠁣󠁴󠁿!", ["flag", "🏴󠁧󠁢󠁳󠁣󠁴󠁿!"]),  # tag characters kept
        ("A\ud83dB", ["A\ufffdB"]),
        ("C\ude00D", ["C\ufffdD"]),
        ("\ude00\ud83d reversed", ["\ufffd\ufffd", "reversed"]),  # low then high: not a pair
        ("\ud83d\ud83d\ude00 x", ["\ufffd😀", "x"]),  # a high half, then a real pair
        ("end \udbff", ["end", "\ufffd"]),  # a high half as the page's last unit
        ("TOTAL\x01EUR\x0217.37", ["TOTAL", "EUR", "17.37"]),
        ("a\x7fb\x85c\x9fd\x1be", ["a", "b", "c", "d", "e"]),  # DEL, C1 controls, ESC
        ("no\u200bspace zero\ufeffwidth", ["no", "space", "zerowidth"]),
        ("Rech\u00adnung \u202eevil\u202c 12", ["Rechnung", "evil", "12"]),  # soft hyphen, bidi
        ("non\ufdd0char \U0001fffex", ["non", "char", "x"]),  # noncharacters split words
    ],
)
def test_pdf_text_layer_yields_only_encodable_text(line: str, words: list[str]) -> None:
    (page,) = load_document(unicode_pdf([[line]], units=LONE))
    assert page.words == words
    assert len(page.boxes) == len(words)
    for word in page.words:
        word.encode("utf-8")  # no surrogate can reach JSON, CSV or XLSX
        assert all(unicodedata.category(c) not in ("Cc", "Cs") for c in word)


def test_astral_characters_keep_their_word_box() -> None:
    (emoji,) = load_document(unicode_pdf([["ACME 😀😀 COFFEE"]]))
    (plain,) = load_document(unicode_pdf([["ACME XX COFFEE"]]))
    assert emoji.words[1] == "😀😀"
    assert emoji.boxes[0] == plain.boxes[0]  # the pair's two text indices are one character
    x0, y0, x1, y1 = emoji.boxes[1]
    assert emoji.boxes[0][2] < x0 < x1 < emoji.boxes[2][0] and y0 < y1


_UNIT = st.one_of(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    st.characters(min_codepoint=1, max_codepoint=0x10FFFF, exclude_categories=()),  # + surrogates
    st.sampled_from([" ", "\x01", "\x7f", "\x85", "\u200b", "\u200d", "\ufeff", "\u202e"]),
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.lists(st.lists(_UNIT, min_size=1, max_size=40).map("".join), min_size=1, max_size=4))
def test_any_text_layer_yields_encodable_words(lines: list[str]) -> None:
    (page,) = load_document(unicode_pdf([lines], units=LONE))
    assert len(page.words) == len(page.boxes)
    for word in page.words:
        assert word and word.encode("utf-8").decode("utf-8") == word
        assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zs") for c in word)
    for x0, y0, x1, y1 in page.boxes:
        assert 0 <= x0 <= x1 <= 1000 and 0 <= y0 <= y1 <= 1000


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF), min_size=1))
def test_astral_text_comes_back_unchanged(text: str) -> None:
    assume(all(unicodedata.category(c) not in ("Cf", "Cn", "Co") for c in text))
    (page,) = load_document(unicode_pdf([[text[:150]]]))
    assert page.words == [text[:150]]


# --- PDF pages turned by /Rotate, cropped, or with a media box away from 0,0: boxes must be on
# the page as displayed, the geometry the OCR path and the previews (_preview.py) render ---


@pytest.mark.parametrize(
    ("box", "extra", "at"),
    [
        (b"0 0 595 842", b"", (72, 770)),
        (b"0 0 595 842", b"/Rotate 90", (72, 770)),
        (b"0 0 595 842", b"/Rotate 180", (72, 770)),
        (b"0 0 595 842", b"/Rotate 270", (300, 100)),
        (b"0 0 595 842", b"/Rotate -90", (72, 770)),
        (b"0 0 595 842", b"/Rotate 450", (72, 400)),
        (b"0 0 595 842", b"/CropBox [50 700 300 800]", (72, 740)),
        (b"0 0 595 842", b"/CropBox [40 600 400 800] /Rotate 90", (72, 700)),
        (b"100 100 695 942", b"", (172, 870)),
        (b"0 -842 595 0", b"/Rotate 270", (72, -72)),
        (b"-300 -300 300 300", b"", (-250, 250)),
        (b"0 0 20 10", b"", (1, 2)),  # a tiny page, text a few points high
    ],
)
def test_pdf_text_boxes_are_where_the_page_shows_the_words(
    box: bytes, extra: bytes, at: tuple[int, int]
) -> None:
    from expense_cli.engine._preview import page_images
    from tests.hardening.hostile import pdf_one_page

    size = 4 if box == b"0 0 20 10" else 12
    data = pdf_one_page(b"ACME COFFEE", box=box, extra=extra, at=at, size=size)
    (page,) = load_document(data)
    assert page.words == ["ACME", "COFFEE"]
    (preview,) = page_images(data, [1], Limits())
    image = Image.open(io.BytesIO(base64.b64decode(preview["image"].split(",", 1)[1])))
    assert (page.width > page.height) == (image.width > image.height)
    ink = image.point(lambda v: 255 if v < 128 else 0).getbbox()  # where the words are drawn
    assert ink is not None
    grid_ink = (
        ink[0] * 1000 / image.width,
        ink[1] * 1000 / image.height,
        ink[2] * 1000 / image.width,
        ink[3] * 1000 / image.height,
    )
    for x0, y0, x1, y1 in page.boxes:
        assert 0 <= x0 < x1 <= 1000 and 0 <= y0 < y1 <= 1000
        inside = image.crop(
            (
                x0 * image.width // 1000,
                y0 * image.height // 1000,
                -(-x1 * image.width // 1000),
                -(-y1 * image.height // 1000),
            )
        )
        assert inside.getextrema()[0] < 128  # each word's box holds ink
    union = (
        min(b[0] for b in page.boxes),
        min(b[1] for b in page.boxes),
        max(b[2] for b in page.boxes),
        max(b[3] for b in page.boxes),
    )
    slack = 30  # glyph boxes vs the font's line box, on the 0..1000 grid
    assert all(abs(u - g) <= slack for u, g in zip(union, grid_ink, strict=True)), (union, grid_ink)


# --- image kinds whose plain convert("L") hid the text: transparency, 16/32-bit and float
# samples, CIELab; each must load (and preview) as dark words on a light page ---


def _ink_on(background: Image.Image, ink: Image.Image) -> Image.Image:
    """``background`` with ``ink`` pasted where SMALL has dark pixels (its words)."""
    mask = SMALL.point(lambda v: 255 if v < 128 else 0)
    out = background.copy()
    out.paste(ink, mask=mask)
    return out


def _transparent(mode: str) -> Image.Image:
    clear = Image.new("RGBA", SMALL.size, (0, 0, 0, 0))
    return _ink_on(clear, Image.new("RGBA", SMALL.size, (0, 0, 0, 255))).convert(mode)


def _wide(dtype: str, white: float, black: float = 0) -> Image.Image:
    """SMALL's words as ``black`` on ``white`` in 16-bit (uint16), 32-bit (int32) or float."""
    return Image.fromarray(np.where(np.asarray(SMALL) < 128, black, white).astype(dtype))


def _palette(fmt: str) -> bytes:
    """Black words on a transparent black background, the palette's transparent index 0."""
    image = SMALL.point(lambda v: v < 128).convert("P")  # index 1: the words
    image.putpalette([0, 0, 0, 0, 0, 0])
    return png_bytes(image, fmt, transparency=0)


def _gray_key() -> bytes:
    """A grayscale PNG whose tRNS colour key (0) is its background; the words are gray 1."""
    image = _ink_on(Image.new("L", SMALL.size, 0), Image.new("L", SMALL.size, 1))
    return png_bytes(image, "PNG", transparency=0)


def _lab_tiff() -> bytes:
    return png_bytes(_ink_on(Image.new("LAB", SMALL.size, (255, 128, 128)),
                             Image.new("LAB", SMALL.size, (0, 128, 128))), "TIFF")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("rgba png, clear background", png_bytes(_transparent("RGBA"))),
        ("la png", png_bytes(_transparent("LA"))),
        ("palette png + tRNS", _palette("PNG")),
        ("gif, transparent colour", _palette("GIF")),
        ("webp with alpha", png_bytes(_transparent("RGBA"), "WEBP", lossless=True)),
        ("rgba tiff", png_bytes(_transparent("RGBA"), "TIFF")),
        ("gray png + colour key", _gray_key()),
        ("16-bit png", png_bytes(_wide("uint16", 65535, 1000))),
        ("16-bit png, 12 bits used", png_bytes(_wide("uint16", 4095, 300))),
        ("16-bit tiff", png_bytes(_wide("uint16", 60000, 2000), "TIFF")),
        ("16-bit big-endian tiff", png_bytes(_wide(">u2", 60000, 2000), "TIFF")),
        ("32-bit tiff", png_bytes(_wide("int32", 1_000_000, -5), "TIFF")),
        ("float tiff 0..1", png_bytes(_wide("float32", 1.0), "TIFF")),
        ("cielab tiff", _lab_tiff()),
        ("cmyk jpeg", png_bytes(SMALL.convert("CMYK"), "JPEG", quality=95)),
        ("progressive jpeg", png_bytes(SMALL, "JPEG", progressive=True, quality=95)),
        ("1-bit group 4 tiff", png_bytes(SMALL.convert("1"), "TIFF", compression="group4")),
    ],
)
def test_every_image_kind_loads_as_dark_words_on_a_light_page(name: str, data: bytes) -> None:
    from expense_cli.engine._preview import page_images

    (page,) = load_document(data)
    (preview,) = page_images(data, [1], Limits())
    shown = Image.open(io.BytesIO(base64.b64decode(preview["image"].split(",", 1)[1])))
    words = SMALL.point(lambda v: v < 128 and 255).tobytes()
    for image in (page.image, shown):
        assert image is not None and image.mode == "L" and image.size == SMALL.size
        dark = image.point(lambda v: v < 128 and 255).tobytes()
        wrong = sum(a != b for a, b in zip(dark, words, strict=True))
        assert wrong <= len(words) // 100, f"{name}: {wrong} of {len(words)} pixels wrong"


# --- pdfium runs in a child process with a memory and a time budget (_sandbox.py) ---


def test_the_pdf_child_process_keeps_to_its_budget() -> None:
    import os
    import time

    from expense_cli.engine._sandbox import isolated

    with pytest.raises(DocumentTooLarge, match=r"takes more than 0\.5 s"):
        isolated(time.sleep, 60, seconds=0.5)
    with pytest.raises(DocumentTooLarge, match="needs more than 256 MB of memory"):
        isolated(bytearray, 1 << 30, memory=256 << 20)
    with pytest.raises(DocumentTooLarge, match="needs more than 1,024 MB of memory"):
        isolated(os._exit, 3)  # a child that dies, as pdfium does when an allocation fails
    with pytest.raises(RuntimeError, match="the PDF reader failed: ValueError"):
        isolated(int, "not a number")  # a bug in the child is a bug here (internal_error)
    assert isolated(len, b"abc") == 3


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n", receipt_pdf([], text_layer=[["x"]] * 21), _giant_pdf(), b"%PDF-1.4\n1 0 obj"],
    ids=["no body", "21 pages", "giant media box", "garbage"],
)
def test_errors_in_the_pdf_child_come_back_unchanged(data: bytes) -> None:
    from expense_cli.engine._documents import _read_pdf

    with pytest.raises(ExpenseError) as here:  # pdfium in this process
        _read_pdf(data, Limits())
    with pytest.raises(ExpenseError) as there:  # load_document: pdfium in a child
        load_document(data)
    assert type(there.value) is type(here.value)
    assert (there.value.code, there.value.message) == (here.value.code, here.value.message)


def test_a_daemonic_process_reads_pdfs_too() -> None:
    """multiprocessing.Pool workers may not start multiprocessing children; the PDF helper is a
    plain subprocess, so load_document works there as well."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pages = pool.apply(load_document, (receipt_pdf([], text_layer=[["ACME 1.00"]]),))
    assert [page.words for page in pages] == [["ACME", "1.00"]]


# --- what a sender is told about PDFs pdfium cannot open, and pages smaller than usual ---


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ("locked", "cannot read PDF: it is password-protected; remove the password"),
        ("no root", "cannot read PDF: it has no pages (its page tree is missing, empty or"),
        ("pages not a dictionary", "cannot read PDF: it has no pages"),
        ("empty kids", "cannot read PDF: it has no pages"),
    ],
)
def test_pdfs_that_do_not_open_say_why(build: str, message: str) -> None:
    from tests.hardening.hostile import encrypted_pdf, pdf

    data = {
        "locked": lambda: encrypted_pdf(user="pässwörd".encode("latin-1")),
        "no root": lambda: pdf([b"<< /Type /Catalog >>"]),
        "pages not a dictionary": lambda: pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"42"]),
        "empty kids": lambda: pdf(
            [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
        ),
    }[build]()
    with pytest.raises(UnreadableDocument) as raised:
        load_document(data)
    assert raised.value.message.startswith(message)
    assert "PDFium: Success" not in raised.value.message


def test_an_owner_password_alone_does_not_stop_reading() -> None:
    from tests.hardening.hostile import encrypted_pdf

    (page,) = load_document(encrypted_pdf(owner="𝔬𝔴𝔫𝔢𝔯".encode()))
    assert page.words == ["ACME", "COFFEE", "ROASTERS"]


@pytest.mark.parametrize(
    ("box", "size"),
    [
        (b"0 0 1 1", (3, 3)),
        (b"0 0 5 5", (14, 14)),
        (b"0 0 7000 5", (19444, 13)),
        (b"0 0 3 14400", (8, 40000)),
    ],
)
def test_small_and_narrow_pdf_pages_render_like_small_images(
    box: bytes, size: tuple[int, int]
) -> None:
    """Only a giant page shrunk to a sliver is refused (413); these are small, not large."""
    from tests.hardening.hostile import _pdf_pages

    (page,) = load_document(_pdf_pages(1, box))
    assert page.needs_ocr and page.image is not None
    assert page.image.size == pytest.approx(size, abs=1)


@pytest.mark.parametrize("profile", [2_000_000, 50_000_000])
def test_a_png_colour_profile_of_any_size_neither_refuses_nor_costs(profile: int) -> None:
    """Pillow alone refused a PNG whose ICC profile inflates past 1 MB; the profile is never
    used (pages are gray), so it is skipped, in the page and in its preview alike."""
    from expense_cli.engine._preview import page_images

    exif = Image.Exif()
    exif[0x0112] = 6  # the chunks around it still count
    data = png_bytes(SMALL, "PNG", icc_profile=bytes(profile), exif=exif)
    (page,) = load_document(data)
    assert page.image is not None and page.image.size == (SMALL.height, SMALL.width)
    (preview,) = page_images(data, [1], Limits())
    assert (preview["width"], preview["height"]) == (SMALL.height, SMALL.width)


def test_incremental_updates_and_wrong_xref_tables_read_what_a_viewer_shows() -> None:
    from tests.hardening.hostile import pdf_incremental_update, pdf_wrong_xref

    (updated,) = load_document(pdf_incremental_update(b"TOTAL 1.00", b"TOTAL 2.00 PAID"))
    assert updated.words == ["TOTAL", "2.00", "PAID"]
    (rebuilt,) = load_document(pdf_wrong_xref(b"ACME 3.50"))
    assert rebuilt.words == ["ACME", "3.50"]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_puts_the_corner_where_a_viewer_shows_it(orientation: int) -> None:
    """A black mark in the stored image's top-left corner, then EXIF orientation 1..8: the page
    and its preview show it where a viewer does (ImageOps.exif_transpose's table)."""
    from expense_cli.engine._preview import page_images

    stored = Image.new("L", (60, 30), 255)
    stored.paste(0, (0, 0, 12, 6))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = png_bytes(stored, "JPEG", exif=exif, quality=100)
    turned = orientation >= 5
    corner = {1: (0, 0), 2: (1, 0), 3: (1, 1), 4: (0, 1), 5: (0, 0), 6: (1, 0), 7: (1, 1),
              8: (0, 1)}[orientation]  # fmt: skip
    (page,) = load_document(data)
    (preview,) = page_images(data, [1], Limits())
    shown = Image.open(io.BytesIO(base64.b64decode(preview["image"].split(",", 1)[1])))
    for image in (page.image, shown):
        assert image is not None and image.size == ((30, 60) if turned else (60, 30))
        box = image.point(lambda v: v < 128 and 255).getbbox()
        assert box is not None
        x, y = box[0] > 0, box[1] > 0  # the mark touches the right / bottom edge instead
        assert (int(x), int(y)) == corner, (orientation, box)


def test_a_dead_pdf_helper_is_replaced() -> None:
    """The helper process that forks pdfium's children dies (killed by an operator, the OOM
    killer): that one call fails as a bug (500), the next starts a new helper and reads."""
    from expense_cli.engine import _sandbox

    data = receipt_pdf([], text_layer=[["ACME 1.00"]])
    load_document(data)
    helper = _sandbox._helper
    assert helper is not None
    helper.kill()
    helper.wait()
    assert [page.words for page in load_document(data)] == [["ACME", "1.00"]]
    assert _sandbox._helper is not helper
