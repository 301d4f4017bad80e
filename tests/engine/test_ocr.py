from __future__ import annotations

import pytest
from PIL import Image

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
