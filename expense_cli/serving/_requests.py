"""Request bodies → (document bytes, questions), with the size cap enforced while reading.

The rules are the wire contract's (``expense_cli/contract.py``), the same code the Lambda handler
runs: JSON ``{"document": "<base64>", "questions": [...]}`` (or ``"question"``), or the raw
document with its ``Content-Type`` and ``?question=...`` repeated. The one difference is by
design: the model server never fetches URLs, so ``{"image": "https://..."}`` is answered 400
``url_not_supported`` (the deployed function URL fetches them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from ..contract import ContractError, Limits, body_too_large, parse_request
from ..engine._config import Limits as EngineLimits

__all__ = ["Invocation", "check_encoding", "parse_invocation", "read_body", "request_limits"]


@dataclass(frozen=True)
class Invocation:
    document: bytes
    questions: list[str] | None
    page_images: bool = False


def request_limits(engine: EngineLimits, body_limit: int) -> Limits:
    """The contract's limits of one request to a server whose engine has ``engine`` limits."""
    return Limits(
        max_body_bytes=body_limit,
        max_document_bytes=engine.max_bytes,
        max_questions=engine.max_questions,
        max_question_chars=engine.max_question_chars,
    )


def check_encoding(content_encodings: Sequence[str]) -> None:
    """Refuse (415) a body sent with a ``Content-Encoding`` (any header of that name) other than
    ``identity``, before it is read: bodies are taken as they come (never inflated, so no
    decompression bombs), and a gzipped JSON or image must not be answered as invalid JSON or
    an unknown file type."""
    codings = [c.strip().lower() for c in ",".join(content_encodings).split(",") if c.strip()]
    unsupported = [c for c in codings if c != "identity"]
    if unsupported:
        raise ContractError(
            "unsupported_media_type",
            f"Content-Encoding {', '.join(unsupported)[:60]!r} is not supported; "
            "send the body uncompressed",
        )


async def read_body(content_length: str | None, chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, refusing (413) from ``Content-Length`` before reading, or as soon as the
    streamed bytes pass ``limit``."""
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise ContractError("bad_request", "invalid Content-Length header") from None
        if declared > limit:
            raise body_too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def parse_invocation(
    body: bytes, content_type: str | None, query: str, limits: Limits
) -> Invocation:
    """Decode one invocation; raises :class:`ContractError` (400/413/415) for bad requests."""
    parsed = parse_request(body, content_type, query, limits)
    if parsed.source == "url":
        raise ContractError(
            "url_not_supported",
            "the model server does not fetch URLs: send the file as base64 in 'document' "
            "(the deployed function URL accepts 'image' URLs)",
        )
    return Invocation(parsed.document(), list(parsed.questions) or None, parsed.page_images)
