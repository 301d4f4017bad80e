"""expense: receipts and invoices to expense fields and reports (LayoutLM document QA).

The engine lives in :mod:`expense_cli.engine`; this top level stays import-light so that the
CLI starts fast (torch and transformers load only when a model is needed).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("expense-cli")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]
