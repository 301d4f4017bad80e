"""`expense-cli report --async`: option checks and the queue shown beside the progress bar
(the run itself: tests/test_async_e2e.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from expense_cli.aws import AsyncQueue, DeploySettings, ProjectConfig, save_config
from expense_cli.cli import app
from expense_cli.cli.report import _Bar

runner = CliRunner()


@pytest.mark.parametrize(
    "extra", [["--local"], ["--server", "http://127.0.0.1:9"], ["--model", "x"]]
)
def test_async_refuses_other_targets_in_one_line(tmp_path: Path, extra: list[str]) -> None:
    result = runner.invoke(
        app, ["report", str(tmp_path), "-o", str(tmp_path / "r.json"), "--async", *extra]
    )
    assert result.exit_code == 1
    assert "--async sends to the deployment" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_async_without_an_async_deployment_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_config(
        ProjectConfig(settings=DeploySettings(), outputs={"function_url": "https://x/"}), tmp_path
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", str(tmp_path), "-o", "r.json", "--async"])
    assert result.exit_code == 1
    assert "deploy --async" in result.output


def test_the_bar_shows_the_queue_and_the_wake_up() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with _Bar(console) as bar:
        bar.start(3)
        bar.queue(AsyncQueue(queued=3, instances=None))
        assert "no instance running" not in out.getvalue()
        bar.queue(AsyncQueue(queued=3, instances=0))
        bar.queue(AsyncQueue(queued=2, uploading=1, instances=0))  # said once
        bar.queue(AsyncQueue(queued=3, instances=1))
        bar.queue(AsyncQueue(done=3, instances=1))
    text = out.getvalue()
    assert text.count("no instance running") == 1
    assert text.count("the endpoint is up (1 instances)") == 1
