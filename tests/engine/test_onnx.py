"""The ONNX Runtime backend (expense_cli/engine/_onnx.py): same answers as torch on planted
models, the EXPENSE_BACKEND switch, and clear errors when the export is missing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from expense_cli.engine import Engine, EngineConfig
from expense_cli.engine._eval import VARIANTS
from expense_cli.engine._onnx import export_onnx, onnx_path
from expense_cli.errors import ConfigError
from expense_cli.synthetic import RECEIPT_ANSWERS, Plant
from expense_cli.synthetic_invoices import invoice
from tests.conftest import MERCHANT_PLANT

pytest.importorskip("onnxruntime")

# planted models of every kind the engine meets: per-field, one marker span (WordPiece and
# BPE), the invoices checkpoint's token head keeping only some words of the span
PLANTED: dict[str, dict[str, object]] = {
    "fields": {"fields": RECEIPT_ANSWERS},
    "merchant-wordpiece": {"tokenizer": "wordpiece", "plant": MERCHANT_PLANT},
    "merchant-bpe": {"tokenizer": "bpe", "plant": MERCHANT_PLANT},
    "token-head": {
        "tokenizer": "wordpiece",
        "token_head": True,
        "plant": Plant("acme", "roasters", keep=("acme", "roasters")),
    },
}


@pytest.fixture(scope="module")
def exported(
    model_factory: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    cache: dict[str, Path] = {}

    def make(kind: str) -> Path:
        if kind not in cache:
            out = tmp_path_factory.mktemp(f"onnx-{kind}") / "model"
            shutil.copytree(model_factory(**PLANTED[kind]), out)
            export_onnx(out, int8=True)
            cache[kind] = out
        return cache[kind]

    return make


def _answers(engine: Engine, data: bytes) -> dict[str, tuple[str, int | None]]:
    result = engine.extract(data)
    return {name: (f.answer, f.page) for name, f in result.fields.items()}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_onnx_fp32_answers_like_torch(
    kind: str, exported: Callable[[str], Path], receipt_png: bytes
) -> None:
    model = str(exported(kind))
    torch_engine = Engine(EngineConfig(model=model))
    onnx_engine = Engine(EngineConfig(model=model, backend="onnx"))
    assert onnx_engine.qa.has_token_head == torch_engine.qa.has_token_head
    # the demo receipt (OCR) and a dense three-page invoice (text layer, several windows a page)
    on_receipt = _answers(torch_engine, receipt_png)
    assert any(answer for answer, _ in on_receipt.values())  # the plant answers something
    assert _answers(onnx_engine, receipt_png) == on_receipt
    # a document the plants know nothing about: near-tied windows may pick another span of
    # the same score, so the scores are compared (the field plant multiplies its activations by
    # 1000s: fp32 rounding differs by ~3e-4 between the runtimes)
    dense = invoice(5, pages=3).data
    by_onnx = onnx_engine.extract(dense).fields
    by_torch = torch_engine.extract(dense).fields
    assert by_onnx.keys() == by_torch.keys()
    for name, found in by_torch.items():
        assert by_onnx[name].score == pytest.approx(found.score, abs=2e-3), name


def test_the_field_model_answers_the_receipt_with_onnx(
    exported: Callable[[str], Path], receipt_png: bytes
) -> None:
    engine = Engine(EngineConfig(model=str(exported("fields")), backend="onnx"))
    fields = engine.extract(receipt_png).fields
    assert (fields["total"].value, fields["total"].currency) == ("17.37", "EUR")
    assert fields["date"].value == "2024-01-03"
    assert fields["merchant"].answer == "ACME COFFEE ROASTERS"


@pytest.mark.parametrize(
    ("backend", "int8", "variant"),
    [("torch", False, "torch"), ("torch", True, "torch-int8"), ("onnx", False, "onnx"),
     ("onnx", True, "onnx-int8")],
)  # fmt: skip
def test_the_engine_names_its_variant_as_eval_does(
    backend: str, int8: bool, variant: str, exported: Callable[[str], Path]
) -> None:
    config = EngineConfig(model=str(exported("token-head")), backend=backend, quantize=int8)
    assert Engine(config).variant == variant
    assert VARIANTS[variant] == (backend, int8)  # `expense-cli eval --compare` and the gate


def test_export_writes_both_graphs_next_to_the_weights(exported: Callable[[str], Path]) -> None:
    model = exported("token-head")
    for int8 in (False, True):
        assert onnx_path(model, int8).is_file()
    # dynamic int8: the MatMul weights a quarter of the size
    assert onnx_path(model, True).stat().st_size < onnx_path(model, False).stat().st_size


@pytest.mark.parametrize("int8", [False, True])
def test_missing_export_is_a_config_error(
    int8: bool, model_factory: Callable[..., Path], tmp_path: Path
) -> None:
    model = tmp_path / "model 𝔄"  # a name outside the BMP
    shutil.copytree(model_factory(tokenizer="wordpiece", plant=MERCHANT_PLANT), model)
    with pytest.raises(ConfigError, match="expense-cli export"):
        Engine(EngineConfig(model=str(model), backend="onnx", quantize=int8))


def test_onnx_needs_a_local_folder() -> None:
    with pytest.raises(ConfigError, match="local model folder"):
        Engine(EngineConfig(model="impira/layoutlm-invoices", backend="onnx"))


@pytest.mark.parametrize(
    ("value", "backend"), [("onnx", "onnx"), (" ONNX ", "onnx"), ("torch", "torch"), ("", "torch")]
)
def test_backend_from_env(value: str, backend: str) -> None:
    assert EngineConfig.from_env({"EXPENSE_BACKEND": value}).backend == backend
    assert EngineConfig.from_env({}).backend == "torch"


@pytest.mark.parametrize("value", ["tensorrt", "onnx-int8", "1", "torch,onnx"])
def test_bad_backend_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="EXPENSE_BACKEND must be one of torch, onnx"):
        EngineConfig.from_env({"EXPENSE_BACKEND": value})


def test_int8_stays_a_separate_switch() -> None:
    config = EngineConfig.from_env({"EXPENSE_BACKEND": "onnx", "EXPENSE_QUANTIZE": "1"})
    assert (config.backend, config.quantize) == ("onnx", True)
