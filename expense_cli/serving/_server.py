"""Running the app on uvicorn: ``run(settings)`` and the container's ``serve`` program."""

from __future__ import annotations

import logging
import os
import sys

from ._app import create_app
from ._logs import configure_logging
from ._settings import Settings

__all__ = ["run", "serve"]

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
            "pid": os.getpid(),
        },
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,  # longer than typical client/ALB idle timeouts (SageMaker: 60 s)
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    uvicorn.Server(config).run()


def serve() -> None:
    """``serve``: what SageMaker runs (``docker run <image> serve``). Settings come from the
    environment; the port is ``SAGEMAKER_BIND_TO_PORT`` or 8080 on all interfaces."""
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(serve.__doc__)
        return
    run(Settings.from_env(host=CONTAINER_HOST))
