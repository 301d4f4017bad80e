"""The server's own errors and their JSON responses (the contract's ``{"error": {...}}``)."""

from __future__ import annotations

from starlette.responses import Response

from ..contract import ContractError, dumps
from ..errors import ExpenseError

__all__ = ["Internal", "LoadFailed", "error_response", "json_response"]


class Internal(ExpenseError):
    code = "internal_error"


class LoadFailed(ExpenseError):
    code = "model_load_failed"


def json_response(
    content: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """JSON written by :func:`expense_cli.contract.dumps` (never fails on odd text)."""
    return Response(dumps(content), status, headers, media_type="application/json")


def error_response(exc: ContractError) -> Response:
    return json_response(exc.body(), exc.status, exc.headers)
