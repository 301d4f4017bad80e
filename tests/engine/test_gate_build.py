"""The build's use of the accuracy gate (expense_cli/engine/_gate.py build_choice): forced
variants, GPU instances, fallbacks to torch fp32, and the Docker build arguments that carry the
choice into the image (expense_cli/aws/_image.py, container/Dockerfile)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from expense_cli.aws import Docker
from expense_cli.engine._gate import build_choice
from expense_cli.engine._onnx import onnx_path
from expense_cli.errors import ConfigError
from expense_cli.synthetic import RECEIPT_ANSWERS
from tests.aws._fakes import RecordingRunner

pytest.importorskip("onnxruntime")


@pytest.fixture
def model(model_factory: Callable[..., Path], tmp_path: Path) -> Path:
    out = tmp_path / "context" / "model"
    shutil.copytree(model_factory(fields=RECEIPT_ANSWERS), out)
    return out


@pytest.mark.parametrize("variant", ["onnx", "onnx-int8", "torch-int8"])
def test_a_forced_variant_skips_the_gate_but_exports(variant: str, model: Path) -> None:
    choice = build_choice(model, gpu=False, env={"EXPENSE_BUILD_BACKEND": f" {variant.upper()} "})
    assert choice.variant == variant
    assert "no accuracy gate" in choice.lines[0]
    assert onnx_path(model, int8=False).is_file() and onnx_path(model, int8=True).is_file()


@pytest.mark.parametrize("env", [{}, {"EXPENSE_BUILD_BACKEND": "auto"}])
def test_a_gpu_instance_runs_torch_without_export(env: dict[str, str], model: Path) -> None:
    choice = build_choice(model, gpu=True, env=env)
    assert (choice.backend, choice.quantize) == ("torch", False)
    assert "GPU" in choice.lines[0]
    assert not (model / "onnx").exists()


def test_forced_torch_needs_no_export(model: Path) -> None:
    choice = build_choice(model, gpu=False, env={"EXPENSE_BUILD_BACKEND": "torch"})
    assert choice.variant == "torch"
    assert not (model / "onnx").exists()


def test_a_checkpoint_that_does_not_export_keeps_torch(tmp_path: Path) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    (broken / "model.safetensors").write_bytes(b"weights")
    choice = build_choice(broken, gpu=False, env={})
    assert choice.variant == "torch"
    assert "ONNX export failed" in choice.lines[0]
    with pytest.raises(ConfigError, match="cannot export"):
        build_choice(broken, gpu=False, env={"EXPENSE_BUILD_BACKEND": "onnx"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EXPENSE_BUILD_BACKEND": "tensorrt"}, "EXPENSE_BUILD_BACKEND must be auto or one of"),
        ({"EXPENSE_GATE_THRESHOLD": "98"}, "EXPENSE_GATE_THRESHOLD must be a fraction"),
        ({"EXPENSE_GATE_THRESHOLD": "-0.1"}, "EXPENSE_GATE_THRESHOLD must be a fraction"),
        ({"EXPENSE_GATE_THRESHOLD": "high"}, "EXPENSE_GATE_THRESHOLD must be a fraction"),
        ({"EXPENSE_GATE_THRESHOLD": "101%"}, "EXPENSE_GATE_THRESHOLD must be a fraction"),
    ],
)
def test_bad_build_settings_are_config_errors(
    env: dict[str, str], message: str, model: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_choice(model, gpu=False, env=env)
    assert not (model / "onnx").exists()  # checked before any work


def _build_argv(backend: str, quantize: bool, tmp_path: Path) -> list[str]:
    recorder = RecordingRunner()
    Docker(recorder, binary="docker").build(
        tmp_path, "t:1", base_image="b", model_id="m", revision="r",
        backend=backend, quantize=quantize,
    )  # fmt: skip
    return recorder.commands()[-1]


@pytest.mark.parametrize(
    ("backend", "quantize", "args"),
    [
        ("onnx", True, ["EXPENSE_BACKEND=onnx", "EXPENSE_QUANTIZE=1"]),
        ("onnx", False, ["EXPENSE_BACKEND=onnx", "EXPENSE_QUANTIZE=0"]),
        ("torch", True, ["EXPENSE_BACKEND=torch", "EXPENSE_QUANTIZE=1"]),
        ("torch", False, []),  # the Dockerfile's defaults
    ],
)
def test_the_choice_is_a_build_arg(
    backend: str, quantize: bool, args: list[str], tmp_path: Path
) -> None:
    argv = _build_argv(backend, quantize, tmp_path)
    passed = [argv[i + 1] for i, a in enumerate(argv) if a == "--build-arg"]
    assert [a for a in passed if a.startswith("EXPENSE_")] == args


def test_the_dockerfile_labels_and_exports_the_choice() -> None:
    dockerfile = (Path(__file__).parents[2] / "container" / "Dockerfile").read_text()
    assert "ARG EXPENSE_BACKEND=torch" in dockerfile and "ARG EXPENSE_QUANTIZE=0" in dockerfile
    assert 'expense.backend="${EXPENSE_BACKEND}"' in dockerfile
    assert "EXPENSE_BACKEND=${EXPENSE_BACKEND}" in dockerfile  # ENV: what the engine reads
    assert '".[fast,serve,onnx]"' in dockerfile  # onnxruntime in the image


def test_auto_runs_the_gate_on_the_built_in_set(model: Path) -> None:
    choice = build_choice(model, gpu=False, env={"EXPENSE_GATE_THRESHOLD": "99%"})
    rows = [line.split()[0] for line in choice.lines[1:-1]]
    assert rows == ["torch", "torch-int8", "onnx", "onnx-int8"]
    assert choice.lines[-1].startswith(f"chosen: {choice.variant} (fastest with >= 99% of fields")
