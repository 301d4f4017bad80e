"""Fault injection against the local stack, each followed by proof of recovery.

* Server (the real app on uvicorn, 127.0.0.1, tiny planted engine): a model that raises → 500 JSON;
  a model slower than the request time limit → 504; each time ``/ping`` is 200 and the next good
  request answers correctly.
* Lambda handler (real botocore against a local SageMaker-runtime stub): endpoint 5xx, model
  errors, throttling (retried once), unavailability, timeouts, garbage replies → the documented
  status; the same handler instance serves the next request correctly after each fault.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from expense_cli.engine import Document, Engine, EngineConfig, Result
from expense_cli.serving import Settings, create_app
from tests._servers import running_server
from tests.hardening.conftest import MERCHANT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))

from _handler_support import (
    PNG,
    RESULT,
    SageMakerStub,
    StubReply,
    body_of,
    make_event,
    serve_sagemaker_stub,
)

# --------------------------------------------------------------------------- the model server


@dataclass
class FaultyEngine:
    """The real engine, with a fault switched on per request: ``fail`` raises from ``answer``,
    ``slow`` holds ``answer`` until ``release`` is set (bounded)."""

    inner: Engine
    fail: bool = False
    slow: bool = False
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def config(self) -> EngineConfig:
        return self.inner.config

    def prepare(self, data: bytes) -> Document:
        return self.inner.prepare(data)

    def answer(self, requests: Sequence[tuple[Document, Sequence[str] | None]]) -> list[Result]:
        if self.fail:
            raise RuntimeError("injected: the model blew up")
        if self.slow:
            self.release.wait(20)
        return self.inner.answer(requests)


@pytest.fixture(scope="module")
def faulty(engine: Engine) -> FaultyEngine:
    return FaultyEngine(engine)


@pytest.fixture(scope="module")
def server_url(faulty: FaultyEngine) -> Iterator[str]:
    settings = Settings(request_timeout_s=2.0)
    with running_server(create_app(settings, engine=faulty)) as url:
        yield url


def _good(client: httpx.Client, png: bytes) -> httpx.Response:
    return client.post(
        "/invocations",
        json={"document": base64.b64encode(png).decode(), "questions": ["merchant"]},
    )


def _recovered(client: httpx.Client, png: bytes) -> None:
    assert client.get("/ping").status_code == 200
    response = _good(client, png)
    assert response.status_code == 200, response.text
    assert response.json()["fields"]["merchant"]["answer"] == MERCHANT


@pytest.mark.server
@pytest.mark.model
@pytest.mark.ocr
@pytest.mark.timeout(120)
def test_a_model_that_raises_is_a_500_json_and_the_server_recovers(
    server_url: str, faulty: FaultyEngine, tiny_receipt_png: bytes
) -> None:
    with httpx.Client(base_url=server_url, timeout=30) as client:
        _recovered(client, tiny_receipt_png)
        faulty.fail = True
        try:
            for _ in range(3):
                response = _good(client, tiny_receipt_png)
                assert response.status_code == 500
                assert response.json()["error"] == {
                    "code": "internal_error",
                    "message": "internal server error",
                }
                assert "injected" not in response.text  # no exception text leaks out
        finally:
            faulty.fail = False
        _recovered(client, tiny_receipt_png)


@pytest.mark.server
@pytest.mark.model
@pytest.mark.ocr
@pytest.mark.timeout(120)
def test_a_slow_model_is_a_504_at_the_time_limit_and_the_server_recovers(
    server_url: str, faulty: FaultyEngine, tiny_receipt_png: bytes
) -> None:
    with httpx.Client(base_url=server_url, timeout=30) as client:
        faulty.release.clear()
        faulty.slow = True
        try:
            response = _good(client, tiny_receipt_png)
            assert response.status_code == 504
            assert response.json()["error"]["code"] == "timeout"
            assert client.get("/ping").status_code == 200  # the event loop is not blocked
        finally:
            faulty.slow = False
            faulty.release.set()
        _recovered(client, tiny_receipt_png)


# --------------------------------------------------------------------------- the Lambda handler

EVENT = make_event(json_body={"document": base64.b64encode(PNG).decode(), "question": "total"})


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SageMakerStub]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with serve_sagemaker_stub() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
        yield server


def _model_error(status: int, code: str) -> dict[str, Any]:
    original = json.dumps({"error": {"code": code, "message": f"injected {status}"}})
    return {
        "Message": f'Received server error ({status}) from primary with message "{original}".',
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": "",
    }


FAULTS: list[tuple[str, Any, int, str, int]] = [
    # name, how the stub answers, handler status, error code, endpoint calls (retries included)
    ("model-500", (424, "ModelError", _model_error(500, "internal_error")), 502, "model_error", 1),
    ("model-504", (424, "ModelError", _model_error(504, "timeout")), 504, "timeout", 1),
    ("model-429", (424, "ModelError", _model_error(429, "throttled")), 429, "throttled", 1),
    ("throttled", (400, "ThrottlingException", {"message": "Rate exceeded"}), 429, "throttled", 2),
    ("unavailable", (503, "ServiceUnavailable", {"Message": "down"}), 503,
     "endpoint_unavailable", 2),
    ("internal", (500, "InternalFailure", {"Message": "boom"}), 502, "endpoint_error", 2),
    ("not-ready", (429, "ModelNotReadyException", {"Message": "loading"}), 503,
     "model_not_ready", 1),
    ("garbage", StubReply(body=b"<html>oops</html>"), 502, "model_error", 1),
    ("slow", StubReply(delay_s=3.0), 504, "endpoint_timeout", 2),
]  # fmt: skip


@pytest.mark.server
@pytest.mark.timeout(120)
def test_the_handler_serves_the_next_request_after_each_fault(stub: SageMakerStub) -> None:
    import app  # handler/ is on sys.path (see _handler_support)
    from _config import Settings as HandlerSettings
    from _endpoint import EndpointInvoker

    settings = HandlerSettings(endpoint_name="fault-endpoint", invoke_read_timeout_s=0.5)
    handler = app.Handler(
        settings,
        invoker=EndpointInvoker(settings.endpoint_name, read_timeout=0.5, connect_timeout=1.0),
    )
    outcomes = []
    for name, fault, status, _code, _calls in FAULTS:
        stub.requests.clear()
        if isinstance(fault, StubReply):
            stub.reply(fault)
        else:
            stub.error(*fault)
        response = handler(EVENT, None)
        error = body_of(response)["error"]
        outcomes.append((name, response["statusCode"], error["code"], len(stub.requests)))
        if status in (429, 503):
            assert int(response["headers"]["retry-after"]) > 0, name
        # the same handler (same boto3 client) serves the next, good request
        stub.requests.clear()
        stub.reply(StubReply())
        good = handler(EVENT, None)
        assert good["statusCode"] == 200, (name, good)
        assert body_of(good) == RESULT
        assert len(stub.requests) == 1
        forwarded = json.loads(stub.requests[0]["body"])
        assert base64.b64decode(forwarded["document"]) == PNG
        assert forwarded["questions"] == ["total"]
    assert outcomes == [(n, s, c, k) for n, _, s, c, k in FAULTS]
