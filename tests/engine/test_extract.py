from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from expense_cli.engine import DEFAULT_FIELDS, Engine, EngineConfig
from expense_cli.engine import _qa as qa_module
from expense_cli.engine._qa import NO_ANSWER, Answer, PageWords, QAModel
from expense_cli.errors import BadRequest, ConfigError
from expense_cli.synthetic import Plant, dense_invoice, receipt_pdf, render_receipt
from tests.conftest import png_bytes

pytestmark = pytest.mark.model

QUESTIONS = ["What is the total amount?", "What is the date?", "Who is the merchant?"]


def _page(text: str) -> PageWords:
    words = text.split()
    boxes = [(100 * (i % 9), 20 * (i // 9) % 950) for i in range(len(words))]
    return PageWords(words, [(x, y, x + 50, y + 15) for x, y in boxes])


PAGES = [
    _page("ACME COFFEE ROASTERS 12 Market Street Receipt 004217 Date 03/01/2024 TOTAL EUR 17.37"),
    _page("Croissant 2.90 Orange juice 4.10 Subtotal 14.60 VAT 2.77 Thank you"),
]


@pytest.fixture(scope="module")
def random_qa(model_factory: Callable[..., Path]) -> QAModel:
    """Random weights: every question gets a different, arbitrary span."""
    return QAModel(str(model_factory(tokenizer="wordpiece", seed=3)))


def test_batched_answers_equal_one_question_at_a_time(random_qa: QAModel) -> None:
    pairs = [(q, page) for q in QUESTIONS for page in PAGES]
    batched = random_qa.answer(pairs)
    single = [random_qa.answer([pair])[0] for pair in pairs]
    assert [ids for _, ids in batched] == [ids for _, ids in single]
    assert [s for s, _ in batched] == pytest.approx([s for s, _ in single], rel=1e-4)
    assert len({ids for _, ids in batched}) > 1  # a random model does not answer one span


def test_decoding_in_chunks_changes_nothing(
    random_qa: QAModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Span scores are decoded DECODE_CHUNK windows at a time (bounded memory); any chunk size
    gives the same answers, on short pages and on a dense page of several windows."""
    ((words, boxes),) = dense_invoice(3, pages=(1, 1), words=(600, 600))
    pairs = [(q, page) for q in QUESTIONS for page in [*PAGES, PageWords(words, boxes)]]
    whole = random_qa.answer(pairs)
    assert len(random_qa.encode(pairs)[2]) > len(pairs)  # the dense page has several windows
    for chunk in (1, 3):
        monkeypatch.setattr(qa_module, "DECODE_CHUNK", chunk)
        assert random_qa.answer(pairs) == whole


def test_long_pages_are_split_with_a_stride(model_factory: Callable[..., Path]) -> None:
    qa = QAModel(str(model_factory(tokenizer="wordpiece", plant=Plant("zebra", "zebra"))))
    filler = " ".join(["croissant"] * 700)
    page = _page(f"{filler} zebra {filler}")
    ((score, ids),) = qa.answer([("Where is it?", page)])
    assert [page.words[i] for i in ids] == ["zebra"]
    assert ids == (700,)
    assert score > 0.9


@pytest.mark.parametrize("tokenizer", ["wordpiece", "bpe"])
def test_multi_page_pdf_answers_with_the_right_page(
    tokenizer: str, model_factory: Callable[..., Path]
) -> None:
    marker = "zebra"
    model = model_factory(tokenizer=tokenizer, plant=Plant(marker, marker))
    engine = Engine(EngineConfig(model=str(model)))
    pdf = receipt_pdf(
        [],
        text_layer=[["ACME COFFEE", "TOTAL 17.37"], ["Page two", f"look {marker} here"], ["end"]],
    )
    result = engine.extract(pdf, ["Where is the zebra?"])
    (answer,) = result.answers
    assert (answer.answer, answer.page, result.pages) == (marker, 2, 3)


@pytest.mark.ocr
def test_scanned_multi_page_pdf_is_ocrd_per_page(model_factory: Callable[..., Path]) -> None:
    engine = Engine(EngineConfig(model=str(model_factory(plant=Plant("zebra", "zebra")))))
    blank = render_receipt(["ACME COFFEE", "TOTAL 17.37"], width=600, height=400)
    marked = render_receipt(["Second page", "ZEBRA CROSSING"], width=600, height=400)
    result = engine.extract(receipt_pdf([blank, marked]), ["Where is the zebra?"])
    assert (result.answers[0].answer, result.answers[0].page) == ("ZEBRA", 2)


@pytest.mark.ocr
def test_default_fields_from_a_receipt_image(engine: Engine, receipt_png: bytes) -> None:
    result = engine.extract(receipt_png)
    payload = result.to_dict()
    json.dumps(payload)  # JSON-ready
    assert set(payload["fields"]) == set(DEFAULT_FIELDS)
    merchant = payload["fields"]["merchant"]
    assert merchant["answer"] == "ACME COFFEE ROASTERS"
    assert merchant["page"] == 1 and 0.5 < merchant["score"] <= 1.0
    assert payload["answers"] == [] and payload["pages"] == 1
    assert {"load", "ocr", "forward", "postprocess", "total"} <= set(result.timings)


@pytest.mark.ocr
def test_custom_questions_and_field_names(engine: Engine, receipt_png: bytes) -> None:
    result = engine.extract(receipt_png, ["total", "Who sold this?"]).to_dict()
    assert list(result["fields"]) == ["total"]
    assert [a["question"] for a in result["answers"]] == ["Who sold this?"]


def test_token_head_keeps_only_marked_tokens(model_factory: Callable[..., Path]) -> None:
    """The invoices head: span 'alpha … omega', of which only the marked words are the answer."""
    plant = Plant("alpha", "omega", keep=("gamma",))
    with_head = QAModel(str(model_factory(token_head=True, plant=plant)))
    assert with_head.has_token_head
    page = _page("x y alpha beta gamma delta omega z")
    ((_, ids),) = with_head.answer([("q?", page)])
    assert [page.words[i] for i in ids] == ["alpha", "gamma", "omega"]
    plain = QAModel(str(model_factory(token_head=False, plant=plant)))
    ((_, ids),) = plain.answer([("q?", page)])
    assert [page.words[i] for i in ids] == ["alpha", "beta", "gamma", "delta", "omega"]


@pytest.mark.parametrize("tokenizer", ["wordpiece", "bpe"])
def test_windows_overlap_by_256_tokens_like_the_reference(
    tokenizer: str, model_factory: Callable[..., Path]
) -> None:
    """Issue 19, difference 1: consecutive windows of a long page share 256 tokens, not 128."""
    qa = QAModel(str(model_factory(tokenizer=tokenizer, seed=3)))
    ((words, boxes),) = dense_invoice(7, pages=(1, 1), words=(700, 700))
    inputs, context, samples = qa.encode([("What is the total amount?", PageWords(words, boxes))])
    # each window's context tokens, as (page word, token id): their position on the page
    ids = inputs["input_ids"].tolist()
    windows = [
        [(w, ids[f][t]) for t, w in enumerate(words_of) if w is not None]
        for f, words_of in enumerate(context)
    ]
    assert samples == [0] * len(windows)
    assert len(windows) >= 3
    for first, second in itertools.pairwise(windows):
        assert first[-256:] == second[:256]
    assert (windows[0][0][0], windows[-1][-1][0]) == (0, len(words) - 1)  # the whole page


def test_no_answer_mass_on_cls_lowers_the_score(model_factory: Callable[..., Path]) -> None:
    """Issue 19, difference 2: CLS ("no answer here") stays in the softmax and is then dropped."""
    qa = QAModel(str(model_factory(plant=Plant("zebra", "zebra"))))
    pages = [_page("a b zebra c d"), _page("a b c d e f")]
    ((score, ids), _) = qa.answer([("Where?", page) for page in pages])
    assert (ids, score) == ((2,), pytest.approx(1.0, abs=1e-3))
    with torch.no_grad():  # CLS now looks like the answer to the start and end logits too
        qa.model.layoutlm.embeddings.word_embeddings.weight[qa.tokenizer.cls_token_id, :2] = 4.0
    ((score, ids), (elsewhere, _)) = qa.answer([("Where?", page) for page in pages])
    assert ids == (2,)
    assert 0.15 < score < 0.4  # ~half the start mass × ~half the end mass went to CLS
    assert elsewhere < 1e-6  # the page without the answer no longer competes


def test_window_whose_head_keeps_no_token_gives_no_answer(
    model_factory: Callable[..., Path],
) -> None:
    """Issue 19, difference 3: the head rejects every token of the best span → no answer there
    (never the raw span); a document where that happens on every page answers empty, score 0."""
    model = model_factory(token_head=True, plant=Plant("alpha", "omega", keep=("gamma",)))
    engine = Engine(EngineConfig(model=str(model)))
    from expense_cli.engine._extract import Document, Page

    def document(*texts: str) -> Document:
        pages = [_page(text) for text in texts]
        return Document(
            [Page(n, 100, 100, words=list(p.words), boxes=list(p.boxes)) for n, p in
             enumerate(pages, start=1)]
        )  # fmt: skip

    plain = "Invoice 2024-01-03 Total 12,30 € Zoë's Café 𝔄𝔠𝔪𝔢 🧾 thank you"
    with_answer = f"{plain} alpha beta gamma delta omega"
    both, neither = engine.answer(
        [(document(plain, with_answer), ["Where?"]), (document(plain, plain), ["Where?"])]
    )
    (answer,) = both.answers
    assert (answer.answer, answer.page) == ("alpha gamma omega", 2)
    assert neither.answers[0] == Answer("Where?", "", 0.0, None)
    assert engine.qa.answer([("Where?", _page(plain))]) == [NO_ANSWER]


_HUB_SCRIPT = """
import sys
from expense_cli.engine import _qa as qa_module
from expense_cli.engine._qa import NO_ANSWER, Answer, PageWords, QAModel
from expense_cli.errors import ConfigError
qa = QAModel("acme/layoutlm-receipts", sys.argv[1])
((_, ids),) = qa.answer([("q?", PageWords(["a", "zebra", "b"], [(0, 0, 9, 9)] * 3))])
print(qa.source, list(ids))
try:
    QAModel("acme/layoutlm-receipts", "f" * 40)
except ConfigError as exc:
    print("ConfigError:", exc.message)
"""


def test_hub_id_at_a_pinned_revision_loads_from_the_hub_cache(
    model_factory: Callable[..., Path], tmp_path: Path
) -> None:
    """The real-model path (repo id + pinned revision), served from a Hub cache laid out offline.

    Runs in a fresh interpreter: huggingface_hub reads its cache/offline settings at import.
    """
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--acme--layoutlm-receipts"
    shutil.copytree(model_factory(plant=Plant("zebra", "zebra")), repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _HUB_SCRIPT, commit],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert lines[0] == f"acme/layoutlm-receipts@{commit} [1]"
    assert lines[1].startswith(f"ConfigError: cannot load model acme/layoutlm-receipts@{'f' * 40}")


def test_missing_model_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load model"):
        QAModel(str(tmp_path))


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        (["q"] * 21, "at most 20"),
        (["   "], "must not be empty"),
        (["x" * 201], "limited to 200"),
        ([7], "must be a string"),
        (["total\x07"], "control characters"),
    ],
)
def test_bad_questions(engine: Engine, questions: list[object], message: str) -> None:
    doc = png_bytes(render_receipt(["ACME"], width=200, height=100))
    with pytest.raises(BadRequest, match=message):
        engine.extract(doc, questions)  # type: ignore[arg-type]


def test_document_without_words_gets_empty_answers(engine: Engine) -> None:
    blank = png_bytes(render_receipt([], width=300, height=200))
    result = engine.extract(blank, ["What is the total?"]).to_dict()
    assert result["answers"] == [
        {"question": "What is the total?", "answer": "", "score": 0.0, "page": None, "boxes": []}
    ]


@pytest.mark.parametrize(
    ("total", "value", "currency", "date"),
    [("12,30 €", "12.30", "EUR", "2024-01-03"), ("$12.30", "12.30", "USD", "2024-03-01")],
)
def test_amounts_and_dates_are_normalised_with_the_currency_as_locale_hint(
    engine: Engine, total: str, value: str, currency: str, date: str
) -> None:
    from expense_cli.engine._extract import Document, Page
    from expense_cli.engine._fields import plan_queries

    words = [*total.split(), "03/01/24"]
    boxes = [(10 * i, 20, 10 * i + 8, 30) for i in range(len(words))]
    document = Document([Page(1, 100, 100, words=words, boxes=boxes)])
    queries = plan_queries(["total", "date"], engine.config.limits)
    n = len(words)
    best = [(0.9, tuple(range(n - 1))), (0.8, (n - 1,))]
    result = engine._result(document, queries, [[0], [1]], best)
    assert result.fields["total"].to_dict() == {
        "answer": total, "score": 0.9, "page": 1, "value": value, "currency": currency,
        "boxes": [list(box) for box in boxes[: n - 1]],  # where each answer word is
    }  # fmt: skip
    assert result.fields["date"].to_dict() == {
        "answer": "03/01/24", "score": 0.8, "page": 1, "value": date,
        "boxes": [list(boxes[n - 1])],
    }  # fmt: skip


def test_int8_quantisation_is_selected_by_config(model_factory: Callable[..., Path]) -> None:
    model = str(model_factory(plant=Plant("zebra", "zebra")))
    fp32 = QAModel(model)
    int8 = QAModel(model, quantize=True)
    assert int8.quantized and not fp32.quantized
    query = "layoutlm.encoder.layer.0.attention.self.query"
    assert "quantized" in type(int8.model.get_submodule(query)).__module__
    assert "quantized" not in type(fp32.model.get_submodule(query)).__module__
    assert "quantized" not in type(int8.model.qa_outputs).__module__  # heads stay fp32
    pairs = [("Where?", _page("a b zebra c")), ("Where?", _page("zebra x y z"))]
    assert [ids for _, ids in int8.answer(pairs)] == [ids for _, ids in fp32.answer(pairs)]
