from __future__ import annotations

import os
import re

import pytest
from PIL import Image, ImageDraw, ImageFont

from expense_cli.engine import create_ocr
from expense_cli.engine._ocr import OcrEngine
from expense_cli.synthetic import RECEIPT_LINES

pytestmark = pytest.mark.ocr


@pytest.fixture(scope="module", params=["tesserocr", "cli"])
def ocr(request: pytest.FixtureRequest) -> OcrEngine:
    return create_ocr(request.param)


def _norm(word: str) -> str:
    return word.strip(".,:;").upper()


def test_ocr_finds_the_rendered_words(ocr: OcrEngine, receipt_image: Image.Image) -> None:
    words, boxes = ocr.read(receipt_image)
    expected = {_norm(w) for line in RECEIPT_LINES for w in line.split()}
    found = {_norm(w) for w in words}
    recall = len(expected & found) / len(expected)
    assert recall >= 0.9, sorted(expected - found)
    assert len(words) == len(boxes)


def test_boxes_are_on_the_layoutlm_grid_in_reading_order(
    ocr: OcrEngine, receipt_image: Image.Image
) -> None:
    words, boxes = ocr.read(receipt_image)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= 1000 and 0 <= y0 < y1 <= 1000
    first = words.index("ACME")
    total = next(i for i, w in enumerate(words) if w == "TOTAL")
    # ACME is on the first line, near the top-left margin (60 px of 1000 x 1400)
    assert boxes[first][0] == pytest.approx(60, abs=10)
    assert boxes[first][1] == pytest.approx(1000 * 60 / 1400, abs=15)
    assert boxes[total][1] > boxes[first][3]


def test_blank_page_has_no_words(ocr: OcrEngine) -> None:
    assert ocr.read(Image.new("L", (400, 300), 255)) == ([], [])


def test_both_backends_agree(receipt_image: Image.Image) -> None:
    loaded = create_ocr("tesserocr").read(receipt_image)
    cli = create_ocr("cli").read(receipt_image)
    same = sum(a == b for a, b in zip(loaded[0], cli[0], strict=False))
    assert same / max(len(loaded[0]), len(cli[0])) >= 0.9


def test_oversized_scans_are_downscaled_before_ocr(receipt_image: Image.Image) -> None:
    from expense_cli.engine._ocr import fit_for_ocr

    big = receipt_image.resize((3000, 4200))
    small = fit_for_ocr(big, 1400)
    assert small.size == (1000, 1400)
    assert fit_for_ocr(receipt_image, 1400) is receipt_image  # already small enough
    assert fit_for_ocr(big, 0) is big  # 0 disables it


def test_pages_ocr_in_parallel_give_the_same_words(receipt_image: Image.Image) -> None:
    from expense_cli.engine import Page
    from expense_cli.engine._ocr import ocr_pages

    ocr = create_ocr("tesserocr")
    other = receipt_image.rotate(180)
    serial = [Page(i, 1, 1, image=im) for i, im in enumerate([receipt_image, other, receipt_image])]
    parallel = [
        Page(i, 1, 1, image=im) for i, im in enumerate([receipt_image, other, receipt_image])
    ]
    ocr_pages(ocr, serial, workers=1)
    ocr_pages(ocr, parallel, workers=3)
    assert [p.words for p in serial] == [p.words for p in parallel]
    assert serial[0].words == serial[2].words and serial[0].words != serial[1].words


# --- languages (issue 18): several at once, a missing pack named before any OCR ---------------

GERMAN = ("Bäckerei Müller GmbH", "Große Straße 5, 80331 München", "Brötchen 6 Stück      2,40",
          "Käsekuchen            3,90", "Vielen Dank für Ihren Einkauf")  # fmt: skip
UMLAUT_WORDS = {"Bäckerei", "Müller", "Große", "Straße", "München", "Brötchen", "Käsekuchen"}


