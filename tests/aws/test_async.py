"""AsyncEndpointTarget (expense_cli/aws/_async.py) against moto S3 + SageMaker and the local async
worker of tests/_async_worker.py, with a scripted model server (tests/aws/conftest.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from expense_cli.aws import AsyncEndpointTarget, AsyncQueue, ProjectConfig, async_target
from expense_cli.aws._async import split_s3_uri
from expense_cli.aws._config import DeploySettings, save_config
from expense_cli.aws._target import remote_target
from expense_cli.errors import (
    ConfigError,
    DocumentTooLarge,
    ExpenseError,
    ModelNotReady,
    RemoteError,
    Timeout,
    UnreadableDocument,
)
from tests._async_worker import AsyncWorker, async_worker, create_async_endpoint
from tests._moto import REGION, aws_env, moto_server
from tests.aws.conftest import OK_RESULT, FakeFunctionUrl

PDF = b"%PDF-1.4\n" + "reçu 𝟙𝟚 €".encode() + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


_COUNTER = iter(range(10_000))


@dataclass
class Setup:
    worker: AsyncWorker
    model: FakeFunctionUrl
    endpoint: str
    input_uri: str
    s3: Any
    puts: list[str] = field(default_factory=list)  # keys of every PutObject by the target

    def target(self, **kwargs: Any) -> AsyncEndpointTarget:
        runtime = boto3.client(
            "sagemaker-runtime", endpoint_url=self.worker.url, region_name=REGION
        )
        clients = {"s3": self.s3, "sagemaker-runtime": runtime, **kwargs.pop("clients", {})}
        options: dict[str, Any] = {"poll_s": 0.02, "max_poll_s": 0.1, "timeout_s": 60.0}
        return AsyncEndpointTarget(
            self.endpoint, self.input_uri, clients=clients, **{**options, **kwargs}
        )

    def keys(self, prefix: str) -> list[str]:
        bucket, _ = split_s3_uri(self.input_uri)
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture
def setup(
    moto_url: str, function_url: FakeFunctionUrl, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    for name, value in aws_env(moto_url).items():
        monkeypatch.setenv(name, value)
    n = next(_COUNTER)
    endpoint = f"expense-{n}"
    input_uri = create_async_endpoint(moto_url, endpoint, bucket=f"expense-async-{n}")
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION)
    with async_worker(moto_url, function_url.url.rstrip("/")) as worker:
        result = Setup(worker, function_url, endpoint, input_uri, s3)

        def count(params: dict[str, Any], **_: Any) -> None:
            result.puts.append(str(params["Key"]))

        s3.meta.events.register("before-parameter-build.s3.PutObject", count)
        yield result


def _error(code: str, message: str = "no") -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def test_uploads_once_invokes_once_and_answers_from_s3(setup: Setup) -> None:
    target = setup.target()
    assert target.extract(PDF, content_type="application/pdf") == OK_RESULT
    assert len(setup.worker.invocations) == 1
    assert setup.worker.invocations[0].content_type == "application/pdf"
    assert setup.model.requests[0].body == PDF  # the raw document reached /invocations
    assert setup.model.requests[0].headers["content-type"] == "application/pdf"
    inputs = [k for k in setup.puts if not k.startswith("inputs/index/")]
    assert len(inputs) == 1 and len(setup.puts) == 2  # the document and its index

    again = setup.target()  # a new run: the index says it was answered
    assert again.extract(PDF, content_type="application/pdf") == OK_RESULT
    assert len(setup.worker.invocations) == 1
    assert len(setup.puts) == 2
    assert again.queue == AsyncQueue(done=1)


def test_an_uploaded_document_is_not_uploaded_again(setup: Setup) -> None:
    target = setup.target()
    target.extract(PDF, content_type="application/pdf")
    bucket, _ = split_s3_uri(setup.input_uri)
    for key in setup.keys("inputs/index/"):  # lose the index, keep the input
        setup.s3.delete_object(Bucket=bucket, Key=key)
    setup.puts.clear()
    assert setup.target().extract(PDF, content_type="application/pdf") == OK_RESULT
    assert len(setup.worker.invocations) == 2  # invoked again: nothing recorded it
    assert [k.startswith("inputs/index/") for k in setup.puts] == [True]  # no second upload


@pytest.mark.parametrize(
    ("status", "body", "raised", "final"),
    [
        (422, _error("unreadable_document", "broken PDF"), UnreadableDocument, True),
        (413, _error("document_too_large", "600 pages"), DocumentTooLarge, True),
        (503, _error("model_not_ready", "loading"), ModelNotReady, False),
        (500, b"Traceback (most recent call last): \xff boom", RemoteError, False),
        (500, b"", RemoteError, False),
        (500, b'{"error": {"code": "no_such_code", "message": "x"}}', RemoteError, False),
    ],
)
def test_failures_become_errors_and_only_transient_ones_are_invoked_again(
    setup: Setup, status: int, body: bytes, raised: type[ExpenseError], final: bool
) -> None:
    setup.model.script.append((status, {"content-type": "application/json"}, body))
    with pytest.raises(raised) as info:
        setup.target().extract(PDF, content_type="application/pdf")
    assert isinstance(info.value, ExpenseError) and info.value.message
    if raised is UnreadableDocument:
        assert info.value.code == "unreadable_document" and "broken PDF" in info.value.message
    rerun = setup.target()
    if final:
        with pytest.raises(raised):
            rerun.extract(PDF, content_type="application/pdf")
        assert len(setup.worker.invocations) == 1  # the document's own fault: not paid twice
    else:
        assert rerun.extract(PDF, content_type="application/pdf") == OK_RESULT
        assert len(setup.worker.invocations) == 2


def test_close_stops_the_wait_and_the_next_run_collects_without_invoking(setup: Setup) -> None:
    setup.worker.hold()
    target = setup.target()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target.extract(PDF, content_type="application/pdf")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    while target.queue.queued == 0 and thread.is_alive():
        thread.join(0.02)
    assert target.queue.queued == 1 and len(setup.worker.invocations) == 1
    target.close()
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1 and "queued for the next run" in str(errors[0])
    setup.worker.release()
    setup.puts.clear()
    assert setup.target().extract(PDF, content_type="application/pdf") == OK_RESULT
    assert len(setup.worker.invocations) == 1
    assert setup.puts == []


def test_no_result_in_time_is_a_timeout_error(setup: Setup) -> None:
    setup.worker.hold()
    with pytest.raises(Timeout, match="run the report again later"):
        setup.target(timeout_s=0.3).extract(PDF, content_type="application/pdf")


def test_a_stale_or_damaged_index_is_invoked_again(setup: Setup) -> None:
    setup.worker.hold()
    clock = [1000.0]
    with pytest.raises(Timeout):
        setup.target(timeout_s=0.1, clock=lambda: clock[0]).extract(PDF)
    clock[0] += 10.0
    with pytest.raises(Timeout):  # not stale yet: waits on the recorded invocation
        setup.target(timeout_s=0.1, stale_s=100.0, clock=lambda: clock[0]).extract(PDF)
    assert len(setup.worker.invocations) == 1
    clock[0] += 100.0
    with pytest.raises(Timeout):
        setup.target(timeout_s=0.1, stale_s=100.0, clock=lambda: clock[0]).extract(PDF)
    assert len(setup.worker.invocations) == 2
    bucket, _ = split_s3_uri(setup.input_uri)
    for key in setup.keys("inputs/index/"):
        setup.s3.put_object(Bucket=bucket, Key=key, Body=b"{not json")
    setup.worker.release()
    assert setup.target().extract(PDF) == OK_RESULT
    assert len(setup.worker.invocations) == 3


def test_questions_travel_as_json_and_are_a_different_request(setup: Setup) -> None:
    target = setup.target()
    target.extract(PDF, content_type="application/pdf")
    target.extract(PDF, content_type="application/pdf", questions=["Wer? 𝒳"])
    assert len(setup.worker.invocations) == 2
    sent = json.loads(setup.model.requests[1].body)
    assert sent["questions"] == ["Wer? 𝒳"]
    assert setup.model.requests[1].headers["content-type"] == "application/json"


class _Sagemaker:
    def __init__(self, counts: list[int]) -> None:
        self.counts = counts

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        count = self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]
        return {"ProductionVariants": [{"CurrentInstanceCount": count}]}


def test_waking_from_zero_instances_is_reported(setup: Setup) -> None:
    setup.worker.hold()
    seen: list[AsyncQueue] = []

    def on_change(queue: AsyncQueue) -> None:
        seen.append(queue)
        if queue.waking:
            setup.worker.release()  # the instance arrives

    target = setup.target(
        clients={"sagemaker": _Sagemaker([0, 1])}, capacity_poll_s=0.0, on_change=on_change
    )
    assert target.extract(PDF) == OK_RESULT
    assert any(q.waking for q in seen)
    assert seen[-1] == AsyncQueue(done=1, instances=seen[-1].instances)
    assert not seen[-1].waking


class _Broken:
    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        raise RuntimeError("no permission")


def test_the_instance_count_is_informational(setup: Setup) -> None:
    target = setup.target(clients={"sagemaker": _Broken()}, capacity_poll_s=0.0)
    assert target.extract(PDF) == OK_RESULT
    assert target.queue.instances is None


def test_an_unknown_endpoint_is_a_clear_error(setup: Setup) -> None:
    setup.endpoint = "not-deployed"
    with pytest.raises(RemoteError, match="queueing a document on endpoint not-deployed"):
        setup.target().extract(PDF)


@pytest.mark.parametrize("uri", ["", "s3://", "s3:///key", "https://bucket/x", "bucket/x"])
def test_bad_input_locations_are_refused(uri: str) -> None:
    with pytest.raises(ConfigError):
        split_s3_uri(uri)


def test_split_s3_uri() -> None:
    assert split_s3_uri("s3://b/in/put/") == ("b", "in/put")
    assert split_s3_uri("s3://b") == ("b", "")


def test_remote_target_is_the_async_endpoint_of_an_async_deployment(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = DeploySettings(async_inference=True, region=REGION, async_max_mb=150)
    config = ProjectConfig(
        settings=settings,
        outputs={"endpoint_name": "expense", "async_input_path": "s3://b/inputs"},
    )
    save_config(config, tmp_path)
    target = remote_target(tmp_path)
    assert isinstance(target, AsyncEndpointTarget)
    assert target.max_bytes == 150_000_000 and target.concurrency >= 32
    assert (target.bucket, target.prefix, target.endpoint_name) == ("b", "inputs", "expense")
    assert target.invocation_timeout_s == 3600 and target.request_ttl_s == 6 * 3600
    with pytest.raises(ConfigError, match="deploy --async"):
        async_target(ProjectConfig(settings=settings, outputs={"endpoint_name": "expense"}))
