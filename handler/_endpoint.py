"""Forward a request to the SageMaker endpoint and map its failures to HTTP statuses.

The boto3 ``sagemaker-runtime`` client is created once per container, lazily, with two attempts
in all (``total_max_attempts=2``) in botocore's ``standard`` retry mode. Its endpoint follows the
standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` variables (botocore reads
them natively), which is how the tests point it at a local stub.

Mapping (``Retry-After`` where marked *):

* ``ModelError`` (the container answered non-2xx): the container's own 400/413/415/422 come back
  as that status with the container's ``{"error": {"code", "message"}}``; its 429* and 503* and
  504 likewise; anything else is 502 ``model_error`` with the container's message.
* ``ModelNotReadyException`` → 503* ``model_not_ready``; ``ServiceUnavailable`` → 503*;
  ``ThrottlingException`` (or any 429) → 429* ``throttled``.
* ``ValidationError``: endpoint not found → 502 ``endpoint_not_found`` (a deployment problem);
  endpoint not InService (creating/updating) → 503* ``endpoint_not_ready``; payload too large →
  413; otherwise 502 ``endpoint_error`` (the caller's input was validated before forwarding).
* Read/connect timeout → 504 ``endpoint_timeout``; unreachable → 502 ``endpoint_unreachable``;
  other errors from AWS → 502 ``endpoint_error``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from expense_cli.contract import ERRORS, ContractError

__all__ = ["EndpointInvoker", "map_client_error"]

_PASS_THROUGH = frozenset({400, 413, 415, 422})
_DEFAULT_CODES = {
    400: "bad_request",
    413: "document_too_large",
    415: "unsupported_media_type",
    422: "unreadable_document",
    429: "throttled",
    503: "model_not_ready",
    504: "timeout",
}
_MAX_MESSAGE = 500
_DEFAULT_RETRY_AFTER = {429: "5", 503: "30"}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _retry_after(response: dict[str, Any], status: int) -> dict[str, str]:
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    value = str(headers.get("retry-after", "")).strip()
    if not value.isdigit():
        value = _DEFAULT_RETRY_AFTER[status]
    return {"retry-after": value}


def _model_error(response: dict[str, Any]) -> ContractError:
    original_status = response.get("OriginalStatusCode")
    original = str(response.get("OriginalMessage") or "")
    code: str | None = None
    message = original
    try:
        parsed = json.loads(original)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        inner = parsed["error"]
        if isinstance(inner.get("code"), str):
            code = inner["code"]
        if isinstance(inner.get("message"), str):
            message = inner["message"]
    message = _short(message) or "the model server failed without a message"
    status = original_status if isinstance(original_status, int) else 0
    spec = ERRORS.get(code or "")
    if status in _PASS_THROUGH or status in (429, 503, 504):
        # The container speaks the same contract: keep its code when the table agrees on the
        # status, else the table's usual code for that status.
        if spec is None or spec.status != status:
            code = _DEFAULT_CODES[status]
        headers = _retry_after(response, status) if status in (429, 503) else None
        return ContractError(str(code), message, headers=headers)
    return ContractError("model_error", f"the model server failed: {message}")


def map_client_error(response: dict[str, Any]) -> ContractError:
    """Translate a botocore ``ClientError.response`` from InvokeEndpoint (a ContractError)."""
    error = response.get("Error", {}) or {}
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    lowered = message.lower()
    if code == "ModelError":
        return _model_error(response)
    if code == "ModelNotReadyException":
        return ContractError(
            "model_not_ready",
            "the model is still loading; retry shortly",
            headers=_retry_after(response, 503),
        )
    if code in ("ThrottlingException", "Throttling", "TooManyRequestsException") or status == 429:
        return ContractError(
            "throttled",
            "too many requests to the model endpoint; retry after a pause",
            headers=_retry_after(response, 429),
        )
    if code == "ServiceUnavailable" or status == 503:
        return ContractError(
            "endpoint_unavailable",
            "the model endpoint is temporarily unavailable; retry shortly",
            headers=_retry_after(response, 503),
        )
    if code == "ValidationError":
        if "not found" in lowered or "could not find" in lowered:
            return ContractError(
                "endpoint_not_found",
                "the SageMaker endpoint this function forwards to does not exist; "
                "check the deployment (ENDPOINT_NAME)",
            )
        if "inservice" in lowered or "in service" in lowered or "not ready" in lowered:
            return ContractError(
                "endpoint_not_ready",
                "the SageMaker endpoint is not InService yet (creating or updating); retry later",
            )
        if "too large" in lowered or "exceed" in lowered:
            return ContractError(
                "document_too_large",
                "the request is larger than the endpoint accepts; shrink or split the document",
            )
    if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
        return ContractError(
            "endpoint_forbidden", "this function is not allowed to invoke the endpoint"
        )
    return ContractError(
        "endpoint_error", f"the model endpoint failed ({code or status}): {_short(message)}"
    )


def _default_client_factory(read_timeout: float, connect_timeout: float) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        # Two attempts in all: botocore's "max_attempts" would count retries only (3 in all).
        retries={"total_max_attempts": 2, "mode": "standard"},
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        tcp_keepalive=True,
    )
    return boto3.client("sagemaker-runtime", config=config)


class EndpointInvoker:
    """Invokes one endpoint through a lazily created, reused boto3 client."""

    def __init__(
        self,
        endpoint_name: str,
        *,
        read_timeout: float = 60.0,
        connect_timeout: float = 5.0,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self._factory = client_factory or (
            lambda: _default_client_factory(read_timeout, connect_timeout)
        )
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client (created on first use)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client

    def invoke(self, payload: bytes) -> bytes:
        """POST ``payload`` (JSON) to the endpoint and return its JSON response bytes."""
        from botocore.exceptions import (
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=payload,
            )
            return bytes(response["Body"].read())
        except ClientError as exc:
            raise map_client_error(exc.response) from exc
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise ContractError(
                "endpoint_timeout", "the model endpoint did not answer in time"
            ) from exc
        except EndpointConnectionError as exc:
            raise ContractError(
                "endpoint_unreachable", "the model endpoint could not be reached"
            ) from exc
