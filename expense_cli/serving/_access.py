"""ASGI middleware: one JSON log line per request, a request id, the last-resort 500."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._errors import Internal, error_response

__all__ = ["AccessLog"]

log = logging.getLogger("expense.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessLog:
    """One JSON log line per request (timings, sizes, status; never the body), a request id
    header, and the last-resort 500 for anything that escaped the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        info: dict[str, Any] = {}
        scope["expense"] = info
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            info.setdefault("error", "internal_error")
            if status == 0:
                response = error_response(Internal("internal server error"))
                await response(scope, receive, send_with_id)
            status = status or 500
        finally:
            line: dict[str, Any] = {
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "ms": round((time.perf_counter() - start) * 1000, 1),
            }
            for key, value in info.items():
                line[key] = (
                    {k: round(v, 1) for k, v in value.items()} if key == "timings" else value
                )
            log.info("request", extra=line)
