"""Server settings, from code or from the container environment.

SageMaker configures a container only through environment variables, so every setting has one:

==============================  =================================================================
``SAGEMAKER_BIND_TO_PORT``      port (SageMaker's own variable; wins over ``EXPENSE_PORT``)
``EXPENSE_PORT``                port (default 8080)
``EXPENSE_HOST``                interface to bind
``EXPENSE_SERVER_THREADS``      threads that load + OCR documents in parallel (default: the cores)
``EXPENSE_MAX_CONCURRENCY``     requests processed at once (default 8)
``EXPENSE_MAX_QUEUE``           requests waiting for a slot beyond that; more get 429 (default 32)
``EXPENSE_BATCH_WAIT_MS``       micro-batching window (default 10, at most 10 is sensible)
``EXPENSE_MAX_BATCH``           documents answered by one forward; 1 turns micro-batching off
``EXPENSE_REQUEST_TIMEOUT``     seconds a request may take, body included, before 504 (default 55;
                                ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` is read when this is unset)
``EXPENSE_MAX_BODY_BYTES``      request body cap (default: the document limit as base64 + 64 KiB)
``EXPENSE_BODY_TIMEOUT``        seconds the whole body may take to arrive, then 408 (default 30);
                                a request joins the queue only once its body is in. Also how long
                                a client may read nothing of its answer before it is reset
``EXPENSE_HEADER_TIMEOUT``      seconds the request line and headers may take; then the connection
                                is closed, with a JSON 408 when some bytes came (default 10)
``EXPENSE_MAX_CONNECTIONS``     open connections; at the cap the oldest one still sending its
                                headers or body, not reading its answer, or idle is dropped for a
                                newcomer (default 256, never above the open-files limit less a
                                reserve)
``EXPENSE_LOG_LEVEL``           debug | info | warning (default info)
==============================  =================================================================

plus the engine's own ``EXPENSE_*`` variables (see :meth:`EngineConfig.from_env`). The model is
``/opt/ml/model`` only when a checkpoint is mounted there (SageMaker's model-data directory, empty
unless the endpoint's model has ``ModelDataUrl``), else ``EXPENSE_MODEL``, else the default Hub id.
The image (container/Dockerfile) bakes the weights into ``/opt/expense/model`` and sets
``EXPENSE_MODEL`` to it: a SageMaker mount on ``/opt/ml/model`` cannot hide them there.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import contract
from ..engine import EngineConfig
from ..errors import ConfigError

__all__ = ["SAGEMAKER_MODEL_DIR", "Settings", "cpu_count"]

SAGEMAKER_MODEL_DIR = Path("/opt/ml/model")


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the host's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """Everything the server needs. ``Settings.from_env()`` is what the container uses."""

    engine: EngineConfig = dataclasses.field(default_factory=EngineConfig)
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = dataclasses.field(default_factory=cpu_count)
    max_concurrency: int = 8
    max_queue: int = 32
    batch_wait_ms: float = 10.0
    # Micro-batching (EXPENSE_MAX_BATCH > 1) is off by default: on CPU, concurrent single-document
    # forwards gave 20-27 % more throughput at concurrency 8 than batched ones (bench_server on 2,
    # 4 and 8 cores). Turn it on where a batched forward is cheaper per document (e.g. a GPU).
    max_batch: int = 1
    request_timeout_s: float = 55.0
    max_body_bytes: int | None = None
    # Slow clients (expense_cli/serving/_protocol.py): a body must arrive within body_timeout_s
    # (and within the request time limit); headers within header_timeout_s; at most
    # max_connections connections are open at once.
    body_timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    max_connections: int = 256
    log_level: str = "info"

    def __post_init__(self) -> None:
        checks = {
            "port": 0 <= self.port <= 65535,
            "threads": self.threads >= 1,
            "max_concurrency": self.max_concurrency >= 1,
            "max_queue": self.max_queue >= 0,
            "batch_wait_ms": 0 <= self.batch_wait_ms <= 1000,
            "max_batch": self.max_batch >= 1,
            "request_timeout_s": self.request_timeout_s > 0,
            "max_body_bytes": self.max_body_bytes is None or self.max_body_bytes > 0,
            "body_timeout_s": self.body_timeout_s > 0,
            "header_timeout_s": self.header_timeout_s > 0,
            "max_connections": self.max_connections >= 2,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"server setting {name}={getattr(self, name)!r} is out of range")

    @property
    def body_limit(self) -> int:
        """Most bytes a request body may have: the document limit as base64, plus JSON room."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return -(-self.engine.limits.max_bytes * 4 // 3) + 64 * 1024

    @property
    def micro_batching(self) -> bool:
        return self.max_batch > 1

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        environ: dict[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        sagemaker_model_dir: Path = SAGEMAKER_MODEL_DIR,
    ) -> Settings:
        """Read the variables above; ``host`` is the default when ``EXPENSE_HOST`` is unset."""
        env = dict(os.environ if environ is None else environ)
        engine = EngineConfig.from_env(env)
        if (sagemaker_model_dir / "config.json").is_file():
            engine = engine.replace(model=str(sagemaker_model_dir), revision=None)

        def get(*names: str) -> str | None:
            for name in names:
                value = env.get(name, "").strip()
                if value:
                    return value
            return None

        def number(kind: type[int] | type[float], default: Any, *names: str) -> Any:
            """The first of ``names`` that is set, read by the contract's readers (the engine's
            and the handler's too); ranges are checked by ``__post_init__``."""
            name = next((n for n in names if get(n) is not None), names[0])
            try:
                if kind is int:
                    return contract.env_int(env, name, default)
                return contract.env_float(env, name, default, minimum=0.0)
            except contract.SettingError as exc:
                raise ConfigError(str(exc)) from None

        body = number(int, 0, "EXPENSE_MAX_BODY_BYTES")
        base = cls(engine=engine)
        return cls(
            engine=engine,
            host=get("EXPENSE_HOST") or host,
            port=number(int, base.port, "SAGEMAKER_BIND_TO_PORT", "EXPENSE_PORT"),
            threads=number(int, base.threads, "EXPENSE_SERVER_THREADS"),
            max_concurrency=number(int, base.max_concurrency, "EXPENSE_MAX_CONCURRENCY"),
            max_queue=number(int, base.max_queue, "EXPENSE_MAX_QUEUE"),
            batch_wait_ms=number(float, base.batch_wait_ms, "EXPENSE_BATCH_WAIT_MS"),
            max_batch=number(int, base.max_batch, "EXPENSE_MAX_BATCH"),
            request_timeout_s=number(
                float,
                base.request_timeout_s,
                "EXPENSE_REQUEST_TIMEOUT",
                "SAGEMAKER_MODEL_SERVER_TIMEOUT",
            ),
            max_body_bytes=body or None,
            body_timeout_s=number(float, base.body_timeout_s, "EXPENSE_BODY_TIMEOUT"),
            header_timeout_s=number(float, base.header_timeout_s, "EXPENSE_HEADER_TIMEOUT"),
            max_connections=number(int, base.max_connections, "EXPENSE_MAX_CONNECTIONS"),
            log_level=(get("EXPENSE_LOG_LEVEL") or base.log_level).lower(),
        )
