"""``expense-cli serve --deployment``: the web page on this machine, its requests forwarded to the
deployed function URL with the user's own credentials.

A browser cannot sign requests with AWS credentials, so a function URL in ``AWS_IAM`` mode (the
default) cannot be used from a page it serves. This small app serves the same page
(``expense_cli/page.py``) on 127.0.0.1 and forwards each ``POST /invocations`` — body, content
type and query string unchanged — to the function URL, SigV4-signed for its region (or with the
bearer token in token mode) by :class:`~expense_cli.aws.FunctionUrlTarget`, and passes the answer
back as it came. The page talks only to this origin; nothing is stored.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..contract import FUNCTION_URL_MAX_BODY, ContractError
from ..page import PAGE_HEADERS, page_config, page_file
from ._errors import ERROR_HANDLERS, error_response
from ._requests import check_encoding, read_body

if TYPE_CHECKING:
    from ..aws import FunctionUrlTarget

__all__ = ["create_proxy_app"]

log = logging.getLogger("expense.serving")

_PASSED_HEADERS = ("content-type", "retry-after", "x-request-id", "www-authenticate")


def create_proxy_app(target: FunctionUrlTarget, *, timeout_s: float = 120.0) -> Starlette:
    """The page + a signing forwarder to ``target``'s function URL."""
    import httpx

    client = httpx.AsyncClient(timeout=timeout_s)

    async def page(request: Request) -> Response:
        found = page_file(request.url.path)
        if found is None:
            raise HTTPException(404)  # ERROR_HANDLERS' JSON 404, as the model server's page
        return Response(found[0], headers=PAGE_HEADERS, media_type=found[1])

    async def config(request: Request) -> Response:
        body = page_config(auth="none", fetches_urls=True)  # the proxy adds the auth itself
        return Response(body, headers=PAGE_HEADERS, media_type="application/json")

    async def forward(request: Request) -> Response:
        try:
            check_encoding(request.headers.getlist("content-encoding"))
            body = await read_body(
                request.headers.get("content-length"), request.stream(), FUNCTION_URL_MAX_BODY
            )
        except ContractError as exc:
            return error_response(exc)
        url = target.url + (f"?{request.url.query}" if request.url.query else "")
        headers = {"content-type": request.headers.get("content-type", "application/json")}
        headers = target.authorize(url, body, headers)
        try:
            answer = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return error_response(ContractError("timeout", f"{target.url} did not answer in time"))
        except httpx.HTTPError as exc:
            log.warning("forwarding failed: %s", exc)
            return error_response(
                ContractError("endpoint_unreachable", f"cannot reach {target.url}: {exc}")
            )
        passed = {k: v for k, v in answer.headers.items() if k.lower() in _PASSED_HEADERS}
        return Response(answer.content, answer.status_code, passed)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.aclose()

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/config.json", config, methods=["GET"]),
            Route("/static/{name}", page, methods=["GET"]),
            Route("/invocations", forward, methods=["POST"]),
        ],
        exception_handlers=ERROR_HANDLERS,
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # as the model server (_app.py)
    return app
