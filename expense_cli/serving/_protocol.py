"""uvicorn's h11 protocol with slow-client limits and JSON errors for malformed HTTP.

:func:`protocol_class` gives the class ``_server.py`` passes to ``uvicorn.Config(http=...)``:

* **Header timeout**: a request line and headers must arrive within ``header_timeout_s`` of the
  connection opening (or of the first byte of the next request on a kept-alive connection);
  then the connection is closed, with the JSON 408 ``request_timeout`` error when some bytes
  came (a slowloris client).
* **Connection cap**: at most ``max_connections`` open connections. A newcomer at the cap does
  not get refused: the oldest connection that is idle, still sending its headers or still
  sending its body is dropped instead, so ``/ping`` and real requests keep getting in. Only
  when every connection is being served is the newcomer answered 429 and closed.
* **Send timeout**: a client that leaves its answer unread (say, pipelining requests without
  reading the responses) pauses our writes; when it then reads nothing for ``send_timeout_s``
  (our buffer and the kernel's send queue do not shrink) the connection is reset, so such
  clients cannot hold connections and request tasks forever. At the cap they are dropped like
  clients still sending a body.
* **Early responses** (413 from ``Content-Length``, ``timeout`` for a body too slow, see
  ``_service.py``): the rest of the body may drain for ``header_timeout_s``, then the
  connection is closed, so a refused client cannot keep it open by dripping bytes.
* **Malformed HTTP** (bad or conflicting ``Content-Length``, ``Transfer-Encoding`` together
  with ``Content-Length``, bad request lines, a request head over h11's 16 KiB) is answered
  400 ``bad_request`` with the contract's ``{"error": {"code", "message"}}`` body instead of
  uvicorn's ``text/plain`` reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import re
import resource
import socket
import struct
import termios
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..contract import ContractError, dumps
from ..errors import BadRequest, Overloaded, SlowClient

__all__ = ["ConnectionLimits", "connection_cap", "error_bytes", "protocol_class"]

log = logging.getLogger("expense.serving")

# File descriptors kept free for everything that is not a client connection: the listening
# socket, the model's files, logs, the OCR pool's pipes, tesseract subprocesses.
FD_RESERVE = 64
_MESSAGE_CHARS = 200
LINGER_S = 2.0
_ABSOLUTE_FORM = re.compile(rb"https?://[^/?#]*", re.IGNORECASE)  # scheme and authority
_OUTQ: int | None = getattr(termios, "TIOCOUTQ", None)  # bytes in a socket's send queue


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    max_connections: int
    send_timeout_s: float = 30.0


def connection_cap(wanted: int, reserve: int = FD_RESERVE) -> int:
    """``wanted``, lowered to fit the open-files limit (less ``reserve``) of this process."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(2, min(wanted, soft - reserve))


