"""Fixtures for the serving tests: a shared server on the session's tiny engine, stand-in engines
that block or fail on demand, and a small receipt for load tests."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from PIL import Image

from expense_cli.engine import Document, Engine, EngineConfig, Result
from expense_cli.serving import Settings, create_app
from expense_cli.synthetic import RECEIPT_LINES, render_receipt
from tests._servers import running_server
from tests.conftest import png_bytes

MERCHANT = "ACME COFFEE ROASTERS"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def server_url(engine: Engine) -> Iterator[str]:
    """One real server (uvicorn on 127.0.0.1) on the session's tiny planted engine."""
    with running_server(create_app(Settings(), engine=engine)) as url:
        yield url


@pytest.fixture(scope="session")
def small_receipt_png() -> bytes:
    """A short receipt (merchant line included) that OCRs fast: for load tests."""
    image: Image.Image = render_receipt(RECEIPT_LINES[:4], width=640, height=320, font_size=28)
    return png_bytes(image)


@dataclass
class GatedEngine:
    """Wraps a real engine; ``prepare`` waits for ``gate`` (bounded) so tests can hold requests
    in the server, or raises ``fail`` to simulate a bug."""

    inner: Engine
    gate: threading.Event = field(default_factory=threading.Event)
    entered: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    fail: BaseException | None = None
    max_wait: float = 30.0

    @property
    def config(self) -> EngineConfig:
        return self.inner.config

    def prepare(self, data: bytes) -> Document:
        self.entered.release()
        if self.fail is not None:
            raise self.fail
        self.gate.wait(self.max_wait)
        return self.inner.prepare(data)

    def answer(self, requests: Sequence[tuple[Document, Sequence[str] | None]]) -> list[Result]:
        return self.inner.answer(requests)
