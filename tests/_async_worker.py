"""A local stand-in for SageMaker Asynchronous Inference: the runtime API plus the worker behind it.

moto 5.2.5 answers ``InvokeEndpointAsync`` with canned locations in a random bucket and never runs
anything, so the honest stand-in is a small HTTP server speaking the ``sagemaker-runtime``
``POST /endpoints/{name}/async-invocations`` API (point a client at it with ``endpoint_url`` or
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``) that does what SageMaker does:

* answers 202 at once with ``OutputLocation`` / ``FailureLocation`` under the endpoint config's
  ``AsyncInferenceConfig`` S3 paths, read from the SageMaker control plane (moto's
  ``DescribeEndpoint`` + ``DescribeEndpointConfig``);
* in background threads (``MaxConcurrentInvocationsPerInstance`` of them), fetches the input object
  from S3, POSTs it with its ``ContentType`` to a real model server's ``/invocations``
  (``tests/_servers.py``), and writes the answer to the output location (200) or the error body to
  the failure location (anything else), as SageMaker does.

``hold()`` / ``release()`` stop and restart the processing (requests still queue), ``invocations``
lists every accepted request, ``wait_idle()`` waits until the queue is empty.

    with async_worker(moto_url, model_url) as worker:
        boto3.client("sagemaker-runtime", endpoint_url=worker.url, ...).invoke_endpoint_async(...)
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx

__all__ = ["AsyncWorker", "Invocation", "async_worker", "create_async_endpoint"]

_PATH_PREFIX = "/endpoints/"
_PATH_SUFFIX = "/async-invocations"


@dataclass(frozen=True)
class Invocation:
    endpoint: str
    input_location: str
    content_type: str
    output_location: str
    failure_location: str


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@dataclass
class AsyncWorker:
    aws_url: str  # moto: S3 and the SageMaker control plane
    model_url: str  # the real model server
    region: str = "us-east-1"
    url: str = ""
    invocations: list[Invocation] = field(default_factory=list)
    processed: int = 0
    _jobs: queue.Queue[Invocation | None] = field(default_factory=queue.Queue)
    _running: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pending: int = 0
    _budget: int | None = None  # jobs left before hold(); None: no limit

    def __post_init__(self) -> None:
        self._running.set()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_url, region_name=self.region)

    def hold(self) -> None:
        """Accept requests but process none (the endpoint has no instance)."""
        self._running.clear()

    def release(self) -> None:
        self._budget = None
        self._running.set()

    def stop_after(self, jobs: int) -> None:
        """Process ``jobs`` more requests, then hold."""
        self._budget = jobs

    def wait_idle(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._pending == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._pending} async invocations still pending")
            time.sleep(0.05)

    # --- the runtime API ----------------------------------------------------------------------

    def accept(self, endpoint: str, headers: dict[str, str]) -> Invocation:
        sagemaker = self.client("sagemaker")
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        output = config["AsyncInferenceConfig"]["OutputConfig"]
        name = str(uuid.uuid4())
        invocation = Invocation(
            endpoint=endpoint,
            input_location=headers["x-amzn-sagemaker-inputlocation"],
            content_type=headers.get("x-amzn-sagemaker-content-type", "application/octet-stream"),
            output_location=f"{output['S3OutputPath'].rstrip('/')}/{name}.out",
            failure_location=f"{output['S3FailurePath'].rstrip('/')}/{name}-error.out",
        )
        with self._lock:
            self.invocations.append(invocation)
            self._pending += 1
        self._jobs.put(invocation)
        return invocation

    # --- the instances ------------------------------------------------------------------------

    def work(self) -> None:
        s3 = self.client("s3")
        with httpx.Client(timeout=120.0) as http:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                with self._lock:
                    if self._budget is not None:
                        if self._budget <= 0:
                            self._running.clear()
                        self._budget -= 1
                self._running.wait()
                try:
                    self._process(s3, http, job)
                finally:
                    with self._lock:
                        self._pending -= 1
                        self.processed += 1

    def _process(self, s3: Any, http: httpx.Client, job: Invocation) -> None:
        bucket, key = _split(job.input_location)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            response = http.post(
                f"{self.model_url}/invocations",
                content=body,
                headers={"content-type": job.content_type, "accept": "application/json"},
            )
            status, answer = response.status_code, response.content
        except httpx.HTTPError as exc:
            status, answer = 500, f"model container unreachable: {exc}".encode()
        where = job.output_location if status == 200 else job.failure_location
        out_bucket, out_key = _split(where)
        s3.put_object(Bucket=out_bucket, Key=out_key, Body=answer)


@contextlib.contextmanager
def async_worker(
    aws_url: str, model_url: str, *, instances: int = 2, region: str = "us-east-1"
) -> Iterator[AsyncWorker]:
    """Run the runtime API on 127.0.0.1 and ``instances`` worker threads; stopped afterwards."""
    worker = AsyncWorker(aws_url, model_url, region)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            self.rfile.read(length)
            path = self.path.split("?")[0]
            if not (path.startswith(_PATH_PREFIX) and path.endswith(_PATH_SUFFIX)):
                self._send(404, {"message": f"no such API: {path}"})
                return
            endpoint = path[len(_PATH_PREFIX) : -len(_PATH_SUFFIX)]
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                job = worker.accept(endpoint, headers)
            except Exception as exc:  # no such endpoint, or not an async one
                self._send(400, {"__type": "ValidationError", "message": str(exc)})
                return
            self._send(
                202,
                {"InferenceId": headers.get("x-amzn-sagemaker-inference-id") or "generated"},
                {
                    "X-Amzn-SageMaker-OutputLocation": job.output_location,
                    "X-Amzn-SageMaker-FailureLocation": job.failure_location,
                },
            )

        def _send(
            self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})]
    threads += [threading.Thread(target=worker.work, daemon=True) for _ in range(instances)]
    for thread in threads:
        thread.start()
    worker.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield worker
    finally:
        worker.release()
        for _ in range(instances):
            worker._jobs.put(None)
        server.shutdown()
        server.server_close()
        for thread in threads:
            thread.join(timeout=30)


def create_async_endpoint(
    aws_url: str,
    name: str = "expense",
    *,
    bucket: str = "expense-async",
    max_concurrent: int = 4,
    region: str = "us-east-1",
) -> str:
    """An asynchronous endpoint (model, config with ``AsyncInferenceConfig``, endpoint) and its
    bucket on the moto server; returns the input prefix ``s3://bucket/inputs``."""
    s3 = boto3.client("s3", endpoint_url=aws_url, region_name=region)
    s3.create_bucket(Bucket=bucket)
    sagemaker = boto3.client("sagemaker", endpoint_url=aws_url, region_name=region)
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/expense",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/expense:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
        AsyncInferenceConfig={
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": max_concurrent},
            "OutputConfig": {
                "S3OutputPath": f"s3://{bucket}/outputs",
                "S3FailurePath": f"s3://{bucket}/failures",
            },
        },
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return f"s3://{bucket}/inputs"
