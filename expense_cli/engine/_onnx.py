"""The ONNX Runtime backend: the same LayoutLM (token-classifier head included) as an ONNX graph.

``export_onnx(model_dir)`` writes ``onnx/model.onnx`` (fp32) and ``onnx/model.int8.onnx`` (dynamic
int8 quantisation of the MatMul weights, as ``onnxruntime.quantization`` does it) next to the
weights; :class:`OnnxModel` runs one of them with the graph optimisations on and as many threads
as this process may use, and answers ``logits(inputs)`` exactly like
:meth:`~expense_cli.engine._qa.DocumentQAModel.logits`, so ``QAModel`` (``_qa.py``) decodes its
output the same way. torch stays the reference and the fallback: ``EXPENSE_BACKEND=torch``.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["ONNX_DIR", "OnnxModel", "export_onnx", "onnx_path", "save_local"]

log = logging.getLogger("expense.engine")

ONNX_DIR = "onnx"
_INPUTS = ("input_ids", "bbox", "attention_mask", "token_type_ids")
_OUTPUTS = ("start_logits", "end_logits", "token_logits")


def onnx_path(model_dir: str | Path, int8: bool) -> Path:
    """Where the exported graph of ``model_dir`` is (fp32 or int8)."""
    return Path(model_dir) / ONNX_DIR / ("model.int8.onnx" if int8 else "model.onnx")


def export_onnx(model_dir: str | Path, *, int8: bool = True) -> list[Path]:
    """Export the checkpoint in ``model_dir`` to ONNX (and its int8 variant); the written paths."""
    import torch

    from ._qa import DocumentQAModel

    model_dir = Path(model_dir)
    model: Any = DocumentQAModel.from_pretrained(str(model_dir))
    model.eval()
    head = model.has_token_head

    class _Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            start, end, tokens = self.model.logits(dict(zip(_INPUTS, inputs, strict=True)))
            return (start, end, tokens) if tokens is not None else (start, end)

    example = (
        torch.ones((2, 16), dtype=torch.long),
        torch.zeros((2, 16, 4), dtype=torch.long),
        torch.ones((2, 16), dtype=torch.long),
        torch.zeros((2, 16), dtype=torch.long),
    )
    outputs = _OUTPUTS if head else _OUTPUTS[:2]
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, *outputs)}
    fp32 = onnx_path(model_dir, int8=False)
    fp32.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            _Logits().eval(),
            example,
            str(fp32),
            input_names=list(_INPUTS),
            output_names=list(outputs),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    written = [fp32]
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = onnx_path(model_dir, int8=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)  # its advice to pre-process goes to the root logger
            try:
                quantize_dynamic(str(fp32), str(quantized), weight_type=QuantType.QInt8)
            finally:
                logging.disable(logging.NOTSET)
        written.append(quantized)
    return written


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class OnnxModel:
    """An exported graph in an ONNX Runtime session, with the interface ``QAModel`` uses."""

    def __init__(self, model_dir: str | Path, *, int8: bool = False, threads: int | None = None):
        path = onnx_path(model_dir, int8)
        if not path.is_file():
            raise ConfigError(
                f"no ONNX export at {path}: run `expense-cli export {model_dir} DIR` (or use "
                "EXPENSE_BACKEND=torch)"
            )
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                "EXPENSE_BACKEND=onnx needs onnxruntime: pip install 'expense-cli[onnx]'"
            ) from None
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or _threads()
        options.inter_op_num_threads = 1
        # no busy-waiting between operators: with concurrent requests (or other processes) on
        # the same cores, spinning threads took CPU from the ones computing (bench_speed.py)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path
        names = [output.name for output in self.session.get_outputs()]
        self.has_token_head = "token_logits" in names

    def logits(
        self, inputs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        import torch

        feed = {name: inputs[name].cpu().numpy() for name in _INPUTS}
        outputs = self.session.run(None, feed)
        start, end = torch.from_numpy(outputs[0]), torch.from_numpy(outputs[1])
        tokens = torch.from_numpy(outputs[2]) if self.has_token_head else None
        return start, end, tokens


def save_local(source: str, out_dir: str | Path, revision: str | None = None) -> Path:
    """A local copy of checkpoint ``source`` (folder or Hub id) in ``out_dir``: weights (token
    head included) and tokenizer, ready for :func:`export_onnx` and ``EXPENSE_MODEL=out_dir``."""
    from ._qa import DocumentQAModel, load_tokenizer

    out = Path(out_dir).expanduser()
    if Path(source).expanduser().resolve() == out.resolve():
        return out
    kwargs: dict[str, Any] = {} if Path(source).expanduser().is_dir() else {"revision": revision}
    try:
        tokenizer = load_tokenizer(source, **kwargs)
        model: Any = DocumentQAModel.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot load model {source}: {first}") from None
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out
