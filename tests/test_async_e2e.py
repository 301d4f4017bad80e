"""`expense-cli report --async` end to end, without AWS (issue 16).

moto plays S3 and the SageMaker control plane; tests/_async_worker.py plays the asynchronous
runtime (``InvokeEndpointAsync``) and its instances, which post each queued S3 input to a REAL
local model server (tests/_servers.py, the tiny planted model of tests/conftest.py, page limit
raised as Terraform raises it in async mode). The report runs over 24 documents (22 receipts, a
25-page PDF with a text layer, a broken PDF), is interrupted (SIGINT) while most documents are
still queued, and is resumed: nothing is uploaded or invoked twice.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from expense_cli.aws import DeploySettings, ProjectConfig, _async, save_config
from expense_cli.cli import app
from expense_cli.engine import EngineConfig
from expense_cli.engine._config import Limits
from expense_cli.errors import UnreadableDocument
from expense_cli.serving import Settings
from expense_cli.synthetic import RECEIPT_LINES, receipt_pdf, render_receipt
from tests._async_worker import AsyncWorker, async_worker, create_async_endpoint
from tests._moto import REGION, aws_env, moto_server
from tests._servers import running_server

pytestmark = [pytest.mark.model, pytest.mark.ocr, pytest.mark.server, pytest.mark.aws]

RECEIPTS = 22
PDF_PAGES = 25
WAIT_S = 240.0  # every wait of this test is bounded by this

runner = CliRunner()


def _folder(root: Path) -> Path:
    root.mkdir()
    lines = list(RECEIPT_LINES)
    for i in range(RECEIPTS):
        buffer = io.BytesIO()
        image = render_receipt([*lines[:3], f"Table {i} 𝟙", *lines[3:]], width=700, height=900)
        image.save(buffer, format="PNG")
        (root / f"reçu {i:02d} 🧾.png").write_bytes(buffer.getvalue())
    pages = [lines] + [[f"Page {n}", "Item 1.00"] for n in range(2, PDF_PAGES + 1)]
    (root / "long invoice.pdf").write_bytes(receipt_pdf([], text_layer=pages))
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 300)
    (root / "notes.txt").write_text("not a receipt")
    return root


@pytest.fixture
def deployment(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AsyncWorker]:
    """A project directory whose deployment is an async endpoint on moto + the local worker."""
    limits = Limits(max_pages=PDF_PAGES + 5)  # EXPENSE_MAX_PAGES, as Terraform sets it
    settings = Settings(engine=EngineConfig(model=str(tiny_model_dir), limits=limits))
    with moto_server() as aws_url, running_server(settings) as model_url:
        for name, value in aws_env(aws_url).items():
            monkeypatch.setenv(name, value)
        input_uri = create_async_endpoint(aws_url, "expense")
        with async_worker(aws_url, model_url, instances=2) as worker:
            monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", worker.url)
            monkeypatch.setattr(_async, "POLL_S", 0.05)
            monkeypatch.setattr(_async, "MAX_POLL_S", 0.5)
            project = tmp_path / "project"
            project.mkdir()
            config = ProjectConfig(
                settings=DeploySettings(async_inference=True, region=REGION),
                outputs={
                    "endpoint_name": "expense",
                    "async_input_path": input_uri,
                    "region": REGION,
                },
            )
            save_config(config, project)
            monkeypatch.chdir(project)
            yield worker


def _count_puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Keys of every S3 PutObject made by clients the CLI creates from now on."""
    puts: list[str] = []
    original = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        if made.meta.service_model.service_name == "s3":
            made.meta.events.register(
                "before-parameter-build.s3.PutObject",
                lambda params, **_: puts.append(str(params["Key"])),
            )
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return puts


