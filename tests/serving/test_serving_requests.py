"""The server's side of request parsing (the contract's rules, ``expense_cli/contract.py``, are
tested in tests/test_contract.py) and the streamed body cap (no server needed)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest

from expense_cli.contract import ContractError, Limits
from expense_cli.serving._requests import parse_invocation, read_body

LIMITS = Limits(max_questions=3, max_question_chars=20)
DOC = b"\x89PNG\r\n\x1a\nnot really"


def as_json(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_json_document_and_questions() -> None:
    body = as_json({"document": base64.b64encode(DOC).decode(), "questions": ["total", "date"]})
    parsed = parse_invocation(body, "application/json; charset=utf-8", "", LIMITS)
    assert (parsed.document, parsed.questions) == (DOC, ["total", "date"])


def test_single_question_and_data_url() -> None:
    encoded = "data:image/png;base64," + base64.b64encode(DOC).decode()
    parsed = parse_invocation(as_json({"document": encoded, "question": "x"}), None, "", LIMITS)
    assert (parsed.document, parsed.questions) == (DOC, ["x"])


def test_base64_may_be_wrapped_over_lines() -> None:
    encoded = base64.encodebytes(DOC * 20).decode()
    assert "\n" in encoded
    parsed = parse_invocation(as_json({"document": encoded}), "application/json", "", LIMITS)
    assert parsed.document == DOC * 20
    assert parsed.questions is None


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/pdf", "application/octet-stream"]
)
def test_raw_body_takes_questions_from_the_query(content_type: str) -> None:
    parsed = parse_invocation(DOC, content_type, "question=total&question=what%3F", LIMITS)
    assert (parsed.document, parsed.questions) == (DOC, ["total", "what?"])
    assert parse_invocation(DOC, content_type, "", LIMITS).questions is None


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"", "application/json", "empty_body"),
        (b"{nope", "application/json", "invalid_json"),
        (b"[1, 2]", "application/json", "invalid_json"),
        (as_json({"questions": ["x"]}), "application/json", "missing_document"),
        (as_json({"document": 12}), "application/json", "invalid_document"),
        (as_json({"document": "%%%not base64%%%"}), "application/json", "invalid_base64"),
        (as_json({"document": "QUJD", "image": "https://x"}), "application/json",
         "ambiguous_source"),
        (as_json({"document": "QUJD", "color": "red"}), "application/json", "unknown_field"),
        (as_json({"document": "QUJD", "question": "a", "questions": ["b"]}), None,
         "invalid_question"),
        (as_json({"document": "QUJD", "questions": "total"}), None, "invalid_question"),
        (as_json({"document": "QUJD", "questions": ["a", "b", "c", "d"]}), None,
         "too_many_questions"),
        (as_json({"document": "QUJD", "questions": [1]}), None, "invalid_question"),
        (as_json({"document": "QUJD", "questions": ["  "]}), None, "invalid_question"),
        (as_json({"document": "QUJD", "questions": ["x" * 21]}), None, "question_too_long"),
        (as_json({"document": "QUJD"}), None, "unsupported_media_type"),
        (as_json({"image": "https://example.com/r.png"}), None, "url_not_supported"),
        (DOC, "text/csv", "unsupported_media_type"),
    ],
)  # fmt: skip
def test_bad_requests(body: bytes, content_type: str | None, code: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_invocation(body, content_type, "", LIMITS)
    assert caught.value.code == code
    assert caught.value.message


def test_url_questions_with_a_json_body_that_has_its_own_are_refused() -> None:
    document = base64.b64encode(DOC).decode()
    with pytest.raises(ContractError, match="not both"):
        body = as_json({"document": document, "question": "y"})
        parse_invocation(body, "application/json", "question=x", LIMITS)
    parsed = parse_invocation(as_json({"document": document}), None, "question=x", LIMITS)
    assert parsed.questions == ["x"]


async def _chunks(parts: list[bytes], seen: list[int]) -> AsyncIterator[bytes]:
    for part in parts:
        seen.append(len(part))
        yield part


def test_body_within_the_limit_is_read_whole() -> None:
    seen: list[int] = []
    body = asyncio.run(read_body("6", _chunks([b"abc", b"def"], seen), 6))
    assert body == b"abcdef"


def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    seen: list[int] = []
    with pytest.raises(ContractError, match="larger than"):
        asyncio.run(read_body("1000", _chunks([b"x" * 1000], seen), 999))
    assert seen == []


def test_streamed_bytes_over_the_limit_stop_the_read() -> None:
    seen: list[int] = []
    parts = [b"x" * 100] * 50
    with pytest.raises(ContractError, match="larger than"):
        asyncio.run(read_body(None, _chunks(parts, seen), 250))
    assert len(seen) == 3  # stopped at the chunk that crossed the limit


def test_bad_content_length_is_a_bad_request() -> None:
    with pytest.raises(ContractError) as caught:
        asyncio.run(read_body("lots", _chunks([], []), 10))
    assert caught.value.status == 400
