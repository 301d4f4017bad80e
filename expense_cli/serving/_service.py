"""Model loading, admission control, the OCR thread pool and the micro-batcher, for one app.

Flow of an invocation: body read with the size cap (413) within ``body_timeout_s`` (408) →
admission (at most ``max_concurrency + max_queue`` requests in the server, else 429) → parse
(400/415) → a processing slot (``max_concurrency``) → load + OCR in the thread pool → one batched
forward shared with concurrent requests (:class:`MicroBatcher`) → the web page's previews when
asked (``page_images``) → JSON. A request is admitted only once its whole body has arrived, so
clients that stall mid-body hold a connection (bounded by ``_protocol.py``'s cap and this body
timeout) but never an admission slot. The whole request, previews included, has
``request_timeout_s`` (504) and keeps its admission place until its work ends. The model loads
in a background thread at startup; until then requests get 503.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..engine import Document, EngineConfig, Result
from ..engine._preview import answer_pages, page_images
from ..errors import BadRequest, ExpenseError, ModelNotReady, Overloaded, SlowClient, Timeout
from ._batcher import MicroBatcher
from ._errors import LoadFailed, json_response
from ._requests import Invocation, check_encoding, parse_invocation, read_body, request_limits
from ._settings import Settings

__all__ = ["EngineLike", "Loader", "Service", "load_engine"]

log = logging.getLogger("expense.serving")


class EngineLike(Protocol):
    """What the server needs of :class:`~expense_cli.engine.Engine` (tests inject stand-ins)."""

    @property
    def config(self) -> EngineConfig: ...

    def prepare(self, data: bytes) -> Document: ...

    def answer(self, requests: Sequence[tuple[Document, Sequence[str] | None]]) -> list[Result]: ...


Loader = Callable[[EngineConfig], EngineLike]


def load_engine(config: EngineConfig) -> EngineLike:
    from ..engine import Engine

    return Engine(config)


class Service:
    """Model loading, admission, the OCR pool and the micro-batcher, for one app."""

    def __init__(self, settings: Settings, loader: Loader, engine: EngineLike | None) -> None:
        self.settings = settings
        self._loader = loader
        self.engine = engine
        self.load_error: str | None = None
        self.load_ms: float | None = None
        self._admitted = 0
        self._preparing = 0
        self._cap = settings.max_concurrency + settings.max_queue
        self._slots: asyncio.Semaphore | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._batcher: MicroBatcher[Document, Result] | None = None
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._slots = asyncio.Semaphore(self.settings.max_concurrency)
        self._pool = ThreadPoolExecutor(self.settings.threads, thread_name_prefix="expense-prep")
        if self.engine is not None:
            self._ready(self.engine)
        else:
            threading.Thread(target=self._load, name="expense-load", daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _load(self) -> None:
        start = time.perf_counter()
        try:
            engine = self._loader(self.settings.engine)
        except Exception as exc:
            message = exc.message if isinstance(exc, ExpenseError) else type(exc).__name__
            self.load_error = f"the model failed to load: {message}"
            log.exception("model load failed", extra={"model": self.settings.engine.model})
            return
        self.load_ms = (time.perf_counter() - start) * 1000
        self._ready(engine)
        log.info("model ready", extra={"load_ms": round(self.load_ms, 1)})

    def _ready(self, engine: EngineLike) -> None:
        with self._lock:
            if self.settings.micro_batching:
                self._batcher = MicroBatcher(
                    engine.answer,
                    max_batch=self.settings.max_batch,
                    wait_s=self.settings.batch_wait_ms / 1000,
                    pending=lambda: self._preparing,
                )
            self.engine = engine

    def check_ready(self) -> EngineLike:
        if self.engine is not None:
            return self.engine
        if self.load_error is not None:
            raise LoadFailed(self.load_error)
        raise ModelNotReady("the model is still loading; retry shortly", retry_after=5)

    # -- one invocation -------------------------------------------------------------------------
    async def invoke(self, request: Request, info: dict[str, Any]) -> Response:
        start = time.perf_counter()
        deadline = start + self.settings.request_timeout_s
        engine = self.check_ready()
        check_encoding(request.headers.getlist("content-encoding"))
        body = await self._receive(request, deadline)
        info["bytes"] = len(body)
        if self._admitted >= self._cap:
            raise Overloaded(
                f"the server is busy ({self._admitted} requests in progress); retry shortly",
                retry_after=1,
            )
        self._admitted += 1
        task: asyncio.Future[tuple[Result, int, dict[str, Any]]] | None = None
        try:
            invocation = parse_invocation(
                body,
                request.headers.get("content-type"),
                request.url.query,
                request_limits(self.settings.engine.limits, self.settings.body_limit),
            )
            info["questions"] = len(invocation.questions or ())
            task = asyncio.ensure_future(self._answer(engine, invocation, info))
            task.add_done_callback(self._release)
            try:
                result, batch, answer = await asyncio.wait_for(
                    asyncio.shield(task), max(0.0, deadline - time.perf_counter())
                )
            except TimeoutError:
                raise Timeout(
                    f"the document took longer than {self.settings.request_timeout_s:g} s"
                ) from None
        finally:
            if task is None:
                self._admitted -= 1
        timings = {**result.timings, **info.get("timings", {})}
        timings["total"] = (time.perf_counter() - start) * 1000
        info.update(pages=result.pages, batch=batch, timings=timings)
        timing = ", ".join(f"{stage};dur={ms:.1f}" for stage, ms in timings.items())
        return json_response(
            answer, headers={"Server-Timing": timing, "X-Expense-Batch": str(batch)}
        )

    async def _receive(self, request: Request, deadline: float) -> bytes:
        """The whole body, within ``body_timeout_s`` and the request's own deadline."""
        limit_s = min(self.settings.body_timeout_s, deadline - time.perf_counter())
        try:
            return await asyncio.wait_for(
                read_body(
                    request.headers.get("content-length"),
                    request.stream(),
                    self.settings.body_limit,
                ),
                max(0.0, limit_s),
            )
        except TimeoutError:
            raise SlowClient(
                f"the request body did not arrive within {limit_s:.3g} s; "
                "send it in one go (the server admits a request once its body is in)"
            ) from None
        except ClientDisconnect:
            raise BadRequest(
                "the client closed the connection before sending the whole body"
            ) from None

    def _release(self, task: asyncio.Future[tuple[Result, int, dict[str, Any]]]) -> None:
        self._admitted -= 1
        if not task.cancelled():
            task.exception()  # retrieved: a timed-out request's late failure is not "lost"

    async def _answer(
        self, engine: EngineLike, invocation: Invocation, info: dict[str, Any]
    ) -> tuple[Result, int, dict[str, Any]]:
        """The result, its batch size and its JSON answer, with the web page's previews of the
        pages with answers when asked: all within the request's time limit and admission."""
        result, batch = await self._process(engine, invocation, info)
        answer = result.to_dict()
        if invocation.page_images:
            start = time.perf_counter()
            answer["page_images"] = await asyncio.get_running_loop().run_in_executor(
                self._pool,
                page_images,
                invocation.document,
                answer_pages(answer),
                self.settings.engine.limits,
            )
            info["timings"]["preview"] = (time.perf_counter() - start) * 1000
        return result, batch, answer

    async def _process(
        self, engine: EngineLike, invocation: Invocation, info: dict[str, Any]
    ) -> tuple[Result, int]:
        assert self._slots is not None and self._pool is not None
        loop = asyncio.get_running_loop()
        queued = time.perf_counter()
        async with self._slots:
            info["timings"] = {"queue": (time.perf_counter() - queued) * 1000}
            batcher = self._batcher
            self._preparing += 1
            try:
                if batcher is None:
                    result = await loop.run_in_executor(self._pool, _extract, engine, invocation)
                    return result, 1
                document = await loop.run_in_executor(
                    self._pool, engine.prepare, invocation.document
                )
            finally:
                self._preparing -= 1
            submitted = time.perf_counter()
            result, batch = await asyncio.wrap_future(
                batcher.submit(document, invocation.questions)
            )
            waited = (time.perf_counter() - submitted) * 1000 - result.timings.get("forward", 0.0)
            info["timings"]["batch_wait"] = max(0.0, waited - result.timings.get("postprocess", 0))
            return result, batch


def _extract(engine: EngineLike, invocation: Invocation) -> Result:
    """No micro-batching: this request's own forward, in its worker thread."""
    return engine.answer([(engine.prepare(invocation.document), invocation.questions)])[0]