def error_bytes(exc: ContractError) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 response carrying ``exc`` as contract JSON."""
    body = dumps(exc.body())
    lines = [
        f"HTTP/1.1 {exc.status} {HTTPStatus(exc.status).phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    lines += [f"{name}: {value}" for name, value in exc.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


class _DropLog:
    """Dropped connections, logged at most once per ``every_s`` (an attack must not turn into a
    flood of log lines). Kinds: 0 sending headers (or idle), 1 sending a body, 2 not reading its
    answer."""

    KINDS = ("dropped_sending_headers", "dropped_sending_body", "dropped_not_reading")

    def __init__(
        self,
        every_s: float = 10.0,
        message: str = "connection cap reached: dropped the oldest unfinished connections",
    ) -> None:
        self.every_s = every_s
        self.message = message
        self.pending = [0] * len(self.KINDS)  # drops by kind since the last line
        self.last = float("-inf")

    def count(self, kind: int, cap: int, now: float) -> None:
        self.pending[kind] += 1
        if now - self.last >= self.every_s:
            counts = dict(zip(self.KINDS, self.pending, strict=True))
            log.warning(self.message, extra={"max_connections": cap, **counts})
            self.pending = [0] * len(self.KINDS)
            self.last = now


_drops = _DropLog()
_resets = _DropLog(message="reset connections whose client read nothing of its answer")


class _Connection(h11.Connection):
    """h11's connection, remembering the protocol error it raised (uvicorn drops it). h11 limits
    the size of an *incomplete* request head only; a whole head larger than that limit, arriving
    in one read, is refused here too, and so is a request with both Transfer-Encoding and
    Content-Length. An absolute-form target (``GET http://host/ping``) is routed by its path."""

    last_error: h11.RemoteProtocolError | None = None

    def __init__(self, max_head: int) -> None:
        super().__init__(h11.SERVER, max_head)
        self.max_head = max_head

    def next_event(self) -> Any:
        try:
            before = len(self._receive_buffer)
            event = super().next_event()
            if isinstance(event, h11.Request):
                size = before - len(self._receive_buffer)  # the head's bytes, its blank line too
                if size > self.max_head:
                    raise h11.RemoteProtocolError(
                        f"the request line and headers are larger than {self.max_head} bytes"
                    )
                if absolute := _ABSOLUTE_FORM.match(event.target):
                    # RFC 9112 3.2.2: a server must accept http://host/path; route the path
                    path = event.target[absolute.end() :]
                    event = h11.Request(
                        method=event.method,
                        target=path if path.startswith(b"/") else b"/" + path,
                        headers=event.headers,
                        http_version=event.http_version,
                    )
                names = {name for name, _ in event.headers}  # h11 lower-cases them
                if b"transfer-encoding" in names and b"content-length" in names:
                    # h11 would follow Transfer-Encoding and keep the connection: the way request
                    # smuggling starts when a proxy in front follows Content-Length (RFC 9112 6.3)
                    raise h11.RemoteProtocolError(
                        "both Transfer-Encoding and Content-Length; send one of them"
                    )
            return event
        except h11.RemoteProtocolError as exc:
            self.last_error = exc
            raise


class ExpenseHTTPProtocol(H11Protocol):
    """One client connection; the class attribute ``limits`` is set by :func:`protocol_class`."""

    limits: ClassVar[ConnectionLimits]

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        size = config.h11_max_incomplete_event_size or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
        self.conn = _Connection(size)
        self._timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None  # armed while our writes are paused
        self._unsent = 0  # _pending_bytes() when the send timer was last armed
        self._since = 0.0  # when this connection began waiting for its current request
        self._partial = False  # bytes of a request line/headers have arrived
        self._lingering = False  # answered with an error: dropping input until closed
        self._eof = False  # the client half-closed after a complete request

    # -- asyncio.Protocol -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._since = self.loop.time()
        self._arm()
        self._enforce_cap()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._resume_timer()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio.Protocol's type
        """The client shut down its sending side (``shutdown(SHUT_WR)``, ``nc -N``, ``curl`` fed
        from a pipe in some set-ups). A complete request still gets its answer (then the
        connection closes); otherwise the connection closes now, as asyncio does by default."""
        if self._answering() and not self.transport.is_closing():
            self._eof = True
            return True  # keep our sending side open
        return None

    def _answering(self) -> bool:
        """A whole request is in and its answer is not complete yet."""
        cycle = self.cycle
        return (
            cycle is not None
            and not cycle.response_complete
            and self.conn.their_state in (h11.DONE, h11.MUST_CLOSE)
        )

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._unsent = self._pending_bytes()
            self._send_timer = self.loop.call_later(self.limits.send_timeout_s, self._send_check)

    def _pending_bytes(self) -> int:
        """Answer bytes not yet taken by the client: in our buffer plus in the kernel's send
        queue (which only shrinks when the client reads)."""
        pending = self.transport.get_write_buffer_size()
        sock = self.transport.get_extra_info("socket")
        if sock is not None and _OUTQ is not None:
            with contextlib.suppress(OSError):
                queued = fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0")
                pending += struct.unpack("i", queued)[0]
        return pending

    def _send_check(self) -> None:
        """``send_timeout_s`` into a pause: drop the connection if the client read nothing."""
        self._send_timer = None
        if self.transport.is_closing() and self.transport.get_write_buffer_size() == 0:
            return
        pending = self._pending_bytes()
        if pending < self._unsent:  # slow, not stalled: the next period
            self._unsent = pending
            self._send_timer = self.loop.call_later(self.limits.send_timeout_s, self._send_check)
            return
        self._drop()
        _resets.count(2, self.limits.max_connections, self.loop.time())

    def resume_writing(self) -> None:
        self._resume_timer()
        super().resume_writing()

    def _resume_timer(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.IDLE:
            self._partial = True  # the next request has begun: its headers are on the clock
            self._arm()
        elif self._draining():
            self._arm()
        else:
            self._disarm()  # headers complete: the body is timed by the app (_service.py)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._eof and not self._answering() and not self.transport.is_closing():
            self._disarm()
            self.transport.close()  # the client sends nothing more: close after the answers
            return
        self._since = self.loop.time()
        # A pipelined next request that came only in part is on the header clock at once.
        self._partial = self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])
        if (self._partial or self._draining()) and not self.transport.is_closing():
            self._arm()

    # -- malformed requests ---------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        error = self.conn.last_error if isinstance(self.conn, _Connection) else None
        detail = str(error) if error is not None else msg
        cycle = self.cycle  # the current request's, or the last finished one's (keep-alive)
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() sees a disconnect
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()  # a response is under way: nothing sensible to add
                return
        message = f"malformed HTTP request: {detail}"[:_MESSAGE_CHARS]
        self._reply_and_close(BadRequest(message))

    # -- timers ---------------------------------------------------------------------------------
    def _draining(self) -> bool:
        """Answered early while the client still sends its body."""
        return self.conn.their_state is h11.SEND_BODY and self.conn.our_state in (
            h11.DONE,
            h11.MUST_CLOSE,
        )

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = self.loop.call_later(self.limits.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE and self._partial:
            seconds = f"{self.limits.header_timeout_s:g}"
            self._reply_and_close(
                SlowClient(f"the request headers did not arrive within {seconds} s")
            )
        elif self.conn.their_state is h11.IDLE or self._draining():
            self.transport.close()

    # -- the connection cap -----------------------------------------------------------------------
    def _stage(self) -> int | None:
        """0: idle, sending headers or answered with an error; 1: sending a body the app has not
        admitted yet, or not reading its answer; None: being served (never dropped)."""
        if self.transport is None or self.transport.is_closing():
            return None
        if self._lingering or self.conn.their_state is h11.IDLE:
            return 0
        if self.conn.their_state is h11.SEND_BODY and self.conn.our_state is h11.SEND_RESPONSE:
            return 1
        if self.flow.write_paused:
            return 1
        return None

    def _enforce_cap(self) -> None:
        if len(self.connections) <= self.limits.max_connections:
            return  # the common case, without looking at each connection
        open_ = [
            c
            for c in self.connections
            if isinstance(c, ExpenseHTTPProtocol) and not c.transport.is_closing()
        ]
        if len(open_) <= self.limits.max_connections:
            return
        ranked = [
            (stage, c._since, c)
            for c in open_
            if c is not self and (stage := c._stage()) is not None
        ]
        if ranked:
            stage, _, victim = min(ranked, key=lambda item: (item[0], item[1]))
            kind = 2 if victim.flow.write_paused else stage
            victim._drop()
            _drops.count(kind, self.limits.max_connections, self.loop.time())
            return
        self._reply_and_close(
            Overloaded(
                f"the server has {self.limits.max_connections} connections open; retry shortly"
            )
        )

    def _drop(self) -> None:
        self._disarm()
        self.connections.discard(self)  # no longer counted, before connection_lost runs
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if self.flow.write_paused:
            # Answers the client is not reading: reset (a FIN would queue behind them, and the
            # kernel would keep the socket and its buffers for minutes).
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _reply_and_close(self, exc: ContractError) -> None:
        """Answer, then close gently: a client still sending would get a reset (and lose the
        answer) if the socket closed with its bytes unread, so our side ends with FIN and what
        still comes is read and dropped for at most ``LINGER_S`` (nginx's lingering close)."""
        self._disarm()
        self.transport.write(error_bytes(exc))
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._lingering = True
        self._timer = self.loop.call_later(min(LINGER_S, self.limits.header_timeout_s), self._end)

    def _end(self) -> None:
        self._timer = None
        self.transport.close()


def protocol_class(
    header_timeout_s: float, max_connections: int, send_timeout_s: float = 30.0
) -> type[ExpenseHTTPProtocol]:
    """An :class:`ExpenseHTTPProtocol` subclass bound to these limits (uvicorn builds one
    instance per connection from ``Config.http``)."""
    limits = ConnectionLimits(header_timeout_s, max_connections, send_timeout_s)
    return type("BoundExpenseHTTPProtocol", (ExpenseHTTPProtocol,), {"limits": limits})
