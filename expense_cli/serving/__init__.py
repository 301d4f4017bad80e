"""The model server: the SageMaker container contract (``GET /ping``, ``POST /invocations`` on
port 8080), the runtime API path for boto3 clients, and a small web page at ``/``.

    >>> from expense_cli.serving import Settings, run
    >>> run(Settings.from_env().replace(port=8081))  # doctest: +SKIP

``serve`` is the program SageMaker starts in the container; ``expense-cli serve`` runs the same app
locally on 127.0.0.1.
"""

from __future__ import annotations

from ._app import create_app
from ._batcher import MicroBatcher
from ._logs import JsonFormatter, configure_logging
from ._server import run, serve
from ._service import EngineLike, Loader
from ._settings import SAGEMAKER_MODEL_DIR, Settings, cpu_count

__all__ = [
    "SAGEMAKER_MODEL_DIR",
    "EngineLike",
    "JsonFormatter",
    "Loader",
    "MicroBatcher",
    "Settings",
    "configure_logging",
    "cpu_count",
    "create_app",
    "run",
    "serve",
]
