"""Parse and validate a function URL event (payload format 2.0) into a :class:`ParsedRequest`.

Accepted bodies:

* JSON ``{"image": "https://..."}`` or ``{"document": "<base64>"}`` (a ``data:...;base64,`` prefix
  and line breaks are tolerated), with optional ``"question": "..."`` or ``"questions": [...]``.
  Unknown fields, duplicate keys and both/neither of image and document are refused (400).
* Raw ``image/*``, ``application/pdf`` or ``application/octet-stream`` bodies (the URL runtime
  base64-encodes them); questions then come from the query string: ``?question=...`` repeated.

Sizes: the decoded body is at most ``MAX_BODY_BYTES``, the document at most ``MAX_DOCUMENT_BYTES``
(413 with advice otherwise). Documents must start like PNG, JPEG, TIFF, WebP, GIF or PDF (415).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from _config import Settings
from _errors import HandlerError
from _magic import sniff

__all__ = ["ParsedRequest", "parse_request", "request_headers", "request_method"]

_JSON_TYPES = frozenset(
    {"", "application/json", "text/json", "text/plain", "application/x-www-form-urlencoded"}
)
_RAW_TYPES = frozenset({"application/pdf", "application/octet-stream", "binary/octet-stream"})
_FIELDS = frozenset({"image", "document", "question", "questions"})
_QUERY_FIELDS = frozenset({"question", "questions"})
_DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_MAX_URL_CHARS = 2048
_FORMATS = "PNG, JPEG, TIFF, WebP, GIF or PDF"
_B64_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_URLSAFE = _B64_STANDARD[:-2] + b"-_"
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


@dataclass(frozen=True)
class ParsedRequest:
    """A validated request: a URL to fetch or the document (as base64), plus the questions.

    ``document_b64`` is canonical, padded, standard-alphabet base64 (ASCII bytes), ready to be
    spliced into the JSON forwarded to the endpoint; ``document_size`` is its decoded size.
    """

    source: str  # "url" | "base64" | "raw"
    questions: tuple[str, ...]
    body_bytes: int
    url: str | None = None
    document_b64: bytes | None = None
    document_size: int = 0


def _bad(code: str, message: str) -> HandlerError:
    return HandlerError(400, code, message)


def request_method(event: Mapping[str, Any]) -> str:
    """The HTTP method of a function URL event (upper case; empty when absent)."""
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    return method.upper() if isinstance(method, str) else ""


def request_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """The request headers with lower-case names (the URL runtime already lower-cases them)."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items() if isinstance(v, str)}


def _query_questions(event: Mapping[str, Any]) -> list[str]:
    raw = event.get("rawQueryString")
    pairs: list[tuple[str, str]]
    if isinstance(raw, str):
        # rawQueryString keeps repeated keys apart; queryStringParameters joins them with commas.
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True)
    else:
        params = event.get("queryStringParameters")
        pairs = [(str(k), str(v)) for k, v in params.items()] if isinstance(params, Mapping) else []
    unknown = sorted({key for key, _ in pairs} - _QUERY_FIELDS)
    if unknown:
        raise _bad(
            "unknown_parameter",
            f"unknown query parameter(s): {', '.join(k[:40] for k in unknown[:5])}; "
            "only 'question' is accepted",
        )
    return [value for _, value in pairs]


def _questions(values: list[Any], settings: Settings) -> tuple[str, ...]:
    if len(values) > settings.max_questions:
        raise _bad(
            "too_many_questions",
            f"at most {settings.max_questions} questions per request, got {len(values)}",
        )
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise _bad("invalid_question", "each question must be a string")
        text = " ".join(value.split())
        if not text:
            raise _bad("invalid_question", "questions must not be empty")
        if len(text) > settings.max_question_chars:
            raise _bad(
                "question_too_long",
                f"questions are limited to {settings.max_question_chars} characters",
            )
        if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
            raise _bad("invalid_question", "questions must not contain control characters")
        cleaned.append(text)
    return tuple(cleaned)


def _too_large_document(size: int, settings: Settings, *, base64_sent: bool) -> HandlerError:
    hint = (
        " Base64 adds a third to the size, so the file itself must be smaller than that."
        if base64_sent
        else ""
    )
    return HandlerError(
        413,
        "document_too_large",
        f"the document is about {size} bytes; the limit is {settings.max_document_bytes} bytes. "
        "Shrink it (lower the scan resolution or JPEG quality) or split it into smaller files."
        + hint,
    )


def _strip_data_url(text: str) -> str:
    """``text`` without surrounding whitespace and a ``data:...;base64,`` prefix."""
    text = text.strip()
    prefix = _DATA_URL.match(text[:200]) if text[:5].lower() == "data:" else None
    return text[prefix.end() :] if prefix is not None else text


def _canonical_b64(text: str) -> tuple[bytes, int] | None:
    """Padded standard base64 of ``text`` and its decoded size, or ``None`` when invalid.

    Checks the alphabet and the padding without decoding everything (decoding runs at ~150 MB/s
    in CPython and the endpoint decodes anyway); URL-safe input is translated to standard.
    """
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    padded = raw + b"=" * (-len(raw) % 4)
    body = padded.rstrip(b"=")
    pad = len(padded) - len(body)
    if pad > 2:
        return None
    if body.translate(None, _B64_STANDARD):
        if body.translate(None, _B64_URLSAFE):
            return None
        padded = padded.translate(_URLSAFE_TO_STANDARD)
    return padded, len(padded) // 4 * 3 - pad


