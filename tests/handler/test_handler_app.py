"""The entry point: token auth, the structured log line, configuration and unexpected errors."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import _auth
import app
import pytest
from _config import ConfigError, Settings
from _handler_support import PNG, RESULT, SageMakerStub, body_of, make_event

B64 = base64.b64encode(PNG).decode()
TOKEN = "s3cret-Token_with.symbols~"


class Loader:
    """A token source that counts loads (stands in for SSM in unit tests)."""

    def __init__(self, value: str = TOKEN) -> None:
        self.value = value
        self.loads = 0

    def __call__(self) -> str:
        self.loads += 1
        return self.value


def _event(authorization: str | None = None, **kwargs: Any) -> dict[str, Any]:
    headers = {"authorization": authorization} if authorization is not None else {}
    return make_event(json_body=kwargs or {"document": B64}, headers=headers)


@pytest.fixture
def token_handler(make_handler: Callable[..., Any]) -> Callable[[Loader], app.Handler]:
    def make(loader: Loader) -> app.Handler:
        return make_handler(
            auth_mode="token",
            token_parameter="/expense/token",
            authenticator=_auth.TokenAuthenticator(loader),
        )

    return make


@pytest.mark.server
@pytest.mark.parametrize(
    ("authorization", "status", "code"),
    [
        (None, 401, "unauthorized"),
        ("", 401, "unauthorized"),
        ("Bearer", 401, "unauthorized"),
        ("Bearer   ", 401, "unauthorized"),
        (f"Basic {TOKEN}", 401, "unauthorized"),
        (TOKEN, 401, "unauthorized"),
        ("Bearer wrong", 403, "forbidden"),
        (f"Bearer {TOKEN}x", 403, "forbidden"),
        (f"Bearer {TOKEN[:-1]}", 403, "forbidden"),
        ("Bearer t\u00f6ken", 403, "forbidden"),
        # Lone surrogates (a hand-made event can carry them): a wrong token, not a 500.
        ("Bearer \ud800", 403, "forbidden"),
        (f"Bearer {TOKEN}\udcff", 403, "forbidden"),
        (f"Bearer \udfff{TOKEN}", 403, "forbidden"),
        ("Bearer \U0001f511", 403, "forbidden"),
        (f"Bearer\t{TOKEN}", 401, "unauthorized"),
        (f"Bearer {TOKEN}, Bearer {TOKEN}", 403, "forbidden"),  # a repeated header, joined
        (f"Bearer {TOKEN}", 200, None),
        (f"bearer   {TOKEN} ", 200, None),
    ],
)
def test_token_mode(
    token_handler: Callable[[Loader], app.Handler],
    sagemaker_stub: SageMakerStub,
    authorization: str | None,
    status: int,
    code: str | None,
) -> None:
    response = token_handler(Loader())(_event(authorization), None)
    assert response["statusCode"] == status
    if code is None:
        assert body_of(response) == RESULT
        assert len(sagemaker_stub.requests) == 1
        return
    assert body_of(response)["error"]["code"] == code
    assert sagemaker_stub.requests == []
    if status == 401:
        assert response["headers"]["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response["body"]


@pytest.mark.server
def test_auth_is_checked_before_the_body(
    token_handler: Callable[[Loader], app.Handler],
) -> None:
    response = token_handler(Loader())(make_event("{not json"), None)
    assert response["statusCode"] == 401


@pytest.mark.server
def test_empty_stored_token_admits_nobody(token_handler: Callable[[Loader], app.Handler]) -> None:
    handler = token_handler(Loader(" "))
    assert handler(_event("Bearer  "), None)["statusCode"] == 401
    assert handler(_event("Bearer x"), None)["statusCode"] == 403


@pytest.mark.server
@pytest.mark.parametrize("stored", ["\U0001f511-k\u00eby", "\ud83d\udd11 split pair", "\ud800"])
def test_stored_tokens_outside_the_bmp(
    token_handler: Callable[[Loader], app.Handler], stored: str
) -> None:
    """A token with astral characters (or surrogates, as a JSON-escaped SSM value could hold)
    is admitted exactly, and nothing else is."""
    handler = token_handler(Loader(stored))
    assert handler(_event(f"Bearer {stored}"), None)["statusCode"] == 200
    assert handler(_event(f"Bearer {stored}x"), None)["statusCode"] == 403
    assert handler(_event("Bearer \ud800\ud800"), None)["statusCode"] == 403


@pytest.mark.server
def test_token_store_failure_is_503(token_handler: Callable[[Loader], app.Handler]) -> None:
    class Broken(Loader):
        def __call__(self) -> str:
            raise RuntimeError("ssm down")

    response = token_handler(Broken())(_event(f"Bearer {TOKEN}"), None)
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == "5"
    assert "ssm down" not in response["body"]


def test_token_is_cached_for_a_minute() -> None:
    now = [1000.0]
    loader = Loader()
    auth = _auth.TokenAuthenticator(loader, clock=lambda: now[0])
    for _ in range(5):
        auth.check({"authorization": f"Bearer {TOKEN}"})
    assert loader.loads == 1
    loader.value = "rotated"
    now[0] += 59.0
    with pytest.raises(Exception, match="not valid"):
        auth.check({"authorization": "Bearer rotated"})
    assert loader.loads == 1
    now[0] += 1.0
    auth.check({"authorization": "Bearer rotated"})
    assert loader.loads == 2


@pytest.fixture
def moto_ssm(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", url)
        yield url
    finally:
        server.stop()
        if server._server is not None:
            server._server.server_close()


@pytest.mark.aws
@pytest.mark.server
def test_token_is_read_from_ssm_securestring(
    moto_ssm: str, make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    import boto3

    boto3.client("ssm").put_parameter(Name="/expense/token", Value=TOKEN, Type="SecureString")
    settings = Settings(
        endpoint_name="receipts-endpoint", auth_mode="token", token_parameter="/expense/token"
    )
    handler = app.Handler(settings, invoker=make_handler().invoker)
    assert handler(_event(f"Bearer {TOKEN}"), None)["statusCode"] == 200
    assert handler(_event("Bearer nope"), None)["statusCode"] == 403
    missing = app.Handler(
        Settings(endpoint_name="e", auth_mode="token", token_parameter="/expense/missing"),
        invoker=make_handler().invoker,
    )
    response = missing(_event(f"Bearer {TOKEN}"), None)
    assert response["statusCode"] == 503
    assert len(sagemaker_stub.requests) == 1


# ---------------------------------------------------------------------------- logging


def _log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "expense.handler" and r.getMessage().startswith("{")
    ]


@pytest.mark.server
def test_one_structured_log_line_per_request_without_secrets(
    make_handler: Callable[..., Any],
    doc_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from _handler_support import FakeResolver, Route, local_policy

    doc_server.routes["/r.png"] = Route()
    policy = local_policy(
        FakeResolver({"files.test": ["127.0.0.1"]}), [doc_server.port], allow_http=True
    )
    handler = make_handler(
        auth_mode="token",
        token_parameter="/p",
        fetch_policy=policy,
        authenticator=_auth.TokenAuthenticator(Loader()),
    )
    url = doc_server.url("/r.png?X-Amz-Signature=abcdef123", host="files.test")
    caplog.set_level(logging.INFO, logger="expense.handler")
    events = [
        _event(f"Bearer {TOKEN}", image=url, questions=["What is the secret total?"]),
        _event(f"Bearer {TOKEN}", document=B64),
        _event("Bearer wrong-token-value", document=B64),
    ]
    statuses = [handler(event, None)["statusCode"] for event in events]
    assert statuses == [200, 200, 403]
    lines = _log_lines(caplog)
    assert len(lines) == 3
    first, second, third = lines
    assert first["request_id"] == "req-0001"
    assert (first["status"], first["code"], first["source"], first["n_questions"]) == (
        200,
        "ok",
        "url",
        1,
    )
    assert first["host"] == "files.test"
    assert first["doc_bytes"] == len(PNG)
    assert {"ms_total", "ms_fetch", "ms_invoke", "bytes_in"} <= set(first)
    assert (second["source"], second["n_questions"], second["code"]) == ("document", 0, "ok")
    assert (third["status"], third["code"]) == (403, "forbidden")
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (
        TOKEN,
        "wrong-token-value",
        "X-Amz-Signature",
        "abcdef123",
        "/r.png",
        B64[:40],
        "secret total",
    ):
        assert secret not in text


# ---------------------------------------------------------------------------- failures


@pytest.mark.server
def test_unexpected_exception_is_500_with_request_id(
    make_handler: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    handler = make_handler()

    def explode(payload: bytes) -> bytes:
        raise KeyError("internal detail 42")

    handler.invoker.invoke = explode  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="expense.handler")
    response = handler(_event(), type("Ctx", (), {"aws_request_id": "lambda-req-9"})())
    assert response["statusCode"] == 500
    error = body_of(response)["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == "lambda-req-9"
    assert "lambda-req-9" in error["message"]
    assert "internal detail" not in response["body"] and "Traceback" not in response["body"]
    assert response["headers"]["x-request-id"] == "lambda-req-9"
    assert any(r.exc_info for r in caplog.records)  # the stack trace goes to the log only


@pytest.mark.server
def test_lambda_handler_reads_its_environment(
    aws_env: None, sagemaker_stub: SageMakerStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", sagemaker_stub.url)
    monkeypatch.setenv("ENDPOINT_NAME", "from-env")
    monkeypatch.setenv("AUTH_MODE", "iam")
    monkeypatch.setenv("MAX_QUESTIONS", "1")
    response = app.lambda_handler(_event(document=B64, questions=["a?"]), None)
    assert response["statusCode"] == 200
    assert sagemaker_stub.requests[0]["path"] == "/endpoints/from-env/invocations"
    assert (
        app.lambda_handler(_event(document=B64, questions=["a?", "b?"]), None)["statusCode"] == 400
    )


def test_lambda_handler_misconfigured_is_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENDPOINT_NAME", raising=False)
    response = app.lambda_handler(_event(), None)
    assert response["statusCode"] == 500
    assert body_of(response)["error"]["code"] == "internal_error"
    assert "ENDPOINT_NAME" not in response["body"]


def test_settings_defaults() -> None:
    settings = Settings.from_env({"ENDPOINT_NAME": "ep"})
    assert (settings.auth_mode, settings.max_body_bytes, settings.max_document_bytes) == (
        "iam",
        6_000_000,
        4_400_000,
    )
    assert (settings.fetch_timeout_s, settings.allow_http_urls) == (10.0, False)
    assert (settings.max_questions, settings.max_question_chars) == (20, 200)
    on = Settings.from_env(
        {
            "ENDPOINT_NAME": "ep",
            "ALLOW_HTTP_URLS": "True",
            "AUTH_MODE": "token",
            "TOKEN_PARAMETER": "/p",
            "LOG_LEVEL": "debug",
        }
    )
    assert (on.allow_http_urls, on.auth_mode, on.token_parameter, on.log_level) == (
        True,
        "token",
        "/p",
        "DEBUG",
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"ENDPOINT_NAME": "ep", "AUTH_MODE": "none"},
        {"ENDPOINT_NAME": "ep", "AUTH_MODE": "token"},
        {"ENDPOINT_NAME": "ep", "MAX_BODY_BYTES": "6MB"},
        {"ENDPOINT_NAME": "ep", "MAX_QUESTIONS": "0"},
        {"ENDPOINT_NAME": "ep", "FETCH_TIMEOUT_S": "-1"},
        {"ENDPOINT_NAME": "ep", "FETCH_TIMEOUT_S": "nan"},
        {"ENDPOINT_NAME": "ep", "ALLOW_HTTP_URLS": "maybe"},
        {"ENDPOINT_NAME": "ep", "LOG_LEVEL": "loud"},
    ],
)
def test_invalid_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


@pytest.mark.server
def test_too_little_lambda_time_left_is_504_without_invoking(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    class Context:
        aws_request_id = "lambda-req-1"

        def __init__(self, remaining_ms: int) -> None:
            self.remaining_ms = remaining_ms

        def get_remaining_time_in_millis(self) -> int:
            return self.remaining_ms

    handler = make_handler()
    response = handler(_event(), Context(400))
    assert response["statusCode"] == 504
    assert sagemaker_stub.requests == []
    assert handler(_event(), Context(30_000))["statusCode"] == 200
    assert len(sagemaker_stub.requests) == 1


def test_get_serves_the_web_page_and_nothing_else(
    make_handler: Callable[..., Any], sagemaker_stub: SageMakerStub
) -> None:
    """GET is the web page (public, like the URL: it holds no secret); POST is the API."""
    handler = make_handler()
    page = handler(make_event(method="GET", content_type=None), None)
    assert page["statusCode"] == 200
    assert page["headers"]["content-type"].startswith("text/html")
    assert "default-src 'none'" in page["headers"]["content-security-policy"]
    assert "<html" in page["body"]
    for path, kind in (("/static/app.js", "text/javascript"), ("/static/app.css", "text/css")):
        asset = handler({**make_event(method="GET", content_type=None), "rawPath": path}, None)
        assert (asset["statusCode"], asset["headers"]["content-type"].split(";")[0]) == (200, kind)
    config = handler(
        {**make_event(method="GET", content_type=None), "rawPath": "/config.json"}, None
    )
    assert json.loads(config["body"]) == {  # the page refuses a file over the limits itself
        "auth": "iam",
        "fetches_urls": True,
        "max_document_bytes": handler.settings.max_document_bytes,
        "max_body_bytes": handler.settings.max_body_bytes,
    }
    small = make_handler(max_document_bytes=1000, max_body_bytes=2000)
    config = small({**make_event(method="GET", content_type=None), "rawPath": "/config.json"}, None)
    assert json.loads(config["body"])["max_document_bytes"] == 1000
    for path in ("/static/../app.py", "/app.py", "/static/", "/invocations"):
        missing = handler({**make_event(method="GET", content_type=None), "rawPath": path}, None)
        assert missing["statusCode"] == 404, path
        assert body_of(missing)["error"]["code"] == "not_found"
    assert sagemaker_stub.requests == []  # the page never reaches the endpoint
