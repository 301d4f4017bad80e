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

__all__ = ["DEFAULT_THRESHOLD", "Decision", "choose", "run_gate"]

DEFAULT_THRESHOLD = 0.98


@dataclass(frozen=True)
class Decision:
    variant: str
    threshold: float
    report: EvalReport

    @property
    def backend(self) -> str:
        return VARIANTS[self.variant][0]

    @property
    def quantize(self) -> bool:
        return VARIANTS[self.variant][1]

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
            labelled_set(tmp)
            folder = tmp
        report = evaluate(find_labelled(folder), config, ordered, on_progress=on_progress)
    return Decision(choose(report.variants, threshold), threshold, report)