def _b64_document(
    text: str, what: str, settings: Settings, *, base64_sent: bool
) -> tuple[bytes, int]:
    """Validate a base64 document (line breaks tolerated): canonical base64 and decoded size."""
    result = _canonical_b64(text)
    if result is None:
        compact = "".join(text.split())
        if compact != text:
            result = _canonical_b64(compact)
    if result is None:
        raise _bad("invalid_base64", f"{what} is not valid base64")
    encoded, size = result
    try:
        head = binascii.a2b_base64(encoded[:64])
    except binascii.Error:
        raise _bad("invalid_base64", f"{what} is not valid base64") from None
    _check_document(head, size, settings, base64_sent=base64_sent)
    return encoded, size


def _check_document(head: bytes, size: int, settings: Settings, *, base64_sent: bool) -> None:
    if size == 0:
        raise _bad("empty_document", "the document is empty")
    if size > settings.max_document_bytes:
        raise _too_large_document(size, settings, base64_sent=base64_sent)
    if sniff(head) is None:
        raise HandlerError(415, "unsupported_media_type", f"the document is not a {_FORMATS} file")


def _decoded_text(body: str) -> str:
    """The UTF-8 text of a body the URL runtime base64-encoded."""
    result = _canonical_b64(body) or _canonical_b64("".join(body.split()))
    if result is None:
        raise _bad("invalid_base64", "the request body is not valid base64")
    try:
        return binascii.a2b_base64(result[0]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _bad("invalid_json", "the request body is not UTF-8 JSON") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _bad("invalid_json", f"duplicate key {key[:40]!r} in the JSON body")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _bad("invalid_json", f"{name} is not valid JSON")


def _parse_json(text: str) -> dict[str, Any]:
    if not text.strip():
        raise _bad(
            "empty_body",
            'the request body is empty; send {"image": "https://..."} or {"document": "<base64>"}',
        )
    try:
        body = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except HandlerError:
        raise
    except (ValueError, RecursionError):
        raise _bad("invalid_json", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("invalid_json", "the request body must be a JSON object")
    return body


def _from_json(
    body: dict[str, Any], query: list[str], settings: Settings, size: int
) -> ParsedRequest:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise _bad(
            "unknown_field",
            f"unknown field(s): {', '.join(k[:40] for k in unknown[:5])}; "
            "expected image or document, and question or questions",
        )
    if "question" in body and "questions" in body:
        raise _bad("invalid_question", "send either 'question' or 'questions', not both")
    raw_questions: list[Any]
    if "question" in body:
        raw_questions = [body["question"]]
    elif "questions" in body:
        if not isinstance(body["questions"], list):
            raise _bad("invalid_question", "'questions' must be a list of strings")
        raw_questions = body["questions"]
    else:
        raw_questions = []
    if raw_questions and query:
        raise _bad("invalid_question", "send questions in the body or the query string, not both")
    questions = _questions(raw_questions or query, settings)

    has_image, has_document = "image" in body, "document" in body
    if has_image and has_document:
        raise _bad("ambiguous_source", "send either 'image' (a URL) or 'document', not both")
    if has_image:
        url = body["image"]
        if not isinstance(url, str) or not url.strip():
            raise _bad("invalid_image", "'image' must be an https URL string")
        if len(url) > _MAX_URL_CHARS:
            raise _bad("invalid_image", f"'image' URLs are limited to {_MAX_URL_CHARS} characters")
        return ParsedRequest("url", questions, size, url=url.strip())
    if has_document:
        text = body["document"]
        if not isinstance(text, str):
            raise _bad("invalid_document", "'document' must be a base64 string")
        text = _strip_data_url(text)
        if not text:
            raise _bad("empty_document", "the document is empty")
        approx = len(text) * 3 // 4
        if approx > settings.max_document_bytes + 2:
            raise _too_large_document(approx, settings, base64_sent=True)
        encoded, doc_size = _b64_document(text, "'document'", settings, base64_sent=True)
        return ParsedRequest(
            "base64", questions, size, document_b64=encoded, document_size=doc_size
        )
    raise _bad(
        "missing_document",
        'send {"image": "https://..."} or {"document": "<base64>"} '
        "(or a raw image/PDF body with its Content-Type)",
    )


def parse_request(event: Mapping[str, Any], settings: Settings) -> ParsedRequest:
    """Validate ``event``; raises :class:`HandlerError` (400/413/415) for bad input."""
    headers = request_headers(event)
    body = event.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise _bad("invalid_body", "the request body could not be read")
    encoded = event.get("isBase64Encoded") is True
    size = len(body) * 3 // 4 if encoded else len(body)
    if size > settings.max_body_bytes:
        raise HandlerError(
            413,
            "body_too_large",
            f"the request body is larger than {settings.max_body_bytes} bytes. Shrink the document "
            "(lower the scan resolution or JPEG quality) or split it; base64 adds a third to the "
            "size, and function URLs accept at most 6 MB.",
        )
    query = _query_questions(event)
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()

    if media_type.startswith("image/") or media_type in _RAW_TYPES:
        questions = _questions(query, settings)
        if encoded:
            b64, doc_size = _b64_document(body, "the request body", settings, base64_sent=False)
        else:
            data = body.encode("utf-8", "surrogateescape")
            _check_document(data[:64], len(data), settings, base64_sent=False)
            b64, doc_size = base64.b64encode(data), len(data)
        return ParsedRequest("raw", questions, doc_size, document_b64=b64, document_size=doc_size)

    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        text = _decoded_text(body) if encoded else body
        return _from_json(_parse_json(text), query, settings, size)

    raise HandlerError(
        415,
        "unsupported_media_type",
        f"Content-Type {media_type[:60]!r} is not supported; send application/json, "
        "image/* or application/pdf",
    )
