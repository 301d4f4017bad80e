"""Micro-batching: documents prepared by concurrent requests share ONE model forward.

Requests load + OCR their document in a thread pool, then :meth:`MicroBatcher.submit` it. A single
forward thread takes the first waiting document, collects more for at most ``wait_s`` (only while
other requests are still being prepared, so a lone request never waits) up to ``max_batch``, and
answers them all with one ``answer([...])`` call. If that call fails, the documents are answered
one by one so that one bad request cannot fail its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

log = logging.getLogger("expense.serving")

D = TypeVar("D")  # a prepared document
R = TypeVar("R")  # its result

AnswerFn = Callable[[Sequence[tuple[D, Sequence[str] | None]]], list[R]]


@dataclass
class _Item(Generic[D, R]):
    document: D
    questions: Sequence[str] | None
    future: Future[tuple[R, int]] = field(default_factory=Future)
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher(Generic[D, R]):
    """One forward thread; ``submit()`` returns a future of ``(result, batch size)``."""

    def __init__(
        self,
        answer: AnswerFn[D, R],
        *,
        max_batch: int = 8,
        wait_s: float = 0.01,
        pending: Callable[[], int] = lambda: 0,
    ) -> None:
        self._answer = answer
        self._max_batch = max(1, max_batch)
        self._wait_s = max(0.0, wait_s)
        self._pending = pending  # how many requests are still preparing a document
        self._queue: queue.SimpleQueue[_Item[D, R] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="expense-forward", daemon=True)
        self._thread.start()

    def submit(self, document: D, questions: Sequence[str] | None) -> Future[tuple[R, int]]:
        if self._closed:
            raise RuntimeError("the batcher is closed")
        item: _Item[D, R] = _Item(document, questions)
        self._queue.put(item)
        return item.future

    def close(self, timeout: float = 10.0) -> None:
        """Finish what was submitted, then stop the forward thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    # -- the forward thread -------------------------------------------------------------------
    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.perf_counter() + self._wait_s
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0 or self._pending() == 0:
                        break
                    try:
                        item = self._queue.get(timeout=min(remaining, 0.002))
                    except queue.Empty:
                        continue
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._run(batch)

    def _run(self, batch: list[_Item[D, R]]) -> None:
        live = [item for item in batch if item.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            results = self._answer([(item.document, item.questions) for item in live])
        except BaseException as exc:
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            log.debug("batch of %d failed (%s); answering one by one", len(live), exc)
            for item in live:
                try:
                    result = self._answer([(item.document, item.questions)])[0]
                except BaseException as single:
                    item.future.set_exception(single)
                else:
                    item.future.set_result((result, 1))
            return
        for item, result in zip(live, results, strict=True):
            item.future.set_result((result, len(live)))
