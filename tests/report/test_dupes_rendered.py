"""Likely duplicates end to end (issue 18): the same receipt rendered at other resolutions,
rotated, re-encoded as JPEG and with OCR-like noise in the merchant goes through the real engine
(tesseract + the per-field planted model of expense_cli/synthetic.py) and is flagged
``possible_duplicate_of``; receipts that differ in total, date or merchant are not."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from expense_cli.report import build_report
from expense_cli.synthetic import RECEIPT_ANSWERS, RECEIPT_LINES, render_receipt
from expense_cli.targets import LocalTarget

pytestmark = [pytest.mark.ocr, pytest.mark.model]


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _lines(**changes: str) -> list[str]:
    """RECEIPT_LINES with whole lines replaced: merchant=..., date=..., total=..."""
    index = {"merchant": 0, "date": 3, "total": 9}
    lines = list(RECEIPT_LINES)
    for name, text in changes.items():
        lines[index[name]] = text
    return lines


def _rotate(image: Image.Image, degrees: float) -> Image.Image:
    return image.rotate(degrees, fillcolor=255, resample=Image.Resampling.BICUBIC)


def test_the_same_receipt_scanned_and_photographed(
    tmp_path: Path, model_factory: Callable[..., Path]
) -> None:
    model = model_factory(fields=RECEIPT_ANSWERS)
    base = render_receipt(RECEIPT_LINES)
    folder = tmp_path / "receipts"
    folder.mkdir()

    def receipt(**changes: str) -> bytes:
        return _encode(render_receipt(_lines(**changes)), "PNG")

    documents = {
        "1 scan.png": _encode(base, "PNG"),
        "2 photo small.jpg": _encode(_rotate(base.resize((700, 980)), -1.0), "JPEG", quality=80),
        "3 photo 📱 big.png": _encode(_rotate(base.resize((1500, 2100)), 0.8), "PNG"),
        "4 noisy merchant.png": receipt(merchant="ACME COFEE ROASTERS"),
        "5 other total.png": receipt(total="TOTAL EUR 17.73"),
        "6 other date.png": receipt(date="Date 04/01/2024  14:22"),
        "7 other shop.png": receipt(merchant="BETA BAKERY SHOP"),
    }  # fmt: skip
    for name, data in documents.items():
        (folder / name).write_bytes(data)
    out = tmp_path / "r.json"
    result = build_report([folder], out, LocalTarget(str(model)))
    rows = {Path(r.file).name: r for r in result.rows}
    assert all(r.error is None for r in rows.values()), [r.error for r in rows.values()]
    assert rows["1 scan.png"].total == Decimal("17.37")  # the engine read every field
    scan = str(folder / "1 scan.png")
    flagged = {name: r.possible_duplicate_of for name, r in rows.items()}
    assert flagged == {
        "1 scan.png": None,
        "2 photo small.jpg": scan,
        "3 photo 📱 big.png": scan,
        "4 noisy merchant.png": scan,
        "5 other total.png": None,
        "6 other date.png": None,
        "7 other shop.png": None,
    }
    assert rows["4 noisy merchant.png"].merchant != rows["1 scan.png"].merchant  # noise kept
    (eur,) = result.summary.by_currency
    assert eur.total == Decimal("17.37") * 6 + Decimal("17.73")  # all kept until confirmed
    assert result.summary.possible_duplicates == 3
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["summary"]["possible_duplicates"] == 3
    total_boxes = document["rows"][0]["boxes"]["total"]  # issue 14: where the total was read
    assert total_boxes["page"] == 1 and total_boxes["boxes"]

    confirmed = build_report([folder], out, LocalTarget(str(model)), drop_duplicates=True)
    assert confirmed.processed == 0  # resumed from the JSON report
    assert confirmed.summary.by_currency[0].total == Decimal("17.37") * 3 + Decimal("17.73")
    assert confirmed.summary.duplicates == 3
