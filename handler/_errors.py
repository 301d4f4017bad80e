"""Errors → function URL responses.

Every failure the handler knows about is a :class:`~expense_cli.contract.ContractError` whose code
is in the contract's table (``expense_cli/contract.py``, carried in the zip), which gives its HTTP
status; :func:`error_response` renders it as ``{"statusCode", "headers", "body"}`` with the body
``{"error": {"code", "message", "request_id"}}``. Nothing here ever renders a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from expense_cli.contract import ContractError, dumps

__all__ = ["error_response", "json_response", "text_response"]

_JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


def json_response(
    status: int, body: str | bytes, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A function URL response whose body is already-serialised JSON."""
    merged = dict(_JSON_HEADERS)
    if headers:
        merged.update(headers)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return {"statusCode": status, "headers": merged, "body": text}


def text_response(status: int, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """A function URL response with a UTF-8 text body (the web page's files)."""
    lower = {k.lower(): v for k, v in headers.items()}
    return {"statusCode": status, "headers": lower, "body": body.decode("utf-8")}


def error_response(error: ContractError, *, request_id: str | None = None) -> dict[str, Any]:
    """Render ``error`` as a JSON error response (with the request id when known)."""
    return json_response(error.status, dumps(error.body(request_id)), error.headers)
