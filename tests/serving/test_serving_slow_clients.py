"""Slow and hostile clients against a real server on 127.0.0.1 (issue 12, items 4, 5 and 12):
stalled bodies must not hold admission slots, slowloris connections must not lock out ``/ping``,
and malformed HTTP gets the contract's JSON error, not uvicorn's text/plain.

Servers here run with the production uvicorn configuration (``_server.uvicorn_config``) and
short, configurable limits; every attack is bounded in connections (tens) and seconds."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from expense_cli.engine import Document, Engine, EngineConfig, Result
from expense_cli.errors import ConfigError
from expense_cli.serving import Settings, create_app
from tests._servers import running_server
from tests.serving._raw_http import (
    is_closed,
    open_socket,
    read_reply,
    slowloris,
    stalled_body,
    wait_closed,
)
from tests.serving.conftest import MERCHANT, GatedEngine

NOWHERE = Path("/nonexistent/opt/ml/model")

pytestmark = [pytest.mark.server]


class NoEngine:
    """Ready at once; any document is a bug (these tests never get that far)."""

    config = EngineConfig()

    def prepare(self, data: bytes) -> Document:
        raise AssertionError("no document should reach the engine in this test")

    def answer(self, requests: Sequence[tuple[Document, Sequence[str] | None]]) -> list[Result]:
        raise AssertionError("no document should reach the engine in this test")


def serve(engine: Any, **limits: Any) -> Any:
    settings = Settings(**limits)
    return running_server(create_app(settings, engine=engine), production=settings)


@pytest.fixture(scope="module")
def protocol_url() -> Iterator[str]:
    """A server whose limits are short enough to watch them act."""
    with serve(NoEngine(), header_timeout_s=0.5, body_timeout_s=0.5, max_connections=64) as url:
        yield url


# ----------------------------------------------------------------- malformed HTTP: JSON errors

MALFORMED: list[tuple[str, bytes]] = [
    (
        "conflicting-length",
        b"POST /invocations HTTP/1.1\r\nHost: a\r\n"
        b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    ),
    ("negative-length", b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
    ("garbage-length", b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n"),
    ("signed-length", b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"),
    ("hex-length", b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n"),
    ("list-length", b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"),
    ("garbage-line", b"HELLO THERE\r\n\r\n"),
    ("no-version", b"GET /ping\r\nHost: a\r\n\r\n"),
    ("bad-version", b"GET /ping HTTP/9.9x\r\nHost: a\r\n\r\n"),
    ("binary-line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),  # TLS to plain HTTP
    ("non-ascii-target", "GET /p\u00efng HTTP/1.1\r\nHost: a\r\n\r\n".encode()),
    ("emoji-target", "GET /\U0001f9fe HTTP/1.1\r\nHost: a\r\n\r\n".encode()),
    ("space-in-target", b"GET /pi ng x HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("header-no-colon", b"GET /ping HTTP/1.1\r\nHost: a\r\nBroken header\r\n\r\n"),
    ("header-space-name", b"GET /ping HTTP/1.1\r\nHost: a\r\nX Bad: 1\r\n\r\n"),
    ("nul-in-header", b"GET /ping HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n"),
    ("no-host-1.1", b"GET /ping HTTP/1.1\r\n\r\n"),
    ("oversized-header", b"GET /ping HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"),
    ("megabyte-header", b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"),
    ("many-headers", b"GET /ping HTTP/1.1\r\nHost: a\r\n" + b"X-A: 1\r\n" * 5000 + b"\r\n"),
    ("gzip-coding", b"POST /invocations HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
    (
        "chunked-and-length",
        b"POST /invocations HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 4\r\n\r\n0\r\n\r\nGET /ping HTTP/1.1\r\nHost: a\r\n\r\n",
    ),
    (
        "length-and-chunked",
        b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    ),
    (
        "bad-chunk-size",
        b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Type: image/png\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    ),
]


@pytest.mark.parametrize(("name", "raw"), MALFORMED, ids=[name for name, _ in MALFORMED])
def test_malformed_http_gets_the_json_error(protocol_url: str, name: str, raw: bytes) -> None:
    with open_socket(protocol_url) as sock:
        # The server may answer before the whole request went out: read the answer anyway.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        reply = read_reply(sock)
        assert reply is not None, f"{name}: closed without an answer"
        assert reply.status == 400, (name, reply)
        assert reply.headers["content-type"] == "application/json"
        error = reply.json()["error"]
        assert error["code"] == "bad_request"
        assert error["message"].startswith("malformed HTTP request")
        assert wait_closed(sock)
    assert httpx.get(f"{protocol_url}/ping").status_code == 200


# ------------------------------------------------------------------------- header timeout


def test_partial_headers_time_out_with_the_json_error(protocol_url: str) -> None:
    with slowloris(protocol_url, 3) as socks:
        for sock in socks:
            reply = read_reply(sock)
            assert reply is not None
            assert reply.status == 408
            assert reply.json()["error"]["code"] == "request_timeout"
            assert "headers did not arrive within 0.5 s" in reply.json()["error"]["message"]
            assert wait_closed(sock)


def test_headers_dripped_a_byte_at_a_time_still_time_out(protocol_url: str) -> None:
    """The header limit is for the whole header, not between bytes."""
    with open_socket(protocol_url) as sock:
        sent = 0
        for byte in b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: " + b"a" * 200:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sent += 1
            if is_closed(sock, 0.05):
                break
        else:
            pytest.fail("a dripping client kept its connection for 200+ bytes at 0.05 s each")
        assert sent < 100


def test_a_silent_connection_is_closed_without_an_answer(protocol_url: str) -> None:
    with open_socket(protocol_url) as sock:
        assert read_reply(sock) is None  # closed, no bytes


def test_the_next_request_on_a_kept_alive_connection_is_timed_too(protocol_url: str) -> None:
    with open_socket(protocol_url) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n")
        first = read_reply(sock)
        assert first is not None and first.status == 200
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: a\r\n")  # never finished
        second = read_reply(sock)
        assert second is not None and second.json()["error"]["code"] == "request_timeout"


def test_complete_requests_are_not_cut_by_the_header_timer(protocol_url: str) -> None:
    """Kept-alive connections that send whole requests (a pooled client) are never timed out."""
    with httpx.Client() as client:
        for _ in range(5):
            assert client.get(f"{protocol_url}/ping").status_code == 200


# ----------------------------------------------------------------------------- stalled bodies


@pytest.mark.parametrize(
    ("declared", "sent"),
    [
        (100_000, b""),
        (100_000, b"{"),
        (100_000, b'{"document": "' + b"A" * 60_000),
        (10, b"{}"),  # the last bytes never come
    ],
    ids=["nothing", "one-byte", "most-of-it", "nearly-all"],
)
def test_a_stalled_body_times_out(protocol_url: str, declared: int, sent: bytes) -> None:
    with stalled_body(protocol_url, 1, declared, sent) as (sock,):
        reply = read_reply(sock)
        assert reply is not None and reply.status == 408
        error = reply.json()["error"]
        assert error["code"] == "request_timeout"
        assert "body did not arrive within 0.5 s" in error["message"]
        assert wait_closed(sock)  # refused, then dropped (the rest would drain for 0.5 s)


def test_a_body_dripped_in_time_slices_still_times_out(protocol_url: str) -> None:
    """The body limit is for the whole body: a byte every 50 ms never resets it."""
    with stalled_body(protocol_url, 1, 1000, b"") as (sock,):
        for _ in range(200):
            try:
                sock.sendall(b"A")
            except OSError:
                break
            if not is_closed(sock, 0.05):
                continue
            break
        else:
            pytest.fail("a dripping body kept its connection for 10 s")


def test_a_chunked_body_that_stalls_times_out(protocol_url: str) -> None:
    with open_socket(protocol_url) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n10\r\n0123"
        )
        reply = read_reply(sock)
        assert reply is not None and reply.json()["error"]["code"] == "request_timeout"


@pytest.mark.model
@pytest.mark.ocr
def test_stalled_bodies_above_the_admission_limit_do_not_block_requests(
    engine: Engine, small_receipt_png: bytes
) -> None:
    """Issue 12 item 4: 12 stalled bodies (admission limit 2) used to hold every slot (429)."""
    limits = {"max_concurrency": 1, "max_queue": 1, "body_timeout_s": 30.0}
    payload = {"document": base64.b64encode(small_receipt_png).decode(), "question": "merchant"}
    with serve(engine, **limits) as url, stalled_body(url, 12) as stalled:
        for _ in range(3):
            response = httpx.post(f"{url}/invocations", json=payload, timeout=60)
            assert response.status_code == 200, response.text
            assert response.json()["fields"]["merchant"]["answer"] == MERCHANT
        assert httpx.get(f"{url}/ping").status_code == 200
        assert not any(is_closed(sock) for sock in stalled)  # still within their 30 s


# ------------------------------------------------------------------------ the connection cap


def test_slowloris_above_the_cap_does_not_lock_out_ping() -> None:
    """Issue 12 item 5: 30 connections that never finish their headers, cap 8: the oldest are
    dropped for newcomers, and /ping keeps answering."""
    with (
        serve(NoEngine(), header_timeout_s=60.0, max_connections=8) as url,
        slowloris(url, 30) as socks,
    ):
        for _ in range(5):
            assert httpx.get(f"{url}/ping", timeout=10).status_code == 200
        still_open = [sock for sock in socks if not is_closed(sock)]
        assert len(still_open) <= 7
        assert all(is_closed(sock) for sock in socks[:20])  # the oldest went first


def test_silent_and_idle_connections_count_against_the_cap_too() -> None:
    with (
        serve(NoEngine(), header_timeout_s=60.0, max_connections=6) as url,
        slowloris(url, 20, head=b"") as socks,
    ):
        assert httpx.get(f"{url}/ping", timeout=10).status_code == 200
        assert sum(not is_closed(sock) for sock in socks) <= 5


def test_a_body_in_progress_outlives_header_stragglers() -> None:
    """At the cap, connections still sending headers go before one that is sending its body."""
    with serve(NoEngine(), header_timeout_s=60.0, body_timeout_s=60.0, max_connections=4) as url:
        with open_socket(url) as upload:
            upload.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                b'Content-Length: 7\r\n\r\n{"a"'
            )
            # A round trip after it: the server has read the upload's headers by then.
            assert httpx.get(f"{url}/ping", timeout=10).status_code == 200
            with slowloris(url, 10):
                assert httpx.get(f"{url}/ping", timeout=10).status_code == 200
                upload.sendall(b":1}")
                reply = read_reply(upload)
        # The upload survived ten evictions and its whole body reached the app (which refuses
        # the unknown field with its JSON error).
        assert reply is not None and reply.headers["content-type"] == "application/json"
        assert "error" in reply.json()


def test_connection_cap_follows_the_open_files_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from expense_cli.serving import _protocol

    for soft, wanted, expected in [(1024, 256, 256), (200, 256, 136), (70, 256, 6), (10, 256, 2)]:
        monkeypatch.setattr(_protocol.resource, "getrlimit", lambda _kind, s=soft: (s, s))
        assert _protocol.connection_cap(wanted) == expected
    infinity = _protocol.resource.RLIM_INFINITY
    monkeypatch.setattr(_protocol.resource, "getrlimit", lambda _kind: (infinity, infinity))
    assert _protocol.connection_cap(5000) == 5000


def test_raw_socket_helpers_see_a_reset_as_closed() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname(), 5) as client:
        peer, _ = server.accept()
        assert not is_closed(client)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        peer.close()  # RST
        assert wait_closed(client)


@pytest.mark.model
def test_a_newcomer_is_refused_with_json_when_every_connection_is_served(
    engine: Engine, small_receipt_png: bytes
) -> None:
    """Nothing to drop (both connections are being served): the newcomer gets the contract's
    429 and a closed connection, never a hang."""
    gated = GatedEngine(engine)
    payload = {"document": base64.b64encode(small_receipt_png).decode()}
    with (
        serve(gated, max_concurrency=2, max_queue=0, max_connections=2) as url,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        try:
            busy = [
                pool.submit(httpx.post, f"{url}/invocations", json=payload, timeout=60)
                for _ in range(2)
            ]
            for _ in busy:
                assert gated.entered.acquire(timeout=30)
            with open_socket(url) as newcomer:
                reply = read_reply(newcomer)
                assert reply is not None and reply.status == 429
                assert reply.json()["error"]["code"] == "throttled"
                assert reply.headers["retry-after"] == "1"
                assert wait_closed(newcomer)
        finally:
            gated.gate.set()
        assert [future.result().status_code for future in busy] == [200, 200]


def test_connection_drops_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    from expense_cli.serving._protocol import _DropLog

    drops = _DropLog(every_s=10.0)
    with caplog.at_level("WARNING", logger="expense.serving"):
        for i in range(300):
            drops.count(i % 2, 64, now=100.0 + i * 0.01)  # 300 drops in 3 s: one line
        drops.count(1, 64, now=111.0)  # 10 s later: the next line, with the drops since
    lines = [r for r in caplog.records if "connection cap reached" in r.getMessage()]
    assert len(lines) == 2
    assert (lines[0].dropped_sending_headers, lines[0].dropped_sending_body) == (1, 0)
    assert (lines[1].dropped_sending_headers, lines[1].dropped_sending_body) == (149, 151)


def test_slow_client_settings_come_from_the_environment() -> None:
    env = {
        "EXPENSE_BODY_TIMEOUT": "12.5",
        "EXPENSE_HEADER_TIMEOUT": "3",
        "EXPENSE_MAX_CONNECTIONS": "100",
    }
    s = Settings.from_env(env, sagemaker_model_dir=NOWHERE)
    assert (s.body_timeout_s, s.header_timeout_s, s.max_connections) == (12.5, 3.0, 100)
    defaults = Settings.from_env({}, sagemaker_model_dir=NOWHERE)
    assert defaults.body_timeout_s < defaults.request_timeout_s
    assert (defaults.header_timeout_s, defaults.max_connections) == (10.0, 256)


@pytest.mark.parametrize(
    "env",
    [
        {"EXPENSE_BODY_TIMEOUT": "0"},
        {"EXPENSE_BODY_TIMEOUT": "-1"},
        {"EXPENSE_BODY_TIMEOUT": "soon"},
        {"EXPENSE_HEADER_TIMEOUT": "0"},
        {"EXPENSE_MAX_CONNECTIONS": "1"},
        {"EXPENSE_MAX_CONNECTIONS": "many"},
        {"EXPENSE_MAX_CONNECTIONS": "1.5"},
    ],
)
def test_bad_slow_client_settings_are_config_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env, sagemaker_model_dir=NOWHERE)


def test_a_pipelined_request_that_stops_half_way_is_timed(protocol_url: str) -> None:
    """A whole request and half of the next in one packet: the half is on the header clock
    as soon as the first is answered (not on the 75 s keep-alive timer)."""
    with open_socket(protocol_url) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\nGET /ping HTTP/1.1\r\nHost: a\r\n")
        first = read_reply(sock)
        assert first is not None and first.status == 200
        second = read_reply(sock)
        assert second is not None and second.json()["error"]["code"] == "request_timeout"


def test_after_an_early_413_a_dripping_body_is_cut_off(protocol_url: str) -> None:
    """Refused from Content-Length before reading: the rest may drain for the header timeout
    (so an honest client reads its 413), not for as long as the client keeps dripping."""
    with stalled_body(protocol_url, 1, declared=10**12, sent=b"") as (sock,):
        reply = read_reply(sock)
        assert reply is not None and reply.status == 413
        for _ in range(200):  # 10 s of dripping at most
            try:
                sock.sendall(b"A")
            except OSError:
                break
            if is_closed(sock, 0.05):
                break
        else:
            pytest.fail("a refused client kept its connection by dripping its body")


AFTER_A_GOOD_ONE = MALFORMED[:3] + MALFORMED[-2:]


@pytest.mark.parametrize(("name", "raw"), AFTER_A_GOOD_ONE, ids=[n for n, _ in AFTER_A_GOOD_ONE])
def test_a_malformed_request_after_a_good_one_gets_the_json_error_too(
    protocol_url: str, name: str, raw: bytes
) -> None:
    """On a kept-alive connection the previous, finished response must not silence the 400."""
    with open_socket(protocol_url) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n")
        first = read_reply(sock)
        assert first is not None and first.status == 200
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        reply = read_reply(sock)
        assert reply is not None, f"{name}: closed without an answer"
        assert reply.status == 400 and reply.json()["error"]["code"] == "bad_request"


def test_connections_answered_with_an_error_do_not_fill_the_cap() -> None:
    """Malformed requests from clients that never close: their lingering connections are the
    first to go at the cap, so /ping still gets in."""
    with serve(NoEngine(), header_timeout_s=60.0, max_connections=4) as url:
        socks: list[socket.socket] = []
        try:
            for _ in range(10):
                socks.append(open_socket(url))
                socks[-1].sendall(b"HELLO THERE\r\n\r\n")  # answered 400; the client stays
                reply = read_reply(socks[-1])
                assert reply is not None and reply.status == 400
            assert httpx.get(f"{url}/ping", timeout=10).status_code == 200
        finally:
            for sock in socks:
                sock.close()
