"""The extraction engine shared by the CLI, the local server and the SageMaker container.

>>> from expense_cli.engine import Engine
>>> result = Engine().extract(open("receipt.jpg", "rb").read())
>>> result.to_dict()["fields"]["total"]
{'answer': '12,30 €', 'score': 0.93, 'page': 1, 'value': '12.30', 'currency': 'EUR'}
"""

from __future__ import annotations

from collections.abc import Sequence

from ._config import DEFAULT_MODEL, DEFAULT_REVISION, EngineConfig, Limits
from ._documents import Page, load_document, sniff_type
from ._extract import Document, Engine, Field, Result
from ._fields import DEFAULT_FIELDS, FieldSpec, plan_queries
from ._normalize import Amount, normalize_amount, normalize_date
from ._ocr import OcrEngine, create_ocr
from ._qa import Answer

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_MODEL",
    "DEFAULT_REVISION",
    "Amount",
    "Answer",
    "Document",
    "Engine",
    "EngineConfig",
    "Field",
    "FieldSpec",
    "Limits",
    "OcrEngine",
    "Page",
    "Result",
    "create_ocr",
    "extract",
    "load_document",
    "normalize_amount",
    "normalize_date",
    "plan_queries",
    "sniff_type",
]

_default: Engine | None = None


def extract(data: bytes, questions: Sequence[str] | None = None) -> Result:
    """Extract with a process-wide engine configured from the environment (loaded once)."""
    global _default
    if _default is None:
        _default = Engine(EngineConfig.from_env())
    return _default.extract(data, questions)
