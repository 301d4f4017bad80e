"""The accuracy gate: which backend/precision the image runs, decided on labelled documents.

``expense-cli build`` (``expense_cli/cli/_deploy/images.py``) exports the model to ONNX, runs
:func:`run_gate` on the built-in labelled set (``expense_cli/synthetic_invoices.py``: rendered
receipts and dense A4 invoices) and bakes the choice into the image: the
``expense.backend`` label and the ``EXPENSE_BACKEND``/``EXPENSE_QUANTIZE`` environment
(``container/Dockerfile``), which the engine's load log reports.

The rule (:func:`choose`): the fastest variant whose answers match the reference (torch fp32) on
at least ``threshold`` of the fields (98 % by default, ``EXPENSE_GATE_THRESHOLD``); the reference
itself always qualifies, so when nothing else does the image stays fp32.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._config import EngineConfig
from ._eval import REFERENCE, VARIANTS, EvalReport, VariantScore, evaluate, find_labelled

__all__ = ["DEFAULT_THRESHOLD", "BuildChoice", "Decision", "build_choice", "choose", "run_gate"]

DEFAULT_THRESHOLD = 0.98


class _Variant:
    """``backend``/``quantize`` (EXPENSE_BACKEND, EXPENSE_QUANTIZE) of a variant name."""

    variant: str

    @property
    def backend(self) -> str:
        return VARIANTS[self.variant][0]

    @property
    def quantize(self) -> bool:
        return VARIANTS[self.variant][1]


@dataclass(frozen=True)
class Decision(_Variant):
    variant: str
    threshold: float
    report: EvalReport

    def env(self) -> dict[str, str]:
        """The container environment that runs this variant."""
        return {"EXPENSE_BACKEND": self.backend, "EXPENSE_QUANTIZE": "1" if self.quantize else "0"}

    def lines(self) -> list[str]:
        """The decision and the figures behind it, for the build's output."""
        reference = self.report.variants[0]
        out = [f"{'variant':<11} {'agreement':>9} {'accuracy':>8} {'ms/doc':>8} {'speed':>6}"]
        for score in self.report.variants:
            accuracy = "-" if score.accuracy is None else f"{score.accuracy:.1%}"
            speed = reference.ms_per_document / score.ms_per_document if score.ms else 0.0
            out.append(
                f"{score.name:<11} {score.agreement:>9.1%} {accuracy:>8} "
                f"{score.ms_per_document:>8.0f} {speed:>5.2f}x"
            )
        out.append(
            f"chosen: {self.variant} (fastest with >= {self.threshold:.0%} of fields as "
            f"{reference.name}; {self.report.documents} documents)"
        )
        return out


def choose(scores: Sequence[VariantScore], threshold: float = DEFAULT_THRESHOLD) -> str:
    """The fastest variant that agrees with the reference (``scores[0]``) on ``threshold`` of
    the fields; the reference when none does."""
    if not scores:
        raise ValueError("no variant was measured")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be within 0..1, got {threshold}")
    reference = scores[0]
    eligible = [reference] + [s for s in scores[1:] if s.agreement >= threshold and s.ms]
    return min(eligible, key=lambda s: s.ms_per_document).name


