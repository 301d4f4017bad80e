"""Accuracy and speed of the model variants on labelled documents (``expense-cli eval``).

A labelled folder holds documents (images, PDFs) each with an optional sidecar JSON of the same
stem: ``receipt-7.jpg`` + ``receipt-7.json``::

    {"fields": {"total": "17.37", "date": "2024-01-03", "merchant": "ACME Coffee"}}

(a bare ``{"total": ...}`` object is accepted too). Keys are the default field names
(``expense_cli/engine/_fields.py``); any subset is fine (partial labels): only labelled fields
count for accuracy. Comparison is after normalisation (``_normalize.py``): amounts as decimals
(``EUR 1.234,50`` = ``1234.5``), dates as ISO days (write labels as ``YYYY-MM-DD``; other spellings
are read like the answers), text case-, space- and edge-punctuation-insensitive.

Every document is loaded and OCR'd ONCE; each variant (``torch``, ``torch-int8``, ``onnx``,
``onnx-int8``) then answers the same pages, one document per forward as a request would. Per
variant: accuracy per field, agreement with the first variant's answers (the reference, ``torch``
fp32: on all fields asked, labelled or not) and the answering time per document. The build's
accuracy gate (``_gate.py``) picks a variant from these figures.
"""

from __future__ import annotations

import gc
import json
import re
import string
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadRequest, ExpenseError
from ._config import EngineConfig
from ._fields import DEFAULT_FIELDS
from ._normalize import normalize_amount, normalize_date

__all__ = [
    "REFERENCE",
    "VARIANTS",
    "EvalReport",
    "Labelled",
    "VariantScore",
    "evaluate",
    "find_labelled",
    "parse_variants",
]

# variant name → (EXPENSE_BACKEND, EXPENSE_QUANTIZE)
VARIANTS: dict[str, tuple[str, bool]] = {
    "torch": ("torch", False),
    "torch-int8": ("torch", True),
    "onnx": ("onnx", False),
    "onnx-int8": ("onnx", True),
}
REFERENCE = "torch"
DOCUMENT_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pdf")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Labelled:
    path: Path
    expected: dict[str, str]  # field → expected value (possibly empty: unlabelled)


@dataclass
class VariantScore:
    name: str
    correct: dict[str, int] = field(default_factory=dict)  # field → right answers
    labelled: dict[str, int] = field(default_factory=dict)  # field → labelled documents
    agreed: int = 0  # fields answered like the reference
    compared: int = 0
    ms: list[float] = field(default_factory=list)  # answering time per document
    load_ms: float = 0.0
    answers: list[dict[str, str]] = field(default_factory=list)  # per document: field → value

    @property
    def accuracy(self) -> float | None:
        total = sum(self.labelled.values())
        return sum(self.correct.values()) / total if total else None

    @property
    def agreement(self) -> float:
        return self.agreed / self.compared if self.compared else 1.0

    @property
    def ms_per_document(self) -> float:
        return sum(self.ms) / len(self.ms) if self.ms else 0.0

    def to_dict(self) -> dict[str, Any]:
        fields = {
            name: round(self.correct.get(name, 0) / count, 4)
            for name, count in self.labelled.items()
        }
        return {
            "variant": self.name,
            "accuracy": None if self.accuracy is None else round(self.accuracy, 4),
            "fields": fields,
            "agreement": round(self.agreement, 4),
            "ms_per_document": round(self.ms_per_document, 1),
            "load_ms": round(self.load_ms, 1),
        }


@dataclass
class EvalReport:
    documents: int
    variants: list[VariantScore]
    errors: dict[str, str] = field(default_factory=dict)  # document → why it was skipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "reference": self.variants[0].name if self.variants else None,
            "variants": [v.to_dict() for v in self.variants],
            "errors": self.errors,
        }


