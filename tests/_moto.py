"""A moto server on 127.0.0.1 for tests, with the application-autoscaling tagging calls moto lacks.

moto 5.2.5 does not implement application-autoscaling ``ListTagsForResource`` (nor
``TagResource``/``UntagResource``), so the Terraform AWS provider hangs or fails reading an
``aws_appautoscaling_target`` back. This module adds those three calls to moto's own
``ApplicationAutoScalingResponse`` (storing tags with moto's ``TaggingService``, keyed by the ARNs
of the targets moto's backend holds; tags given to ``RegisterScalableTarget`` are kept too) and
then runs moto's own server (``moto.server.main``) in a child process on a random free port.
It also makes SageMaker ``CreateModel`` keep ``EnableNetworkIsolation`` (moto 5.2.5 drops it and
always describes models as not isolated, which would show up as permanent Terraform drift).

Use from a test::

    from tests._moto import aws_env, moto_server

    with moto_server() as endpoint:          # "http://127.0.0.1:PORT"
        env = {**os.environ, **aws_env(endpoint)}
        subprocess.run(["terraform", "apply", ...], env=env, check=True)
        boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1")

or as a pytest fixture::

    @pytest.fixture
    def moto_endpoint() -> Iterator[str]:
        with moto_server() as endpoint:
            yield endpoint

The server is stopped (SIGTERM, then SIGKILL) when the ``with`` block ends, also on errors.
``aws_env(endpoint)`` gives the environment variables that point boto3 and Terraform at it with
fake credentials (no real AWS account is ever contacted).

From a shell (used by ``make plan``), run a command against a fresh server and stop it afterwards::

    python tests/_moto.py -- terraform -chdir=terraform/examples/realtime plan ...
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REGION = "us-east-1"
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0


def aws_env(endpoint: str, region: str = REGION) -> dict[str, str]:
    """Environment variables pointing boto3 and Terraform at ``endpoint`` with fake credentials.

    Merge into a copy of ``os.environ`` (``{**os.environ, **aws_env(url)}``) for subprocesses,
    or apply with ``monkeypatch.setenv`` for in-process boto3 clients.
    """
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # Never read the developer's real profile or ask the instance metadata service.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=_STOP_TIMEOUT_S)


@contextlib.contextmanager
def moto_server(start_timeout_s: float = _START_TIMEOUT_S) -> Iterator[str]:
    """Start a patched moto server on 127.0.0.1 and yield its URL ``http://127.0.0.1:PORT``."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOTO_PORT": str(port)},
        )
        try:
            deadline = time.monotonic() + start_timeout_s
            while not _ready(endpoint):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-4000:].decode(errors="replace")
                    raise RuntimeError(f"moto server did not start on {endpoint}:\n{tail}")
                time.sleep(0.1)
            yield endpoint
        finally:
            _stop(proc)


# --- the patch, applied inside the server process only -------------------------------------


def _patch_application_autoscaling() -> None:
    """Add ListTagsForResource, TagResource and UntagResource to moto's autoscaling responses."""
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.core.exceptions import JsonRESTError
    from moto.utilities.tagging_service import TaggingService

    def tagger(backend: ApplicationAutoscalingBackend) -> TaggingService:
        existing = getattr(backend, "_test_tagger", None)
        if isinstance(existing, TaggingService):
            return existing
        created = TaggingService()
        backend._test_tagger = created  # type: ignore[attr-defined]
        return created

    def known_arn(backend: ApplicationAutoscalingBackend, arn: str) -> None:
        for by_resource in backend.targets.values():
            if any(target.arn == arn for target in by_resource.values()):
                return
        raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for {arn}")

    def set_tags(backend: ApplicationAutoscalingBackend, arn: str, tags: dict[str, str]) -> None:
        tagger(backend).tag_resource(arn, [{"Key": k, "Value": v} for k, v in tags.items()])

    original_register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        body = original_register(self)
        tags = self._get_param("Tags") or {}
        if tags:
            set_tags(
                self.applicationautoscaling_backend, json.loads(body)["ScalableTargetARN"], tags
            )
        return body

    def list_tags_for_resource(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        arn = self._get_param("ResourceARN")
        known_arn(backend, arn)
        return json.dumps({"Tags": tagger(backend).get_tag_dict_for_resource(arn)})

    def tag_resource(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        arn = self._get_param("ResourceARN")
        known_arn(backend, arn)
        set_tags(backend, arn, self._get_param("Tags") or {})
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        arn = self._get_param("ResourceARN")
        known_arn(backend, arn)
        tagger(backend).untag_resource_using_names(arn, self._get_param("TagKeys") or [])
        return json.dumps({})

    responses: Any = ApplicationAutoScalingResponse
    responses.register_scalable_target = register_scalable_target
    responses.list_tags_for_resource = list_tags_for_resource
    responses.tag_resource = tag_resource
    responses.untag_resource = untag_resource


def _patch_sagemaker_network_isolation() -> None:
    """Make CreateModel record EnableNetworkIsolation, which DescribeModel then returns."""
    from moto.sagemaker.responses import SageMakerResponse

    original_create_model = SageMakerResponse.create_model

    def create_model(self: Any) -> Any:
        result = original_create_model(self)
        model = self.sagemaker_backend._models[self._get_param("ModelName")]
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    responses: Any = SageMakerResponse
    responses.create_model = create_model


def _serve(port: int) -> None:
    _patch_application_autoscaling()
    _patch_sagemaker_network_isolation()
    from moto.server import main as moto_main

    moto_main(["-H", "127.0.0.1", "-p", str(port)])


def _run_command(argv: list[str]) -> int:
    with moto_server() as endpoint:
        print(f"moto server at {endpoint}", file=sys.stderr)
        return subprocess.run(argv, env={**os.environ, **aws_env(endpoint)}, check=False).returncode


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--":
        sys.exit(_run_command(sys.argv[2:]))
    else:
        sys.exit("usage: python tests/_moto.py -- COMMAND [ARGS...]")
