"""Real model servers on 127.0.0.1 for tests and benchmarks, always stopped afterwards.

In this process (uvicorn in a thread; fast, shares the test's engine when you pass an app)::

    from tests._servers import running_server, serving_model

    with serving_model(tiny_model_dir) as url:          # "http://127.0.0.1:PORT", /ping is 200
        httpx.post(f"{url}/invocations", json={"document": b64})
        boto3.client("sagemaker-runtime", endpoint_url=url, ...).invoke_endpoint(...)

    with running_server(create_app(settings, engine=engine)) as url: ...
    with running_server(app, ready=False) as url: ...   # don't wait for /ping 200 (503 tests)

In a child process (its own RSS, real cold start, the ``python -m expense_cli.serving`` program
the container runs)::

    with server_process(tiny_model_dir, env={"EXPENSE_MAX_BATCH": "1"}) as server:
        server.url, server.pid, server.ready_s, server.logs()
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from expense_cli.engine import EngineConfig
from expense_cli.serving import Settings, create_app

__all__ = ["ServerProcess", "running_server", "server_process", "serving_model", "wait_ready"]

HOST = "127.0.0.1"


def wait_ready(url: str, timeout: float = 120.0, alive: Any = None) -> float:
    """Poll ``{url}/ping`` until 200; seconds waited. Fails fast if the model failed to load
    (ping 500) or ``alive()`` turns false (the server died)."""
    start = time.perf_counter()
    with httpx.Client(timeout=5.0) as client:
        while True:
            try:
                response = client.get(f"{url}/ping")
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return time.perf_counter() - start
            if response is not None and response.status_code >= 500 and response.status_code != 503:
                raise RuntimeError(f"server at {url} is not healthy: {response.text}")
            if alive is not None and not alive():
                raise RuntimeError(f"server at {url} exited before it was ready")
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"server at {url} not ready after {timeout:g} s")
            time.sleep(0.05)


@contextlib.contextmanager
def running_server(
    app_or_settings: Any,
    *,
    ready: bool = True,
    timeout: float = 120.0,
    production: Settings | None = None,
) -> Iterator[str]:
    """Run an ASGI app (or ``create_app(settings)``) on uvicorn in a thread; yield its base URL.
    ``production``: configure uvicorn as ``serve`` does for these settings (the slow-client
    protocol of expense_cli/serving/_protocol.py) instead of uvicorn's defaults."""
    import uvicorn

    from expense_cli.serving._server import uvicorn_config

    app = create_app(app_or_settings) if isinstance(app_or_settings, Settings) else app_or_settings
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    url = f"http://{HOST}:{sock.getsockname()[1]}"
    if production is None:
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    else:
        config = uvicorn_config(app, production)
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"uvicorn-{url}", daemon=True)
    thread.start()
    try:
        deadline = time.perf_counter() + timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"server did not start: {failure or 'exited'}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"server at {url} did not start in {timeout:g} s")
            time.sleep(0.01)
        if ready:
            wait_ready(url, timeout, alive=thread.is_alive)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
        if thread.is_alive():
            server.force_exit = True
            thread.join(10)
        sock.close()
    if failure:
        raise RuntimeError(f"server failed: {failure[0]!r}") from failure[0]


@contextlib.contextmanager
def serving_model(model_dir: str | Path, **settings: Any) -> Iterator[str]:
    """Serve the model in ``model_dir`` in this process (``settings``: :class:`Settings` fields)."""
    config = EngineConfig(model=str(model_dir), revision=None)
    with running_server(Settings(engine=config, **settings)) as url:
        yield url


@dataclass
class ServerProcess:
    url: str
    pid: int
    process: subprocess.Popen[bytes]
    log_path: Path
    ready_s: float  # process start → /ping 200
    final_logs: str | None = None  # kept when the server stops (its log file is removed)

    def logs(self) -> str:
        if self.final_logs is not None:
            return self.final_logs
        return self.log_path.read_text("utf-8", "replace")

    def rss_kib(self) -> int:
        """The server process's resident set size (VmRSS), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for pid {self.pid}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server_process(
    model_dir: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = (),
    timeout: float = 180.0,
) -> Iterator[ServerProcess]:
    """``python -m expense_cli.serving`` (or ``command``) in a child process on 127.0.0.1, stopped
    afterwards (SIGTERM, then SIGKILL). ``env`` adds ``EXPENSE_*`` settings; host and port are
    passed as ``EXPENSE_HOST``/``EXPENSE_PORT``."""
    child_env = {**os.environ, **(env or {})}
    if model_dir is not None:
        child_env["EXPENSE_MODEL"] = str(model_dir)
    child_env.update(EXPENSE_HOST=HOST, PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory(prefix="expense-server-") as tmp:
        log_path = Path(tmp) / "server.log"
        for attempt in range(3):
            port = _free_port()
            child_env["EXPENSE_PORT"] = str(port)
            url = f"http://{HOST}:{port}"
            with log_path.open("wb") as log:
                start = time.perf_counter()
                process = subprocess.Popen(
                    list(command) or [sys.executable, "-m", "expense_cli.serving"],
                    env=child_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            try:
                try:
                    wait_ready(url, timeout, alive=lambda p=process: p.poll() is None)
                except RuntimeError:
                    if attempt < 2 and "address already in use" in log_path.read_text().lower():
                        continue  # lost the race for the free port: try another
                    raise RuntimeError(f"{log_path.read_text()[-3000:]}") from None
                server = ServerProcess(
                    url, process.pid, process, log_path, time.perf_counter() - start
                )
                try:
                    yield server
                finally:
                    _stop(process)
                    server.final_logs = log_path.read_text("utf-8", "replace")
                return
            finally:
                _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
