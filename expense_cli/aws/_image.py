"""The model image: base image for the region, model snapshot, build context, docker build/push.

Base image: the AWS Hugging Face PyTorch *inference* Deep Learning Container of the region. When the
``sagemaker`` SDK is importable its ``image_uris.retrieve(framework="huggingface", ...,
image_scope="inference")`` names it; otherwise (the SDK pulls ~100 packages — mlflow, pandas,
pyarrow, scikit-learn — so it is not a dependency) the table below, taken from the SDK's own
``image_uri_config/huggingface.json``: the image is
``{account}.dkr.ecr.{region}.{domain}/huggingface-pytorch-inference:{tag}`` with tag
``2.6.0-transformers5.5.3-{cpu|gpu}-py312-{ubuntu22.04|cu124-ubuntu22.04}``. ``--base-image``
overrides both.

The library versions the image runs are pinned here, and only here (:data:`IMAGE_LIBRARIES`):
transformers 5.5.3, the newest transformers of these images (the SDK still lists 4.51.3, but the
Deep Learning Containers' list of available images has only 5.5.3 for PyTorch 2.6 since May 2026,
and the package is developed on transformers 5); huggingface_hub 1.10.0 is what that image's
Dockerfile installs; tokenizers 0.22.2 is what pip resolves for transformers 5.5.3
(``tokenizers>=0.22.0,<=0.23.0``; 0.23.0 only exists as a release candidate). ``docker build``
gets them as build arguments and container/check_image.py fails the build when the base image
has other versions; tests/compat runs the engine and serving tests with exactly these versions,
and pyproject.toml's minimums are these versions.

Every docker/ECR step goes through a :class:`~._runner.Runner`, so the exact commands are tested
without docker.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._assets import BUNDLE_DIR, asset_root, package_dir
from ..errors import ConfigError, RemoteError, Timeout
from ._runner import LineCallback, Runner, SubprocessRunner, require_tool
from ._session import aws_error

if TYPE_CHECKING:
    import boto3

__all__ = [
    "HF_INFERENCE_ACCOUNTS",
    "IMAGE_LIBRARIES",
    "BuiltImage",
    "Docker",
    "ModelSnapshot",
    "assemble_context",
    "base_image_uri",
    "ecr_login",
    "ecr_logins",
    "ecr_region",
    "fetch_model",
    "find_source_root",
    "library_build_args",
    "registry_of",
]

SOURCE_DIR_ENV = "EXPENSE_SOURCE_DIR"
HF_TRANSFORMERS_VERSION = "5.5.3"
HF_TOKENIZERS_VERSION = "0.22.2"
HF_HUB_VERSION = "1.10.0"
HF_PYTORCH_VERSION = "2.6.0"
HF_PY_VERSION = "py312"
# The torch-independent libraries of the base image, by distribution name: the Dockerfile's
# build arguments (container/check_image.py) and the tests/compat virtual environment.
IMAGE_LIBRARIES: dict[str, str] = {
    "transformers": HF_TRANSFORMERS_VERSION,
    "tokenizers": HF_TOKENIZERS_VERSION,
    "huggingface_hub": HF_HUB_VERSION,
}
# Build argument of container/Dockerfile for each pinned library.
_BUILD_ARGS = {
    "transformers": "TRANSFORMERS_VERSION",
    "tokenizers": "TOKENIZERS_VERSION",
    "huggingface_hub": "HUGGINGFACE_HUB_VERSION",
}
_HF_REPOSITORY = "huggingface-pytorch-inference"
_DEFAULT_ACCOUNT = "763104351884"
# Regions whose DLC registry is not the default account (from the SDK's huggingface.json).
HF_INFERENCE_ACCOUNTS: dict[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-3": "364406365360",
    "ap-south-2": "772153158452",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-2": "380420809688",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
}
_DEFAULT_ACCOUNT_REGIONS = frozenset(
    {
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)
# Model files the container needs: config, tokenizer, weights (safetensors preferred).
_MODEL_FILES = ["*.json", "*.txt", "*.model", "vocab.*", "merges.txt"]
_DOCKER_ADVICE = "install Docker or pass --image-uri of an image you pushed"
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def _gpu(instance_type: str) -> bool:
    family = instance_type.removeprefix("ml.").split(".")[0]
    return family[:1] in ("g", "p")


def _table_uri(region: str, instance_type: str) -> str:
    if region in HF_INFERENCE_ACCOUNTS:
        account = HF_INFERENCE_ACCOUNTS[region]
    elif region in _DEFAULT_ACCOUNT_REGIONS:
        account = _DEFAULT_ACCOUNT
    else:
        raise ConfigError(
            f"no Hugging Face inference image is known for region {region}: pass --base-image "
            "(see the AWS Deep Learning Containers list) or deploy to another --region"
        )
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    versions = f"{HF_PYTORCH_VERSION}-transformers{HF_TRANSFORMERS_VERSION}"
    if _gpu(instance_type):
        tag = f"{versions}-gpu-{HF_PY_VERSION}-cu124-ubuntu22.04"
    else:
        tag = f"{versions}-cpu-{HF_PY_VERSION}-ubuntu22.04"
    return f"{account}.dkr.ecr.{region}.{domain}/{_HF_REPOSITORY}:{tag}"


def _sdk_retrieve() -> Callable[..., str] | None:
    for module in ("sagemaker.image_uris", "sagemaker.core.image_uris"):
        try:
            imported = __import__(module, fromlist=["retrieve"])
        except Exception:  # noqa: S112 - an SDK that fails to import is the same as none
            continue
        retrieve: Callable[..., str] | None = getattr(imported, "retrieve", None)
        if retrieve is not None:
            return retrieve
    return None


def base_image_uri(
    region: str, instance_type: str = "ml.m5.xlarge", override: str | None = None
) -> str:
    """The base image for ``container/Dockerfile``: ``override``, the SDK's answer, or the table."""
    if override:
        return override
    retrieve = _sdk_retrieve()
    if retrieve is not None:
        try:
            return retrieve(
                framework="huggingface",
                region=region,
                version=HF_TRANSFORMERS_VERSION,
                base_framework_version=f"pytorch{HF_PYTORCH_VERSION}",
                py_version=HF_PY_VERSION,
                instance_type=instance_type,
                image_scope="inference",
            )
        except Exception:  # noqa: S110 - fall back to the table below
            pass
    return _table_uri(region, instance_type)


