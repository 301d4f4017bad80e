"""The deployed asynchronous SageMaker endpoint as a :class:`~expense_cli.targets.Target`.

For a deployment made with ``expense-cli deploy --async`` (``terraform/modules/sagemaker_endpoint``
with ``async_inference = true``). One document, one call of :meth:`AsyncEndpointTarget.extract`:

1. **Upload once.** The request body (the raw document; a JSON ``{"document", "questions"}`` when
   questions are asked) goes to ``<input prefix>/<sha256 of the body>``, unless an object of that
   name and size is already there.
2. **Invoke once.** ``InvokeEndpointAsync`` queues it; its ``OutputLocation`` and
   ``FailureLocation`` are recorded in an index object ``<input prefix>/index/<sha256>.json``. A
   later run that finds the index does not invoke again: it only waits (results are found through
   the recorded locations, never by guessing SageMaker's output names). A recorded invocation is
   made again only when its failure was not the document's fault (5xx, time-out, no error body),
   or when it is older than ``stale_s`` with neither object written (the queue dropped it).
3. **Wait.** The output and failure objects are polled with backoff (``poll_s`` doubling up to
   ``max_poll_s``) for at most ``timeout_s`` per document. The output is the server's JSON answer;
   a failure object holding a contract error (``{"error": {"code", "message"}}``,
   ``expense_cli/contract.py``) becomes the matching exception, anything else a RemoteError.

Documents waiting cost nothing locally (a thread asleep), so the default ``concurrency`` is high.
The queue (uploading, queued, done) and whether the endpoint is waking up from zero instances
(``DescribeEndpoint``: ``CurrentInstanceCount == 0``) are reported through ``on_change``
(``expense-cli report`` shows them beside its progress bar). :meth:`close` stops every wait at once
(Ctrl-C): the queued documents stay recorded and a re-run picks them up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contract import ERRORS
from ..errors import ConfigError, ExpenseError, RemoteError, Timeout
from ..targets import error_from_response
from ._session import aws_error, make_session

if TYPE_CHECKING:
    import boto3

    from ._config import ProjectConfig

__all__ = [
    "ASYNC_MAX_DOCUMENT_BYTES",
    "AsyncEndpointTarget",
    "AsyncQueue",
    "async_target",
    "split_s3_uri",
]

ASYNC_MAX_DOCUMENT_BYTES = 1_000_000_000  # AWS: an asynchronous request's input object, at most
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_CAPACITY_POLL_S = 30.0
POLL_S = 2.0  # first wait for a result; doubles up to MAX_POLL_S
MAX_POLL_S = 30.0


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")`` (no trailing slash)."""
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise ConfigError(f"{uri!r} is not an s3://bucket/prefix location")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"{uri!r} has no bucket name")
    return bucket, key.strip("/")


@dataclass(frozen=True)
class AsyncQueue:
    """A snapshot of this run's documents on the asynchronous endpoint."""

    uploading: int = 0  # being uploaded or invoked
    queued: int = 0  # invoked, result not in S3 yet
    done: int = 0  # output or failure collected
    instances: int | None = None  # the endpoint's CurrentInstanceCount when last asked

    @property
    def waking(self) -> bool:
        """Documents are queued and the endpoint has no instance: it is scaling up from zero."""
        return self.instances == 0 and (self.queued + self.uploading) > 0


class _Cancelled(ExpenseError):
    """The wait was stopped by :meth:`AsyncEndpointTarget.close` (the run was interrupted)."""


def _client_error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    return str(response.get("Error", {}).get("Code", "")) or None


