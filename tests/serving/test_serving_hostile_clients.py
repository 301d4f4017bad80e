"""Hostile HTTP clients against a real server on 127.0.0.1 (the production uvicorn configuration
of ``expense_cli/serving/_server.py``): clients that stop reading their answers, clients that
half-close after sending, compressed bodies. Every attack is bounded in connections and seconds;
each ends by checking that a good request still answers."""

from __future__ import annotations

import contextlib
import gzip
import re
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from expense_cli.engine import Engine
from tests.serving._raw_http import Reply, open_socket, read_reply, wait_closed
from tests.serving.conftest import MERCHANT, GatedEngine
from tests.serving.test_serving_slow_clients import NoEngine, protocol_url, serve

pytestmark = [pytest.mark.server]

__all__ = ["protocol_url"]  # the fixture, shared with test_serving_slow_clients.py

# A static file of the web page: the largest answer the server gives without a model.
BIG_ANSWER = "/static/app.js"
ESTABLISHED = 1  # TCP_ESTABLISHED in the Linux kernel's tcp_states.h


def _answer_size(url: str) -> int:
    response = httpx.get(f"{url}{BIG_ANSWER}", timeout=10)
    assert response.status_code == 200
    return len(response.content)


def _send_buffer_max() -> int:
    """The most a kernel send buffer may grow to (``tcp_wmem``'s maximum; 4 MiB by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        return 4 << 20


@contextlib.contextmanager
def non_readers(url: str, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that pipeline GETs worth more answers than the kernel buffers can
    hold, with a tiny receive buffer, and never read a byte of them."""
    request = f"GET {BIG_ANSWER} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    repeat = (2 * _send_buffer_max() + 2_000_000) // _answer_size(url) + 1
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = open_socket(url)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(request * repeat)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of ``sock`` (Linux ``tcp_info``), read without consuming data."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def _closed_unread(sock: socket.socket, limit_s: float) -> bool:
    """Whether the server closed or reset ``sock`` within ``limit_s``, without reading from it
    (reading would unstall the server)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if _tcp_state(sock) != ESTABLISHED:
            return True
        time.sleep(0.05)
    return False


def _ping_until_ok(url: str, limit_s: float) -> list[int]:
    """/ping on fresh connections until 200, for at most ``limit_s``; the statuses seen."""
    seen: list[int] = []
    end = time.monotonic() + limit_s
    while time.monotonic() < end and (not seen or seen[-1] != 200):
        seen.append(httpx.get(f"{url}/ping", timeout=5).status_code)
        time.sleep(0.0 if seen[-1] == 200 else 0.25)
    return seen


# ------------------------------------------------------------ clients that never read answers


def test_clients_that_never_read_their_answers_are_dropped() -> None:
    """Pipelined requests whose answers are never read pause the server's writes; after the send
    timeout (``body_timeout_s``) the connection is dropped instead of holding a request task
    and a connection forever."""
    with serve(NoEngine(), header_timeout_s=60.0, body_timeout_s=1.0, max_connections=32) as url:
        with non_readers(url, 3) as socks:
            assert all(_closed_unread(sock, 15.0) for sock in socks)
        assert httpx.get(f"{url}/ping", timeout=10).status_code == 200


def test_non_readers_at_the_cap_do_not_lock_out_ping(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection held by a client that reads nothing: a newcomer still gets in (a
    connection whose answer is stuck is dropped like one still sending its body), and the log
    names such drops for what they are."""
    from expense_cli.serving import _protocol

    monkeypatch.setattr(_protocol, "_drops", _protocol._DropLog())  # no line from earlier tests
    with (
        caplog.at_level("WARNING", logger="expense.serving"),
        serve(NoEngine(), header_timeout_s=60.0, body_timeout_s=60.0, max_connections=4) as url,
        non_readers(url, 4),
    ):
        seen = _ping_until_ok(url, 15.0)
        assert seen and seen[-1] == 200, seen
        for _ in range(3):
            assert httpx.get(f"{url}/ping", timeout=10).status_code == 200
    lines = [r for r in caplog.records if "connection cap reached" in r.getMessage()]
    assert lines and lines[0].dropped_not_reading == 1, [vars(r) for r in lines]


