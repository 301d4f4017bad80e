"""Running the app on uvicorn: ``run(settings)`` and the container's ``serve`` program."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from ._app import create_app
from ._logs import configure_logging
from ._protocol import connection_cap, protocol_class
from ._settings import Settings

if TYPE_CHECKING:
    import uvicorn

__all__ = ["run", "serve", "uvicorn_config"]

log = logging.getLogger("expense.serving")

# The SageMaker contract: the container listens on every interface of its own network namespace.
CONTAINER_HOST = "0.0.0.0"  # noqa: S104


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (one process: one model copy, shared OCR threads + batches)."""
    import uvicorn

    configure_logging(settings.log_level)
    log.info(
        "starting",
        extra={
            "host": settings.host,
            "port": settings.port,
            "model": settings.engine.model,
            "threads": settings.threads,
            "max_concurrency": settings.max_concurrency,
            "max_queue": settings.max_queue,
            "max_batch": settings.max_batch,
            "batch_wait_ms": settings.batch_wait_ms,
            "max_connections": settings.max_connections,
            "header_timeout_s": settings.header_timeout_s,
            "body_timeout_s": settings.body_timeout_s,
            "pid": os.getpid(),
        },
    )
    uvicorn.Server(uvicorn_config(create_app(settings), settings)).run()


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    """How ``run`` configures uvicorn (tests serve with it too: tests/serving/_slow_clients.py):
    the slow-client protocol of ``_protocol.py``, its connection cap fitted under the open-files
    limit; a client gets ``body_timeout_s`` to send its body, and as long to read any of its
    answer."""
    import uvicorn

    cap = connection_cap(settings.max_connections)
    if cap < settings.max_connections:
        log.warning(
            "max_connections lowered to fit the open-files limit",
            extra={"max_connections": settings.max_connections, "effective": cap},
        )
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol_class(settings.header_timeout_s, cap, settings.body_timeout_s),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,  # longer than typical client/ALB idle timeouts (SageMaker: 60 s)
        timeout_graceful_shutdown=10,
        server_header=False,
    )


def serve() -> None:
    """``serve``: what SageMaker runs (``docker run <image> serve``). Settings come from the
    environment; the port is ``SAGEMAKER_BIND_TO_PORT`` or 8080 on all interfaces."""
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(serve.__doc__)
        return
    run(Settings.from_env(host=CONTAINER_HOST))
