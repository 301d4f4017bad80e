"""Base image resolution, model snapshot, build context, and the exact docker/ECR commands."""

from __future__ import annotations

import base64
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from expense_cli.aws import (
    Docker,
    assemble_context,
    base_image_uri,
    ecr_login,
    ecr_logins,
    fetch_model,
    registry_of,
)
from expense_cli.aws._image import HF_TRANSFORMERS_VERSION, _table_uri
from expense_cli.errors import ConfigError, RemoteError
from tests.aws._fakes import RecordingRunner

try:
    from expense_cli.engine import DEFAULT_MODEL, DEFAULT_REVISION
except ImportError:  # pragma: no cover - the engine is written in parallel
    DEFAULT_MODEL, DEFAULT_REVISION = "impira/layoutlm-invoices", "783b0c2"

CPU_TAG = f"2.6.0-transformers{HF_TRANSFORMERS_VERSION}-cpu-py312-ubuntu22.04"


# --- base image ---------------------------------------------------------------------------------


@pytest.fixture
def no_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure the table is used even where the sagemaker SDK happens to be installed."""
    monkeypatch.setitem(sys.modules, "sagemaker", None)
    monkeypatch.setitem(sys.modules, "sagemaker.image_uris", None)
    monkeypatch.setitem(sys.modules, "sagemaker.core", None)
    monkeypatch.setitem(sys.modules, "sagemaker.core.image_uris", None)


@pytest.mark.usefixtures("no_sdk")
@pytest.mark.parametrize(
    ("region", "expected"),
    [
        (
            "us-east-1",
            f"763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:{CPU_TAG}",
        ),
        (
            "af-south-1",
            f"626614931356.dkr.ecr.af-south-1.amazonaws.com/huggingface-pytorch-inference:{CPU_TAG}",
        ),
        (
            "cn-north-1",
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/huggingface-pytorch-inference:"
            + CPU_TAG,
        ),
    ],
)
def test_base_image_from_the_table(region: str, expected: str) -> None:
    assert base_image_uri(region, "ml.m5.xlarge") == expected


@pytest.mark.usefixtures("no_sdk")
def test_gpu_instances_get_the_gpu_image() -> None:
    uri = base_image_uri("eu-west-1", "ml.g5.xlarge")
    assert uri.endswith(f"-transformers{HF_TRANSFORMERS_VERSION}-gpu-py312-cu124-ubuntu22.04")


@pytest.mark.usefixtures("no_sdk")
def test_unknown_region_needs_base_image() -> None:
    with pytest.raises(ConfigError, match=r"no Hugging Face inference image .* pass --base-image"):
        base_image_uri("xx-nowhere-1")
    assert base_image_uri("xx-nowhere-1", override="my/base:1") == "my/base:1"


def test_sdk_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def retrieve(**kwargs: Any) -> str:
        calls.append(kwargs)
        return "from-the-sdk:1"

    package = types.ModuleType("sagemaker")
    module = types.ModuleType("sagemaker.image_uris")
    module.retrieve = retrieve  # type: ignore[attr-defined]
    package.image_uris = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker", package)
    monkeypatch.setitem(sys.modules, "sagemaker.image_uris", module)
    assert base_image_uri("eu-west-1", "ml.c5.xlarge") == "from-the-sdk:1"
    assert calls == [
        {
            "framework": "huggingface",
            "region": "eu-west-1",
            "version": HF_TRANSFORMERS_VERSION,
            "base_framework_version": "pytorch2.6.0",
            "py_version": "py312",
            "instance_type": "ml.c5.xlarge",
            "image_scope": "inference",
        }
    ]


def test_sdk_failure_falls_back_to_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    def retrieve(**kwargs: Any) -> str:
        raise ValueError("unsupported version")

    module = types.ModuleType("sagemaker.image_uris")
    module.retrieve = retrieve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker", types.ModuleType("sagemaker"))
    monkeypatch.setitem(sys.modules, "sagemaker.image_uris", module)
    assert base_image_uri("us-west-2") == _table_uri("us-west-2", "ml.m5.xlarge")


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("1.dkr.ecr.us-east-1.amazonaws.com/repo:tag", "1.dkr.ecr.us-east-1.amazonaws.com"),
        ("localhost:5000/x:1", "localhost:5000"),
        ("python:3.11", "docker.io"),
        ("library/python:3.11", "docker.io"),
    ],
)
def test_registry_of(image: str, registry: str) -> None:
    assert registry_of(image) == registry


# --- model snapshot -----------------------------------------------------------------------------


class FakeHub:
    """Stands in for the huggingface_hub module: model_info + snapshot_download."""

    def __init__(self, files: list[str], sha: str = "a" * 40, fail: Exception | None = None):
        self.files = files
        self.sha = sha
        self.fail = fail
        self.info_calls: list[tuple[str, str | None]] = []
        self.downloads: list[dict[str, Any]] = []
        hub = self

        class HfApi:
            def model_info(self, repo_id: str, revision: str | None = None, **_: Any) -> Any:
                if hub.fail is not None:
                    raise hub.fail
                hub.info_calls.append((repo_id, revision))
                siblings = [types.SimpleNamespace(rfilename=f) for f in hub.files]
                return types.SimpleNamespace(sha=hub.sha, siblings=siblings)

        self.HfApi = HfApi

    def snapshot_download(self, repo_id: str, **kwargs: Any) -> str:
        self.downloads.append({"repo_id": repo_id, **kwargs})
        dest = Path(kwargs["local_dir"])
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "config.json").write_text("{}")
        (dest / ".cache").mkdir()
        return str(dest)


def test_hub_snapshot_at_the_pinned_revision(tmp_path: Path) -> None:
    hub = FakeHub(["config.json", "pytorch_model.bin", "model.safetensors", "tf_model.h5"])
    snapshot = fetch_model(tmp_path / "model", hub=hub)
    assert hub.info_calls == [(DEFAULT_MODEL, DEFAULT_REVISION)]
    (download,) = hub.downloads
    assert download["repo_id"] == DEFAULT_MODEL
    assert download["revision"] == "a" * 40  # the resolved full commit, not the short pin
    assert "*.safetensors" in download["allow_patterns"]
    assert "*.bin" not in download["allow_patterns"]  # safetensors preferred
    assert not any(p.endswith(".h5") for p in download["allow_patterns"])
    assert (snapshot.model_id, snapshot.revision) == (DEFAULT_MODEL, "a" * 40)
    assert not (tmp_path / "model" / ".cache").exists()


def test_hub_snapshot_without_safetensors_takes_bin(tmp_path: Path) -> None:
    hub = FakeHub(["config.json", "pytorch_model.bin"], sha="b" * 40)
    snapshot = fetch_model(tmp_path / "m", "someone/other-model", "v2", hub=hub)
    assert hub.info_calls == [("someone/other-model", "v2")]
    assert "*.bin" in hub.downloads[0]["allow_patterns"]
    assert snapshot.revision == "b" * 40


def test_hub_failure_says_what_to_do(tmp_path: Path) -> None:
    hub = FakeHub([], fail=OSError("network is unreachable"))
    with pytest.raises(ConfigError, match=r"cannot download .* pass --model DIR"):
        fetch_model(tmp_path / "m", hub=hub)


def test_local_model_dir_is_copied_with_a_content_revision(model_dir: Path, tmp_path: Path) -> None:
    snapshot = fetch_model(tmp_path / "ctx" / "model", str(model_dir))
    assert (tmp_path / "ctx" / "model" / "model.safetensors").read_bytes() == b"\0" * 64
    assert snapshot.revision.startswith("local-")
    again = fetch_model(tmp_path / "ctx2" / "model", str(model_dir))
    assert again.revision == snapshot.revision
    (model_dir / "model.safetensors").write_bytes(b"\1" * 64)
    changed = fetch_model(tmp_path / "ctx3" / "model", str(model_dir))
    assert changed.revision != snapshot.revision


def test_local_dir_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no config\.json"):
        fetch_model(tmp_path / "out", str(tmp_path))
    with pytest.raises(ConfigError, match="does not exist"):
        fetch_model(tmp_path / "out", "./no/such/dir")


def test_build_context_has_the_package_and_container(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "expense_cli" / "__pycache__").mkdir(parents=True)
    (source / "expense_cli" / "__init__.py").write_text("")
    (source / "expense_cli" / "__pycache__" / "x.pyc").write_bytes(b"")
    (source / "container").mkdir()
    (source / "container" / "Dockerfile").write_text("FROM scratch\n")
    (source / "pyproject.toml").write_text("[project]\n")
    (source / "terraform").mkdir()
    context = assemble_context(tmp_path / "ctx", source)
    names = sorted(str(p.relative_to(context)) for p in context.rglob("*"))
    assert names == [
        "README.md",
        "container",
        "container/Dockerfile",
        "expense_cli",
        "expense_cli/__init__.py",
        "pyproject.toml",
    ]


def test_source_root_from_env_must_have_a_dockerfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPENSE_SOURCE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=r"container/Dockerfile not found .* --image-uri"):
        assemble_context(tmp_path / "ctx")


# --- docker commands ----------------------------------------------------------------------------


def test_docker_build_command(recorder: RecordingRunner, tmp_path: Path) -> None:
    recorder.results[("buildx", "version")] = (1, ["docker: unknown command: docker buildx"])
    Docker(recorder, binary="/usr/bin/docker").build(
        tmp_path, "expense:abc", base_image="base:1", model_id="m/x", revision="c" * 40
    )
    assert recorder.commands() == [
        ["docker", "buildx", "version"],
        [
            "docker", "build", "--platform", "linux/amd64",
            "-f", str(tmp_path / "container" / "Dockerfile"),
            "--build-arg", "BASE_IMAGE=base:1",
            "--build-arg", "MODEL_ID=m/x",
            "--build-arg", f"MODEL_REVISION={'c' * 40}",
            "--build-arg", "TRANSFORMERS_VERSION=5.5.3",
            "--build-arg", "TOKENIZERS_VERSION=0.22.2",
            "--build-arg", "HUGGINGFACE_HUB_VERSION=1.10.0",
            "-t", "expense:abc",
            str(tmp_path),
        ],
    ]  # fmt: skip


def test_docker_build_with_buildx_pushes_no_attestations(
    recorder: RecordingRunner, tmp_path: Path
) -> None:
    Docker(recorder, binary="docker").build(
        tmp_path, "t:1", base_image="b", model_id="m", revision="r"
    )
    build = recorder.commands()[1]
    assert build[:6] == [
        "docker",
        "build",
        "--platform",
        "linux/amd64",
        "--provenance=false",
        "--load",
    ]


def test_docker_daemon_not_running(recorder: RecordingRunner, tmp_path: Path) -> None:
    recorder.results[("build",)] = (
        1,
        ["Cannot connect to the Docker daemon at unix:///var/run/docker.sock."],
    )
    with pytest.raises(
        ConfigError, match="daemon is not running: start Docker, or pass --image-uri"
    ):
        Docker(recorder, binary="docker").build(
            tmp_path, "t:1", base_image="b", model_id="m", revision="r"
        )


def test_docker_failure_shows_the_last_line(recorder: RecordingRunner) -> None:
    recorder.results[("push",)] = (1, ["pushing", "denied: not authorized", ""])
    with pytest.raises(RemoteError, match="docker push r/x:1 failed: denied: not authorized"):
        Docker(recorder, binary="docker").push("r/x:1")


def test_missing_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        Docker().login("r", "u", "p")
    assert caught.value.message == (
        "docker not found: install Docker or pass --image-uri of an image you pushed"
    )


class FakeEcr:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_authorization_token(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        token = base64.b64encode(b"AWS:ecr-password").decode()
        return {"authorizationData": [{"authorizationToken": token}]}


class FakeSession:
    region_name = "us-east-1"

    def __init__(self) -> None:
        self.ecr = FakeEcr()
        self.clients: list[tuple[str, str | None]] = []

    def client(self, service: str, region_name: str | None = None) -> FakeEcr:
        self.clients.append((service, region_name))
        return self.ecr


def test_ecr_login_pipes_the_token_to_docker(recorder: RecordingRunner) -> None:
    session = FakeSession()
    registry = "763104351884.dkr.ecr.eu-west-1.amazonaws.com"
    ecr_login(Docker(recorder, binary="docker"), session, registry)
    assert session.clients == [("ecr", "eu-west-1")]  # the registry's region, not the session's
    assert session.ecr.calls == [{"registryIds": ["763104351884"]}]
    (call,) = recorder.calls
    assert recorder.commands() == [
        ["docker", "login", "--username", "AWS", "--password-stdin", registry]
    ]
    assert call.input == "ecr-password"  # on stdin, never in argv


def test_ecr_logins_skip_other_registries_and_duplicates(recorder: RecordingRunner) -> None:
    images = [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/b:2",
        "public.example.com/c:3",
        "python:3.11",
    ]
    ecr_logins(Docker(recorder, binary="docker"), FakeSession(), images)
    assert [c[-1] for c in recorder.commands()] == ["123456789012.dkr.ecr.us-east-1.amazonaws.com"]


@pytest.mark.parametrize("step", ["build", "push"])
def test_docker_build_and_push_stop_at_their_time_limit(tmp_path: Path, step: str) -> None:
    """A docker that never finishes (a stuck push, a wedged build) is stopped with a clear error
    once past its time limit, and the process is killed, not left behind."""
    from expense_cli.aws import SubprocessRunner
    from expense_cli.errors import Timeout

    pid_file = tmp_path / "pid"
    fake = tmp_path / "docker"
    fake.write_text(
        f'#!/bin/sh\n[ "$1" = buildx ] && exit 1\necho $$ > {pid_file}\n'
        "while true; do echo progress; sleep 0.05; done\n"
    )
    fake.chmod(0o755)
    docker = Docker(SubprocessRunner(), binary=str(fake), build_timeout_s=0.3, push_timeout_s=0.3)
    with pytest.raises(Timeout, match=rf"docker {step} .* did not finish within 0.3 s"):
        if step == "build":
            docker.build(tmp_path, "t:1", base_image="b", model_id="m", revision="r")
        else:
            docker.push("r/x:1")
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
