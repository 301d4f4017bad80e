"""Lambda entry point (``app.lambda_handler``) behind a function URL (payload format 2.0).

Validates the request, fetches a URL safely or takes the uploaded bytes, forwards
``{"document": <base64>, "questions": [...]}`` to the SageMaker endpoint ``ENDPOINT_NAME`` and
passes the model server's JSON result through. Every outcome is a JSON response; failures are
``{"error": {"code", "message"}}`` with a 4xx for the caller's input, 5xx for the endpoint or the
function (``internal_error`` carries the request id to find the log line). Configuration: see
:mod:`_config`; auth: :mod:`_auth`; URL rules: :mod:`_fetch`; error mapping: :mod:`_endpoint`.
CORS preflight is answered by the function URL itself (its ``cors`` block), not here.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from _auth import TokenAuthenticator, ssm_token_loader
from _config import ConfigError, Settings
from _endpoint import EndpointInvoker
from _errors import error_response, json_response, text_response
from _fetch import FetchPolicy, fetch_document
from _log import configure, log_request
from _request import parse_event, request_headers, request_method, request_path

from expense_cli.contract import ContractError
from expense_cli.page import PAGE_HEADERS, page_config, page_file

__all__ = ["Handler", "lambda_handler", "reset"]

_logger = logging.getLogger("expense.handler")


def _ssm_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=5
    )
    return boto3.client("ssm", config=config)


def _request_id(event: Mapping[str, Any], context: Any) -> str:
    rid = getattr(context, "aws_request_id", None)
    if isinstance(rid, str) and rid:
        return rid
    ctx = event.get("requestContext") if isinstance(event, Mapping) else None
    rid = ctx.get("requestId") if isinstance(ctx, Mapping) else None
    return rid if isinstance(rid, str) and rid else str(uuid.uuid4())


_MIN_INVOKE_MS = 1000
# AWS Lambda: the most a synchronous invocation may return, as the runtime serialises it (UTF-8
# JSON, non-ASCII unescaped from python3.12 on). Past it the function URL answers a bare 502.
MAX_RESPONSE_BYTES = 6_291_556


def _response_size(response: Mapping[str, Any]) -> int:
    """The bytes ``response`` takes once serialised; 0 when its body is too short to matter."""
    body = response.get("body")
    if isinstance(body, str) and len(body) * 6 < MAX_RESPONSE_BYTES - 65536:
        return 0  # no character serialises to more than 6 bytes (a control code as \uXXXX)
    return len(json.dumps(response, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _remaining_ms(context: Any) -> float:
    """Milliseconds the Lambda invocation has left (infinite outside Lambda)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return float("inf")
    try:
        return float(remaining())
    except (TypeError, ValueError):
        return float("inf")


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def _payload(document_b64: bytes, questions: tuple[str, ...], page_images: bool = False) -> bytes:
    """``{"document": ..., "questions": [...]}`` as JSON bytes ("questions" only when asked,
    ``"page_images": true`` only when asked).

    Validated base64 needs no JSON escaping, so it is spliced in rather than run through the
    encoder (which costs ~15 ms per MB).
    """
    parts = [b'{"document":"', document_b64, b'"']
    if questions:
        parts += [b',"questions":', json.dumps(list(questions), separators=(",", ":")).encode()]
    if page_images:
        parts.append(b',"page_images":true')
    parts.append(b"}")
    return b"".join(parts)


