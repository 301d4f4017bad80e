"""The server's own errors and their JSON responses (the contract's ``{"error": {...}}``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..contract import ContractError, dumps, error_body
from ..errors import ExpenseError

__all__ = ["ERROR_HANDLERS", "Internal", "LoadFailed", "error_response", "json_response"]


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


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's routing errors (404, 405) as the contract's JSON errors."""
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "bad_request")
    path = request.url.path[:100]  # as the handler does: a 16 KB path is not echoed back
    messages = {
        404: f"no such path: {path}",
        405: f"{request.method[:20]} is not allowed on {path}",
    }
    message = messages.get(exc.status_code, str(exc.detail))
    info: dict[str, Any] = request.scope.setdefault("expense", {})  # for the access log
    info["error"] = code
    return json_response(error_body(code, message), exc.status_code, dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(Internal("internal server error"))


# Starlette's exception_handlers for the model server (_app.py) and the deployment proxy
# (_proxy.py): every error a client sees is JSON, never Starlette's text/plain.
ERROR_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    HTTPException: _http_error,
    Exception: _server_error,
}
