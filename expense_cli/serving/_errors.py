"""The server's own errors and their JSON responses (the contract's ``{"error": {...}}``)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from ..errors import ExpenseError

__all__ = ["Internal", "LoadFailed", "error_response"]


class Internal(ExpenseError):
    code = "internal_error"
    status = 500


class LoadFailed(ExpenseError):
    code = "model_load_failed"
    status = 500


def error_response(exc: ExpenseError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return JSONResponse(exc.to_dict(), exc.status, headers)
