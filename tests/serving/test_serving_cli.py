"""``expense-cli serve`` and the container's ``serve`` program."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from expense_cli.cli import app
from expense_cli.targets import ServerTarget
from tests._servers import server_process
from tests.serving.conftest import MERCHANT


def test_serve_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in ("--model", "--revision", "--host", "--port", "--threads", "--max-batch"):
        assert option in result.output


@pytest.mark.parametrize("serve", [[], ["serve"]], ids=["python -m", "python -m ... serve"])
def test_container_program_has_help(serve: list[str]) -> None:
    """What the container runs (container/entrypoint.sh: ``python -m expense_cli.serving``)."""
    argv = [sys.executable, "-m", "expense_cli.serving", *serve, "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "SAGEMAKER_BIND_TO_PORT" in done.stdout


@pytest.mark.server
@pytest.mark.model
@pytest.mark.ocr
def test_expense_cli_serve_answers_ask_server_and_stops_cleanly(
    tiny_model_dir: Path, receipt_png: bytes
) -> None:
    command = [sys.executable, "-m", "expense_cli", "serve", "--model", str(tiny_model_dir)]
    with server_process(command=command) as server:
        target = ServerTarget(server.url)
        try:
            result = target.extract(receipt_png, questions=["Who?"])
        finally:
            target._client.close()
        assert result["answers"][0]["answer"] == MERCHANT
    # SIGTERM: uvicorn drains, runs the app's shutdown, then exits by the same signal
    assert server.process.returncode in (0, -signal.SIGTERM)
    logs = server.logs()
    assert "model ready" in logs
    assert "Application shutdown complete" in logs
