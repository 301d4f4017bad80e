"""Endpoint error mapping: real botocore against a local stub answering with the SageMaker
runtime's error shapes (x-amzn-ErrorType + JSON body)."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from _handler_support import PNG, SageMakerStub, StubReply, body_of, make_event

pytestmark = pytest.mark.server

EVENT = make_event(json_body={"document": base64.b64encode(PNG).decode()})
ACCOUNT = "123456789012"


def _model_error(status: int, original: str) -> dict[str, Any]:
    return {
        "Message": f'Received client error ({status}) from primary with message "{original}". '
        f"See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#"
        f"logEventViewer:group=/aws/sagemaker/Endpoints/x in account {ACCOUNT} for more "
        "information.",
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/x",
    }


def _serving_error(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (413, "document_too_large", "the PDF has 80 pages; the limit is 20"),
        (415, "unsupported_media_type", "not an image or PDF"),
        (422, "unreadable_document", "no text found on the page"),
        (400, "bad_request", "questions must be strings"),
    ],
)
def test_model_4xx_comes_back_as_that_4xx(
    make_handler: Callable[..., Any],
    sagemaker_stub: SageMakerStub,
    status: int,
    code: str,
    message: str,
) -> None:
    sagemaker_stub.error(424, "ModelError", _model_error(status, _serving_error(code, message)))
    response = make_handler()(EVENT, None)
    assert response["statusCode"] == status
    assert body_of(response)["error"] == {
        "code": code,
        "message": message,
        "request_id": "req-0001",
    }
    assert len(sagemaker_stub.requests) == 1  # ModelError is not retried


def test_model_4xx_with_a_plain_text_message(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    sagemaker_stub.error(424, "ModelError", _model_error(422, "cannot decode image"))
    response = make_handler()(EVENT, None)
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["code"] == "unreadable_document"
    assert body_of(response)["error"]["message"] == "cannot decode image"


def test_model_crash_is_502_with_the_model_message(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    original = _serving_error("internal_error", "CUDA out of memory")
    sagemaker_stub.error(424, "ModelError", _model_error(500, original))
    response = make_handler()(EVENT, None)
    assert response["statusCode"] == 502
    error = body_of(response)["error"]
    assert error["code"] == "model_error"
    assert "CUDA out of memory" in error["message"]
    assert ACCOUNT not in response["body"]


def test_model_loading_is_503_with_retry_after(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    # The container's code is kept only when the contract's table agrees on its status.
    original = _serving_error("model_loading", "the model is loading")
    sagemaker_stub.error(424, "ModelError", _model_error(503, original))
    response = make_handler()(EVENT, None)
    assert response["statusCode"] == 503
    assert body_of(response)["error"]["code"] == "model_not_ready"
    assert int(response["headers"]["retry-after"]) > 0


@pytest.mark.parametrize(
    ("status", "error_type", "payload", "headers", "expected", "code", "retry_after"),
    [
        (
            400,
            "ValidationError",
            {"Message": f"Endpoint receipts-endpoint of account {ACCOUNT} not found."},
            {},
            502,
            "endpoint_not_found",
            None,
        ),
        (
            400,
            "ValidationError",
            {"Message": "Endpoint receipts-endpoint is not InService (status: Creating)."},
            {},
            503,
            "endpoint_not_ready",
            "60",
        ),
        (
            400,
            "ValidationError",
            {"Message": "Request payload is too large."},
            {},
            413,
            "document_too_large",
            None,
        ),
        (400, "ThrottlingException", {"message": "Rate exceeded"}, {}, 429, "throttled", "5"),
        (
            429,
            "ModelNotReadyException",
            {"Message": "Model is not ready yet"},
            {},
            503,
            "model_not_ready",
            "30",
        ),
        (
            503,
            "ServiceUnavailable",
            {"Message": "Service unavailable"},
            {"Retry-After": "7"},
            503,
            "endpoint_unavailable",
            "7",
        ),
        (500, "InternalFailure", {"Message": "internal failure"}, {}, 502, "endpoint_error", None),
        (
            530,
            "InternalDependencyException",
            {"Message": "dependency failed"},
            {},
            502,
            "endpoint_error",
            None,
        ),
        (
            400,
            "AccessDeniedException",
            {"Message": "not authorized to InvokeEndpoint"},
            {},
            502,
            "endpoint_forbidden",
            None,
        ),
    ],
    ids=[
        "not-found",
        "not-in-service",
        "payload-too-large",
        "throttled",
        "model-not-ready",
        "unavailable",
        "internal-failure",
        "dependency",
        "access-denied",
    ],
)
def test_runtime_errors_are_mapped(
    make_handler: Callable[..., Any],
    sagemaker_stub: SageMakerStub,
    status: int,
    error_type: str,
    payload: dict[str, Any],
    headers: dict[str, str],
    expected: int,
    code: str,
    retry_after: str | None,
) -> None:
    sagemaker_stub.error(status, error_type, payload, headers)
    response = make_handler()(EVENT, None)
    assert response["statusCode"] == expected
    error = body_of(response)["error"]
    assert error["code"] == code
    assert ACCOUNT not in error["message"]
    assert response["headers"].get("retry-after") == retry_after
    # Two attempts at most (standard retry mode, max_attempts=2).
    assert 1 <= len(sagemaker_stub.requests) <= 2


def test_throttling_is_retried_once(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    sagemaker_stub.error(400, "ThrottlingException", {"message": "Rate exceeded"})
    assert make_handler()(EVENT, None)["statusCode"] == 429
    assert len(sagemaker_stub.requests) == 2


def test_slow_endpoint_is_504(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    sagemaker_stub.reply(StubReply(delay_s=5.0))
    response = make_handler(invoke_read_timeout_s=0.3)(EVENT, None)
    assert response["statusCode"] == 504
    assert body_of(response)["error"]["code"] == "endpoint_timeout"


def test_unreachable_endpoint_is_502(
    make_handler: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    response = make_handler(invoke_connect_timeout_s=1.0)(EVENT, None)
    assert response["statusCode"] == 502
    assert body_of(response)["error"]["code"] == "endpoint_unreachable"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe\x00"])
def test_non_json_result_is_502(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub, body: bytes
) -> None:
    sagemaker_stub.reply(StubReply(body=body))
    response = make_handler()(EVENT, None)
    assert response["statusCode"] == 502
    assert body_of(response)["error"]["code"] == "model_error"


def test_client_is_created_once_per_container(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    handler = make_handler()
    for _ in range(3):
        assert handler(EVENT, None)["statusCode"] == 200
    client = handler.invoker.client
    assert handler.invoker.client is client
    assert client.meta.endpoint_url == sagemaker_stub.url
    retries = client.meta.config.retries
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] == 2
    assert len(sagemaker_stub.requests) == 3


def _result_of(text: str) -> bytes:
    """A model result holding ``text`` where the web page's previews go (page_images)."""
    return json.dumps({"fields": {}, "page_images": [{"image": text}]}, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("A" * 6_400_000, 502),  # eight large previews: over the limit as it stands
        ('"\\' * 1_000_000, 502),  # 4 MB of JSON, 8 MB once its escapes are escaped again
        ("\x1f" * 1_000_000, 502),  # 6 MB of \u001f, 7 MB as \\u001f
        ("A" * 6_000_000, 200),  # just under, with the response around it
        ("\u20ac" * 1_500_000, 200),  # 4.5 MB of UTF-8: not escaped by the runtime
        ("\U0001f9fe" * 1_000_000, 200),  # 4 MB, outside the BMP
    ],
    ids=["ascii-over", "quotes-over", "controls-over", "ascii-under", "euro", "astral"],
)
def test_an_answer_lambda_cannot_return_is_a_json_502(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub, text: str, status: int
) -> None:
    """Past 6,291,556 serialised bytes Lambda drops the response and the function URL answers
    a bare 502 without a JSON body; the handler says so itself, and passes the rest whole."""
    import app

    result = _result_of(text)
    sagemaker_stub.reply(StubReply(body=result))
    response = make_handler()(EVENT, None)
    size = len(json.dumps(response, ensure_ascii=False).encode("utf-8"))
    assert response["statusCode"] == status
    assert size <= app.MAX_RESPONSE_BYTES
    if status == 200:
        assert response["body"].encode("utf-8") == result
    else:
        error = body_of(response)["error"]
        assert error["code"] == "model_error"
        assert "more than a function URL can return" in error["message"]
