"""A hostile document server on 127.0.0.1 that drips its answer one byte at a time (issue 12,
item 6), for tests/handler/test_handler_fetch.py and bench/bench_hardening.py.

Each connection reads the request head, sends ``prefix`` at once, then ``drip`` one byte every
``interval_s``; ``sent`` counts the dripped bytes the client took before it went away. Bounded:
the drip ends with its script, and every socket has a timeout."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["DripServer", "drip_scripts", "drip_server"]


@dataclass
class DripServer:
    port: int
    sent: list[int] = field(default_factory=list)  # dripped bytes per connection


def drip_scripts(body: bytes) -> dict[str, tuple[bytes, bytes]]:
    """(prefix, drip) per attack; every script, dripped to its end, is a valid response (or a
    TLS record), so only a wall-clock cap can stop it early."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
    length = f"Content-Length: {len(body)}\r\n\r\n".encode()
    chunked = b"Transfer-Encoding: chunked\r\n\r\n"
    pad = b"X-Pad: " + b"a" * 150 + b"\r\n"
    chunks = b"".join(
        b"0" * 100 + f"{len(body[i : i + 64]):x}\r\n".encode() + body[i : i + 64] + b"\r\n"
        for i in range(0, len(body), 64)
    )
    return {
        "status-line": (b"", head + pad + length + body),
        "headers": (head, pad + length + body),
        "chunk-sizes": (head + chunked, chunks + b"0\r\n\r\n"),
        "body": (head + length, body),
        # A TLS handshake record announcing 2 KiB, then its bytes one by one.
        "tls-handshake": (b"\x16\x03\x03\x08\x00", b"\x02" * 2048),
    }


@contextlib.contextmanager
def drip_server(prefix: bytes, drip: bytes, interval_s: float) -> Iterator[DripServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    server = DripServer(listener.getsockname()[1])
    stop = threading.Event()

    def one(conn: socket.socket) -> None:
        count = 0
        with conn:
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                if not prefix.startswith(b"\x16"):  # HTTP: read the request head first
                    data = b""
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        data += chunk
                conn.sendall(prefix)
                for byte in drip:
                    if stop.wait(interval_s):
                        break
                    conn.sendall(bytes([byte]))
                    count += 1
        server.sent.append(count)

    def accept() -> None:
        threads = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            thread = threading.Thread(target=one, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(5)

    acceptor = threading.Thread(target=accept, name="drip-server", daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        acceptor.join(10)
        listener.close()
