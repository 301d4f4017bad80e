"""The extraction engine shared by the CLI, the local server and the SageMaker container.

>>> from expense_cli.engine import Engine
>>> result = Engine().extract(open("receipt.jpg", "rb").read())
>>> result.to_dict()["fields"]["total"]
{'answer': '12,30 €', 'score': 0.93, 'page': 1, 'value': '12.30', 'currency': 'EUR'}

Importing this package is cheap: every name below is loaded from its submodule on first use
(PEP 562 module ``__getattr__``), so ``from expense_cli.engine import DEFAULT_FIELDS`` does not
import torch or transformers; ``Engine`` (``_extract.py`` → ``_qa.py``) does. That keeps
``expense-cli --help`` and the HTTP-only commands fast (see ``tests/cli/test_imports.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Public name → the submodule that defines it. Only _extract and _qa import torch/transformers.
_LAZY: dict[str, str] = {
    "DEFAULT_MODEL": "_config",
    "DEFAULT_REVISION": "_config",
    "EngineConfig": "_config",
    "Limits": "_config",
    "Page": "_documents",
    "load_document": "_documents",
    "sniff_type": "_documents",
    "Document": "_extract",
    "Engine": "_extract",
    "Field": "_extract",
    "Result": "_extract",
    "DEFAULT_FIELDS": "_fields",
    "FieldSpec": "_fields",
    "plan_queries": "_fields",
    "Amount": "_normalize",
    "normalize_amount": "_normalize",
    "normalize_date": "_normalize",
    "OcrEngine": "_ocr",
    "create_ocr": "_ocr",
    "Answer": "_qa",
}


def __getattr__(name: str) -> Any:
    """Load ``name`` from its submodule on first access and cache it in this module."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


_default: Engine | None = None


def extract(data: bytes, questions: Sequence[str] | None = None) -> Result:
    """Extract with a process-wide engine configured from the environment (loaded once)."""
    global _default
    if _default is None:
        from ._config import EngineConfig
        from ._extract import Engine

        _default = Engine(EngineConfig.from_env())
    return _default.extract(data, questions)
