"""End to end: function URL event → handler → real botocore → the local serving app (the same
app the container runs, on 127.0.0.1, tiny planted model + real tesseract) → JSON fields back."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import app
import httpx
import pytest
from _config import Settings as HandlerSettings
from _handler_support import FakeResolver, Route, body_of, local_policy, make_event

from expense_cli.engine import Engine
from expense_cli.serving import Settings, create_app
from tests._servers import running_server

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.ocr]

QUESTION = "What is the merchant name?"


@pytest.fixture(scope="module")
def serving_url(engine: Engine) -> Iterator[str]:
    with running_server(create_app(Settings(), engine=engine)) as url:
        yield url


@pytest.fixture
def endpoint_env(aws_env: None, serving_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment Terraform gives the function, pointed at the local serving app."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", serving_url)
    monkeypatch.setenv("ENDPOINT_NAME", "expense-endpoint")
    monkeypatch.setenv("AUTH_MODE", "iam")
    monkeypatch.setenv("INVOKE_READ_TIMEOUT_S", "120")
    return serving_url


def _direct(url: str, message: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/invocations", json=message, timeout=120)


def _first_answer(result: dict[str, Any]) -> str:
    return str(result["answers"][0]["answer"])


def test_base64_document_with_a_question(endpoint_env: str, receipt_png: bytes) -> None:
    b64 = base64.b64encode(receipt_png).decode()
    response = app.lambda_handler(
        make_event(json_body={"document": b64, "question": QUESTION}), None
    )
    assert response["statusCode"] == 200, response["body"]
    result = body_of(response)
    assert "ACME" in _first_answer(result)
    assert result["answers"][0]["question"] == QUESTION
    # The handler passes the model server's answer through unchanged.
    direct = _direct(endpoint_env, {"document": b64, "questions": [QUESTION]})
    assert result == direct.json()


def test_raw_png_with_default_questions(endpoint_env: str, receipt_png: bytes) -> None:
    response = app.lambda_handler(make_event(receipt_png, content_type="image/png"), None)
    assert response["statusCode"] == 200, response["body"]
    result = body_of(response)
    direct = _direct(endpoint_env, {"document": base64.b64encode(receipt_png).decode()}).json()
    assert result == direct
    assert "ACME" in result["fields"]["merchant"]["answer"]  # a default expense question
    assert result["pages"] == 1


def test_raw_png_with_query_questions(endpoint_env: str, receipt_png: bytes) -> None:
    query = urllib.parse.urlencode([("question", QUESTION), ("question", "Who sold this?")])
    response = app.lambda_handler(
        make_event(receipt_png, content_type="image/png", query=query), None
    )
    assert response["statusCode"] == 200, response["body"]
    answers = body_of(response)["answers"]
    assert [a["question"] for a in answers] == [QUESTION, "Who sold this?"]


@pytest.mark.parametrize("kind", ["json", "raw"])
def test_model_server_refusal_maps_back_to_its_4xx(endpoint_env: str, kind: str) -> None:
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # right magic, undecodable image
    if kind == "json":
        event = make_event(json_body={"document": base64.b64encode(broken).decode()})
    else:
        event = make_event(broken, content_type="image/png")
    response = app.lambda_handler(event, None)
    direct = _direct(endpoint_env, {"document": base64.b64encode(broken).decode()})
    assert 400 <= direct.status_code < 500
    assert response["statusCode"] == direct.status_code
    assert body_of(response)["error"]["code"] == direct.json()["error"]["code"]


def test_url_source_end_to_end(endpoint_env: str, receipt_png: bytes, doc_server: Any) -> None:
    doc_server.routes["/receipt.png"] = Route(body=receipt_png)
    policy = local_policy(
        FakeResolver({"receipts.test": ["127.0.0.1"]}), [doc_server.port], allow_http=True
    )
    handler = app.Handler(HandlerSettings.from_env(), fetch_policy=policy)
    url = doc_server.url("/receipt.png", host="receipts.test")
    response = handler(make_event(json_body={"image": url, "questions": [QUESTION]}), None)
    assert response["statusCode"] == 200, response["body"]
    assert "ACME" in _first_answer(body_of(response))
    assert json.loads(response["body"])["pages"] == 1
