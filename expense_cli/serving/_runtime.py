"""The SageMaker runtime's view of a container response, for ``POST /endpoints/{name}/invocations``.

Real ``InvokeEndpoint`` passes a 2xx container response through (body and Content-Type) and wraps
any other in a ``ModelError`` (HTTP 424) that carries ``OriginalStatusCode`` and
``OriginalMessage``; a model that is not loaded yet is ``ModelNotReadyException`` (HTTP 429).
Answering the same way lets an unmodified boto3 ``sagemaker-runtime`` client (and the Lambda
handler's error mapping) be tested against this server.
"""

from __future__ import annotations

import json

from starlette.responses import Response

__all__ = ["as_runtime_response"]

_ERROR_TYPE = "x-amzn-ErrorType"


def as_runtime_response(container: Response, *, model_loading: bool = False) -> Response:
    """The response InvokeEndpoint would give for ``container``'s response."""
    if 200 <= container.status_code < 300:
        container.headers["x-Amzn-Invoked-Production-Variant"] = "AllTraffic"
        return container
    original = bytes(container.body).decode("utf-8", "replace")
    headers = {}
    if "retry-after" in container.headers:
        headers["Retry-After"] = container.headers["retry-after"]
    if model_loading:
        headers[_ERROR_TYPE] = "ModelNotReadyException"
        message = {"message": "Model is not ready yet; try again shortly."}
        return Response(json.dumps(message), 429, headers, media_type="application/json")
    status = container.status_code
    kind = "client" if status < 500 else "server"
    headers[_ERROR_TYPE] = "ModelError"
    body: dict[str, object] = {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "LogStreamArn": "",
        "Message": f'Received {kind} error ({status}) from primary with message "{original}".',
        "OriginalMessage": original,
        "OriginalStatusCode": status,
    }
    return Response(json.dumps(body), 424, headers, media_type="application/json")