def parse_variants(text: str) -> list[str]:
    """``torch,onnx-int8`` → the names, checked; the reference comes first."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown or not names:
        raise BadRequest(
            f"unknown variant {', '.join(unknown) or repr(text)}: use {', '.join(VARIANTS)}"
        )
    return list(dict.fromkeys([REFERENCE, *names]))


def _read_labels(sidecar: Path) -> dict[str, str]:
    try:
        raw = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"{sidecar}: not a JSON label file ({exc})") from None
    fields = raw.get("fields", raw) if isinstance(raw, dict) else None
    if not isinstance(fields, dict):
        raise BadRequest(f'{sidecar}: expected {{"fields": {{"total": "12.30", ...}}}}')
    unknown = sorted(set(fields) - set(DEFAULT_FIELDS))
    if unknown:
        raise BadRequest(
            f"{sidecar}: unknown field {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(DEFAULT_FIELDS)})"
        )
    bad = [
        name
        for name, value in fields.items()
        if value is not None and not isinstance(value, str | int | float)
    ]
    if bad:
        raise BadRequest(f"{sidecar}: field {bad[0]!r} must be a string")
    return {name: str(value) for name, value in fields.items() if value is not None}


def find_labelled(folder: str | Path) -> list[Labelled]:
    """The documents of ``folder`` (not recursive, sorted) with their labels, if any."""
    root = Path(folder)
    if not root.is_dir():
        raise BadRequest(f"{root}: not a folder")
    documents = sorted(
        p for p in root.iterdir() if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES
    )
    if not documents:
        raise BadRequest(f"{root}: no documents ({', '.join(DOCUMENT_SUFFIXES)})")
    out = []
    for path in documents:
        sidecar = path.with_suffix(".json")
        out.append(Labelled(path, _read_labels(sidecar) if sidecar.is_file() else {}))
    return out


def _text_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split()).strip(string.punctuation + " ")


def comparable(name: str, text: str, day_first: bool | None = None) -> str:
    """``text`` as field ``name`` is compared: decimal amounts, ISO dates, folded text."""
    kind = DEFAULT_FIELDS[name].kind if name in DEFAULT_FIELDS else "text"
    if kind == "amount":
        amount = normalize_amount(text)
        return amount.value if amount else _text_key(text)
    if kind == "date":
        if _ISO_DAY.fullmatch(text.strip()):
            return text.strip()
        return normalize_date(text, day_first) or _text_key(text)
    return _text_key(text)


def _field_values(result: Any) -> dict[str, str]:
    out = {}
    for name, found in result.fields.items():
        out[name] = found.value if found.value is not None else comparable(name, found.answer)
    return out


def evaluate(
    labelled: Sequence[Labelled],
    config: EngineConfig,
    variants: Sequence[str] = (REFERENCE,),
    *,
    on_progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """OCR each document once, then answer it with every variant; the figures per variant."""
    from ._extract import Engine
    from ._ocr import create_ocr

    say = on_progress or (lambda _: None)
    ocr = create_ocr(config.ocr_backend, config.ocr_lang, config.ocr_psm)
    scores: list[VariantScore] = []
    prepared: list[tuple[Labelled, Any]] = []
    errors: dict[str, str] = {}
    for index, name in enumerate(variants):
        backend, int8 = VARIANTS[name]
        say(f"loading {name}")
        start = time.perf_counter()
        engine = Engine(config.replace(backend=backend, quantize=int8), ocr=ocr)
        score = VariantScore(name, load_ms=(time.perf_counter() - start) * 1000)
        if index == 0:
            for item in labelled:
                try:
                    prepared.append((item, engine.prepare(item.path.read_bytes())))
                except (OSError, ExpenseError) as exc:
                    errors[item.path.name] = getattr(exc, "message", None) or str(exc)
            if not prepared:
                raise BadRequest("no document could be read: " + "; ".join(errors.values()))
        say(f"answering with {name} ({len(prepared)} documents)")
        for number, (item, document) in enumerate(prepared):
            start = time.perf_counter()
            result = engine.answer([(document, None)])[0]
            score.ms.append((time.perf_counter() - start) * 1000)
            values = _field_values(result)
            score.answers.append(values)
            for key, expected in item.expected.items():
                score.labelled[key] = score.labelled.get(key, 0) + 1
                day_first = None if key != "date" else _day_first(result)
                if comparable(key, expected, day_first) == values.get(key):
                    score.correct[key] = score.correct.get(key, 0) + 1
            if scores:
                reference = scores[0].answers[number]
                score.compared += len(reference)
                score.agreed += sum(values.get(k) == v for k, v in reference.items())
        scores.append(score)
        del engine
        gc.collect()
    return EvalReport(len(prepared), scores, errors)


def _day_first(result: Any) -> bool | None:
    currency = result.fields["total"].currency if "total" in result.fields else None
    if currency is None:
        return None
    from ._normalize import day_first_for

    return day_first_for(currency)
