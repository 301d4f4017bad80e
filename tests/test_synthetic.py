"""The synthetic per-field model (expense_cli/synthetic.py, ``build_model(fields=...)``): the
offline `expense-cli demo` answers each field of the sample receipt through the real engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from expense_cli.engine import Engine, EngineConfig, create_ocr
from expense_cli.synthetic import (
    RECEIPT_ANSWERS,
    RECEIPT_LINES,
    FieldPlant,
    build_model,
    word_boxes,
)

from .conftest import png_bytes

pytestmark = [pytest.mark.model, pytest.mark.ocr]

EXPECTED = {
    "merchant": ("ACME COFFEE ROASTERS", None),
    "merchant_address": ("12 Market Street, Springfield", None),
    "date": ("03/01/2024", "2024-01-03"),  # EUR: day first
    "total": ("EUR 17.37", "17.37"),
    "subtotal": ("14.60", "14.60"),
    "tax": ("2.77", "2.77"),
    "receipt_number": ("004217", None),
}


@pytest.fixture(scope="module", params=["wordpiece", "bpe"])
def field_engine(request: pytest.FixtureRequest, model_factory: Callable[..., Path]) -> Engine:
    return Engine(EngineConfig(model=str(model_factory(tokenizer=request.param,
                                                       fields=RECEIPT_ANSWERS))))  # fmt: skip


def test_each_field_gets_its_own_answer_and_value(field_engine: Engine, receipt_png: bytes) -> None:
    fields = field_engine.extract(receipt_png).to_dict()["fields"]
    got = {name: (f["answer"], f.get("value")) for name, f in fields.items()}
    assert got == EXPECTED
    assert fields["total"]["currency"] == "EUR"
    assert all(f["score"] > 0.9 and f["page"] == 1 for f in fields.values())


@pytest.mark.parametrize(
    ("question", "field"),
    [("total", "total"), ("What is the TOTAL?", "total"), ("subtotal", "subtotal"),
     ("What is the merchant address?", "merchant_address"), ("merchant", "merchant")],
)  # fmt: skip
def test_the_answer_follows_the_question(
    field_engine: Engine, receipt_png: bytes, question: str, field: str
) -> None:
    """One question at a time (no batch neighbours), custom wording, keyword priority."""
    result = field_engine.extract(receipt_png, questions=[question]).to_dict()
    answers = [a["answer"] for a in result["answers"]] + [
        f["answer"] for f in result["fields"].values()
    ]
    assert answers == [EXPECTED[field][0]]


def test_questions_without_a_keyword_get_no_answer(
    field_engine: Engine, receipt_png: bytes
) -> None:
    result = field_engine.extract(receipt_png, questions=["Who?", "What is the VAT?"]).to_dict()
    assert [a["answer"] for a in result["answers"]] == ["", ""]


def test_other_receipts_get_no_planted_answer(field_engine: Engine) -> None:
    """The words must be where the sample receipt has them: a receipt laid out differently (the
    same lines, lower on the page) gets no merchant, not a wrong one."""
    from expense_cli.synthetic import render_receipt

    moved = png_bytes(render_receipt(RECEIPT_LINES, margin=400))
    fields = field_engine.extract(moved, questions=["merchant", "total"]).to_dict()["fields"]
    assert all(f["answer"] == "" or f["score"] < 0.5 for f in fields.values()), fields


def test_word_boxes_are_where_ocr_finds_the_words(receipt_image: Image.Image) -> None:
    words, boxes = create_ocr("cli").read(receipt_image)
    drawn = {
        word: box
        for line, row in zip(RECEIPT_LINES, word_boxes(), strict=True)
        for word, box in zip(line.split(), row, strict=True)
    }
    checked = 0
    for word, (x0, y0, x1, y1) in zip(words, boxes, strict=True):
        if word in drawn and word not in ("17.37",):  # 17.37 is on two lines
            left, top, right, bottom = drawn[word]
            grid = (left, top * 1000 / 1400, right, bottom * 1000 / 1400)
            assert (x0, y0, x1, y1) == pytest.approx(grid, abs=10), word  # band: +-18
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    "kwargs",
    [{"plant": None, "token_head": True}, {"size": "base"}],
)
def test_fields_refuse_other_model_options(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="fields= builds its own tiny model"):
        build_model(tmp_path, fields=RECEIPT_ANSWERS, **kwargs)  # type: ignore[arg-type]


def test_a_keyword_must_be_one_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not one token"):
        build_model(tmp_path, fields=[FieldPlant("x" * 60 + "-y", 0, 0, 0)])
