"""``expense-cli eval`` and ``expense-cli export`` (expense_cli/cli/eval.py, export.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from expense_cli.cli import app
from expense_cli.engine._onnx import onnx_path
from expense_cli.synthetic import RECEIPT_ANSWERS
from tests.engine.test_eval import RECEIPT_LABELS

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported_model(
    model_factory: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """`expense-cli export` of the per-field planted model, into a folder with an odd name."""
    out = tmp_path_factory.mktemp("export") / "modèle 𝔄 copy"
    result = CliRunner().invoke(
        app, ["export", str(model_factory(fields=RECEIPT_ANSWERS)), str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def labelled(tmp_path: Path, receipt_png: bytes) -> Path:
    folder = tmp_path / "my receipts"
    folder.mkdir()
    (folder / "café 🧾.png").write_bytes(receipt_png)
    (folder / "café 🧾.json").write_text(json.dumps({"fields": RECEIPT_LABELS}), "utf-8")
    (folder / "partial.png").write_bytes(receipt_png)
    (folder / "partial.json").write_text('{"total": "17.00", "date": "2024-01-03"}')
    (folder / "unlabelled.png").write_bytes(receipt_png)
    return folder


def test_export_writes_a_servable_copy(exported_model: Path) -> None:
    assert (exported_model / "config.json").is_file()
    assert (exported_model / "tokenizer_config.json").is_file()
    assert onnx_path(exported_model, int8=False).is_file()
    assert onnx_path(exported_model, int8=True).is_file()


def test_eval_table(runner: CliRunner, exported_model: Path, labelled: Path) -> None:
    result = runner.invoke(app, ["eval", str(labelled), "--model", str(exported_model)])
    assert result.exit_code == 0, result.output
    assert "3 documents" in result.output
    assert "total (2)" in result.output  # two documents label the total ...
    assert "50%" in result.output  # ... and one of them wrongly
    assert "merchant (1)" in result.output
    # 7 + 2 labelled fields, 8 right
    assert "88.9%" in result.output


def test_eval_json_compare(runner: CliRunner, exported_model: Path, labelled: Path) -> None:
    result = runner.invoke(
        app,
        ["eval", str(labelled), "--model", str(exported_model), "--compare", "onnx", "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["reference"] == "torch"
    assert [v["variant"] for v in report["variants"]] == ["torch", "onnx"]
    torch_fp32, onnx_fp32 = report["variants"]
    assert torch_fp32["accuracy"] == onnx_fp32["accuracy"] == pytest.approx(8 / 9, abs=1e-4)
    assert onnx_fp32["agreement"] == 1.0
    assert onnx_fp32["fields"] == {"total": 0.5, "date": 1.0, **dict.fromkeys(
        ["merchant", "merchant_address", "receipt_number", "subtotal", "tax"], 1.0)}  # fmt: skip
    assert onnx_fp32["ms_per_document"] > 0
    assert report["errors"] == {}


def test_eval_uses_the_configured_backend(
    runner: CliRunner, exported_model: Path, labelled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPENSE_BACKEND", "onnx")
    monkeypatch.setenv("EXPENSE_QUANTIZE", "1")
    result = runner.invoke(app, ["eval", str(labelled), "--model", str(exported_model), "--json"])
    assert result.exit_code == 0, result.output
    variants = json.loads(result.stdout)["variants"]
    assert [v["variant"] for v in variants] == ["torch", "onnx-int8"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "{folder}/missing"], "not a folder"),
        (["eval", "{folder}", "--compare", "tensorrt"], "unknown variant tensorrt"),
        (["eval", "{folder}", "--model", "./no/such/model"], "no such folder"),
        (["export", "./no/such/model", "{folder}/out"], "no such folder"),
        (["export", "{model}", "{folder}/café 🧾.png"], "is a file"),
    ],
)
def test_bad_input_is_one_line(
    args: list[str], message: str, runner: CliRunner, labelled: Path, exported_model: Path
) -> None:
    argv = [a.format(folder=labelled, model=exported_model) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_bad_label_file_stops_before_the_model_loads(runner: CliRunner, labelled: Path) -> None:
    (labelled / "partial.json").write_text('{"fields": {"grand_total": "1"}}')
    # the model does not exist: the label error must come first
    result = runner.invoke(app, ["eval", str(labelled), "--model", "owner/not-downloaded"])
    assert result.exit_code == 1
    assert "unknown field 'grand_total'" in result.output


def test_onnx_without_an_export_is_one_line(
    runner: CliRunner, model_factory: Callable[..., Path], labelled: Path
) -> None:
    model = model_factory(fields=RECEIPT_ANSWERS)  # no onnx/ folder
    result = runner.invoke(
        app, ["eval", str(labelled), "--model", str(model), "--compare", "onnx-int8"]
    )
    assert result.exit_code == 1
    assert "expense-cli export" in result.output
