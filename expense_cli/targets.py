"""Where ``ask`` and ``report`` send documents: in-process, a local server, or the deployed URL.

Every target takes document bytes (+ optional content type and questions) and returns the
JSON-ready result of the contract in DESIGN.md (``{"fields": ..., "answers": ..., "pages": n}``),
or raises an :class:`~expense_cli.errors.ExpenseError`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

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
    from .engine import Engine

__all__ = ["LocalTarget", "ServerTarget", "Target", "error_from_response"]

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

    def extract(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        questions: Sequence[str] | None = None,
    ) -> dict[str, Any]: ...


class LocalTarget:
    """The engine in this process (loads the model on first use)."""

    concurrency = 1

    def __init__(self, model: str | None = None, revision: str | None = None) -> None:
        self.name = "local"
        self._model = model
        self._revision = revision
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import Engine, EngineConfig

            config = EngineConfig.from_env()
            if self._model:
                config = config.replace(model=self._model, revision=self._revision)
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


def error_from_response(status: int, body: bytes, headers: Any = None) -> ExpenseError:
    """Turn an error response of our contract back into the matching exception."""
    import json

    try:
        err = json.loads(body)["error"]
        message = str(err["message"])
    except (ValueError, KeyError, TypeError):
        message = body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
    cls = _BY_STATUS.get(status, RemoteError)
    retry = None
    if headers is not None and headers.get("retry-after", "").isdigit():
        retry = int(headers["retry-after"])
    if status in (401, 403):
        message = f"not authorised ({status}): {message}"
    return cls(message, retry_after=retry)


class ServerTarget:
    """A running ``expense-cli serve`` (or the container) at ``url``: POST /invocations."""

    concurrency = 4

    def __init__(self, url: str, *, timeout: float = 120.0) -> None:
        import httpx

        self.name = url
        self._url = url.rstrip("/") + "/invocations"
        self._client = httpx.Client(timeout=timeout)

    def extract(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        questions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        import httpx

        payload: dict[str, Any] = {"document": base64.b64encode(data).decode("ascii")}
        if questions:
            payload["questions"] = list(questions)
        try:
            response = self._client.post(self._url, json=payload)
        except httpx.TimeoutException as exc:
            raise Timeout(f"{self.name} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.name}: {exc}") from exc
        if response.status_code != 200:
            raise error_from_response(response.status_code, response.content, response.headers)
        result: dict[str, Any] = response.json()
        return result
