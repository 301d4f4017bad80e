"""The device choice (``expense_cli/engine/_device.py``), tested without a GPU: torch's view faked.

A machine with CUDA runs the real path; here ``torch.cuda.is_available`` is patched and the model's
``.to()`` is recorded instead of moving anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from expense_cli.engine import Engine, EngineConfig
from expense_cli.engine._device import resolve_device
from expense_cli.engine._qa import DocumentQAModel, QAModel
from expense_cli.errors import ConfigError
from expense_cli.synthetic import Plant


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> list[torch.device]:
    """torch sees one CUDA device; ``DocumentQAModel.to`` records where it was sent."""
    moved: list[torch.device] = []

    def to(self: DocumentQAModel, device: torch.device) -> DocumentQAModel:
        moved.append(device)
        return self

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU 80GB")
    monkeypatch.setattr(DocumentQAModel, "to", to)
    return moved


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize(
    ("requested", "fp16", "quantize", "expected"),
    [
        ("auto", False, False, "cuda:0"),
        ("auto", True, False, "cuda:0"),
        ("cuda", True, False, "cuda:0"),
        ("cpu", False, False, "cpu"),
        ("cpu", False, True, "cpu"),
        ("auto", False, True, "cpu"),  # int8 is a CPU kernel: asking for it keeps auto on CPU
    ],
)
def test_choice_with_a_gpu(
    fake_gpu: list[torch.device], requested: str, fp16: bool, quantize: bool, expected: str
) -> None:
    assert str(resolve_device(requested, fp16=fp16, quantize=quantize)) == expected


@pytest.mark.parametrize(
    ("requested", "fp16", "quantize", "expected"),
    [("auto", False, False, "cpu"), ("cpu", False, True, "cpu"), ("auto", False, True, "cpu")],
)
def test_choice_without_a_gpu(
    no_gpu: None, requested: str, fp16: bool, quantize: bool, expected: str
) -> None:
    assert str(resolve_device(requested, fp16=fp16, quantize=quantize)) == expected


@pytest.mark.parametrize(
    ("gpu", "requested", "fp16", "quantize", "message"),
    [
        (False, "cuda", False, False, "EXPENSE_DEVICE=cuda, but torch sees no CUDA device"),
        (False, "auto", True, False, "EXPENSE_FP16 needs a CUDA device"),
        (True, "cpu", True, False, "EXPENSE_FP16 needs a CUDA device"),
        (True, "cuda", False, True, "EXPENSE_QUANTIZE .* runs on the CPU"),
        (True, "gpu", False, False, "EXPENSE_DEVICE must be one of auto, cpu, cuda, got 'gpu'"),
        (False, "CUDA:0", False, False, "EXPENSE_DEVICE must be one of"),
    ],
)
def test_impossible_combinations_are_config_errors(
    monkeypatch: pytest.MonkeyPatch,
    gpu: bool,
    requested: str,
    fp16: bool,
    quantize: bool,
    message: str,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    with pytest.raises(ConfigError, match=message):
        resolve_device(requested, fp16=fp16, quantize=quantize)


@pytest.mark.model
def test_engine_puts_the_model_on_the_gpu_and_says_so(
    fake_gpu: list[torch.device],
    model_factory: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = str(model_factory(token_head=True, plant=Plant("zebra", "zebra")))
    with caplog.at_level(logging.INFO, logger="expense.engine"):
        engine = Engine(EngineConfig(model=model, fp16=True), ocr=_NoOcr())
    assert fake_gpu == [torch.device("cuda", 0)]
    assert engine.device == "cuda:0"
    assert {p.dtype for p in engine.qa.model.parameters()} == {torch.float16}
    (record,) = [r for r in caplog.records if r.getMessage() == "engine loaded"]
    assert (record.device, record.fp16) == ("cuda:0 (Fake GPU 80GB)", True)  # type: ignore[attr-defined]


@pytest.mark.model
def test_engine_stays_on_the_cpu_without_a_gpu(
    no_gpu: None, model_factory: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    model = str(model_factory(token_head=True, plant=Plant("zebra", "zebra")))
    with caplog.at_level(logging.INFO, logger="expense.engine"):
        engine = Engine(EngineConfig(model=model), ocr=_NoOcr())
    assert engine.device == "cpu"
    assert {p.dtype for p in engine.qa.model.parameters()} == {torch.float32}
    (record,) = [r for r in caplog.records if r.getMessage() == "engine loaded"]
    assert (record.device, record.fp16) == ("cpu", False)  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="EXPENSE_DEVICE=cuda"):
        QAModel(model, device="cuda")


class _NoOcr:
    name = "none"

    def read(self, image: object) -> tuple[list[str], list[tuple[int, int, int, int]]]:
        raise AssertionError("no OCR in these tests")
