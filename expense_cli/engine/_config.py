"""Engine configuration, from code or from ``EXPENSE_*`` environment variables."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from .. import contract

__all__ = ["DEFAULT_MODEL", "DEFAULT_REVISION", "EngineConfig", "Limits"]

DEFAULT_MODEL = "impira/layoutlm-invoices"
# The revision DocQuery pinned for this checkpoint (short hash). `expense-cli build` resolves it to
# the full commit with the Hub API and records that in the image labels; override with
# EXPENSE_MODEL_REVISION=<40-hex commit> to pin a full hash.
DEFAULT_REVISION = "783b0c2"


def _config_error(exc: Exception) -> Exception:
    from ..errors import ConfigError

    return ConfigError(str(exc))


BACKENDS = ("torch", "onnx")  # EXPENSE_BACKEND; onnx: the export in <model>/onnx (_onnx.py)
DEVICES = ("auto", "cpu", "cuda")  # EXPENSE_DEVICE; resolved in _device.py


def check_device(device: str) -> str:
    """``device`` if it is one of :data:`DEVICES`, else a :class:`ConfigError`."""
    if device not in DEVICES:
        from ..errors import ConfigError

        raise ConfigError(f"EXPENSE_DEVICE must be one of {', '.join(DEVICES)}, got {device!r}")
    return device


@dataclass(frozen=True)
class Limits:
    """What a single document may cost. Each breach is a clear 413 error, checked before work."""

    max_bytes: int = contract.MAX_DOCUMENT_BYTES
    max_pages: int = 20
    max_pixels: int = 50_000_000  # per page/frame, checked from the header before decoding
    max_total_pixels: int = 200_000_000
    pdf_dpi: int = 200  # render resolution for PDF pages without embedded text
    # A PDF text layer costs per character (and per token in the model): a dense A4 page of 8 pt
    # text has ~10,000 characters; a few KB of PDF can claim hundreds of thousands.
    max_page_chars: int = 20_000
    max_document_chars: int = 100_000
    max_questions: int = contract.MAX_QUESTIONS
    max_question_chars: int = contract.MAX_QUESTION_CHARS


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs; ``from_env()`` reads the serving/container environment."""

    model: str = DEFAULT_MODEL
    revision: str | None = DEFAULT_REVISION
    limits: Limits = dataclasses.field(default_factory=Limits)
    ocr_lang: str = "eng"
    ocr_backend: str = "auto"  # auto | tesserocr | cli
    ocr_psm: int = 3  # tesseract page segmentation mode (3: automatic; bench_engine compares)
    ocr_workers: int = 1  # pages OCR'd in parallel
    ocr_max_side: int = 3500  # px; larger scans are downscaled before OCR (0: never)
    quantize: bool = False  # dynamic int8 quantisation of the Linear layers
    backend: str = "torch"  # torch | onnx (int8 with onnx: model.int8.onnx; _onnx.py)
    device: str = "auto"  # auto | cpu | cuda (auto: the GPU when torch sees one; _device.py)
    fp16: bool = False  # half-precision weights on the GPU
    threads: int | None = None  # torch intra-op threads (None: leave torch's default)
    max_answer_tokens: int = 15  # span length without the token-classifier head
    day_first: bool | None = None  # None: guess from the currency (USD → month first)

    def replace(self, **changes: Any) -> EngineConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> EngineConfig:
        """Read ``EXPENSE_*`` variables (SageMaker passes config as container env)."""
        env = os.environ if environ is None else environ
        base = cls()
        limits = base.limits

        def num(name: str, default: int) -> int:
            try:
                return contract.env_int(env, name, default)
            except contract.SettingError as exc:
                raise _config_error(exc) from None

        def flag(name: str, default: bool | None) -> bool | None:
            try:
                return contract.env_bool(env, name, default)
            except contract.SettingError as exc:
                raise _config_error(exc) from None

        limits = Limits(
            max_bytes=num("EXPENSE_MAX_BYTES", limits.max_bytes),
            max_pages=num("EXPENSE_MAX_PAGES", limits.max_pages),
            max_pixels=num("EXPENSE_MAX_PIXELS", limits.max_pixels),
            max_total_pixels=num("EXPENSE_MAX_TOTAL_PIXELS", limits.max_total_pixels),
            pdf_dpi=num("EXPENSE_PDF_DPI", limits.pdf_dpi),
            max_page_chars=num("EXPENSE_MAX_PAGE_CHARS", limits.max_page_chars),
            max_document_chars=num("EXPENSE_MAX_DOCUMENT_CHARS", limits.max_document_chars),
            max_questions=num("EXPENSE_MAX_QUESTIONS", limits.max_questions),
            max_question_chars=num("EXPENSE_MAX_QUESTION_CHARS", limits.max_question_chars),
        )
        threads = num("EXPENSE_THREADS", 0) or None
        backend = (env.get("EXPENSE_BACKEND") or base.backend).strip().lower()
        if backend not in BACKENDS:
            raise _config_error(
                ValueError(f"EXPENSE_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
            )
        device = check_device((env.get("EXPENSE_DEVICE") or base.device).strip().lower())
        return cls(
            model=env.get("EXPENSE_MODEL") or base.model,
            revision=env.get("EXPENSE_MODEL_REVISION") or base.revision,
            limits=limits,
            ocr_lang=env.get("EXPENSE_OCR_LANG") or base.ocr_lang,
            ocr_backend=env.get("EXPENSE_OCR_BACKEND") or base.ocr_backend,
            ocr_psm=num("EXPENSE_OCR_PSM", base.ocr_psm),
            ocr_workers=num("EXPENSE_OCR_WORKERS", base.ocr_workers),
            ocr_max_side=num("EXPENSE_OCR_MAX_SIDE", base.ocr_max_side),
            quantize=bool(flag("EXPENSE_QUANTIZE", base.quantize)),
            backend=backend,
            device=device,
            fp16=bool(flag("EXPENSE_FP16", base.fp16)),
            threads=threads,
            max_answer_tokens=num("EXPENSE_MAX_ANSWER_TOKENS", base.max_answer_tokens),
            day_first=flag("EXPENSE_DAY_FIRST", base.day_first),
        )
