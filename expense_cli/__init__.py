"""expense: receipts and invoices to expense fields and reports (LayoutLM document QA).

The engine lives in :mod:`expense_cli.engine`; this top level stays import-light so that the
CLI starts fast (torch and transformers load only when a model is needed). Even ``__version__``
is looked up on first access (``importlib.metadata`` alone costs tens of milliseconds).
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("expense-cli")
    except PackageNotFoundError:  # running from a source tree without installing
        found = "0.0.0"
    globals()["__version__"] = found
    return found
