"""The wire contract: one set of rules for the Lambda handler, the model server and the CLI.

Standard library only. The Lambda zip carries this very file (as ``expense_cli/contract.py``,
imported as ``expense_cli.contract`` like here: see ``expense_cli/aws/_package.py``), so the handler
(``handler/``), the server (``expense_cli/serving/``), the engine's input checks and the CLI's HTTP
client (``expense_cli/targets.py``) apply literally the same code:

* **Requests** (:func:`parse_request`): JSON ``{"image": "https://..."}`` or
  ``{"document": "<base64>"}`` (a ``data:...;base64,`` prefix and line breaks tolerated) with an
  optional ``"question"`` or ``"questions"``; or the raw image/PDF bytes with their
  ``Content-Type`` and ``?question=...`` repeated. Unknown fields and parameters, duplicate JSON
  keys, ``NaN``, both or neither of image and document are refused.
* **Limits** (:class:`Limits`) and the AWS payload limits they derive from.
* **Questions** (:func:`check_questions`): at most 20, each at most 200 characters after
  whitespace is collapsed, no control characters, no lone UTF-16 surrogates.
* **Documents** are recognised by their first bytes only (:func:`sniff_type`).
* **Errors** (:data:`ERRORS`): every error a client can see, with its HTTP status; raised as
  :class:`ContractError` and rendered by :func:`error_body` as ``{"error": {"code", "message"}}``.
* **Responses** are JSON written by :func:`dumps`, which never fails on text a document carried
  (a lone surrogate becomes U+FFFD).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DOCUMENT_FORMATS",
    "ENDPOINT_MAX_PAYLOAD",
    "ERRORS",
    "FUNCTION_URL_MAX_BODY",
    "MAX_DOCUMENT_BYTES",
    "MAX_QUESTIONS",
    "MAX_QUESTION_CHARS",
    "SERVERLESS_MAX_PAYLOAD",
    "ContractError",
    "ErrorSpec",
    "Limits",
    "ParsedRequest",
    "SettingError",
    "body_too_large",
    "check_questions",
    "clean_text",
    "document_limit",
    "dumps",
    "env_bool",
    "env_float",
    "env_int",
    "error_body",
    "parse_query",
    "parse_request",
    "sniff_type",
]

# --- limits ----------------------------------------------------------------------------------

MAX_QUESTIONS = 20
MAX_QUESTION_CHARS = 200
MAX_DOCUMENT_BYTES = 20_000_000  # one document, in-process and on the model server
MAX_URL_CHARS = 2048
FUNCTION_URL_MAX_BODY = 6_000_000  # AWS: a function URL's request payload (BUFFERED mode)
ENDPOINT_MAX_PAYLOAD = 6_000_000  # AWS: InvokeEndpoint request payload, real-time endpoints
SERVERLESS_MAX_PAYLOAD = 4_000_000  # AWS: ... serverless endpoints
JSON_ROOM = 64 * 1024  # what a JSON envelope with 20 questions may add to a base64 document


def document_limit(payload_bytes: int) -> int:
    """The largest document whose base64 JSON request fits ``payload_bytes`` (rounded down to
    100 kB): 4,400,000 for a 6 MB payload, 2,900,000 for 4 MB."""
    return (payload_bytes - JSON_ROOM) * 3 // 4 // 100_000 * 100_000


@dataclass(frozen=True)
class Limits:
    """What one request may carry."""

    max_body_bytes: int = -(-MAX_DOCUMENT_BYTES * 4 // 3) + JSON_ROOM
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    max_questions: int = MAX_QUESTIONS
    max_question_chars: int = MAX_QUESTION_CHARS


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorSpec:
    """One error code: its HTTP status, what it means, and who can answer it.

    ``sides`` is ``both`` (the handler and the server give it for the same request),
    ``handler`` (URL fetching, auth, the endpoint behind the function), ``server``, or ``cli``
    (local failures of the command-line tool, never sent over HTTP).
    """

    code: str
    status: int
    meaning: str
    sides: str = "both"
    retry_after: int | None = None


ERRORS: dict[str, ErrorSpec] = {
    spec.code: spec
    for spec in (
        # The request itself (400)
        ErrorSpec("empty_body", 400, "the request has no body"),
        ErrorSpec("invalid_json", 400, "not one JSON object (syntax, UTF-8, duplicate keys, NaN)"),
        ErrorSpec("unknown_field", 400, "a JSON field other than image, document, question(s)"),
        ErrorSpec("unknown_parameter", 400, "a query parameter other than question"),
        ErrorSpec("missing_document", 400, "neither image nor document was sent"),
        ErrorSpec("ambiguous_source", 400, "both image and document were sent"),
        ErrorSpec("invalid_document", 400, "document is not a string"),
        ErrorSpec("invalid_base64", 400, "document (or a base64 body) is not valid base64"),
        ErrorSpec("empty_document", 400, "the document has no bytes"),
        ErrorSpec("invalid_image", 400, "image is not a URL string of at most 2048 characters"),
        ErrorSpec("invalid_question", 400, "a question is not text, is empty or has control codes"),
        ErrorSpec("too_many_questions", 400, "more than 20 questions"),
        ErrorSpec("question_too_long", 400, "a question longer than 200 characters"),
        ErrorSpec("bad_request", 400, "another problem with the request"),
        # The document (413, 415, 422)
        ErrorSpec("body_too_large", 413, "the request body is over the size limit"),
        ErrorSpec("document_too_large", 413, "too many bytes, pages, pixels or characters"),
        ErrorSpec("unsupported_media_type", 415, "not PNG, JPEG, TIFF, WebP, GIF or PDF"),
        ErrorSpec("unreadable_document", 422, "looks like a supported type but cannot be read"),
        # Routing
        ErrorSpec("not_found", 404, "no such path"),
        ErrorSpec("method_not_allowed", 405, "wrong HTTP method for the path"),
        # Capacity and time
        ErrorSpec("throttled", 429, "too many requests: retry after Retry-After", "both", 1),
        ErrorSpec(
            "model_not_ready", 503, "the model is loading: retry after Retry-After", "both", 5
        ),
        ErrorSpec("timeout", 504, "the request did not finish within its time limit"),
        ErrorSpec("internal_error", 500, "a bug: the message carries a request id"),
        # Only the model server
        ErrorSpec("url_not_supported", 400, "the model server does not fetch URLs", "server"),
        ErrorSpec("request_timeout", 408, "the client sent its request too slowly", "server"),
        ErrorSpec("model_load_failed", 500, "the model failed to load (see the logs)", "server"),
        # Only the function URL's handler: auth, URL fetching, the endpoint behind it
        ErrorSpec("unauthorized", 401, "token mode: no Authorization: Bearer header", "handler"),
        ErrorSpec("forbidden", 403, "token mode: the token is wrong", "handler"),
        ErrorSpec("auth_unavailable", 503, "the token could not be loaded", "handler", 5),
        ErrorSpec("invalid_event", 400, "the function was invoked without a URL event", "handler"),
        ErrorSpec(
            "url_refused", 400, "the URL breaks a fetch rule (scheme, host, port)", "handler"
        ),
        ErrorSpec("url_timeout", 400, "fetching the URL took longer than its limit", "handler"),
        ErrorSpec("url_fetch_failed", 400, "the URL could not be fetched", "handler"),
        ErrorSpec("endpoint_not_found", 502, "the SageMaker endpoint does not exist", "handler"),
        ErrorSpec("endpoint_forbidden", 502, "the function may not invoke the endpoint", "handler"),
        ErrorSpec("endpoint_unreachable", 502, "the endpoint could not be reached", "handler"),
        ErrorSpec("endpoint_error", 502, "the endpoint failed", "handler"),
        ErrorSpec("model_error", 502, "the model server failed", "handler"),
        ErrorSpec("endpoint_not_ready", 503, "the endpoint is being created", "handler", 60),
        ErrorSpec("endpoint_unavailable", 503, "the endpoint is unavailable", "handler", 30),
        ErrorSpec("endpoint_timeout", 504, "the endpoint did not answer in time", "handler"),
        # Only the CLI, never on the wire
        ErrorSpec("config_error", 500, "a local set-up problem (tools, credentials)", "cli"),
        ErrorSpec("terraform_failed", 502, "terraform exited with an error", "cli"),
    )
}


class ContractError(Exception):
    """An error of :data:`ERRORS`: status and default ``retry_after`` come from the table."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        spec = ERRORS[code]  # an unknown code is a bug, not a client error
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = spec.status
        self.retry_after = spec.retry_after if retry_after is None else retry_after
        self.headers: dict[str, str] = dict(headers or {})
        if self.retry_after is not None:
            self.headers.setdefault("retry-after", str(self.retry_after))

    def body(self, request_id: str | None = None) -> dict[str, dict[str, str]]:
        return error_body(self.code, self.message, request_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


def error_body(code: str, message: str, request_id: str | None = None) -> dict[str, dict[str, str]]:
    """``{"error": {"code", "message"[, "request_id"]}}``."""
    error = {"code": code, "message": message}
    if request_id is not None:
        error["request_id"] = request_id
    return {"error": error}


# --- text ------------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """``text`` with UTF-16 surrogate pairs joined and lone surrogates replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; never fails on a lone surrogate (see :func:`clean_text`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return dumps(_clean(value))


# --- documents -------------------------------------------------------------------------------

DOCUMENT_FORMATS = "PNG, JPEG, TIFF, WebP, GIF or PDF"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_PDF = re.compile(rb"%PDF-[0-9]")
_PDF_LEAD = b" \t\r\n\x00\x0c"  # what may stand before %PDF- (plus a UTF-8 byte-order mark)
SNIFF_BYTES = 1024  # how many leading bytes sniff_type may look at


def sniff_type(head: bytes) -> str | None:
    """The media type of a document from its first bytes, or ``None`` for anything else.

    PDF: ``%PDF-`` and a version digit at the start, after at most whitespace, NULs or a UTF-8
    byte-order mark within the first 1 KiB (what PDF readers tolerate); text that merely
    mentions ``%PDF-`` further in is not a PDF.
    """
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    start = head[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip(_PDF_LEAD)
    if _PDF.match(start):
        return "application/pdf"
    return None


# --- questions -------------------------------------------------------------------------------


def _bad(code: str, message: str) -> ContractError:
    return ContractError(code, message)


def check_questions(values: Iterable[object], limits: Limits | None = None) -> tuple[str, ...]:
    """The questions with whitespace collapsed; raises :class:`ContractError` (400) when there
    are too many, or one is not a string, is empty, too long, or holds a control character or a
    lone surrogate."""
    limits = limits or Limits()
    values = list(values)
    if len(values) > limits.max_questions:
        raise _bad(
            "too_many_questions",
            f"at most {limits.max_questions} questions per request, got {len(values)}",
        )
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise _bad("invalid_question", "each question must be a string")
        text = " ".join(value.split())
        if not text:
            raise _bad("invalid_question", "questions must not be empty")
        if len(text) > limits.max_question_chars:
            raise _bad(
                "question_too_long",
                f"questions are limited to {limits.max_question_chars} characters",
            )
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
            raise _bad(
                "invalid_question",
                "questions must not contain control characters or unpaired surrogates (a query "
                "string's %-escapes must be UTF-8)",
            )
        cleaned.append(text)
    return tuple(cleaned)


# --- requests --------------------------------------------------------------------------------

JSON_TYPES = frozenset(
    {"application/json", "text/json", "text/plain", "application/x-www-form-urlencoded"}
)
RAW_TYPES = frozenset(
    {"application/pdf", "application/octet-stream", "binary/octet-stream", "application/x-image"}
)
_FIELDS = frozenset({"image", "document", "question", "questions", "page_images"})
_DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_B64_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_URLSAFE = _B64_STANDARD[:-2] + b"-_"
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


@dataclass(frozen=True)
class ParsedRequest:
    """A valid request: a URL to fetch, or a document, plus the questions (empty: all fields).

    The document is held as it arrived: ``raw`` bytes, or canonical standard base64 (``b64``,
    ASCII bytes, padded) that the handler forwards without decoding it.
    """

    source: str  # "url" | "document" (base64 in JSON) | "raw" (the body itself)
    questions: tuple[str, ...]
    page_images: bool = False  # also return the answer pages as PNG data URLs (the web page)
    url: str | None = None
    raw: bytes | None = None
    b64: bytes | None = None
    size: int = 0  # decoded document bytes

    def document(self) -> bytes:
        """The document's bytes."""
        if self.raw is not None:
            return self.raw
        return binascii.a2b_base64(self.b64 or b"")

    def document_b64(self) -> bytes:
        """The document as canonical base64."""
        if self.b64 is not None:
            return self.b64
        return base64.b64encode(self.raw or b"")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_query(query: str) -> list[str]:
    """The ``question`` values of a query string, in order; any other parameter is refused."""
    # percent-escapes that are not UTF-8 stay lone surrogates, which check_questions refuses
    # (the default, errors="replace", would answer a question nobody asked)
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
    unknown = sorted({key for key, _ in pairs} - {"question"})
    if unknown:
        raise _bad(
            "unknown_parameter",
            f"unknown query parameter(s): {', '.join(repr(k[:40]) for k in unknown[:5])}; "
            "only 'question' is accepted",
        )
    return [value for _, value in pairs]


def _canonical_b64(data: bytes) -> tuple[bytes, int] | None:
    """Padded standard base64 of ``data`` and its decoded size, or ``None`` when invalid.

    Checks the alphabet and padding without decoding (the endpoint decodes anyway); URL-safe
    input is translated to the standard alphabet; whitespace (line breaks) is dropped.
    """
    if data.translate(None, b" \t\r\n") != data:
        data = data.translate(None, b" \t\r\n")
    padded = data + b"=" * (-len(data) % 4)
    body = padded.rstrip(b"=")
    pad = len(padded) - len(body)
    if pad > 2 or (len(body) % 4 == 1):
        return None
    if body.translate(None, _B64_STANDARD):
        if body.translate(None, _B64_URLSAFE):
            return None
        padded = padded.translate(_URLSAFE_TO_STANDARD)
    return padded, len(padded) // 4 * 3 - pad


def _b64_document(data: bytes, what: str, limits: Limits) -> tuple[bytes, int]:
    result = _canonical_b64(data)
    if result is None:
        raise _bad("invalid_base64", f"{what} is not valid base64")
    encoded, size = result
    try:
        head = binascii.a2b_base64(encoded[: (SNIFF_BYTES // 3 + 1) * 4])
    except binascii.Error:
        raise _bad("invalid_base64", f"{what} is not valid base64") from None
    check_document(head, size, limits, base64_sent=True)
    return encoded, size


def check_document(head: bytes, size: int, limits: Limits, *, base64_sent: bool = False) -> None:
    """Refuse an empty (400), too large (413) or unrecognised (415) document."""
    if size == 0:
        raise _bad("empty_document", "the document is empty")
    if size > limits.max_document_bytes:
        hint = (
            " Base64 adds a third to the size, so the file itself must be smaller than that."
            if base64_sent
            else ""
        )
        raise ContractError(
            "document_too_large",
            f"the document is {size:,} bytes; the limit is {limits.max_document_bytes:,}. "
            "Shrink it (lower the scan resolution or JPEG quality) or split it." + hint,
        )
    if sniff_type(head) is None:
        raise ContractError(
            "unsupported_media_type", f"the document is not a {DOCUMENT_FORMATS} file"
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _bad("invalid_json", f"duplicate key {key[:40]!r} in the JSON body")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _bad("invalid_json", f"{name} is not valid JSON")


def _json_object(body: bytes) -> dict[str, Any]:
    try:  # a leading byte-order mark is ignored, as RFC 8259 allows (PowerShell writes one)
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("invalid_json", "the request body is not UTF-8 JSON") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except ContractError:
        raise
    except (ValueError, RecursionError):
        raise _bad("invalid_json", "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise _bad("invalid_json", "the request body must be a JSON object")
    return value


def _from_json(body: dict[str, Any], query: list[str], limits: Limits) -> ParsedRequest:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise _bad(
            "unknown_field",
            f"unknown field(s): {', '.join(repr(k[:40]) for k in unknown[:5])}; "
            "expected image or document, question or questions, and page_images",
        )
    page_images = body.get("page_images", False)
    if not isinstance(page_images, bool):
        raise _bad("bad_request", "'page_images' must be true or false")
    if "question" in body and "questions" in body:
        raise _bad("invalid_question", "send either 'question' or 'questions', not both")
    asked: list[Any] = []
    if "question" in body:
        asked = [body["question"]]
    elif "questions" in body:
        if not isinstance(body["questions"], list):
            raise _bad("invalid_question", "'questions' must be a list of strings")
        asked = body["questions"]
    if asked and query:
        raise _bad("invalid_question", "send questions in the body or the query string, not both")
    questions = check_questions(asked or query, limits)

    if "image" in body and "document" in body:
        raise _bad("ambiguous_source", "send either 'image' (a URL) or 'document', not both")
    if "image" in body:
        url = body["image"]
        if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_CHARS:
            raise _bad(
                "invalid_image",
                f"'image' must be an https URL string of at most {MAX_URL_CHARS} characters",
            )
        return ParsedRequest("url", questions, page_images, url=url.strip())
    if "document" in body:
        text = body["document"]
        if not isinstance(text, str):
            raise _bad("invalid_document", "'document' must be a base64 string")
        text = text.strip()
        if text[:5].lower() == "data:" and (prefix := _DATA_URL.match(text[:200])):
            text = text[prefix.end() :]
        if not text:
            raise _bad("empty_document", "the document is empty")
        if len(text) * 3 // 4 > limits.max_document_bytes + 3:
            size = len(text) * 3 // 4
            check_document(b"", size, limits, base64_sent=True)
        try:
            data = text.encode("ascii")
        except UnicodeEncodeError:
            raise _bad("invalid_base64", "'document' is not valid base64") from None
        encoded, size = _b64_document(data, "'document'", limits)
        return ParsedRequest("document", questions, page_images, b64=encoded, size=size)
    raise _bad(
        "missing_document",
        'send {"image": "https://..."} or {"document": "<base64>"} '
        "(or a raw image/PDF body with its Content-Type)",
    )


def body_too_large(limit: int) -> ContractError:
    """The 413 for a request body over ``limit`` bytes (the server also raises it while reading)."""
    return ContractError(
        "body_too_large",
        f"the request body is larger than {limit:,} bytes. Shrink the document (lower the scan "
        "resolution or JPEG quality) or split it; base64 adds a third to the size.",
    )


def parse_request(
    body: bytes,
    content_type: str | None,
    query: str = "",
    limits: Limits | None = None,
    *,
    body_is_base64: bool = False,
) -> ParsedRequest:
    """Validate one request; raises :class:`ContractError` (400, 413 or 415) for bad input.

    ``body_is_base64``: the body arrived base64-encoded (a function URL does that to binary
    bodies); raw documents then stay base64 (checked, not decoded).
    """
    limits = limits or Limits()
    size = len(body) * 3 // 4 if body_is_base64 else len(body)
    if size > limits.max_body_bytes:
        raise body_too_large(limits.max_body_bytes)
    questions = parse_query(query)
    media = media_type(content_type)
    if not body.strip():
        raise _bad(
            "empty_body",
            'the request body is empty; send {"document": "<base64>"} (or {"image": "https://..."}'
            " to the function URL), or the raw image/PDF",
        )
    if not media:  # no Content-Type: a document by its bytes, else JSON
        head = body[:SNIFF_BYTES]
        if body_is_base64:
            canonical = _canonical_b64(body[: (SNIFF_BYTES // 3 + 1) * 4])
            head = binascii.a2b_base64(canonical[0]) if canonical else b""
        media = "application/octet-stream" if sniff_type(head) else "application/json"
    if media.startswith("image/") or media in RAW_TYPES:
        asked = check_questions(questions, limits)
        if body_is_base64:
            encoded, size = _b64_document(body, "the request body", limits)
            return ParsedRequest("raw", asked, b64=encoded, size=size)
        check_document(body[:SNIFF_BYTES], len(body), limits)
        return ParsedRequest("raw", asked, raw=body, size=len(body))
    if media in JSON_TYPES or media.endswith("+json"):
        if body_is_base64:
            result = _canonical_b64(body)
            if result is None:
                raise _bad("invalid_base64", "the request body is not valid base64")
            body = binascii.a2b_base64(result[0])
        return _from_json(_json_object(body), questions, limits)
    raise ContractError(
        "unsupported_media_type",
        f"Content-Type {media[:60]!r} is not supported; send application/json, image/* or "
        "application/pdf",
    )


# --- settings from the environment -----------------------------------------------------------


class SettingError(ValueError):
    """An environment variable holds a value that cannot be used (a deployment problem)."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """An integer variable; unset or empty gives ``default``; anything else invalid raises."""
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(
    env: Mapping[str, str], name: str, default: float, *, minimum: float | None = None
) -> float:
    """A finite number, positive (or at least ``minimum``); unset or empty gives ``default``."""
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, got {raw!r}") from None
    low_ok = value > 0 if minimum is None else value >= minimum
    if not (low_ok and value < float("inf")):
        bound = "a positive number" if minimum is None else f"a number of at least {minimum:g}"
        raise SettingError(f"{name} must be {bound}, got {raw!r}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool | None) -> bool | None:
    """``1/true/yes/on`` or ``0/false/no/off``; unset or empty gives ``default``."""
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingError(f"{name} must be true or false, got {raw!r}")
