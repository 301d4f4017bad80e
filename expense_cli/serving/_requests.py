"""Request bodies → (document bytes, questions), with the size cap enforced while reading.

Accepted (the contract in DESIGN.md, minus URL fetching: the model server never fetches URLs):

* ``application/json``: ``{"document": "<base64>", "questions": [...]}`` or ``"question": "..."``;
  a ``data:...;base64,`` prefix on ``document`` is allowed (what a browser's FileReader gives);
* a raw document with ``Content-Type: image/*``, ``application/pdf`` or
  ``application/octet-stream``; questions then come from the query string (``?question=...``,
  repeated).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from ..engine import Limits, plan_queries
from ..errors import BadRequest, DocumentTooLarge, UnsupportedDocument

__all__ = ["Invocation", "parse_invocation", "read_body"]

_RAW_TYPES = ("application/pdf", "application/octet-stream", "application/x-image")
_JSON_KEYS = frozenset({"document", "question", "questions"})


@dataclass(frozen=True)
class Invocation:
    document: bytes
    questions: list[str] | None


async def read_body(content_length: str | None, chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, refusing (413) from ``Content-Length`` before reading, or as soon as the
    streamed bytes pass ``limit``."""
    too_big = (
        f"request body is larger than {limit:,} bytes; send a smaller document "
        "(downscale the scan or split the PDF)"
    )
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise BadRequest("invalid Content-Length header") from None
        if declared > limit:
            raise DocumentTooLarge(too_big)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise DocumentTooLarge(too_big)
        parts.append(chunk)
    return b"".join(parts)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_invocation(
    body: bytes,
    content_type: str | None,
    query_questions: Sequence[str],
    limits: Limits,
) -> Invocation:
    """Decode one invocation; raises 400/415 :class:`ExpenseError`s for bad requests."""
    media = _media_type(content_type)
    questions: list[object] | None
    if not body:
        raise BadRequest("empty request body: send JSON with a base64 'document', or the raw file")
    if media == "application/json" or media.endswith("+json") or (not media and body[:1] == b"{"):
        if query_questions:
            raise BadRequest("with a JSON body, put the questions in the JSON, not the URL")
        document, questions = _from_json(body)
    elif media.startswith("image/") or media in _RAW_TYPES or not media:
        document, questions = body, (list(query_questions) or None)
    else:
        raise UnsupportedDocument(
            f"unsupported Content-Type {media!r}: send application/json, image/* or application/pdf"
        )
    if questions is None:
        return Invocation(document, None)
    _check_questions(questions, limits)
    return Invocation(document, [str(question) for question in questions])


def _from_json(body: bytes) -> tuple[bytes, list[object] | None]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("request body must be a JSON object")
    if "image" in payload or "image_url" in payload:
        raise BadRequest(
            "the model server does not fetch URLs: send the file as base64 in 'document' "
            "(the deployed function URL accepts 'image' URLs)"
        )
    unknown = sorted(set(payload) - _JSON_KEYS)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, unknown))}")
    if "document" not in payload:
        raise BadRequest("missing 'document': the file's bytes as base64")
    encoded = payload["document"]
    if not isinstance(encoded, str):
        raise BadRequest("'document' must be a base64 string")
    if encoded.startswith("data:") and "," in encoded[:200]:
        header, encoded = encoded.split(",", 1)
        if not header.endswith(";base64"):
            raise BadRequest("'document' data URL must be base64-encoded")
    try:
        document = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'document' is not valid base64") from None
    if "question" in payload and "questions" in payload:
        raise BadRequest("send either 'question' or 'questions', not both")
    questions: object = payload.get("questions")
    if "question" in payload:
        questions = [payload["question"]]
    if questions is None:
        return document, None
    if not isinstance(questions, list):
        raise BadRequest("'questions' must be a list of strings")
    return document, list(questions)


def _check_questions(questions: list[object], limits: Limits) -> None:
    """The engine checks these too; checking here keeps a bad request out of a shared batch."""
    plan_queries(questions, limits)  # type: ignore[arg-type]  # raises BadRequest
