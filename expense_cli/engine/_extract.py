"""The engine: document bytes + questions → fields, via load → OCR → one forward → normalise."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ._config import EngineConfig
from ._device import describe
from ._documents import Box, Page, load_document
from ._fields import Query, plan_queries
from ._normalize import day_first_for, normalize_amount, normalize_date
from ._ocr import OcrEngine, create_ocr, ocr_pages
from ._qa import Answer, PageWords, QAModel

__all__ = ["Document", "Engine", "Field", "Result"]

log = logging.getLogger("expense.engine")


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000


@dataclass
class Document:
    """A loaded, OCR'd document, ready for questions."""

    pages: list[Page]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    answer: str
    score: float
    page: int | None
    value: str | None = None  # normalised: Decimal text for amounts, ISO 8601 for dates
    currency: str | None = None
    boxes: tuple[Box, ...] = ()  # where the answer's words are on ``page`` (0..1000 grid)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"answer": self.answer, "score": round(self.score, 4)}
        out["page"] = self.page
        if self.value is not None:
            out["value"] = self.value
        if self.currency is not None:
            out["currency"] = self.currency
        out["boxes"] = [list(box) for box in self.boxes]
        return out


@dataclass
class Result:
    fields: dict[str, Field]
    answers: list[Answer]
    pages: int
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage

    def to_dict(self) -> dict[str, Any]:
        """The JSON response of the wire contract (docs/architecture.md)."""
        return {
            "fields": {name: f.to_dict() for name, f in self.fields.items()},
            "answers": [
                {"question": a.question, "answer": a.answer, "score": round(a.score, 4),
                 "page": a.page, "boxes": [list(box) for box in a.boxes]}
                for a in self.answers
            ],
            "pages": self.pages,
        }  # fmt: skip


class Engine:
    """Loaded once (model, tokenizer, OCR engine); thread-safe to call from many requests."""

    def __init__(self, config: EngineConfig | None = None, *, ocr: OcrEngine | None = None) -> None:
        self.config = config = config or EngineConfig()
        start = time.perf_counter()
        if config.threads:
            import torch

            torch.set_num_threads(config.threads)
        self.qa = QAModel(
            config.model,
            config.revision,
            quantize=config.quantize,
            max_answer_tokens=config.max_answer_tokens,
            device=config.device,
            fp16=config.fp16,
            backend=config.backend,
        )
        self.ocr = ocr or create_ocr(config.ocr_backend, config.ocr_lang, config.ocr_psm)
        self.load_ms = (time.perf_counter() - start) * 1000
        log.info(
            "engine loaded",
            extra={
                "stage": "load",
                "ms": round(self.load_ms, 1),
                "model": self.qa.source,
                "token_head": self.qa.has_token_head,
                "quantized": config.quantize,
                "backend": config.backend,
                "device": describe(self.qa.device),
                "fp16": self.qa.fp16,
                "ocr": self.ocr.name,
            },
        )

    @property
    def device(self) -> str:
        """Where the model runs: ``cpu`` or ``cuda:N`` (``/ping`` reports it)."""
        return str(self.qa.device)

    @property
    def variant(self) -> str:
        """Backend and precision as ``expense-cli eval`` names them (``torch``, ``onnx-int8``:
        ``VARIANTS`` in _eval.py): what the build's accuracy gate chose (``/ping`` reports it)."""
        return self.qa.backend + ("-int8" if self.qa.quantized else "")

    # -- the three stages -------------------------------------------------------------------
    def prepare(self, data: bytes) -> Document:
        """Validate + split into pages, then OCR the pages that have no text layer."""
        timings: dict[str, float] = {}
        with _timed(timings, "load"):
            pages = load_document(data, self.config.limits)
        with _timed(timings, "ocr"):
            ocr_pages(self.ocr, pages, self.config.ocr_workers, self.config.ocr_max_side)
        for page in pages:
            page.image = None  # the pixels are not needed any more
        return Document(pages, timings)

    def answer(self, requests: Sequence[tuple[Document, Sequence[str] | None]]) -> list[Result]:
        """Answer several documents' questions with ONE batched forward (micro-batching)."""
        plans = [plan_queries(questions, self.config.limits) for _, questions in requests]
        pairs: list[tuple[str, PageWords]] = []
        index: list[list[list[int]]] = []  # request → query → pair indices (one per page)
        for (document, _), queries in zip(requests, plans, strict=True):
            per_query: list[list[int]] = []
            for query in queries:
                ids = []
                for page in document.pages:
                    if page.words:
                        ids.append(len(pairs))
                        pairs.append((query.question, PageWords(page.words, page.boxes)))
                    else:
                        ids.append(-1)
                per_query.append(ids)
            index.append(per_query)
        timings: dict[str, float] = {}
        with _timed(timings, "forward"):
            best = self.qa.answer(pairs)
        results = []
        for (document, _), queries, per_query in zip(requests, plans, index, strict=True):
            own = {**document.timings, **timings}  # the forward is shared by the whole batch
            with _timed(own, "postprocess"):
                result = self._result(document, queries, per_query, best)
            result.timings = own
            results.append(result)
        return results

    def extract(self, data: bytes, questions: Sequence[str] | None = None) -> Result:
        """The one-call API: bytes of an image or PDF → fields (or answers to ``questions``)."""
        start = time.perf_counter()
        result = self.answer([(self.prepare(data), questions)])[0]
        result.timings["total"] = (time.perf_counter() - start) * 1000
        log.info(
            "extract",
            extra={"stage": "extract", "pages": result.pages, "questions": len(questions or ()),
                   "timings_ms": {k: round(v, 1) for k, v in result.timings.items()}},
        )  # fmt: skip
        return result

    # -- helpers ----------------------------------------------------------------------------
    def _result(
        self,
        document: Document,
        queries: list[Query],
        per_query: list[list[int]],
        best: list[tuple[float, tuple[int, ...]]],
    ) -> Result:
        answers: list[Answer] = []
        for query, ids in zip(queries, per_query, strict=True):
            words: tuple[int, ...] = ()
            score, page = -1.0, -1
            for page_index, pair in enumerate(ids):
                if pair >= 0 and best[pair][0] > score:
                    score, words = best[pair]
                    page = page_index
            if page < 0:
                answers.append(Answer(query.question, "", 0.0, None))
            else:
                found = document.pages[page]
                text = " ".join(found.words[w] for w in words)
                boxes = tuple(found.boxes[w] for w in words)
                answers.append(Answer(query.question, text, score, page + 1, boxes))
        fields: dict[str, Field] = {}
        custom: list[Answer] = []
        currency = None
        for query, answer in zip(queries, answers, strict=True):
            if query.field is None:
                custom.append(answer)
                continue
            value = None
            amount = normalize_amount(answer.answer) if query.kind == "amount" else None
            if amount is not None:
                value = amount.value
                currency = currency or amount.currency
            fields[query.field] = Field(
                answer.answer, answer.score, answer.page, value,
                amount.currency if amount else None, answer.boxes,
            )  # fmt: skip
        day_first = self.config.day_first
        if day_first is None:
            day_first = day_first_for(currency)
        for query in queries:
            if query.kind == "date" and query.field in fields:
                f = fields[query.field]
                value = normalize_date(f.answer, day_first)
                fields[query.field] = Field(f.answer, f.score, f.page, value, boxes=f.boxes)
        return Result(fields, custom, len(document.pages))
