"""The micro-batcher: concurrent documents share one answer() call; failures stay isolated."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from expense_cli.serving import MicroBatcher

Calls = list[list[str]]


class FakeModel:
    """answer() records each batch; the first call blocks until ``release`` (bounded)."""

    def __init__(self, block_first: bool = False, poison: str | None = None) -> None:
        self.calls: Calls = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.block_first = block_first
        self.poison = poison

    def answer(self, requests: Sequence[tuple[str, Sequence[str] | None]]) -> list[str]:
        docs = [doc for doc, _ in requests]
        self.calls.append(docs)
        self.started.set()
        if self.block_first and len(self.calls) == 1:
            assert self.release.wait(10)
        if self.poison in docs:
            raise ValueError(f"cannot answer {self.poison}")
        return [f"{doc}:{','.join(q or ['default'])}" for doc, q in requests]


def test_documents_waiting_during_a_forward_share_the_next_one() -> None:
    model = FakeModel(block_first=True)
    batcher: MicroBatcher[str, str] = MicroBatcher(model.answer, max_batch=8, wait_s=0.005)
    try:
        first = batcher.submit("a", None)
        assert model.started.wait(10)
        rest = [batcher.submit(doc, ["q"]) for doc in "bcde"]
        model.release.set()
        assert first.result(10) == ("a:default", 1)
        assert [f.result(10) for f in rest] == [(f"{doc}:q", 4) for doc in "bcde"]
    finally:
        batcher.close()
    assert model.calls == [["a"], ["b", "c", "d", "e"]]


def test_batches_never_exceed_max_batch() -> None:
    model = FakeModel(block_first=True)
    batcher: MicroBatcher[str, str] = MicroBatcher(model.answer, max_batch=3, wait_s=0.005)
    try:
        batcher.submit("a", None)
        assert model.started.wait(10)
        futures = [batcher.submit(str(i), None) for i in range(7)]
        model.release.set()
        sizes = [f.result(10)[1] for f in futures]
    finally:
        batcher.close()
    assert [len(call) for call in model.calls] == [1, 3, 3, 1]
    assert sizes == [3, 3, 3, 3, 3, 3, 1]


def test_one_bad_document_does_not_fail_its_batch() -> None:
    model = FakeModel(block_first=True, poison="bad")
    batcher: MicroBatcher[str, str] = MicroBatcher(model.answer, max_batch=8, wait_s=0.005)
    try:
        batcher.submit("a", None)
        assert model.started.wait(10)
        good, bad, other = (batcher.submit(doc, None) for doc in ("x", "bad", "y"))
        model.release.set()
        assert good.result(10) == ("x:default", 1)
        assert other.result(10) == ("y:default", 1)
        with pytest.raises(ValueError, match="cannot answer bad"):
            bad.result(10)
    finally:
        batcher.close()
    assert ["x", "bad", "y"] in model.calls  # tried together first, then one by one


def test_close_finishes_what_was_submitted() -> None:
    model = FakeModel()
    batcher: MicroBatcher[str, str] = MicroBatcher(model.answer, max_batch=4, wait_s=0.0)
    futures = [batcher.submit(doc, None) for doc in "abc"]
    batcher.close()
    assert [f.result(0)[0] for f in futures] == ["a:default", "b:default", "c:default"]
    with pytest.raises(RuntimeError):
        batcher.submit("late", None)