def run_gate(
    config: EngineConfig,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    variants: Sequence[str] = tuple(VARIANTS),
    folder: str | Path | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> Decision:
    """Evaluate ``variants`` on ``folder`` (default: the built-in labelled set) and choose."""
    from ..synthetic_invoices import labelled_set

    ordered = list(dict.fromkeys([REFERENCE, *variants]))
    with tempfile.TemporaryDirectory(prefix="expense-gate-") as tmp:
        if folder is None:
            labelled_set(tmp, receipts=3 if _ocr_available(config) else 0)
            folder = tmp
        report = evaluate(find_labelled(folder), config, ordered, on_progress=on_progress)
    return Decision(choose(report.variants, threshold), threshold, report)


def _ocr_available(config: EngineConfig) -> bool:
    """Rendered receipts need tesseract on the build host; invoices have a text layer."""
    from ..errors import ConfigError
    from ._ocr import create_ocr

    try:
        create_ocr(config.ocr_backend, config.ocr_lang, config.ocr_psm)
    except ConfigError:
        return False
    return True


BUILD_BACKEND_ENV = "EXPENSE_BUILD_BACKEND"  # auto (the gate) | torch | torch-int8 | onnx | ...
THRESHOLD_ENV = "EXPENSE_GATE_THRESHOLD"  # 0..1, default DEFAULT_THRESHOLD


@dataclass(frozen=True)
class BuildChoice(_Variant):
    """What ``expense-cli build`` bakes into the image, and why (the lines it prints)."""

    variant: str
    lines: tuple[str, ...]


def _threshold(env: dict[str, str]) -> float:
    from ..errors import ConfigError

    raw = env.get(THRESHOLD_ENV, "").strip()
    try:
        value = float(raw.removesuffix("%")) / (100 if raw.endswith("%") else 1) if raw else None
    except ValueError:
        value = -1.0
    if value is None:
        return DEFAULT_THRESHOLD
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{THRESHOLD_ENV} must be a fraction 0..1 (or a percentage), got {raw!r}")
    return value


def build_choice(
    model_dir: Path,
    *,
    gpu: bool,
    env: dict[str, str],
    on_progress: Callable[[str], None] | None = None,
) -> BuildChoice:
    """Export ``model_dir`` (the image's copy of the weights) to ONNX and run the gate on it.

    ``EXPENSE_BUILD_BACKEND`` forces a variant (no gate); a GPU instance runs torch on CUDA;
    without the ``onnx`` extra, or when the export or the gate fails, the image keeps torch fp32
    (the reference and fallback), saying why.
    """
    from ..errors import ConfigError, ExpenseError

    wanted = (env.get(BUILD_BACKEND_ENV) or "auto").strip().lower()
    if wanted != "auto" and wanted not in VARIANTS:
        raise ConfigError(
            f"{BUILD_BACKEND_ENV} must be auto or one of {', '.join(VARIANTS)}, got {wanted!r}"
        )
    threshold = _threshold(env)
    if gpu and wanted in ("auto", REFERENCE):
        return BuildChoice(REFERENCE, ("GPU instance: torch on CUDA (ONNX Runtime runs on CPU)",))
    if wanted == REFERENCE:
        return BuildChoice(REFERENCE, (f"{BUILD_BACKEND_ENV}={wanted}: no accuracy gate",))
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if wanted != "auto":
            raise ConfigError(
                f"{BUILD_BACKEND_ENV}={wanted} needs the onnx extra: "
                "pip install 'expense-cli[onnx]'"
            ) from None
        return BuildChoice(
            REFERENCE, ("accuracy gate skipped (pip install 'expense-cli[onnx]'): torch fp32",)
        )
    from ._onnx import export_onnx

    try:
        export_onnx(model_dir, int8=True)
    except Exception as exc:  # any reason the checkpoint does not export: torch stays
        if wanted != "auto":
            raise ConfigError(f"cannot export {model_dir} to ONNX: {exc}") from None
        reason = " ".join(str(exc).split())[:200]
        return BuildChoice(REFERENCE, (f"ONNX export failed ({reason}): torch fp32",))
    if wanted != "auto":
        return BuildChoice(wanted, (f"{BUILD_BACKEND_ENV}={wanted}: no accuracy gate",))
    config = EngineConfig(model=str(model_dir), device="cpu")
    try:
        decision = run_gate(config, threshold=threshold, on_progress=on_progress)
    except ExpenseError as exc:
        return BuildChoice(REFERENCE, (f"accuracy gate failed ({exc.message}): torch fp32",))
    return BuildChoice(decision.variant, tuple(decision.lines()))
