"""SSRF-safe download of a document from a caller-supplied URL.

Rules (every one is checked again on each redirect hop):

* Scheme ``https`` only; ``http`` only when ``ALLOW_HTTP_URLS`` is true. No other scheme
  (``file:``, ``ftp:``, ``gopher:``, ``data:`` ...).
* No credentials in the URL (``user:pass@``), no backslashes, whitespace or control characters.
* Ports: 443 for https and 80 for http (when http is allowed); nothing else, so a URL cannot aim
  the function at an arbitrary service port.
* The host is normalised (IDNA, lower case, trailing dot); numeric hosts must be canonical dotted
  quads (see :mod:`_addr`). Names are resolved once; **every** address returned must be public
  (:func:`_addr.is_public_address`), and the connection dials exactly the address that was checked
  (no second DNS lookup) while TLS still verifies the certificate for, and sends SNI of, the name.
* At most ``max_redirects`` (3) redirects; the whole fetch (DNS, connect, TLS, headers, body,
  every hop) must end within ``timeout_s``: socket timeouts bound each read only, so a server
  dripping a byte per read could go on for ever; a watchdog (:class:`_Watchdog`) shuts the
  socket down at the deadline, whatever the fetch is doing. At most ``max_bytes`` are read;
  ``Content-Encoding`` must be identity.
* The response must be 200 with a ``Content-Type`` of ``image/*``, ``application/pdf`` or
  ``application/octet-stream`` (or none), and its first bytes must be a supported format.

Refusals raise :class:`expense_cli.contract.ContractError` (``url_refused``, ``url_fetch_failed``,
``url_timeout``: 400; ``document_too_large``: 413; ``unsupported_media_type``: 415; the status
comes from the contract's table).
Tests inject a resolver, an address rule that admits 127.0.0.1, extra ports and a TLS context that
trusts a test CA through :class:`FetchPolicy`; :meth:`FetchPolicy.from_settings` (production) never
admits loopback or any other non-public address.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from _addr import is_public_address, normalise_host, parse_address

from expense_cli.contract import ContractError
from expense_cli.contract import sniff_type as sniff

if TYPE_CHECKING:
    from _addr import IPAddress
    from _config import Settings

__all__ = ["FetchPolicy", "Fetched", "Resolver", "fetch_document", "system_resolver"]

Resolver = Callable[[str, int], Sequence[str]]
AddressRule = Callable[["IPAddress"], bool]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPTED_TYPES = frozenset({"application/pdf", "application/octet-stream", "binary/octet-stream"})
_CHUNK = 64 * 1024
_DIGITS = re.compile(r"[0-9]{1,18}")
_MAX_URL_CHARS = 2048
_MAX_DIAL = 3
_USER_AGENT = "expense-handler/1 (+document fetch)"


def system_resolver(host: str, port: int) -> list[str]:
    """All TCP addresses the system resolver gives for ``host``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do. Production: :meth:`from_settings`; tests may widen it explicitly."""

    max_bytes: int
    timeout_s: float
    allow_http: bool = False
    max_redirects: int = 3
    resolver: Resolver = system_resolver
    address_allowed: AddressRule = is_public_address
    extra_ports: frozenset[int] = frozenset()
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """The production policy: public addresses only, standard ports, system CA store."""
        return cls(
            max_bytes=settings.max_document_bytes,
            timeout_s=settings.fetch_timeout_s,
            allow_http=settings.allow_http_urls,
        )

    def port_allowed(self, scheme: str, port: int) -> bool:
        """443 for https, 80 for http (when allowed), plus any test-only extra ports."""
        standard = 443 if scheme == "https" else 80
        return port == standard or port in self.extra_ports


@dataclass(frozen=True)
class Fetched:
    """A downloaded document; ``host`` (never the full URL) is safe to log."""

    data: bytes
    media_type: str
    host: str
    redirects: int


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    literal: IPAddress | None
    path: str


def _refuse(message: str, code: str = "url_refused") -> ContractError:
    return ContractError(code, message)


def _check_url(url: str, policy: FetchPolicy) -> _Target:
    if len(url) > _MAX_URL_CHARS:
        raise _refuse(f"the URL is longer than {_MAX_URL_CHARS} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        raise _refuse("the URL contains whitespace, control characters or backslashes")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in url):  # JSON can carry them; UTF-8 cannot
        raise _refuse("the URL contains an unpaired UTF-16 surrogate (\\ud800-\\udfff)")
    try:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            raise _refuse("only https URLs are fetched; send a data: URL as 'document' instead")
        if scheme not in ("https", "http"):
            raise _refuse("only https URLs are accepted")
        if scheme == "http" and not policy.allow_http:
            raise _refuse("only https URLs are accepted (plain http is disabled)")
        if "@" in parts.netloc:
            raise _refuse("URLs with credentials (user:password@) are not accepted")
        hostname = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise _refuse("the URL is malformed") from None
    try:
        host, literal = normalise_host(hostname)
    except ValueError as exc:
        raise _refuse(str(exc)) from None
    if port is None:
        port = 443 if scheme == "https" else 80
    if not policy.port_allowed(scheme, port):
        standard = 443 if scheme == "https" else 80
        raise _refuse(f"port {port} is not allowed in {scheme} URLs (only {standard}, the default)")
    path = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return _Target(scheme, host, port, literal, path)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out()
    return left


def _resolve(target: _Target, policy: FetchPolicy, deadline: float) -> list[str]:
    if target.literal is not None:
        candidates: list[IPAddress] = [target.literal]
    else:
        answers: list[Sequence[str]] = []
        failures: list[BaseException] = []

        def run() -> None:
            try:
                answers.append(policy.resolver(target.host, target.port))
            except BaseException as exc:  # reported below, in the caller's thread
                failures.append(exc)

        worker = threading.Thread(target=run, name="resolve", daemon=True)
        worker.start()
        worker.join(_remaining(deadline))
        if worker.is_alive():
            raise _refuse("resolving the URL host took too long", code="url_timeout")
        if failures or not answers or not answers[0]:
            raise _refuse("the URL host could not be resolved", code="url_fetch_failed")
        try:
            candidates = [parse_address(text) for text in answers[0]]
        except ValueError:
            raise _refuse("the URL host resolved to an invalid address") from None
    if not all(policy.address_allowed(ip) for ip in candidates):
        raise _refuse("the URL host is not a public internet address")
    # Dedupe, keep the resolver's order; all were checked, at most three are dialled.
    return list(dict.fromkeys(str(ip) for ip in candidates))[:_MAX_DIAL]


class _Watchdog:
    """Shuts the fetch's current socket down when the deadline passes, from a timer thread.

    It holds a duplicate of the socket's descriptor: ``shutdown`` acts on the connection, not the
    descriptor, so it also ends a TLS handshake or a read of the :class:`ssl.SSLSocket` that took
    the descriptor over. The blocked call then fails or sees end-of-file, and :meth:`expired`
    tells the caller why."""

    def __init__(self, deadline: float) -> None:
        self._lock = threading.Lock()
        self._watched: socket.socket | None = None
        self._fired = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._fired

    def watch(self, sock: socket.socket) -> None:
        """Watch ``sock`` (instead of the previous hop's socket)."""
        twin = sock.dup()
        with self._lock:
            previous, self._watched = self._watched, twin
            fired = self._fired
        if previous is not None:
            previous.close()
        if fired:
            _shut(twin)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            watched = self._watched
        if watched is not None:
            _shut(watched)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            watched, self._watched = self._watched, None
        if watched is not None:
            watched.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the fetch itself
        sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class _Dialer:
    """How a hop connects: to the checked ``addresses`` only, within the fetch's deadline, the
    socket handed to the fetch's watchdog."""

    addresses: Sequence[str]
    deadline: float
    watchdog: _Watchdog

    def dial(self, port: int) -> socket.socket:
        """Connect to the first reachable address (no name lookup)."""
        failure: OSError = OSError("no address to connect to")
        for address in self.addresses:
            try:
                sock = socket.create_connection((address, port), _remaining(self.deadline))
            except OSError as exc:
                failure = exc
                continue
            self.watchdog.watch(sock)
            return sock
        raise failure


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to pre-checked addresses; the Host header keeps the original name."""

    def __init__(self, host: str, port: int, dialer: _Dialer) -> None:
        super().__init__(host, port, timeout=_remaining(dialer.deadline))
        self._dialer = dialer

    def connect(self) -> None:
        self.sock = self._dialer.dial(self.port)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to pre-checked addresses; SNI and certificate verification use the original name."""

    def __init__(self, host: str, port: int, dialer: _Dialer, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=_remaining(dialer.deadline), context=context)
        self._dialer = dialer
        self._tls = context

    def connect(self) -> None:
        raw = self._dialer.dial(self.port)
        try:
            raw.settimeout(_remaining(self._dialer.deadline))
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


@functools.lru_cache(maxsize=1)
def _default_tls() -> ssl.SSLContext:
    """The system trust store with hostname checks, loaded once per container."""
    return ssl.create_default_context()


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def _read_body(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    policy: FetchPolicy,
    deadline: float,
) -> bytes:
    declared = _declared_length(response)
    if declared is not None and declared > policy.max_bytes:
        raise _too_large(policy)
    chunks: list[bytes] = []
    total = 0
    while not response.isclosed():  # Python >= 3.13 closes it as soon as Content-Length is read
        if sock is not None:
            sock.settimeout(_remaining(deadline))
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > policy.max_bytes:
            raise _too_large(policy)
        chunks.append(chunk)
        _remaining(deadline)
    if declared is not None and total != declared:
        # http.client hands a body cut short by the server's close over as if it were whole.
        raise _refuse(
            f"the URL's response ended after {total} of the {declared} bytes it announced",
            code="url_fetch_failed",
        )
    return b"".join(chunks)


def _declared_length(response: http.client.HTTPResponse) -> int | None:
    """The body length a non-chunked response announces; ``None`` when it announces none.

    http.client takes the first of several ``Content-Length`` headers and reads to the close
    when one is not a number; a response whose lengths are not one plain number is refused
    instead (RFC 9112, section 6.3), so a document is never cut at a length the server did not
    mean or read past one it did.
    """
    if response.chunked:  # the chunk sizes frame the body; http.client ignores the length
        return None
    values = {
        value.strip()
        for header in response.msg.get_all("Content-Length") or ()
        for value in header.split(",")
    }
    if not values:
        return None
    if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise _refuse(
            "the URL's response has an invalid or conflicting Content-Length",
            code="url_fetch_failed",
        )
    return int(values.pop())


def _too_large(policy: FetchPolicy) -> ContractError:
    return _refuse(
        f"the document at the URL is larger than {policy.max_bytes} bytes; "
        "shrink it (lower the scan resolution or JPEG quality) or split it into smaller files",
        code="document_too_large",
    )


def _handle_response(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    policy: FetchPolicy,
    deadline: float,
) -> tuple[int, str | None, bytes]:
    if response.status in _REDIRECTS:
        return response.status, response.getheader("Location"), b""
    if response.status != 200:
        raise _refuse(f"the URL answered HTTP {response.status}, not 200", code="url_fetch_failed")
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", ""):
        raise _refuse(
            f"the URL sent a {encoding!r}-encoded body; only uncompressed bodies are accepted",
            code="url_fetch_failed",
        )
    media_type = _media_type(response.getheader("Content-Type"))
    if media_type and not (media_type.startswith("image/") or media_type in _ACCEPTED_TYPES):
        raise _refuse(
            f"the URL serves {media_type!r}; expected an image or a PDF",
            code="unsupported_media_type",
        )
    return 200, None, _read_body(response, sock, policy, deadline)


def _get_once(
    target: _Target, dialer: _Dialer, policy: FetchPolicy
) -> tuple[int, str | None, bytes]:
    """One GET: (status, Location, body); the body is read only for a 200."""
    watchdog = dialer.watchdog
    try:
        answer = _exchange(target, dialer, policy)
    except ContractError:
        if watchdog.expired:  # the watchdog's shutdown is what broke the exchange
            raise _timed_out() from None
        raise
    if watchdog.expired:  # cut short by the shutdown: whatever was read is incomplete
        raise _timed_out()
    return answer


def _timed_out() -> ContractError:
    return _refuse("fetching the URL took too long", code="url_timeout")


def _exchange(
    target: _Target, dialer: _Dialer, policy: FetchPolicy
) -> tuple[int, str | None, bytes]:
    conn: http.client.HTTPConnection
    deadline = dialer.deadline
    if target.scheme == "https":
        context = policy.ssl_context or _default_tls()
        conn = _PinnedHTTPSConnection(target.host, target.port, dialer, context)
    else:
        conn = _PinnedHTTPConnection(target.host, target.port, dialer)
    try:
        conn.request(
            "GET",
            target.path,
            headers={
                "User-Agent": _USER_AGENT,
                "Accept": "image/*, application/pdf;q=0.9, */*;q=0.1",
                "Accept-Encoding": "identity",
                "Connection": "close",
            },
        )
        sock = conn.sock  # kept: with "Connection: close" the response takes it over
        if sock is not None:
            sock.settimeout(_remaining(deadline))
        response = conn.getresponse()
        try:
            return _handle_response(response, sock, policy, deadline)
        finally:
            response.close()
    except ContractError:
        raise
    except TimeoutError:
        raise _timed_out() from None
    except ssl.SSLCertVerificationError:
        raise _refuse(
            "the URL's TLS certificate could not be verified", code="url_fetch_failed"
        ) from None
    except ssl.SSLError as exc:  # no TLS on the port, no common protocol version, a bad record
        reason = exc.reason if isinstance(exc.reason, str) else type(exc).__name__
        raise _refuse(
            f"the TLS connection to the URL failed ({reason[:80]})", code="url_fetch_failed"
        ) from None
    except http.client.IncompleteRead:
        raise _refuse(
            "the URL's response ended before its body was complete", code="url_fetch_failed"
        ) from None
    except (OSError, http.client.HTTPException):
        raise _refuse("the URL could not be fetched", code="url_fetch_failed") from None
    finally:
        conn.close()


def fetch_document(url: str, policy: FetchPolicy) -> Fetched:
    """Download ``url`` under ``policy``; raises :class:`ContractError` on every refusal."""
    deadline = time.monotonic() + policy.timeout_s
    watchdog = _Watchdog(deadline)
    try:
        return _follow(url, policy, deadline, watchdog)
    finally:
        watchdog.close()


def _follow(url: str, policy: FetchPolicy, deadline: float, watchdog: _Watchdog) -> Fetched:
    current = url
    for hop in range(policy.max_redirects + 1):
        try:
            outcome = _hop(current, hop, policy, deadline, watchdog)
        except ContractError as exc:
            if hop == 0:
                raise
            # The caller only knows the URL they sent: say the refusal is about a redirect's.
            plural = "s" if hop > 1 else ""
            raise ContractError(
                exc.code, f"after {hop} redirect{plural}: {exc.message}", headers=exc.headers
            ) from None
        if isinstance(outcome, Fetched):
            return outcome
        current = outcome
    raise _refuse(f"the URL redirected more than {policy.max_redirects} times")


def _hop(
    url: str, hop: int, policy: FetchPolicy, deadline: float, watchdog: _Watchdog
) -> Fetched | str:
    """One GET of ``url``: the document, or the URL it redirects to."""
    target = _check_url(url, policy)
    addresses = _resolve(target, policy, deadline)
    status, location, body = _get_once(target, _Dialer(addresses, deadline, watchdog), policy)
    if status in _REDIRECTS:
        if not location:
            raise _refuse("the URL redirected without a Location", code="url_fetch_failed")
        return urllib.parse.urljoin(url, location.strip())
    detected = sniff(body)
    if not body:
        raise _refuse("the URL returned an empty body", code="empty_document")
    if detected is None:
        raise _refuse(
            "the URL did not return a PNG, JPEG, TIFF, WebP, GIF or PDF document",
            code="unsupported_media_type",
        )
    return Fetched(data=body, media_type=detected, host=target.host, redirects=hop)
