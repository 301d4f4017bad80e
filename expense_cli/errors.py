"""One error hierarchy for engine, server and CLI.

Every error a user can cause or meet carries a stable ``code`` and the HTTP ``status`` the server
answers with; the CLI prints ``message`` on one line and exits 1. Anything that is not an
``ExpenseError`` is a bug and is reported as such (500 / traceback with ``EXPENSE_DEBUG=1``).
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "ConfigError",
    "DocumentTooLarge",
    "ExpenseError",
    "ModelNotReady",
    "Overloaded",
    "RemoteError",
    "Timeout",
    "UnreadableDocument",
    "UnsupportedDocument",
]


class ExpenseError(Exception):
    """Base class: a known failure with a one-line message for the user."""

    code = "error"
    status = 500
    retry_after: int | None = None

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retry_after is not None:
            self.retry_after = retry_after

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(ExpenseError):
    """The request itself is wrong: empty body, bad base64, too many questions, ..."""

    code = "bad_request"
    status = 400


class DocumentTooLarge(ExpenseError):
    """Too many bytes, pixels or pages."""

    code = "too_large"
    status = 413


class UnsupportedDocument(ExpenseError):
    """Not an image or PDF we can read (by magic bytes, not by file name)."""

    code = "unsupported_type"
    status = 415


class UnreadableDocument(ExpenseError):
    """Looks like a supported type but is truncated or corrupt."""

    code = "unreadable_document"
    status = 422


class Overloaded(ExpenseError):
    """Too many requests in flight; try again after ``retry_after`` seconds."""

    code = "overloaded"
    status = 429
    retry_after = 1


class ModelNotReady(ExpenseError):
    """The model is still loading (or the endpoint is still being created)."""

    code = "model_not_ready"
    status = 503
    retry_after = 5


class RemoteError(ExpenseError):
    """The server or endpoint behind us failed."""

    code = "endpoint_error"
    status = 502


class Timeout(ExpenseError):
    """The work did not finish within its time limit."""

    code = "timeout"
    status = 504


class ConfigError(ExpenseError):
    """Local set-up problem: missing tool, credentials, model dir, ... (CLI only)."""

    code = "config_error"
    status = 500
