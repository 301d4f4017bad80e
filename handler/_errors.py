"""Errors the handler turns into JSON HTTP responses.

Every failure the handler knows about is a :class:`HandlerError` carrying the HTTP status, a short
machine-readable ``code`` and a human message; :func:`error_response` renders it as the function
URL response ``{"statusCode", "headers", "body"}`` with the body
``{"error": {"code": ..., "message": ...}}``. Nothing here ever renders a stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "HandlerError",
    "error_response",
    "json_response",
]

_JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


class HandlerError(Exception):
    """A failure with a definite HTTP status (4xx for the caller, 5xx for us or the endpoint)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    def __repr__(self) -> str:
        return f"HandlerError({self.status}, {self.code!r}, {self.message!r})"


def json_response(
    status: int, body: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A function URL response whose body is already-serialised JSON text."""
    merged = dict(_JSON_HEADERS)
    if headers:
        merged.update(headers)
    return {"statusCode": status, "headers": merged, "body": body}


def error_response(error: HandlerError, *, request_id: str | None = None) -> dict[str, Any]:
    """Render ``error`` as a JSON error response (with the request id when known)."""
    payload: dict[str, Any] = {"code": error.code, "message": error.message}
    if request_id is not None:
        payload["request_id"] = request_id
    return json_response(error.status, json.dumps({"error": payload}), error.headers)