def test_non_reader_resets_are_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Operators see the resets (and the cap's drops of non-readers under their own name),
    without a line per connection."""
    from expense_cli.serving import _protocol

    fresh = _protocol._DropLog(message=_protocol._resets.message)  # no line from earlier tests
    monkeypatch.setattr(_protocol, "_resets", fresh)
    with (
        caplog.at_level("WARNING", logger="expense.serving"),
        serve(NoEngine(), header_timeout_s=60.0, body_timeout_s=0.5, max_connections=32) as url,
        non_readers(url, 3) as socks,
    ):
        assert all(_closed_unread(sock, 15.0) for sock in socks)
    lines = [r for r in caplog.records if "read nothing of its answer" in r.getMessage()]
    assert len(lines) == 1  # three resets within the interval: one line
    assert lines[0].dropped_not_reading == 1  # the first; the others go in the next line


def test_a_slow_reader_that_keeps_reading_gets_its_whole_answer() -> None:
    """The send timeout is about a stalled answer, not a slow one: a client reading steadily,
    for several times the timeout in all, gets every byte."""
    with serve(NoEngine(), header_timeout_s=60.0, body_timeout_s=0.5, max_connections=8) as url:
        size = _answer_size(url)
        repeat = 6_000_000 // size + 1
        request = f"GET {BIG_ANSWER} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
        last = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        received = bytearray()
        with open_socket(url) as sock:
            sock.sendall(request * (repeat - 1) + last)
            sock.settimeout(10)
            # 64 KiB every 20 ms: about 3 MB/s, so the answers take several send timeouts
            while chunk := sock.recv(65536):  # until the server closes after the last answer
                received += chunk
                time.sleep(0.02)
        assert received.count(b"HTTP/1.1 200 OK\r\n") == repeat
        assert len(received) > repeat * size


# ------------------------------------------------------- clients that half-close after sending


def _send_and_half_close(url: str, raw: bytes, limit_s: float = 10.0) -> bytes:
    """Send ``raw``, shut down our sending side (``nc -N``), read until the server closes."""
    received = bytearray()
    with open_socket(url, limit_s) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


HALF_CLOSED: list[tuple[str, bytes, list[int]]] = [
    ("ping", b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", [200]),
    (
        "json-body",
        b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        [400],
    ),
    (
        "chunked-body",
        b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        [400],
    ),
    (
        "http-1.0",
        b"POST /invocations HTTP/1.0\r\nContent-Type: application/json\r\n"
        b'Content-Length: 16\r\n\r\n{"document": ""}',
        [400],
    ),
    (
        "pipelined",
        b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
        b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n"
        + f"GET {BIG_ANSWER} HTTP/1.1\r\nHost: a\r\n\r\n".encode(),
        [400, 200, 200],
    ),
    ("unknown-path", "GET /\U0001f9fe HTTP/1.1\r\nHost: a\r\n\r\n".encode(), [400]),
]


@pytest.mark.parametrize(
    ("name", "raw", "statuses"), HALF_CLOSED, ids=[name for name, _, _ in HALF_CLOSED]
)
def test_a_client_that_half_closes_after_its_request_gets_the_answer(
    protocol_url: str, name: str, raw: bytes, statuses: list[int]
) -> None:
    received = _send_and_half_close(protocol_url, raw)
    seen = [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)]
    assert seen == statuses, (name, received[:300])
    assert httpx.get(f"{protocol_url}/ping", timeout=10).status_code == 200


def test_a_half_close_in_the_middle_of_a_body_is_not_answered_as_a_request(
    protocol_url: str,
) -> None:
    """The body never completes: nothing to answer, the connection just closes (no 500)."""
    raw = b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{"
    received = _send_and_half_close(protocol_url, raw)
    assert b" 500 " not in received
    assert httpx.get(f"{protocol_url}/ping", timeout=10).status_code == 200


@pytest.mark.model
def test_a_half_close_while_the_model_works_still_gets_the_answer(
    engine: Engine, small_receipt_png: bytes
) -> None:
    """The client shuts its side down while its document is being read: the answer still
    comes (uvicorn alone closes the connection on the EOF and the answer is lost)."""
    gated = GatedEngine(engine)
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Type: image/png\r\n"
        + f"Content-Length: {len(small_receipt_png)}\r\n\r\n".encode()
        + small_receipt_png
    )
    with serve(gated) as url, open_socket(url, 60) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            assert gated.entered.acquire(timeout=30)  # the document is in the engine
        finally:
            gated.gate.set()
        reply = read_reply(sock, 60)
        assert reply is not None and reply.status == 200, reply
        assert reply.json()["fields"]["merchant"]["answer"] == MERCHANT
        assert wait_closed(sock)


# ------------------------------------------------------------------- compressed request bodies


def _gzip_bomb() -> bytes:
    """About 10 KB of gzip that inflates to 10 MB of zeros: refused without being inflated."""
    return gzip.compress(b"\0" * 10_000_000, compresslevel=9)


ENCODED: list[tuple[str, list[tuple[str, str]], str, bytes]] = [
    ("gzip-json", [("content-encoding", "gzip")], "application/json", gzip.compress(b"{}")),
    ("deflate-png", [("content-encoding", "deflate")], "image/png", zlib.compress(b"\x89PNG")),
    ("br", [("content-encoding", "br")], "application/json", b"\x8b\x00\x80{}\x03"),
    ("zstd", [("content-encoding", "zstd")], "application/json", b"(\xb5/\xfd{}"),
    ("upper-case", [("content-encoding", "GZIP")], "image/png", gzip.compress(b"\x89PNG")),
    ("list", [("content-encoding", "identity, gzip")], "application/json", gzip.compress(b"{}")),
    (
        "second-header",
        [("content-encoding", "identity"), ("content-encoding", "x-gzip")],
        "application/json",
        gzip.compress(b"{}"),
    ),
    ("bomb", [("content-encoding", "gzip")], "application/json", _gzip_bomb()),
    ("no-type", [("content-encoding", "gzip")], "", gzip.compress(b"\x89PNG")),
]


@pytest.mark.parametrize(
    ("name", "headers", "content_type", "body"), ENCODED, ids=[case[0] for case in ENCODED]
)
def test_compressed_bodies_are_415_before_they_are_read(
    protocol_url: str, name: str, headers: list[tuple[str, str]], content_type: str, body: bytes
) -> None:
    """Not 'invalid JSON' or 'not a PNG': the coding is what is unsupported."""
    response = httpx.post(
        f"{protocol_url}/invocations",
        content=body,
        headers=[*headers, ("content-type", content_type)],
        timeout=10,
    )
    assert response.status_code == 415, (name, response.text)
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "Content-Encoding" in error["message"] and "uncompressed" in error["message"]
    assert httpx.get(f"{protocol_url}/ping", timeout=10).status_code == 200


@pytest.mark.parametrize("coding", ["identity", "IDENTITY", "identity, identity", ""])
def test_the_identity_coding_is_no_coding(protocol_url: str, coding: str) -> None:
    response = httpx.post(
        f"{protocol_url}/invocations",
        content=b"{}",
        headers={"content-type": "application/json", "content-encoding": coding},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_document"


class Unreachable:
    """A function URL target for ``serve --deployment``'s proxy that must not be reached."""

    url = "https://unreachable.invalid/"

    def authorize(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        raise AssertionError("nothing should be forwarded")


def test_the_deployment_proxy_refuses_compressed_bodies_too() -> None:
    """``serve --deployment`` forwards body and Content-Type only: a gzipped body would reach
    the function URL without its coding. It is refused here, before anything is forwarded."""
    from expense_cli.serving._proxy import create_proxy_app

    app = create_proxy_app(Unreachable())  # type: ignore[arg-type]
    with TestClient(app) as client:
        response = client.post(
            "/invocations",
            content=gzip.compress(b"{}"),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


# ------------------------------------------------------------------ the 16 KiB request head


def _head(total: int, padding: bytes = b"") -> bytes:
    """A GET /ping head of exactly ``total`` bytes, blank line included; ``padding`` is optional
    whitespace around the header value (h11 strips it, it still counts)."""
    frame = b"GET /ping HTTP/1.1\r\nHost: a\r\nX-Pad: " + padding * 2 + b"\r\n\r\n"
    fill = total - len(frame)
    return (
        b"GET /ping HTTP/1.1\r\nHost: a\r\nX-Pad: " + padding + b"a" * fill + padding + b"\r\n\r\n"
    )


@pytest.mark.parametrize("padding", [b"", b" \t" * 50], ids=["plain", "padded-value"])
@pytest.mark.parametrize("split", [False, True], ids=["one-write", "two-writes"])
@pytest.mark.parametrize(("total", "status"), [(16_383, 200), (16_384, 200), (16_385, 400)])
def test_the_request_head_limit_is_exactly_16_kib(
    protocol_url: str, total: int, status: int, split: bool, padding: bytes
) -> None:
    raw = _head(total, padding)
    assert len(raw) == total
    with open_socket(protocol_url) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if split:
                sock.sendall(raw[:-100])
                time.sleep(0.05)
            sock.sendall(raw[-100:] if split else raw)
        reply = read_reply(sock)
    assert reply is not None and reply.status == status, (total, reply)
    if status == 400:
        assert "larger than 16384 bytes" in reply.json()["error"]["message"]


# ------------------------------------------------------- the deployment proxy's own errors

PROXY_ROUTING: list[tuple[str, str, int, str]] = [
    ("GET", "/nope", 404, "not_found"),
    ("GET", "/\U0001f9fe", 404, "not_found"),
    ("GET", "/static/nope.js", 404, "not_found"),  # the page route's own 404
    ("PUT", "/invocations", 405, "method_not_allowed"),
    ("GET", "/invocations", 405, "method_not_allowed"),
    ("DELETE", "/", 405, "method_not_allowed"),
    ("POST", "/config.json", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), PROXY_ROUTING)
def test_the_deployment_proxy_answers_routing_errors_in_json(
    method: str, path: str, status: int, code: str
) -> None:
    """The page's proxy speaks the same contract as the server: no text/plain 404/405."""
    from expense_cli.serving._proxy import create_proxy_app

    with TestClient(create_proxy_app(Unreachable())) as client:  # type: ignore[arg-type]
        response = client.request(method, path, content=b"{}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


def test_a_failure_in_the_deployment_proxy_is_a_json_500_without_internals() -> None:
    """Signing can fail (say, expired credentials): the page gets the contract's 500."""
    from expense_cli.serving._proxy import create_proxy_app

    class Broken(Unreachable):
        def authorize(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
            raise RuntimeError("secret internals /home/me/.aws/credentials")

    app = create_proxy_app(Broken())  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/invocations", json={"document": "eA=="})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret" not in response.text


# ------------------------------------------------------------------------------ absurd paths


def _one_request(url: str, method: str, target: bytes, host: bytes = b"a") -> Reply | None:
    """``method target`` with a ``{}`` JSON body on its own connection; the reply."""
    head = method.encode() + b" " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
    with open_socket(url) as sock:
        sock.sendall(
            head + b"Content-Type: application/json\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\n{}"
        )
        return read_reply(sock)


ABSURD_PATHS: list[tuple[str, bytes, int, str]] = [
    ("POST", b"/invocations/", 404, "not_found"),
    ("GET", b"/ping/", 404, "not_found"),
    ("GET", b"/static/app.js/", 404, "not_found"),
    ("POST", b"/endpoints/x/invocations/", 404, "not_found"),
    ("GET", b"/execution-parameters/", 404, "not_found"),
    ("POST", b"//invocations", 404, "not_found"),
    ("GET", b"/ping/..", 404, "not_found"),
    ("GET", b"/ping/../ping/", 404, "not_found"),
    ("GET", b"/ping%00", 404, "not_found"),
    ("GET", b"/%2e%2e/ping", 404, "not_found"),
    ("GET", b"/static/..%2f..%2fcontract.py", 404, "not_found"),
    ("POST", b"?/invocations", 404, "not_found"),
    ("HEAD", b"/invocations", 405, "method_not_allowed"),
    ("OPTIONS", b"/ping", 405, "method_not_allowed"),
    ("PUT", b"/invocations", 405, "method_not_allowed"),
    ("DELETE", b"/endpoints/x/invocations", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    ABSURD_PATHS,
    ids=[f"{m}-{p.decode()}" for m, p, _, _ in ABSURD_PATHS],
)
def test_absurd_paths_get_a_json_error_and_no_redirect(
    protocol_url: str, method: str, path: bytes, status: int, code: str
) -> None:
    """Never a 307 (Starlette's trailing-slash redirect named the request's Host header in its
    Location, with an empty body); always the contract's JSON error."""
    reply = _one_request(protocol_url, method, path, host=b"evil.example")
    assert reply is not None and reply.status == status, (path, reply)
    assert "location" not in reply.headers
    if method != "HEAD":
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["error"]["code"] == code


def test_the_deployment_proxy_does_not_redirect_trailing_slashes() -> None:
    from expense_cli.serving._proxy import create_proxy_app

    with TestClient(create_proxy_app(Unreachable())) as client:  # type: ignore[arg-type]
        response = client.post("/invocations/", content=b"{}", follow_redirects=False)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


ABSOLUTE_FORM: list[tuple[str, bytes, int]] = [
    ("GET", b"http://127.0.0.1/ping", 200),
    ("GET", b"HTTP://Example.COM:8080/ping", 200),
    ("GET", b"https://x/ping?", 200),
    ("GET", b"http://x", 200),  # the web page at /
    ("GET", b"http://x?a=1", 200),
    ("POST", b"http://x/invocations", 400),  # routed: the app's own refusal of '{}'
    ("GET", b"http://x/nope", 404),
    ("GET", b"http://x//ping", 404),
]


@pytest.mark.parametrize(("method", "target", "status"), ABSOLUTE_FORM)
def test_absolute_form_targets_are_routed_by_their_path(
    protocol_url: str, method: str, target: bytes, status: int
) -> None:
    """RFC 9112 3.2.2: a server must accept ``GET http://host/path`` (was: 404 'no such path:
    /http://host/path')."""
    reply = _one_request(protocol_url, method, target)
    assert reply is not None and reply.status == status, (target, reply)
    if status == 404:
        assert "http" not in reply.json()["error"]["message"]
    if status == 400:
        assert reply.json()["error"]["code"] == "missing_document"
