"""The serving app: the SageMaker container contract on Starlette.

Routes: ``GET /ping``, ``POST /invocations``, ``POST /endpoints/{name}/invocations`` (the runtime
API's path, answered the way InvokeEndpoint answers), ``GET /execution-parameters`` (batch
transform), ``GET /``, ``GET /config.json`` and ``GET /static/{name}`` (the web page, from
``expense_cli/page.py``). The work is done by
:class:`Service` (``_service.py``); every request is logged by :class:`AccessLog`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..contract import ContractError
from ..page import PAGE_HEADERS, page_config, page_file
from ._access import AccessLog
from ._errors import ERROR_HANDLERS, Internal, error_response, json_response
from ._requests import request_limits
from ._runtime import as_runtime_response
from ._service import EngineLike, Loader, Service, load_engine
from ._settings import Settings

__all__ = ["create_app", "transform_parameters"]

log = logging.getLogger("expense.serving")


# CreateTransformJob's rules: MaxPayloadInMB at most 100, MaxConcurrentTransforms times
# MaxPayloadInMB at most 100; "MB" read as MiB (2**20), the larger reading, so a payload that
# SageMaker allows always fits the body limit.
_TRANSFORM_MB = 100
_MIB = 1 << 20


def transform_parameters(settings: Settings) -> dict[str, Any]:
    """``GET /execution-parameters`` (batch transform): this server's concurrency, and the
    largest payload it accepts, within SageMaker's limits on both."""
    payload_mb = max(1, min(settings.body_limit // _MIB, _TRANSFORM_MB // settings.max_concurrency))
    return {
        "MaxConcurrentTransforms": min(settings.max_concurrency, _TRANSFORM_MB // payload_mb),
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": payload_mb,
    }


def create_app(
    settings: Settings | None = None,
    *,
    engine: EngineLike | None = None,
    loader: Loader | None = None,
) -> Starlette:
    """The ASGI app. ``engine``: use this loaded engine (ready at once); ``loader``: how to load
    one from ``settings.engine`` in the background (default: :class:`Engine`)."""
    settings = settings or Settings()
    if engine is not None:
        settings = settings.replace(engine=engine.config)
    service = Service(settings, loader or load_engine, engine)

    def info_of(request: Request) -> dict[str, Any]:
        info: dict[str, Any] = request.scope.setdefault("expense", {})
        return info

    async def invocations(request: Request) -> Response:
        info = info_of(request)
        try:
            return await service.invoke(request, info)
        except ContractError as exc:
            info["error"] = exc.code
            return error_response(exc)
        except Exception:
            log.exception("invocation failed")
            info["error"] = Internal.code
            return error_response(Internal("internal server error"))

    async def runtime_invocations(request: Request) -> Response:
        info_of(request)["endpoint"] = request.path_params["name"]
        response = await invocations(request)
        loading = response.status_code == 503 and service.engine is None
        return as_runtime_response(response, model_loading=loading and service.load_error is None)

    async def ping(request: Request) -> Response:
        try:
            service.check_ready()
        except ContractError as exc:
            info_of(request)["error"] = exc.code
            return error_response(exc)
        body = {"status": "ok"}
        for key in ("device", "variant"):  # cpu | cuda:N; torch | onnx-int8 ... (stand-ins: none)
            value = getattr(service.engine, key, None)
            if isinstance(value, str):
                body[key] = value
        return json_response(body)

    async def execution_parameters(request: Request) -> Response:
        return json_response(transform_parameters(settings))

    async def page(request: Request) -> Response:
        found = page_file(request.url.path)
        if found is None:
            raise HTTPException(404)
        return Response(found[0], headers=PAGE_HEADERS, media_type=found[1])

    async def config(request: Request) -> Response:
        limits = request_limits(settings.engine.limits, settings.body_limit)
        body = page_config(
            auth="none",
            fetches_urls=False,
            max_document_bytes=limits.max_document_bytes,
            max_body_bytes=limits.max_body_bytes,
        )
        return Response(body, headers=PAGE_HEADERS, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/endpoints/{name}/invocations", runtime_invocations, methods=["POST"]),
            Route("/execution-parameters", execution_parameters, methods=["GET"]),
            Route("/", page, methods=["GET"]),
            Route("/config.json", config, methods=["GET"]),
            Route("/static/{name}", page, methods=["GET"]),
        ],
        exception_handlers=ERROR_HANDLERS,
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # /invocations/ is a JSON 404, not a 307 to the Host
    app.state.service = service
    app.add_middleware(AccessLog)
    return app