def _interrupt_when(condition: Any) -> threading.Thread:
    """SIGINT to the main thread (Ctrl-C) once ``condition()`` holds (at most WAIT_S)."""
    main = threading.main_thread().ident
    assert main is not None

    def watch() -> None:
        deadline = time.monotonic() + WAIT_S
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)  # results are polled every 0.5 s at most: let the runner collect them
        signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_report_async_runs_is_interrupted_and_resumes(
    deployment: AsyncWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = deployment
    root = _folder(tmp_path / "docs")
    out = tmp_path / "report.json"
    documents = RECEIPTS + 2
    puts = _count_puts(monkeypatch)

    worker.stop_after(5)  # five answers, then the instances stall: Ctrl-C mid-run
    watcher = _interrupt_when(
        lambda: len(worker.invocations) == documents and worker.processed >= 5
    )
    first = runner.invoke(app, ["report", str(root), "-o", str(out), "--async"])
    watcher.join(WAIT_S)
    assert first.exit_code == 130, first.output
    assert "interrupted" in first.output
    partial = json.loads(out.read_text())
    assert partial["summary"]["complete"] is False
    assert len(worker.invocations) == documents
    inputs = [k for k in puts if not k.startswith("inputs/index/")]
    assert len(inputs) == documents and len(puts) == 2 * documents  # each input + its index
    done_before = sum(1 for row in partial["rows"] if row["error"] is None)
    assert 1 <= done_before <= 5

    puts.clear()
    worker.release()
    second = runner.invoke(app, ["report", str(root), "-o", str(out)])  # async: from the config
    assert second.exit_code == 0, second.output
    assert len(worker.invocations) == documents  # nothing invoked again
    assert puts == []  # nothing uploaded again
    assert f"{documents} documents" in second.stdout and "already done" in second.stdout

    report = json.loads(out.read_text())
    assert report["summary"]["complete"] is True
    by = {Path(row["file"]).name: row for row in report["rows"]}
    assert len(by) == documents
    for i in range(RECEIPTS):
        name = f"reçu {i:02d} 🧾.png"
        assert by[name]["error"] is None, by[name]
        assert by[name]["merchant"] == "ACME COFFEE ROASTERS"
        assert by[name]["sha256"] == hashlib.sha256((root / name).read_bytes()).hexdigest()
    assert by["long invoice.pdf"]["error"] is None
    assert by["long invoice.pdf"]["pages"] == PDF_PAGES
    assert by["broken.pdf"]["error"].startswith(f"{UnreadableDocument.code}: ")

    third = runner.invoke(app, ["report", str(root), "-o", str(out), "--async"])
    assert third.exit_code == 0, third.output
    assert len(worker.invocations) == documents  # the broken PDF's failure is final
    assert puts == []


# What Terraform gives the container in async mode with its defaults (terraform/main.tf,
# local.async_env; terraform/tests/root_async.tftest.hcl checks the formulas).
ASYNC_ENV = {
    "EXPENSE_MAX_BYTES": "200000000",
    "EXPENSE_MAX_BODY_BYTES": str(math.ceil(200_000_000 * 4 / 3) + 65536),
    "EXPENSE_MAX_PAGES": "500",
    "EXPENSE_MAX_TOTAL_PIXELS": str(500 * 10_000_000),
    "EXPENSE_MAX_DOCUMENT_CHARS": str(500 * 20_000),
    "EXPENSE_REQUEST_TIMEOUT": "3600",
    "EXPENSE_BODY_TIMEOUT": "300",
}


def _terraform_default(name: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "terraform" / "variables.tf").read_text()
    block = text.split(f'variable "{name}" {{', 1)[1].split("\n}\n", 1)[0]
    match = re.search(r"^  default\s*= (.+)$", block, re.MULTILINE)
    assert match, name
    return match.group(1).strip()


def test_the_cli_and_terraform_agree_on_the_async_defaults() -> None:
    settings = DeploySettings()
    assert _terraform_default("async_max_document_mb") == str(settings.async_max_mb)
    assert _terraform_default("async_max_pages") == str(settings.async_max_pages)
    assert _terraform_default("async_invocation_timeout_s") == str(settings.async_timeout_s)
    assert _terraform_default("async_max_concurrent_invocations") == str(
        settings.async_concurrent_per_instance
    )
    assert ASYNC_ENV["EXPENSE_MAX_BYTES"] == str(settings.async_max_mb * 1_000_000)
    assert ASYNC_ENV["EXPENSE_MAX_PAGES"] == str(settings.async_max_pages)


def test_the_container_reads_the_async_limits(tmp_path: Path) -> None:
    settings = Settings.from_env(ASYNC_ENV, sagemaker_model_dir=tmp_path)
    limits = settings.engine.limits
    assert limits.max_bytes == 200_000_000 and limits.max_pages == 500
    assert limits.max_total_pixels == 5_000_000_000
    assert limits.max_document_chars == 10_000_000
    assert settings.request_timeout_s == 3600.0
    assert settings.body_limit >= 100_000_000 * 4 // 3  # a 100 MB PDF, even as base64 JSON


@pytest.mark.slow
def test_a_200_page_pdf_goes_through_the_container_with_the_async_limits(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    env = {**ASYNC_ENV, "EXPENSE_MODEL": str(tiny_model_dir)}
    settings = Settings.from_env(env, sagemaker_model_dir=tmp_path)
    lines = list(RECEIPT_LINES)
    pages = [lines] + [[f"Seite {n}", "Posten 1,00 EUR"] for n in range(2, 201)]
    pdf = receipt_pdf([], text_layer=pages)
    default = Settings.from_env(
        {"EXPENSE_MODEL": str(tiny_model_dir)}, sagemaker_model_dir=tmp_path
    )
    with running_server(settings) as url, running_server(default) as plain:
        import httpx

        headers = {"content-type": "application/pdf"}
        with httpx.Client(timeout=WAIT_S) as client:
            refused = client.post(f"{plain}/invocations", content=pdf, headers=headers)
            answered = client.post(f"{url}/invocations", content=pdf, headers=headers)
    assert refused.status_code == 413  # the real-time page limit (20)
    assert refused.json()["error"]["code"] == "document_too_large"
    assert answered.status_code == 200, answered.text[:500]
    assert answered.json()["pages"] == 200
