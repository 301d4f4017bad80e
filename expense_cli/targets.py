"""Where ``ask`` and ``report`` send documents: in-process, a local server, or the deployed URL.

Every target takes document bytes (+ optional content type and questions) and returns the
JSON-ready result of the wire contract (docs/architecture.md; ``expense_cli/contract.py``):
``{"fields": ..., "answers": ..., "pages": n}``,
or raises an :class:`~expense_cli.errors.ExpenseError`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self

from .contract import ERRORS
from .errors import (
    BadRequest,
    DocumentTooLarge,
    ExpenseError,
    ModelNotReady,
    Overloaded,
    RemoteError,
    Timeout,
    UnreadableDocument,
    UnsupportedDocument,
)

if TYPE_CHECKING:
    import httpx

    from .engine import Engine

__all__ = ["HttpTarget", "LocalTarget", "ServerTarget", "Target", "error_from_response"]

_RETRY_STATUSES = (429, 503)
MAX_DOCUMENT_BYTES = 20_000_000  # the engine's default limit (engine/_config.py, Limits.max_bytes)

_BY_STATUS: dict[int, type[ExpenseError]] = {
    400: BadRequest,
    413: DocumentTooLarge,
    415: UnsupportedDocument,
    422: UnreadableDocument,
    429: Overloaded,
    503: ModelNotReady,
    504: Timeout,
}


class Target(Protocol):
    """Something that answers questions about a document."""

    name: str
    concurrency: int  # how many documents a caller may send at once

    @property
    def max_bytes(self) -> int:
        """The largest document (bytes on disk) worth reading for this target."""
        ...

    def extract(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        questions: Sequence[str] | None = None,
    ) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalTarget:
    """The engine in this process (loads the model on first use)."""

    concurrency = 1

    def __init__(
        self, model: str | None = None, revision: str | None = None, *, ocr_lang: str | None = None
    ) -> None:
        self.name = "local"
        self._model = model
        self._revision = revision
        self._ocr_lang = ocr_lang  # tesseract languages (`--lang`); None: EXPENSE_OCR_LANG
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import Engine, EngineConfig

            config = EngineConfig.from_env()
            if self._model:
                config = config.replace(model=self._model, revision=self._revision)
            if self._ocr_lang:
                config = config.replace(ocr_lang=self._ocr_lang)
            self._engine = Engine(config)
        return self._engine

    def extract(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        questions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        return self.engine.extract(data, questions=questions).to_dict()

    @property
    def max_bytes(self) -> int:
        """The engine's ``EXPENSE_MAX_BYTES`` limit (without loading the model)."""
        if self._engine is not None:
            return self._engine.config.limits.max_bytes
        from .engine import EngineConfig

        return EngineConfig.from_env().limits.max_bytes

    def close(self) -> None:
        """Nothing to release: the engine lives as long as the process."""


def error_from_response(status: int, body: bytes, headers: Any = None) -> ExpenseError:
    """Turn an error response of our contract back into the matching exception (with the
    response's own code when the contract's table agrees on its status)."""
    code: str | None = None
    try:
        err = json.loads(body)["error"]
        message = str(err["message"])
        code = str(err.get("code"))
    except (ValueError, KeyError, TypeError, AttributeError):
        message = body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
    spec = ERRORS.get(code or "")
    cls = _BY_STATUS.get(status, RemoteError)
    retry = None
    if headers is not None and headers.get("retry-after", "").isdigit():
        retry = int(headers["retry-after"])
    if status in (401, 403):
        message = f"not authorised ({status}): {message}"
    return cls(message, code=code if spec and spec.status == status else None, retry_after=retry)


class HttpTarget:
    """POSTs ``{"document": <base64>, "questions": [...]}`` as JSON to ``url``.

    429 and 503 answers are retried after their ``Retry-After`` (capped at ``max_retry_after``
    seconds; 1, 2, 4 … s without one) at most ``max_retries`` times, then raised as
    Overloaded / ModelNotReady. Subclasses add auth headers, shrink documents, refine errors.
    Close it (or use it as a context manager) to release its connections. ``max_bytes``: the
    largest document a caller should send (default: the server's default limit).
    """

    concurrency = 4

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 120.0,
        max_retries: int = 3,
        max_retry_after: float = 30.0,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self.name = url
        self.url = url
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.max_bytes = max_bytes
        self._client = client or httpx.Client(timeout=timeout)
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prepare(self, data: bytes) -> bytes:
        """The document as it is sent (a hook for shrinking)."""
        return data

    def _headers(self, body: bytes) -> dict[str, str]:
        return {"content-type": "application/json", "accept": "application/json"}

    def _error(self, response: httpx.Response) -> ExpenseError:
        return error_from_response(response.status_code, response.content, response.headers)

    def extract(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        questions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        import httpx

        payload: dict[str, Any] = {"document": base64.b64encode(self._prepare(data)).decode()}
        if questions:
            payload["questions"] = list(questions)
        body = json.dumps(payload, separators=(",", ":")).encode()
        for attempt in range(self.max_retries + 1):
            try:
                response = self._client.post(self.url, content=body, headers=self._headers(body))
            except httpx.TimeoutException as exc:
                raise Timeout(f"{self.name} did not answer in time: try again later") from exc
            except httpx.HTTPError as exc:
                raise RemoteError(f"cannot reach {self.name}: {exc}") from exc
            if response.status_code == 200:
                result: dict[str, Any] = response.json()
                return result
            if response.status_code in _RETRY_STATUSES and attempt < self.max_retries:
                self._sleep(self._retry_after(response.headers.get("retry-after"), attempt))
                continue
            raise self._error(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_after(self, value: str | None, attempt: int) -> float:
        wait = float(value.strip()) if value and value.strip().isdigit() else float(2**attempt)
        return min(wait, self.max_retry_after)


class ServerTarget(HttpTarget):
    """A running ``expense-cli serve`` (or the container) at ``url``: POST /invocations."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url.rstrip("/") + "/invocations", **kwargs)
        self.name = url
