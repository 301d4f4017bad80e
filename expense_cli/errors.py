"""One error hierarchy for engine, server and CLI.

Every error a user can cause or meet is a :class:`~expense_cli.contract.ContractError`: a stable
``code`` from the contract's table (``expense_cli/contract.py``), which gives the HTTP ``status``
the server answers with. Each class below has a default code; a raise site may name a more
precise one of the same status (``BadRequest("...", code="invalid_question")``). The CLI prints
``message`` on one line and exits 1. Anything that is not an ``ExpenseError`` is a bug and is
reported as such (500 / traceback with ``EXPENSE_DEBUG=1``).
"""

from __future__ import annotations

from .contract import ERRORS, ContractError

__all__ = [
    "BadRequest",
    "ConfigError",
    "DocumentTooLarge",
    "ExpenseError",
    "ModelNotReady",
    "Overloaded",
    "RemoteError",
    "SlowClient",
    "Timeout",
    "UnreadableDocument",
    "UnsupportedDocument",
]


class ExpenseError(ContractError):
    """Base class: a known failure with a one-line message for the user."""

    code = "internal_error"
    status = ERRORS["internal_error"].status  # each class's default code's status, from the table

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = ERRORS[cls.code].status

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(code or type(self).code, message, retry_after=retry_after)

    def to_dict(self) -> dict[str, dict[str, str]]:
        return self.body()


class BadRequest(ExpenseError):
    """The request itself is wrong: empty body, bad base64, too many questions, ..."""

    code = "bad_request"


class DocumentTooLarge(ExpenseError):
    """Too many bytes, pixels or pages."""

    code = "document_too_large"


class UnsupportedDocument(ExpenseError):
    """Not an image or PDF we can read (by magic bytes, not by file name)."""

    code = "unsupported_media_type"


class UnreadableDocument(ExpenseError):
    """Looks like a supported type but is truncated or corrupt."""

    code = "unreadable_document"


class Overloaded(ExpenseError):
    """Too many requests in flight; try again after ``retry_after`` seconds."""

    code = "throttled"


class ModelNotReady(ExpenseError):
    """The model is still loading (or the endpoint is still being created)."""

    code = "model_not_ready"


class RemoteError(ExpenseError):
    """The server or endpoint behind us failed."""

    code = "endpoint_error"


class Timeout(ExpenseError):
    """The work did not finish within its time limit."""

    code = "timeout"


class SlowClient(ExpenseError):
    """The client did not send its request (headers, body) within the server's time limits."""

    code = "request_timeout"


class ConfigError(ExpenseError):
    """Local set-up problem: missing tool, credentials, model dir, ... (CLI only)."""

    code = "config_error"
