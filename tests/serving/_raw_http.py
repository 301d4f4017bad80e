"""Raw-socket HTTP clients for slow-client tests and bench/bench_hardening.py: stalled bodies,
slowloris headers, malformed requests. Every socket has a timeout; nothing waits unbounded."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Reply",
    "is_closed",
    "open_socket",
    "read_reply",
    "slowloris",
    "stalled_body",
]

SLOWLORIS_HEAD = b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def open_socket(url: str, timeout: float = 10.0) -> socket.socket:
    parts = urllib.parse.urlsplit(url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout)


def read_reply(sock: socket.socket, timeout: float = 10.0) -> Reply | None:
    """One response (``Content-Length`` bodies), or None if the server closed without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except (ConnectionResetError, BrokenPipeError):
        return None
    return Reply(int(lines[0].split()[1]), headers, body[:length])


def is_closed(sock: socket.socket, wait: float = 0.05) -> bool:
    """True when the server has closed (or reset) the connection; reads and drops any reply."""
    sock.settimeout(wait)
    try:
        while sock.recv(65536):
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def wait_closed(sock: socket.socket, limit_s: float = 10.0) -> bool:
    """Poll :func:`is_closed` until it is true or ``limit_s`` passes."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if is_closed(sock, 0.05):
            return True
    return False


@contextlib.contextmanager
def stalled_body(
    url: str, count: int, declared: int = 100_000, sent: bytes = b"{"
) -> Iterator[list[socket.socket]]:
    """``count`` POSTs that declare ``declared`` body bytes, send ``sent``, then stop."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = open_socket(url)
            socks.append(sock)
            sock.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                + f"Content-Length: {declared}\r\n\r\n".encode()
                + sent
            )
        yield socks
    finally:
        for sock in socks:
            sock.close()


@contextlib.contextmanager
def slowloris(url: str, count: int, head: bytes = SLOWLORIS_HEAD) -> Iterator[list[socket.socket]]:
    """``count`` connections that send the start of a request and never finish its headers."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = open_socket(url)
            socks.append(sock)
            if head:
                sock.sendall(head)
        yield socks
    finally:
        for sock in socks:
            sock.close()
