"""A function URL event (payload format 2.0) → a validated request of the wire contract.

The rules themselves (bodies, fields, questions, limits, magic bytes, error codes) live in
``expense_cli/contract.py``, which the zip carries and the model server applies too; this module
only takes the event apart: method, path, headers, query string and the (maybe base64) body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from _config import Settings

from expense_cli.contract import ContractError, Limits, ParsedRequest, parse_request

__all__ = ["parse_event", "request_headers", "request_method", "request_path"]


def request_method(event: Mapping[str, Any]) -> str:
    """The HTTP method of a function URL event (upper case; empty when absent)."""
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    return method.upper() if isinstance(method, str) else ""


def request_path(event: Mapping[str, Any]) -> str:
    """The request path (``/`` when absent)."""
    path = event.get("rawPath")
    return path if isinstance(path, str) and path else "/"


def request_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """The request headers with lower-case names (the URL runtime already lower-cases them)."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items() if isinstance(v, str)}


def _query(event: Mapping[str, Any]) -> str:
    raw = event.get("rawQueryString")
    if isinstance(raw, str):  # keeps repeated keys apart (queryStringParameters joins them)
        return raw
    params = event.get("queryStringParameters")
    if not isinstance(params, Mapping):
        return ""
    import urllib.parse

    return urllib.parse.urlencode([(str(k), str(v)) for k, v in params.items()])


def _text_bytes(body: str) -> bytes:
    """A text body's bytes: undecodable bytes the runtime escaped come back as they were, and a
    lone surrogate (which no UTF-8 text can hold) is kept, to be refused as invalid JSON."""
    try:
        return body.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return body.encode("utf-8", "surrogatepass")


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_body_bytes=settings.max_body_bytes,
        max_document_bytes=settings.max_document_bytes,
        max_questions=settings.max_questions,
        max_question_chars=settings.max_question_chars,
    )


def parse_event(event: Mapping[str, Any], settings: Settings) -> ParsedRequest:
    """Validate ``event``'s body; raises :class:`ContractError` (400/413/415) for bad input."""
    body = event.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise ContractError("invalid_event", "the request body could not be read")
    encoded = event.get("isBase64Encoded") is True
    data = body.encode("ascii", "replace") if encoded else _text_bytes(body)
    return parse_request(
        data,
        request_headers(event).get("content-type"),
        _query(event),
        limits_of(settings),
        body_is_base64=encoded,
    )
