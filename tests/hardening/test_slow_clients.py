"""Slow clients against the server program itself, at its open-files limit (issue 12, item 5):
``python -m expense_cli.serving`` in a child process whose ``ulimit -n`` is small, attacked by
more half-open connections than it can hold descriptors for."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import httpx
import pytest

from tests._servers import server_process
from tests.serving._raw_http import is_closed, slowloris, stalled_body

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.slow]

OPEN_FILES = 160


@pytest.mark.timeout(300)
def test_ping_keeps_answering_at_the_open_files_limit(tiny_model_dir: Path) -> None:
    serve = f"{shlex.quote(sys.executable)} -m expense_cli.serving"
    command = ["sh", "-c", f"ulimit -n {OPEN_FILES} && exec {serve}"]
    env = {"EXPENSE_HEADER_TIMEOUT": "120", "EXPENSE_BODY_TIMEOUT": "120"}
    with server_process(tiny_model_dir, command=command, env=env) as server:
        # More half-open connections than the server has descriptors: headers, then bodies.
        with slowloris(server.url, OPEN_FILES) as lorises, stalled_body(server.url, 40) as bodies:
            for _ in range(3):
                assert httpx.get(f"{server.url}/ping", timeout=10).status_code == 200
            dropped = sum(is_closed(sock) for sock in lorises + bodies)
        logs = server.logs()
    assert "max_connections lowered to fit the open-files limit" in logs
    # The cap is the limit less a reserve of 64 descriptors: the rest were dropped, oldest first.
    assert dropped >= OPEN_FILES + 40 - (OPEN_FILES - 64)
