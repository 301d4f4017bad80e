"""Fixtures for the Lambda handler tests: fake AWS credentials, a SageMaker-runtime stub and
document servers on 127.0.0.1 (plain and TLS), a handler factory, and a no-dial guard.
Plain helpers live in ``_handler_support`` (test modules import from there, never from here)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# handler/ is a zip root, not a package: import its modules by name, as the Lambda runtime does.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "handler"))

import _fetch
import app
from _config import Settings
from _endpoint import EndpointInvoker
from _handler_support import (
    STUB_ENDPOINT,
    DocServer,
    LocalPKI,
    SageMakerStub,
    make_pki,
    serve_docs,
    serve_sagemaker_stub,
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no host AWS config, so botocore never reaches real AWS."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
        "AWS_ENDPOINT_URL_SSM",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def sagemaker_stub() -> Iterator[SageMakerStub]:
    with serve_sagemaker_stub() as stub:
        yield stub


@pytest.fixture
def make_handler(
    aws_env: None, sagemaker_stub: SageMakerStub, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., app.Handler]:
    """``make_handler(fetch_policy=None, authenticator=None, **settings)`` → a Handler whose
    real botocore client talks to the stub (through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", sagemaker_stub.url)

    def make(**kwargs: Any) -> app.Handler:
        fetch_policy = kwargs.pop("fetch_policy", None)
        authenticator = kwargs.pop("authenticator", None)
        settings = Settings(**{"endpoint_name": STUB_ENDPOINT, **kwargs})
        invoker = EndpointInvoker(
            settings.endpoint_name,
            read_timeout=settings.invoke_read_timeout_s,
            connect_timeout=settings.invoke_connect_timeout_s,
        )
        return app.Handler(
            settings, invoker=invoker, fetch_policy=fetch_policy, authenticator=authenticator
        )

    return make


@pytest.fixture
def doc_server() -> Iterator[DocServer]:
    """A plain-http document server on 127.0.0.1."""
    with serve_docs() as server:
        yield server


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> LocalPKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_server(test_pki: LocalPKI) -> Iterator[DocServer]:
    """An https document server on 127.0.0.1 presenting a certificate for TLS_NAME."""
    with serve_docs(test_pki.server_context) as server:
        yield server


@pytest.fixture
def no_dial(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Fail loudly if a fetch opens any connection; records what it tried."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise AssertionError(f"a refused URL must not be dialled: {address}")

    monkeypatch.setattr(_fetch.socket, "create_connection", refuse)
    return attempts


@pytest.fixture(autouse=True)
def _fresh_default_handler() -> Iterator[None]:
    app.reset()
    yield
    app.reset()
