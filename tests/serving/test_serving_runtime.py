"""An unmodified boto3 ``sagemaker-runtime`` client against the runtime path of the server."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from expense_cli.engine import Engine, EngineConfig
from expense_cli.serving import Settings, create_app
from tests._servers import running_server
from tests.serving.conftest import MERCHANT, b64

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.ocr]


def runtime_client(url: str) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60),
    )


def test_invoke_endpoint_passes_the_body_through(server_url: str, receipt_png: bytes) -> None:
    client = runtime_client(server_url)
    sent_headers: list[dict[str, str]] = []
    client.meta.events.register(
        "before-send.sagemaker-runtime.InvokeEndpoint",
        lambda request, **_: sent_headers.append(
            {k.lower(): v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}
        ),
    )
    payload = json.dumps({"document": b64(receipt_png), "questions": ["merchant", "Who?"]})
    response = client.invoke_endpoint(
        EndpointName="expense-endpoint",
        ContentType="application/json",
        Accept="application/json",
        CustomAttributes="trace=abc-123",
        Body=payload,
    )
    body = response["Body"].read()
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    result = json.loads(body)
    assert result["fields"]["merchant"]["answer"] == MERCHANT
    assert result["answers"][0]["answer"] == MERCHANT
    direct = httpx.post(f"{server_url}/invocations", content=payload, timeout=60,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert json.loads(body) == direct.json()  # the same response, passed through unchanged
    # what botocore sent: the path, SigV4 auth and the SageMaker headers the server must tolerate
    (headers,) = sent_headers
    assert headers["x-amzn-sagemaker-custom-attributes"] == "trace=abc-123"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256")


def test_container_errors_come_back_as_model_errors(server_url: str) -> None:
    client = runtime_client(server_url)
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(
            EndpointName="e", ContentType="application/json", Body=b'{"document": "@@"}'
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert json.loads(error["OriginalMessage"])["error"]["code"] == "invalid_base64"


def test_unsupported_raw_body_is_a_model_error_415(server_url: str) -> None:
    client = runtime_client(server_url)
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="e", ContentType="image/png", Body=b"not a png")
    assert caught.value.response["OriginalStatusCode"] == 415


def test_loading_model_is_model_not_ready(engine: Engine) -> None:
    release = threading.Event()

    def slow_loader(config: EngineConfig) -> Engine:
        assert release.wait(30)
        return engine

    app = create_app(Settings(engine=engine.config), loader=slow_loader)
    with running_server(app, ready=False) as url:
        try:
            with pytest.raises(ClientError) as caught:
                runtime_client(url).invoke_endpoint(
                    EndpointName="e", ContentType="application/json", Body=b"{}"
                )
        finally:
            release.set()
    assert caught.value.response["Error"]["Code"] == "ModelNotReadyException"
