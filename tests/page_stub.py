"""A scripted stand-in service for the web page's browser tests (tests/test_page.py).

It serves the real page files with their real headers (``expense_cli/page.py``) and answers
``POST /invocations`` from a script the test writes, so the page can be shown what a model run
rarely gives on demand: every contract error, AWS's own error bodies, answers on several pages,
a response that stalls, a connection that drops. Everything stays on 127.0.0.1, and every wait is
bounded (:data:`MAX_HOLD_S`).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

from expense_cli.page import PAGE_HEADERS, page_config, page_file

__all__ = ["MAX_HOLD_S", "Reply", "Stub", "page_image", "result", "stub_service"]

MAX_HOLD_S = 30.0  # the longest a held reply waits for the test to release it


@dataclass
class Reply:
    """One scripted answer to ``POST /invocations``.

    ``hold``: wait (at most :data:`MAX_HOLD_S`) until the test calls :meth:`Stub.release`;
    ``drop``: close the connection without any response (the server went away).
    """

    status: int = 200
    body: bytes | dict[str, Any] | str = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False
    drop: bool = False

    def data(self) -> bytes:
        if isinstance(self.body, dict):
            return json.dumps(self.body).encode()
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return self.body


@dataclass
class Stub:
    """The running stand-in: ``url``, the ``script`` of replies still to give (a reply of
    :func:`result` once it is empty), the JSON ``requests`` received and their
    ``authorizations`` (the header, or None)."""

    url: str
    config: dict[str, Any]
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    connections: list[socket.socket] = field(default_factory=list)

    def next_reply(self) -> Reply:
        with self.lock:
            return self.script.pop(0) if self.script else Reply(body=result())

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        """Stop listening and cut every open connection: the server went away."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


def page_image(page: int, width: int = 850, height: int = 1100) -> str:
    """A real-size page as the server renders it (``data:image/png;base64,...``)."""
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((40, 40), f"page {page}", fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def result(
    answers: dict[str, tuple[str, int]] | None = None, *, pages: int = 1, images: bool = False
) -> dict[str, Any]:
    """A model answer: ``answers`` maps a field name to ``(answer, page)``; each answer gets one
    box; ``images``: the answer pages come back rendered, as for a PDF."""
    answers = answers if answers is not None else {"merchant": ("ACME", 1)}
    fields = {
        name: {"answer": text, "score": 0.9, "page": page, "boxes": [[100, 100, 400, 140]]}
        for name, (text, page) in answers.items()
    }
    body: dict[str, Any] = {"fields": fields, "answers": [], "pages": pages}
    if images:
        shown = sorted({page for _, page in answers.values()})
        body["page_images"] = [
            {"page": p, "width": 850, "height": 1100, "image": page_image(p)} for p in shown
        ]
    return body


@contextlib.contextmanager
def stub_service(*, auth: str = "none", fetches_urls: bool = False) -> Iterator[Stub]:
    """Serve the page and a scripted ``/invocations`` on 127.0.0.1; yield the :class:`Stub`."""
    state: dict[str, Stub] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with state["s"].lock:
                state["s"].connections.append(self.connection)

        def _send(
            self, status: int, content_type: str, data: bytes, headers: dict[str, str]
        ) -> None:
            self.send_response(status)
            for name, value in {**headers, "content-type": content_type}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/config.json":
                self._send(200, "application/json", page_config(**state["s"].config), {})
                return
            found = page_file(path)
            if found is None:
                self._send(404, "application/json", b'{"error": {"code": "not_found"}}', {})
                return
            self._send(200, found[1], found[0], PAGE_HEADERS)

        def do_POST(self) -> None:
            stub = state["s"]
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            stub.authorizations.append(self.headers.get("authorization"))
            try:
                stub.requests.append(json.loads(raw))
            except ValueError:
                stub.requests.append({"raw": len(raw)})
            reply = stub.next_reply()
            if reply.hold:
                stub.held.set()
                stub.released.wait(MAX_HOLD_S)
            if reply.drop:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(reply.status, reply.content_type, reply.data(), reply.headers)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub = Stub(
        f"http://127.0.0.1:{server.server_address[1]}",
        {"auth": auth, "fetches_urls": fetches_urls},
    )
    stub.server = server
    state["s"] = stub
    thread = threading.Thread(target=server.serve_forever, name="page-stub", daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.release()
        stub.stop()
        thread.join(10)
