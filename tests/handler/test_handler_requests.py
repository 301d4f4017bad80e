"""Request validation: a corpus of bad requests (right 4xx, JSON error, nothing forwarded) and
the accepted shapes (what reaches the endpoint), through real botocore to a local stub."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from _handler_support import PDF, PNG, RESULT, STUB_ENDPOINT, SageMakerStub, body_of, make_event

B64 = base64.b64encode(PNG).decode()


def _json(**fields: Any) -> dict[str, Any]:
    return make_event(json_body=fields)


# (id, event, settings overrides, expected status, expected code)
BAD_REQUESTS: list[tuple[str, dict[str, Any], dict[str, Any], int, str]] = [
    ("put", make_event(json_body={"document": B64}, method="PUT"), {}, 405, "method_not_allowed"),
    ("delete", make_event(method="DELETE"), {}, 405, "method_not_allowed"),
    ("no-method", {"body": "{}"}, {}, 405, "method_not_allowed"),
    ("no-body", make_event(None), {}, 400, "empty_body"),
    ("empty-body", make_event(""), {}, 400, "empty_body"),
    ("blank-body", make_event("  \n "), {}, 400, "empty_body"),
    ("truncated-json", make_event('{"document": "'), {}, 400, "invalid_json"),
    ("not-json", make_event("document=abc"), {}, 400, "invalid_json"),
    ("json-null", make_event("null"), {}, 400, "invalid_json"),
    ("json-list", make_event("[]"), {}, 400, "invalid_json"),
    ("json-string", make_event('"https://example.com/r.png"'), {}, 400, "invalid_json"),
    ("json-number", make_event("42"), {}, 400, "invalid_json"),
    ("json-nan", make_event('{"document": NaN}'), {}, 400, "invalid_json"),
    ("json-deep", make_event("[" * 100_000 + "]" * 100_000), {}, 400, "invalid_json"),
    (
        "duplicate-key",
        make_event('{"image": "https://a.test/x", "image": "https://b.test/y"}'),
        {},
        400,
        "invalid_json",
    ),
    ("empty-object", _json(), {}, 400, "missing_document"),
    ("questions-only", _json(question="total?"), {}, 400, "missing_document"),
    ("image-number", _json(image=123), {}, 400, "invalid_image"),
    ("image-empty", _json(image=""), {}, 400, "invalid_image"),
    ("image-list", _json(image=["https://a.test/r.png"]), {}, 400, "invalid_image"),
    ("image-too-long", _json(image="https://a.test/" + "x" * 3000), {}, 400, "invalid_image"),
    ("document-number", _json(document=5), {}, 400, "invalid_document"),
    ("document-object", _json(document={"b64": B64}), {}, 400, "invalid_document"),
    ("document-empty", _json(document=""), {}, 400, "empty_document"),
    ("document-bad-base64", _json(document="!!not*base64$$"), {}, 400, "invalid_base64"),
    ("document-empty-after-decode", _json(document="===="), {}, 400, "invalid_base64"),
    (
        "document-not-image",
        _json(document=base64.b64encode(b"hello world").decode()),
        {},
        415,
        "unsupported_media_type",
    ),
    (
        "document-html",
        _json(document=base64.b64encode(b"<html><body/></html>").decode()),
        {},
        415,
        "unsupported_media_type",
    ),
    (
        "image-and-document",
        _json(image="https://a.test/r.png", document=B64),
        {},
        400,
        "ambiguous_source",
    ),
    ("typo-field", _json(imgae="https://a.test/r.png"), {}, 400, "unknown_field"),
    ("extra-field", _json(document=B64, model="gpt"), {}, 400, "unknown_field"),
    ("question-number", _json(document=B64, question=5), {}, 400, "invalid_question"),
    ("question-null", _json(document=B64, question=None), {}, 400, "invalid_question"),
    ("questions-string", _json(document=B64, questions="total?"), {}, 400, "invalid_question"),
    ("questions-numbers", _json(document=B64, questions=[1, 2]), {}, 400, "invalid_question"),
    ("question-blank", _json(document=B64, questions=["  "]), {}, 400, "invalid_question"),
    ("question-control", _json(document=B64, question="total\x00?"), {}, 400, "invalid_question"),
    (
        "too-many-questions",
        _json(document=B64, questions=["q?"] * 21),
        {},
        400,
        "too_many_questions",
    ),
    ("question-too-long", _json(document=B64, question="x" * 201), {}, 400, "question_too_long"),
    (
        "question-and-questions",
        _json(document=B64, question="a?", questions=["b?"]),
        {},
        400,
        "invalid_question",
    ),
    (
        "questions-body-and-query",
        make_event(json_body={"document": B64, "question": "a?"}, query="question=b%3F"),
        {},
        400,
        "invalid_question",
    ),
    (
        "unknown-query",
        make_event(json_body={"document": B64}, query="qestion=total"),
        {},
        400,
        "unknown_parameter",
    ),
    (
        "html-content-type",
        make_event(json_body={"document": B64}, content_type="text/html"),
        {},
        415,
        "unsupported_media_type",
    ),
    (
        "xml-content-type",
        make_event("<doc/>", content_type="application/xml"),
        {},
        415,
        "unsupported_media_type",
    ),
    ("raw-empty", make_event(b"", content_type="image/png"), {}, 400, "empty_body"),
    (
        "raw-not-image",
        make_event(b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/svg+xml"),
        {},
        415,
        "unsupported_media_type",
    ),
    (
        "raw-bad-base64",
        make_event("@@@@", content_type="image/png", base64_encoded=True),
        {},
        400,
        "invalid_base64",
    ),
    (
        "raw-too-many-questions",
        make_event(PNG, content_type="image/png", query="&".join(["question=q"] * 21)),
        {},
        400,
        "too_many_questions",
    ),
    (
        "json-not-utf8",
        make_event(b"\xff\xfe{\x00}\x00", content_type="application/json"),
        {},
        400,
        "invalid_json",
    ),
    ("body-not-string", {**make_event("{}"), "body": 12345}, {}, 400, "invalid_event"),
    (
        "huge-body",
        make_event(json_body={"document": B64 * 4}),
        {"max_body_bytes": 2000},
        413,
        "body_too_large",
    ),
    (
        "huge-raw-body",
        make_event(PNG * 4, content_type="image/png"),
        {"max_body_bytes": 2000},
        413,
        "body_too_large",
    ),
    ("huge-document", _json(document=B64), {"max_document_bytes": 500}, 413, "document_too_large"),
    (
        "huge-raw-document",
        make_event(PNG, content_type="image/png"),
        {"max_document_bytes": 500},
        413,
        "document_too_large",
    ),
    (
        "payload-over-endpoint-limit",
        _json(document=B64),
        {"max_payload_bytes": 1000},
        413,
        "document_too_large",
    ),
    (
        "url-metadata",
        _json(image="https://169.254.169.254/latest/meta-data/"),
        {},
        400,
        "url_refused",
    ),
    ("url-decimal-metadata", _json(image="https://2852039166/"), {}, 400, "url_refused"),
    ("url-ftp", _json(image="ftp://a.test/r.png"), {}, 400, "url_refused"),
    ("url-http-disabled", _json(image="http://a.test/r.png"), {}, 400, "url_refused"),
    ("url-credentials", _json(image="https://u:p@a.test/r.png"), {}, 400, "url_refused"),
    ("url-lone-surrogate", _json(image="https://a.test/r\ud800.png"), {}, 400, "url_refused"),
]


def test_bad_request_corpus_is_large_enough() -> None:
    assert len(BAD_REQUESTS) >= 30


@pytest.mark.server
@pytest.mark.parametrize(
    ("event", "settings", "status", "code"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_json_4xx_and_nothing_is_forwarded(
    make_handler: Callable[..., Any],
    sagemaker_stub: SageMakerStub,
    no_dial: list[Any],
    event: dict[str, Any],
    settings: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = make_handler(**settings)(event, None)
    assert response["statusCode"] == status
    assert response["headers"]["content-type"] == "application/json"
    error = body_of(response)["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response["body"]
    assert sagemaker_stub.requests == []
    assert no_dial == []
    if status == 405:
        assert response["headers"]["allow"] == "GET, POST"
    if status == 413:
        assert "split" in error["message"] or "Shrink" in error["message"]


def _forwarded(stub: SageMakerStub) -> dict[str, Any]:
    assert len(stub.requests) == 1
    request = stub.requests[0]
    assert request["path"] == f"/endpoints/{STUB_ENDPOINT}/invocations"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    message = json.loads(request["body"])
    assert isinstance(message, dict)
    return message


@pytest.mark.server
@pytest.mark.parametrize(
    ("event", "document", "questions"),
    [
        (_json(document=B64), PNG, None),
        (_json(document=B64, question=" What is  the total? "), PNG, ["What is the total?"]),
        (_json(document=B64, questions=["Merchant?", "Date?"]), PNG, ["Merchant?", "Date?"]),
        (_json(document=B64, questions=[]), PNG, None),
        (_json(document="data:image/png;base64," + "\n".join([B64[:76], B64[76:]])), PNG, None),
        (_json(document=base64.urlsafe_b64encode(PDF).decode().rstrip("=")), PDF, None),
        (make_event(PNG, content_type="image/png"), PNG, None),
        (
            make_event(
                PDF,
                content_type="application/pdf",
                query="question=Total%2C+incl.+tax%3F&question=Date%3F",
            ),
            PDF,
            ["Total, incl. tax?", "Date?"],
        ),
        (make_event(PNG, content_type="application/octet-stream"), PNG, None),
        (
            make_event(
                json.dumps({"document": B64}), content_type="application/x-www-form-urlencoded"
            ),
            PNG,
            None,
        ),
        (make_event(json.dumps({"document": B64}), content_type=None), PNG, None),
        (
            make_event(
                json.dumps({"document": B64}).encode(),
                content_type="application/json; charset=utf-8",
            ),
            PNG,
            None,
        ),
        (make_event(json_body={"document": B64}, query="question=Total%3F"), PNG, ["Total?"]),
    ],
    ids=[
        "base64",
        "question",
        "questions",
        "empty-questions",
        "data-url-wrapped",
        "urlsafe-pdf",
        "raw-png",
        "raw-pdf-query",
        "raw-octet",
        "curl-form",
        "no-content-type",
        "json-base64-encoded",
        "json-query-question",
    ],
)
def test_accepted_requests_are_forwarded(
    make_handler: Callable[..., Any],
    sagemaker_stub: SageMakerStub,
    event: dict[str, Any],
    document: bytes,
    questions: list[str] | None,
) -> None:
    response = make_handler()(event, None)
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response) == RESULT
    message = _forwarded(sagemaker_stub)
    assert base64.b64decode(message["document"], validate=True) == document
    assert message.get("questions") == questions
    assert set(message) <= {"document", "questions"}
    assert response["headers"]["x-request-id"] == "req-0001"


@pytest.mark.server
def test_url_source_is_fetched_and_forwarded(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub, doc_server: Any
) -> None:
    from _handler_support import FakeResolver, Route, local_policy

    doc_server.routes["/receipt.pdf"] = Route(body=PDF, content_type="application/pdf")
    policy = local_policy(
        FakeResolver({"files.test": ["127.0.0.1"]}), [doc_server.port], allow_http=True
    )
    event = _json(
        image=doc_server.url("/receipt.pdf?X-Amz-Signature=secret", host="files.test"),
        question="Total?",
    )
    response = make_handler(fetch_policy=policy)(event, None)
    assert response["statusCode"] == 200, response["body"]
    message = _forwarded(sagemaker_stub)
    assert base64.b64decode(message["document"]) == PDF
    assert message["questions"] == ["Total?"]