class AsyncEndpointTarget:
    """Sends documents through S3 to an asynchronous SageMaker endpoint (see the module doc)."""

    def __init__(
        self,
        endpoint_name: str,
        input_uri: str,
        *,
        session: boto3.Session | None = None,
        clients: dict[str, Any] | None = None,
        max_bytes: int = 100_000_000,
        concurrency: int = 64,
        timeout_s: float = 4 * 3600.0,
        stale_s: float = 7 * 3600.0,
        invocation_timeout_s: int | None = None,
        request_ttl_s: int | None = None,
        poll_s: float = 2.0,
        max_poll_s: float = 30.0,
        capacity_poll_s: float = _CAPACITY_POLL_S,
        on_change: Callable[[AsyncQueue], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = f"async:{endpoint_name}"
        self.endpoint_name = endpoint_name
        self.bucket, self.prefix = split_s3_uri(input_uri)
        self.concurrency = concurrency
        self._max_bytes = min(max_bytes, ASYNC_MAX_DOCUMENT_BYTES)
        self.timeout_s = timeout_s
        self.stale_s = stale_s
        self.invocation_timeout_s = invocation_timeout_s
        self.request_ttl_s = request_ttl_s
        self.poll_s = poll_s
        self.max_poll_s = max_poll_s
        self.capacity_poll_s = capacity_poll_s
        self.on_change = on_change
        self._clock = clock
        self._session = session
        self._clients: dict[str, Any] = dict(clients or {})
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._queue = AsyncQueue()
        self._capacity_checked = -float("inf")

    # --- Target ---------------------------------------------------------------------------

    @property
    def max_bytes(self) -> int:
        """The async mode's per-document limit (the container's ``EXPENSE_MAX_BYTES``)."""
        return self._max_bytes

    @property
    def queue(self) -> AsyncQueue:
        return self._queue

    def close(self) -> None:
        """Stop every wait now; queued documents stay recorded in S3 for the next run."""
        self._stop.set()

    def extract(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        questions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        if questions:
            body = json.dumps(
                {"document": _b64(data), "questions": list(questions)}, separators=(",", ":")
            ).encode()
            body_type = "application/json"
        else:
            body, body_type = data, content_type or "application/octet-stream"
        sha = hashlib.sha256(body).hexdigest()
        self._change(uploading=1)
        moved = False
        try:
            index = self._read_index(sha)
            if index is None or self._needs_new_invocation(index):
                self._upload(sha, body, body_type)
                index = self._invoke(sha, body_type)
            self._change(uploading=-1, queued=1)
            moved = True
            return self._wait(index)
        finally:
            if moved:
                self._change(queued=-1, done=1)
            else:
                self._change(uploading=-1)

    # --- S3 and the runtime ---------------------------------------------------------------

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                if self._session is None:
                    self._session = make_session()
                from botocore.config import Config

                # one connection per document in flight (botocore keeps 10 by default)
                config = Config(max_pool_connections=self.concurrency + 2)
                self._clients[service] = self._session.client(service, config=config)
            return self._clients[service]

    def _region(self) -> str | None:
        return None if self._session is None else self._session.region_name

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _get(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        try:
            response = self._client("s3").get_object(Bucket=bucket, Key=key)
            body: bytes = response["Body"].read()
            return body
        except Exception as exc:
            if _client_error_code(exc) in _NOT_FOUND:
                return None
            raise aws_error(exc, f"reading s3://{bucket}/{key}", self._region()) from exc

    def _exists(self, bucket: str, key: str) -> int | None:
        """The object's size, or None when there is no such object."""
        try:
            response = self._client("s3").head_object(Bucket=bucket, Key=key)
            return int(response.get("ContentLength", 0))
        except Exception as exc:
            if _client_error_code(exc) in _NOT_FOUND:
                return None
            raise aws_error(exc, f"looking for s3://{bucket}/{key}", self._region()) from exc

    def _read_index(self, sha: str) -> dict[str, Any] | None:
        raw = self._get(self.bucket, self._key("index", f"{sha}.json"))
        if raw is None:
            return None
        try:
            index = json.loads(raw)
        except ValueError:
            return None  # a damaged index: invoke again
        if not isinstance(index, dict) or not isinstance(index.get("output"), str):
            return None
        return index

    def _upload(self, sha: str, body: bytes, body_type: str) -> None:
        key = self._key(sha)
        if self._exists(self.bucket, key) == len(body):
            return  # uploaded by an earlier run: content-addressed, so the same bytes
        try:
            self._client("s3").put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=body_type
            )
        except Exception as exc:
            raise aws_error(exc, f"uploading to s3://{self.bucket}/{key}", self._region()) from exc

    def _invoke(self, sha: str, body_type: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "InputLocation": f"s3://{self.bucket}/{self._key(sha)}",
            "ContentType": body_type,
            "Accept": "application/json",
            "InferenceId": sha[:64],
        }
        if self.invocation_timeout_s:
            params["InvocationTimeoutSeconds"] = self.invocation_timeout_s
        if self.request_ttl_s:
            params["RequestTTLSeconds"] = self.request_ttl_s
        try:
            response = self._client("sagemaker-runtime").invoke_endpoint_async(**params)
        except Exception as exc:
            raise aws_error(
                exc, f"queueing a document on endpoint {self.endpoint_name}", self._region()
            ) from exc
        index = {
            "sha256": sha,
            "input": params["InputLocation"],
            "content_type": body_type,
            "inference_id": response.get("InferenceId"),
            "output": response["OutputLocation"],
            "failure": response.get("FailureLocation"),
            "invoked_at": self._clock(),
        }
        key = self._key("index", f"{sha}.json")
        try:
            self._client("s3").put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(index, sort_keys=True).encode(),
                ContentType="application/json",
            )
        except Exception as exc:
            raise aws_error(exc, f"writing s3://{self.bucket}/{key}", self._region()) from exc
        return index

    def _needs_new_invocation(self, index: dict[str, Any]) -> bool:
        """True when the recorded invocation cannot give this document's answer any more."""
        failure = index.get("failure")
        if isinstance(failure, str):
            raw = self._get(*split_s3_uri(failure))
            if raw is not None:
                return not _is_final(_failure_error(raw))
        if self._exists(*split_s3_uri(index["output"])) is not None:
            return False
        invoked = index.get("invoked_at")
        return not isinstance(invoked, int | float) or self._clock() - invoked > self.stale_s

    # --- waiting --------------------------------------------------------------------------

    def _wait(self, index: dict[str, Any]) -> dict[str, Any]:
        output = split_s3_uri(index["output"])
        failure = split_s3_uri(index["failure"]) if isinstance(index.get("failure"), str) else None
        deadline = time.monotonic() + self.timeout_s
        delay = self.poll_s
        while True:
            raw = self._get(*output)
            if raw is not None:
                return _answer(raw, index["output"])
            if failure is not None:
                raw = self._get(*failure)
                if raw is not None:
                    raise _failure_error(raw)
            self._check_capacity()
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(
                    f"no result after {self.timeout_s:.0f} s (still queued on "
                    f"{self.endpoint_name}, input {index['input']}): run the report again "
                    "later to collect it"
                )
            if self._stop.wait(min(delay, left)):
                raise _Cancelled("interrupted: the document stays queued for the next run")
            delay = min(delay * 2, self.max_poll_s)

    def _check_capacity(self) -> None:
        """Ask DescribeEndpoint for the instance count at most every ``capacity_poll_s``."""
        with self._lock:
            now = time.monotonic()
            if now - self._capacity_checked < self.capacity_poll_s:
                return
            self._capacity_checked = now
        try:
            described = self._client("sagemaker").describe_endpoint(EndpointName=self.endpoint_name)
            variants = described.get("ProductionVariants") or [{}]
            count = variants[0].get("CurrentInstanceCount")
        except Exception:  # informational only: the results are what count
            return
        self._set_instances(count if isinstance(count, int) else None)

    def _change(self, *, uploading: int = 0, queued: int = 0, done: int = 0) -> None:
        with self._lock:
            queue = self._queue
            self._queue = dataclasses.replace(
                queue,
                uploading=queue.uploading + uploading,
                queued=queue.queued + queued,
                done=queue.done + done,
            )
            snapshot = self._queue
        self._notify(snapshot)

    def _set_instances(self, count: int | None) -> None:
        with self._lock:
            self._queue = snapshot = dataclasses.replace(self._queue, instances=count)
        self._notify(snapshot)

    def _notify(self, snapshot: AsyncQueue) -> None:
        if self.on_change is not None:
            self.on_change(snapshot)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _answer(raw: bytes, where: str) -> dict[str, Any]:
    try:
        result = json.loads(raw)
    except ValueError as exc:
        raise RemoteError(f"the result at {where} is not JSON: {raw[:200]!r}") from exc
    if not isinstance(result, dict):
        raise RemoteError(f"the result at {where} is not a JSON object")
    if "error" in result and "fields" not in result:
        raise _failure_error(raw)
    return result


def _failure_error(raw: bytes) -> ExpenseError:
    """A failure object as the matching exception: a contract error keeps its code and class."""
    code: Any = None
    with contextlib.suppress(ValueError, KeyError, TypeError):
        code = json.loads(raw)["error"]["code"]
    spec = ERRORS.get(code) if isinstance(code, str) else None
    if spec is None:
        text = raw[:500].decode("utf-8", "replace").strip() or "no reason given"
        return RemoteError(f"the endpoint failed on this document: {text}")
    return error_from_response(spec.status, raw)


def _is_final(error: ExpenseError) -> bool:
    """A failure that is the document's own (4xx): invoking again would fail the same way."""
    spec = ERRORS.get(error.code)
    return spec is not None and 400 <= spec.status < 500 and spec.status != 429


def async_target(
    config: ProjectConfig, on_change: Callable[[AsyncQueue], None] | None = None
) -> AsyncEndpointTarget:
    """The asynchronous endpoint of a deployment (``config.outputs`` from Terraform)."""
    outputs = config.outputs
    name = outputs.get("endpoint_name")
    input_uri = outputs.get("async_input_path")
    if not name or not input_uri:
        raise ConfigError(
            "this deployment has no asynchronous endpoint: run `expense-cli deploy --async`"
        )
    settings = config.settings
    region = outputs.get("region") or settings.region
    session = make_session(settings.profile, str(region) if region else None)
    ttl = settings.async_queue_hours * 3600
    return AsyncEndpointTarget(
        str(name),
        str(input_uri),
        session=session,
        max_bytes=settings.async_max_mb * 1_000_000,
        invocation_timeout_s=settings.async_timeout_s,
        request_ttl_s=ttl,
        # queued for at most the TTL, then processed for at most the timeout (+ a margin)
        timeout_s=ttl + settings.async_timeout_s + 300.0,
        stale_s=ttl + settings.async_timeout_s + 300.0,
        poll_s=POLL_S,
        max_poll_s=MAX_POLL_S,
        on_change=on_change,
    )
