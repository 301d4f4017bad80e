"""Helpers for the Lambda handler tests (imported by name: ``from _handler_support import ...``).

``handler/`` is a zip root, not a package, so its directory is put on ``sys.path`` here and its
modules are imported by name (``import app``), exactly as the Lambda runtime does. Servers here
listen on 127.0.0.1 only and are context managers that always stop them.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HANDLER_DIR = Path(__file__).resolve().parents[2] / "handler"
if str(HANDLER_DIR) not in sys.path:
    sys.path.insert(0, str(HANDLER_DIR))

import _addr  # noqa: E402
import _fetch  # noqa: E402

# Smallest inputs whose first bytes are what the handler sniffs for.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 600
RESULT = {
    "fields": {"merchant": {"answer": "ACME", "score": 0.9, "page": 1}},
    "answers": [],
    "pages": 1,
}
STUB_ENDPOINT = "receipts-endpoint"


def make_event(
    body: str | bytes | None = None,
    *,
    json_body: Any = None,
    content_type: str | None = "application/json",
    method: str = "POST",
    query: str | None = None,
    headers: Mapping[str, str] | None = None,
    base64_encoded: bool | None = None,
) -> dict[str, Any]:
    """A function URL (payload format 2.0) event as the URL runtime builds it."""
    if json_body is not None:
        body = json.dumps(json_body)
    encoded = isinstance(body, bytes) if base64_encoded is None else base64_encoded
    if isinstance(body, bytes):
        text: str | None = base64.b64encode(body).decode("ascii")
    else:
        text = body
    all_headers = {"host": "abc.lambda-url.us-east-1.on.aws", "user-agent": "pytest"}
    if content_type is not None:
        all_headers["content-type"] = content_type
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": query or "",
        "headers": all_headers,
        "requestContext": {
            "requestId": "req-0001",
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "pytest",
            },
        },
        "isBase64Encoded": encoded,
    }
    if text is not None:
        event["body"] = text
    return event


def body_of(response: Mapping[str, Any]) -> Any:
    return json.loads(response["body"])


# --------------------------------------------------------------------------- AWS / SageMaker stub


@dataclass
class StubReply:
    status: int = 200
    body: bytes = json.dumps(RESULT).encode()
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay_s: float = 0.0


@dataclass
class SageMakerStub:
    """Answers ``POST /endpoints/{name}/invocations`` with scripted replies and records requests."""

    url: str
    replies: list[StubReply]
    requests: list[dict[str, Any]]
    stop: threading.Event

    def reply(self, reply: StubReply) -> None:
        self.replies[:] = [reply]

    def error(
        self,
        status: int,
        error_type: str,
        payload: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Reply as the runtime does for an error: x-amzn-ErrorType and a JSON body."""
        all_headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": error_type,
            "x-amzn-RequestId": "stub-request",
        }
        all_headers.update(headers or {})
        self.reply(StubReply(status, json.dumps(payload).encode(), all_headers))


class _QuietServer(ThreadingHTTPServer):
    """Threaded, daemonic, and silent about clients that hang up (TLS refusals, size caps)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _start(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return thread


def _stop(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(5)


# --------------------------------------------------------------------------- document servers


@dataclass
class Route:
    status: int = 200
    body: bytes = PNG
    content_type: str | None = "image/png"
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    chunked: bool = False
    send_length: bool = True
    trickle_s: float = 0.0  # pause between 16-byte pieces of the body
    header_delay_s: float = 0.0


@dataclass
class DocServer:
    """A local document server; ``routes`` maps paths to :class:`Route`s, ``hits`` counts GETs."""

    scheme: str
    port: int
    routes: dict[str, Route]
    hits: list[str]
    host_headers: list[str]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _doc_handler(
    routes: dict[str, Route], hits: list[str], hosts: list[str], stop: threading.Event
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            hosts.append(self.headers.get("Host", ""))
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                route = Route(status=404, body=b"not found", content_type="text/plain")
            if route.header_delay_s and stop.wait(route.header_delay_s):
                return
            self.send_response(route.status)
            if route.content_type is not None:
                self.send_header("Content-Type", route.content_type)
            if route.location is not None:
                self.send_header("Location", route.location)
            for key, value in route.headers.items():
                self.send_header(key, value)
            if route.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif route.send_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (size/time cap): expected
                self._body(route)
            self.close_connection = True

        def _body(self, route: Route) -> None:
            pieces = (
                [route.body[i : i + 16] for i in range(0, len(route.body), 16)]
                if route.trickle_s
                else [route.body[i : i + 65536] for i in range(0, len(route.body), 65536)]
            )
            for piece in pieces:
                if route.trickle_s and stop.wait(route.trickle_s):
                    return
                if route.chunked:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    self.wfile.write(piece)
                self.wfile.flush()
            if route.chunked:
                self.wfile.write(b"0\r\n\r\n")

    return Handler


@contextlib.contextmanager
def serve_docs(tls: ssl.SSLContext | None = None) -> Iterator[DocServer]:
    """A document server on 127.0.0.1 (https when ``tls`` is given), stopped afterwards."""
    routes: dict[str, Route] = {}
    hits: list[str] = []
    hosts: list[str] = []
    stop = threading.Event()
    server = _QuietServer(("127.0.0.1", 0), _doc_handler(routes, hits, hosts, stop))
    if tls is not None:
        server.socket = tls.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    thread = _start(server)
    try:
        yield DocServer("https" if tls else "http", server.server_port, routes, hits, hosts)
    finally:
        stop.set()
        _stop(server, thread)


@dataclass(frozen=True)
class LocalPKI:
    ca_file: Path
    server_context: ssl.SSLContext

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


TLS_NAME = "docs.example.test"


# --------------------------------------------------------------------------- fetch policies

LOOPBACK = ipaddress.ip_address("127.0.0.1")


class FakeResolver:
    """Answers from a table (never the network) and records every lookup."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = dict(table)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} not in the test resolver")
        return list(self.table[host])


def local_policy(
    resolver: FakeResolver, ports: Sequence[int] = (), **kwargs: Any
) -> _fetch.FetchPolicy:
    """A test-only policy: production rules, plus 127.0.0.1 and the given local ports."""
    return _fetch.FetchPolicy(
        max_bytes=kwargs.pop("max_bytes", 1_000_000),
        timeout_s=kwargs.pop("timeout_s", 5.0),
        resolver=resolver,
        address_allowed=lambda ip: ip == LOOPBACK or _addr.is_public_address(ip),
        extra_ports=frozenset(ports),
        **kwargs,
    )


@contextlib.contextmanager
def serve_sagemaker_stub() -> Iterator[SageMakerStub]:
    """A SageMaker-runtime stub on 127.0.0.1, stopped afterwards."""
    replies = [StubReply()]
    requests: list[dict[str, Any]] = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            requests.append({"path": self.path, "headers": dict(self.headers), "body": raw})
            reply = replies[0]
            if reply.delay_s and stop.wait(reply.delay_s):
                return
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = _start(server)
    try:
        yield SageMakerStub(f"http://127.0.0.1:{server.server_port}", replies, requests, stop)
    finally:
        stop.set()
        _stop(server, thread)


def make_pki(out: Path) -> LocalPKI:
    """A throwaway CA and a server certificate for TLS_NAME only (no IP SAN)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expense test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TLS_NAME)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(TLS_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = out / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = out / "server.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = out / "server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(chain), str(key_file))
    return LocalPKI(ca_file, server_context)