def _has_language(code: str) -> bool:
    from expense_cli.engine._ocr import tessdata_dir

    directory = tessdata_dir()
    return directory is not None and os.path.exists(os.path.join(directory, f"{code}.traineddata"))


@pytest.fixture(scope="module")
def german_receipt() -> Image.Image:
    font_path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # has the umlauts and ß
    if not os.path.exists(font_path):
        pytest.skip("DejaVu Sans not installed (fonts-dejavu-core)")
    font = ImageFont.truetype(font_path, 30)
    image = Image.new("L", (1000, 500), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(GERMAN):
        draw.text((60, 60 + 51 * i), line, fill=0, font=font)
    return image


@pytest.mark.parametrize("backend", ["tesserocr", "cli"])
@pytest.mark.parametrize("lang", ["deu+eng", "deu"])  # the main language first
def test_german_language_data_reads_umlauts(
    german_receipt: Image.Image, backend: str, lang: str
) -> None:
    if not _has_language("deu"):
        pytest.skip("tesseract-ocr-deu not installed (scripts/system-deps.sh installs it)")
    words, _ = create_ocr(backend, lang).read(german_receipt)
    assert set(words) >= UMLAUT_WORDS, words
    english, _ = create_ocr(backend, "eng").read(german_receipt)
    assert not set(english) >= UMLAUT_WORDS  # the control: English data misreads them


@pytest.mark.parametrize("backend", ["auto", "tesserocr", "cli"])
@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("xyz", "tesseract has no xyz language data in "),
        ("eng+chi_sim+xyz", "install tesseract-ocr-chi-sim tesseract-ocr-xyz (apt-get)"),
        ("", "is not a tesseract language list"),
        ("eng deu", "is not a tesseract language list"),
        ("../../etc/passwd", "is not a tesseract language list"),
        ("eng+", "is not a tesseract language list"),
    ],
)
def test_a_missing_language_is_a_config_error_naming_the_package(
    backend: str, lang: str, message: str
) -> None:
    from expense_cli.errors import ConfigError

    if lang == "eng+chi_sim+xyz" and _has_language("chi_sim"):
        message = "install tesseract-ocr-xyz (apt-get)"
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_ocr(backend, lang)


def test_the_config_reads_languages_from_the_environment() -> None:
    from expense_cli.engine import EngineConfig

    assert EngineConfig.from_env({"EXPENSE_OCR_LANG": "deu+eng"}).ocr_lang == "deu+eng"
    assert EngineConfig.from_env({}).ocr_lang == "eng"


def test_apt_package_names() -> None:
    from expense_cli.engine._ocr import apt_package

    assert [apt_package(c) for c in ("deu", "chi_sim", "Fra")] == [
        "tesseract-ocr-deu", "tesseract-ocr-chi-sim", "tesseract-ocr-fra"]  # fmt: skip


# --- pages tesseract itself refuses: a side over 32767 px (load_document allows a long strip) ---


@pytest.mark.parametrize("size", [(40_000, 20), (20, 32_768), (65_000, 3)])
def test_a_side_over_tesseracts_limit_is_an_unreadable_document(
    ocr: OcrEngine, size: tuple[int, int]
) -> None:
    from expense_cli.errors import UnreadableDocument

    with pytest.raises(UnreadableDocument, match=r"^OCR failed: "):
        ocr.read(Image.new("L", size, 255))


@pytest.mark.parametrize("max_side", [0, 50_000, 32_768])
@pytest.mark.parametrize("size", [(40_000, 20), (20, 32_768), (32_767, 9)])
def test_long_strips_are_fitted_whatever_the_max_side(
    ocr: OcrEngine, max_side: int, size: tuple[int, int]
) -> None:
    from expense_cli.engine import Page
    from expense_cli.engine._ocr import ocr_pages

    strip = Image.new("L", size, 255)
    page = Page(1, *size, image=strip)
    ocr_pages(ocr, [page], max_side=max_side)  # no error: fitted to 32767 px first
    assert page.words == [] and page.boxes == []