class Handler:
    """The request pipeline, with every external dependency injectable for tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        invoker: EndpointInvoker | None = None,
        fetch_policy: FetchPolicy | None = None,
        authenticator: TokenAuthenticator | None = None,
        ssm_client_factory: Callable[[], Any] = _ssm_client,
    ) -> None:
        self.settings = settings
        self.invoker = invoker or EndpointInvoker(
            settings.endpoint_name,
            read_timeout=settings.invoke_read_timeout_s,
            connect_timeout=settings.invoke_connect_timeout_s,
        )
        self.fetch_policy = fetch_policy or FetchPolicy.from_settings(settings)
        if authenticator is None and settings.auth_mode == "token":
            assert settings.token_parameter is not None  # guaranteed by Settings.from_env
            authenticator = TokenAuthenticator(
                ssm_token_loader(settings.token_parameter, ssm_client_factory)
            )
        self.authenticator = authenticator
        configure(settings.log_level)

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        request_id = _request_id(event, context)
        record: dict[str, Any] = {"event": "request", "request_id": request_id}
        try:
            response = self._handle(event, context, record)
        except ContractError as exc:
            record["code"] = exc.code
            response = error_response(exc, request_id=request_id)
        except Exception:
            _logger.exception("unexpected error (request_id=%s)", request_id)
            record["code"] = "internal_error"
            response = error_response(
                ContractError("internal_error", f"internal error; quote request id {request_id}"),
                request_id=request_id,
            )
        response["headers"]["x-request-id"] = request_id
        record["status"] = response["statusCode"]
        record["ms_total"] = _ms(time.perf_counter() - started)
        log_request(record, level=logging.INFO if record["status"] < 500 else logging.ERROR)
        return response

    def _page(self, path: str) -> dict[str, Any]:
        """The web page (the same files the local server serves), public like the URL itself:
        it holds no secret, and in token mode asks the user for the token."""
        if path == "/config.json":
            body = page_config(
                auth=self.settings.auth_mode,
                fetches_urls=True,
                max_document_bytes=self.settings.max_document_bytes,
                max_body_bytes=self.settings.max_body_bytes,
            )
            return text_response(200, body, {**PAGE_HEADERS, "content-type": "application/json"})
        found = page_file(path)
        if found is None:
            raise ContractError("not_found", f"no such path: {path[:100]}")
        return text_response(200, found[0], {**PAGE_HEADERS, "content-type": found[1]})

    def _handle(
        self, event: Mapping[str, Any], context: Any, record: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(event, Mapping):
            raise ContractError("invalid_event", "the request could not be read")
        method = request_method(event)
        record["method"] = method
        if method == "GET":
            return self._page(request_path(event))
        if method != "POST":
            raise ContractError(
                "method_not_allowed",
                'use POST with {"image": "https://..."} or {"document": "<base64>"}, '
                "or GET / for the web page",
                headers={"allow": "GET, POST"},
            )
        if self.authenticator is not None:
            self.authenticator.check(request_headers(event))
        request = parse_event(event, self.settings)
        body = event.get("body")
        record.update(
            source=request.source,
            bytes_in=len(body) if isinstance(body, str) else 0,
            n_questions=len(request.questions),
        )

        if request.source == "url":
            assert request.url is not None
            fetch_started = time.perf_counter()
            try:
                fetched = fetch_document(request.url, self.fetch_policy)
            finally:
                record["ms_fetch"] = _ms(time.perf_counter() - fetch_started)
            record.update(host=fetched.host, redirects=fetched.redirects)
            document_b64, document_size = base64.b64encode(fetched.data), len(fetched.data)
        else:
            document_b64, document_size = request.document_b64(), request.size
        record["doc_bytes"] = document_size
        payload = _payload(document_b64, request.questions, request.page_images)
        if len(payload) > self.settings.max_payload_bytes:
            raise ContractError(
                "document_too_large",
                f"the document is {document_size} bytes, which base64-encoded (+33%) exceeds "
                f"the endpoint's {self.settings.max_payload_bytes}-byte request limit; shrink it "
                "(lower the scan resolution or JPEG quality) or split it",
            )

        if _remaining_ms(context) < _MIN_INVOKE_MS:
            raise ContractError(
                "timeout", "not enough time left to ask the model; retry, or send the bytes"
            )
        invoke_started = time.perf_counter()
        try:
            result = self.invoker.invoke(payload)
        finally:
            record["ms_invoke"] = _ms(time.perf_counter() - invoke_started)
        record["bytes_out"] = len(result)
        try:
            text = result.decode("utf-8")
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ContractError("model_error", "the model server returned no JSON object")
        response = json_response(200, text)
        size = _response_size(response)
        if size > MAX_RESPONSE_BYTES:
            raise ContractError(
                "model_error",
                f"the answer is {size:,} bytes, more than a function URL can return "
                f"({MAX_RESPONSE_BYTES:,}); ask without page images, or send fewer pages",
            )
        record["code"] = "ok"
        return response


_default: Handler | None = None
_default_lock = threading.Lock()


def _default_handler() -> Handler:
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Handler(Settings.from_env())
    return _default


def reset() -> None:
    """Forget the per-container handler (tests change the environment between cases)."""
    global _default
    with _default_lock:
        _default = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AWS Lambda entry point."""
    try:
        handler = _default_handler()
    except ConfigError as exc:
        request_id = _request_id(event if isinstance(event, Mapping) else {}, context)
        _logger.error("configuration error (request_id=%s): %s", request_id, exc)
        response = error_response(
            ContractError(
                "internal_error", f"the function is misconfigured; quote request id {request_id}"
            ),
            request_id=request_id,
        )
        response["headers"]["x-request-id"] = request_id
        return response
    return handler(event, context)
