"""Fixtures for the AWS-side tests: a recording runner and a tiny saved "model" directory."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_REPO_ROOT = Path(__file__).resolve().parents[2]
# tests/_moto.py and tests/aws/_fakes.py are imported as `tests.…` however pytest was started.
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from tests.aws._fakes import RecordingRunner  # noqa: E402


@pytest.fixture
def recorder() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A directory shaped like a saved model (config + tokenizer + weights); no real weights."""
    path = tmp_path / "saved-model"
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"model_type": "layoutlm"}))
    (path / "tokenizer.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"\0" * 64)
    return path


# --- a local stand-in for the function URL --------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class FakeFunctionUrl:
    """Records requests; answers each with the next scripted ``(status, headers, body)``."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)

    def next_response(self) -> tuple[int, dict[str, str], bytes]:
        if self.script:
            return self.script.pop(0)
        return 200, {"content-type": "application/json"}, json.dumps(OK_RESULT).encode()


OK_RESULT = {
    "fields": {"total": {"answer": "12,30 €", "score": 0.9, "value": "12.30", "currency": "EUR"}},
    "answers": [],
    "pages": 1,
}


@pytest.fixture
def function_url() -> Iterator[FakeFunctionUrl]:
    fake = FakeFunctionUrl()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(Received("POST", self.path, headers, body))
            status, extra, payload = fake.next_response()
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