def library_build_args() -> list[str]:
    """``--build-arg NAME=VERSION`` for each of :data:`IMAGE_LIBRARIES` (checked in the build)."""
    argv: list[str] = []
    for name, version in IMAGE_LIBRARIES.items():
        argv += ["--build-arg", f"{_BUILD_ARGS[name]}={version}"]
    return argv


def _backend_build_args(backend: str, quantize: bool) -> list[str]:
    """The accuracy gate's choice (``expense_cli/engine/_gate.py``) for the Dockerfile's
    ``EXPENSE_BACKEND``/``EXPENSE_QUANTIZE``; none for its defaults (torch fp32)."""
    if (backend, quantize) == ("torch", False):
        return []
    return [
        "--build-arg",
        f"EXPENSE_BACKEND={backend}",
        "--build-arg",
        f"EXPENSE_QUANTIZE={int(quantize)}",
    ]


def registry_of(image: str) -> str:
    """The registry host of an image reference (``docker.io`` when it names none)."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def ecr_region(registry: str) -> str | None:
    """The region of an ECR registry host, or None for other registries."""
    match = _ECR_HOST.match(registry)
    return match.group(2) if match else None


# --- the model snapshot ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSnapshot:
    """The model files copied into the build context and where they came from."""

    path: Path
    model_id: str
    revision: str  # the resolved full commit (or ``local-<sha256 prefix>`` for a directory)


def _local_revision(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return f"local-{digest.hexdigest()[:12]}"


def fetch_model(
    dest: Path,
    model: str | None = None,
    revision: str | None = None,
    *,
    hub: Any = None,
) -> ModelSnapshot:
    """Put the model into ``dest``: copy a local directory, or download a Hub snapshot.

    For a Hub id the revision (default: the engine's pinned ``DEFAULT_REVISION``) is resolved to
    its full commit first, and only config, tokenizer and weight files are fetched (safetensors
    when the repository has them, else the PyTorch ``.bin``). ``hub`` replaces the
    ``huggingface_hub`` module in tests.
    """
    from ..engine import DEFAULT_MODEL, DEFAULT_REVISION

    model = model or DEFAULT_MODEL
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ConfigError(
                f"{local} has no config.json: pass a saved model directory to --model"
            )
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(local, dest, ignore=shutil.ignore_patterns(".git", ".cache", "__pycache__"))
        return ModelSnapshot(dest, local.resolve().name, _local_revision(dest))
    if model.startswith((".", "/", "~")):
        raise ConfigError(f"model directory {model} does not exist: check --model")
    if hub is None:
        import huggingface_hub as hub
    wanted = revision or (DEFAULT_REVISION if model == DEFAULT_MODEL else None)
    try:
        info = hub.HfApi().model_info(model, revision=wanted, files_metadata=False)
        commit = str(info.sha)
        names = [str(s.rfilename) for s in (info.siblings or [])]
        weights = ["*.safetensors"] if any(n.endswith(".safetensors") for n in names) else ["*.bin"]
        if dest.exists():
            shutil.rmtree(dest)
        hub.snapshot_download(
            model, revision=commit, local_dir=dest, allow_patterns=[*_MODEL_FILES, *weights]
        )
    except Exception as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(
            f"cannot download {model}@{wanted or 'main'} from the Hugging Face Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}): check the "
            "model id, --revision and your network, or pass --model DIR of a saved model"
        ) from exc
    for junk in (dest / ".cache",):
        shutil.rmtree(junk, ignore_errors=True)
    if not (dest / "config.json").is_file():
        raise ConfigError(f"{model}@{commit} has no config.json: is it a transformers model?")
    return ModelSnapshot(dest, model, commit)


# --- the build context -----------------------------------------------------------------------


def find_source_root() -> Path:
    """The tree holding ``container/Dockerfile`` and ``pyproject.toml``: ``$EXPENSE_SOURCE_DIR``,
    else the assets shipped with this package or its checkout (``expense_cli/_assets.py``)."""
    configured = os.environ.get(SOURCE_DIR_ENV)
    root = Path(configured).expanduser() if configured else asset_root()
    if not (root / "container" / "Dockerfile").is_file() or not (root / "pyproject.toml").is_file():
        raise ConfigError(
            f"container/Dockerfile not found under {root}: reinstall expense-cli, or set "
            f"{SOURCE_DIR_ENV} to a checkout of the expense repository, or pass --image-uri of "
            "an image you pushed"
        )
    return root


def assemble_context(context: Path, source: Path | None = None) -> Path:
    """Copy ``pyproject.toml``, ``README.md``, ``expense_cli/``, ``container/`` into ``context``.

    ``expense_cli/`` is the source tree's when it has one, else this installed package (without
    its ``_bundle`` of deployment assets: the image needs none of them).
    """
    root = source or find_source_root()
    context.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(
        "__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", BUNDLE_DIR
    )
    for name in ("pyproject.toml", "README.md"):
        if (root / name).is_file():
            shutil.copy2(root / name, context / name)
        elif name == "README.md":
            (context / name).write_text("# expense-cli\n")
    package = root / "expense_cli"
    for name, folder in (
        ("expense_cli", package if package.is_dir() else package_dir()),
        ("container", root / "container"),
    ):
        if (context / name).exists():
            shutil.rmtree(context / name)
        shutil.copytree(folder, context / name, ignore=ignore)
    return context


# --- docker -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    model_id: str
    revision: str
    base_image: str


class Docker:
    """The docker CLI (found on PATH when first needed) behind an injectable runner."""

    def __init__(
        self,
        runner: Runner | None = None,
        binary: str | None = None,
        *,
        build_timeout_s: float = 3600.0,
        push_timeout_s: float = 1800.0,
    ) -> None:
        self.runner: Runner = runner or SubprocessRunner()
        self._binary = binary
        self.build_timeout_s = build_timeout_s
        self.push_timeout_s = push_timeout_s

    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = require_tool("docker", _DOCKER_ADVICE)
        return self._binary

    def _check(self, what: str, result: Any) -> None:
        if result.returncode == 0:
            return
        text = result.output
        if "Cannot connect to the Docker daemon" in text or "docker daemon" in text.lower():
            raise ConfigError(
                "docker is installed but its daemon is not running: start Docker, "
                "or pass --image-uri of an image you pushed"
            )
        tail = [line for line in result.lines if line.strip()][-1:] or [f"exit {result.returncode}"]
        raise RemoteError(f"docker {what} failed: {tail[0].strip()}")

    def has_buildx(self) -> bool:
        return self.runner([self.binary, "buildx", "version"]).returncode == 0

    def login(self, registry: str, username: str, password: str) -> None:
        result = self.runner(
            [self.binary, "login", "--username", username, "--password-stdin", registry],
            input=password,
        )
        self._check(f"login to {registry}", result)

    def build(
        self,
        context: Path,
        tag: str,
        *,
        base_image: str,
        model_id: str,
        revision: str,
        backend: str = "torch",
        quantize: bool = False,
        on_line: LineCallback | None = None,
    ) -> BuiltImage:
        argv = [self.binary, "build", "--platform", "linux/amd64"]
        if self.has_buildx():
            # SageMaker rejects image indexes with attestation manifests: push a plain image.
            argv += ["--provenance=false", "--load"]
        argv += [
            "-f",
            str(context / "container" / "Dockerfile"),
            "--build-arg",
            f"BASE_IMAGE={base_image}",
            "--build-arg",
            f"MODEL_ID={model_id}",
            "--build-arg",
            f"MODEL_REVISION={revision}",
            *library_build_args(),
            *_backend_build_args(backend, quantize),
            "-t",
            tag,
            str(context),
        ]
        lines = _deadline(on_line, self.build_timeout_s, f"docker build {tag}")
        self._check("build", self.runner(argv, on_line=lines))
        return BuiltImage(tag, model_id, revision, base_image)

    def tag(self, source: str, target: str) -> None:
        self._check("tag", self.runner([self.binary, "tag", source, target]))

    def push(self, image: str, on_line: LineCallback | None = None) -> None:
        lines = _deadline(on_line, self.push_timeout_s, f"docker push {image}")
        self._check(f"push {image}", self.runner([self.binary, "push", image], on_line=lines))


def _deadline(on_line: LineCallback | None, timeout_s: float, what: str) -> LineCallback:
    """``on_line`` that stops the command (the runner kills it when a callback raises) once it
    has run ``timeout_s``: docker prints progress lines while it builds and pushes."""
    deadline = time.monotonic() + timeout_s

    def check(line: str) -> None:
        if time.monotonic() > deadline:
            raise Timeout(
                f"{what} did not finish within {timeout_s:g} s: check the network and the "
                "Docker daemon, then run the command again (finished layers are reused)"
            )
        if on_line is not None:
            on_line(line)

    return check


def ecr_login(docker: Docker, session: boto3.Session, registry: str) -> None:
    """``docker login`` to an ECR registry with a token from ``ecr:GetAuthorizationToken``."""
    region = ecr_region(registry) or session.region_name
    account = registry.split(".", 1)[0]
    try:
        client = session.client("ecr", region_name=region)
        kwargs: dict[str, Any] = {"registryIds": [account]} if account.isdigit() else {}
        data = client.get_authorization_token(**kwargs)["authorizationData"][0]
    except Exception as exc:
        raise aws_error(exc, f"getting an ECR login token for {registry}", region) from exc
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    docker.login(registry, user, password)


def ecr_logins(docker: Docker, session: boto3.Session, images: Sequence[str]) -> None:
    """Log in to every distinct ECR registry among ``images`` (others are left alone)."""
    for registry in dict.fromkeys(registry_of(i) for i in images):
        if ecr_region(registry) is not None:
            ecr_login(docker, session, registry)
