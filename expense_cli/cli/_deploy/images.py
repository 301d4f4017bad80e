"""The model image: assemble the build context, ``docker build``, tag and push to ECR.

The context is ``pyproject.toml``, ``README.md``, ``expense_cli/``, ``container/`` and the model
snapshot (``expense_cli/aws/_image.py`` assemble_context, fetch_model) with its ONNX export; the
Dockerfile is ``container/Dockerfile``. Before the build, the accuracy gate
(``expense_cli/engine/_gate.py`` build_choice) picks the backend/precision the image runs
(``EXPENSE_BUILD_BACKEND``, ``EXPENSE_GATE_THRESHOLD``) and prints its figures.
Registries in ECR (the AWS base images, the deployment's repository)
are logged in to with a token from the session first.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ...aws import assemble_context, ecr_login, ecr_logins, fetch_model, registry_of
from ...aws._image import _gpu, ecr_region
from ...aws._session import aws_error
from .progress import err, step

if TYPE_CHECKING:
    import boto3

    from ...aws import DeploySettings, Docker
    from ...engine._gate import BuildChoice

__all__ = ["build_image", "login_to_deployment_registry", "push_image"]


def _image_tag(revision: str) -> str:
    short = revision.removeprefix("local-")[:12]
    return f"{short}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"


def build_image(
    docker: Docker,
    session: boto3.Session | None,
    settings: DeploySettings,
    base: str,
    tag: str | None,
) -> dict[str, str]:
    """Model snapshot + context in a temp dir, base-image login, docker build; the record."""
    with tempfile.TemporaryDirectory(prefix="expense-build-") as tmp:
        context = assemble_context(Path(tmp))
        with step(f"Fetching the model {settings.model or '(default)'}"):
            snapshot = fetch_model(context / "model", settings.model, settings.revision)
        choice = _choose_backend(context / "model", settings)
        local_tag = tag or f"{settings.name}:{_image_tag(snapshot.revision)}"
        if session is not None and ecr_region(registry_of(base)) is not None:
            with step(f"Logging in to {registry_of(base)}"):
                ecr_logins(docker, session, [base])
        with step(f"docker build {local_tag}") as update:
            docker.build(
                context,
                local_tag,
                base_image=base,
                model_id=snapshot.model_id,
                revision=snapshot.revision,
                backend=choice.backend,
                quantize=choice.quantize,
                on_line=update,
            )
    return {
        "tag": local_tag,
        "model_id": snapshot.model_id,
        "revision": snapshot.revision,
        "base_image": base,
        "backend": choice.variant,
    }


def _choose_backend(model_dir: Path, settings: DeploySettings) -> BuildChoice:
    """Export the model to ONNX next to its weights and run the accuracy gate on it."""
    from ...engine._gate import build_choice

    gpu = _gpu(settings.instance_type or "")
    with step("Accuracy gate (ONNX export, backends compared)") as update:
        choice = build_choice(model_dir, gpu=gpu, env=dict(os.environ), on_progress=update)
    for line in choice.lines:
        err.print(f"  {line}", markup=False)
    return choice


def login_to_deployment_registry(docker: Docker, session: boto3.Session) -> str:
    """``docker login`` to the account's ECR registry in the session's region, which exists
    before any repository does: a refused login stops ``deploy`` before anything is created."""
    region = session.region_name
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except Exception as exc:
        raise aws_error(exc, "reading your AWS account id", region) from exc
    registry = f"{account}.dkr.ecr.{region}.amazonaws.com"
    with step(f"Logging in to {registry}"):
        ecr_login(docker, session, registry)
    return registry


def push_image(
    docker: Docker, session: boto3.Session, local_tag: str, repository: str, *, login: bool = True
) -> str:
    """Tag ``local_tag`` into ``repository`` and push it; the pushed reference. ``login=False``:
    :func:`login_to_deployment_registry` did it already."""
    remote = f"{repository}:{local_tag.rsplit(':', 1)[-1]}"
    if login:
        with step(f"Logging in to {repository.split('/', 1)[0]}"):
            ecr_logins(docker, session, [remote])
    docker.tag(local_tag, remote)
    with step(f"docker push {remote}") as update:
        docker.push(remote, on_line=update)
    return remote
