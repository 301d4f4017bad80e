"""Settings → Terraform: validate the merged settings, then write them as stack variables.

The variables are those of ``terraform/variables.tf``; the defaults behind ``None`` options are
:class:`expense_cli.aws.DeploySettings` (``expense_cli/aws/_config.py``). The bearer token never
goes into the variables file: it reaches Terraform through ``TF_VAR_auth_token`` only.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from .security import kms_variables

if TYPE_CHECKING:
    from ...aws import DeploySettings, ProjectConfig

__all__ = ["cost_note", "merged_settings", "terraform_env", "terraform_variables"]

_MEMORY_SIZES = range(1024, 6145, 1024)
# The rules of terraform/variables.tf (name) and terraform/modules/sagemaker_endpoint/variables.tf
# (instance_type), checked here so that a bad value stops `deploy` before the cost prompt, the
# image build and the settings being remembered, not at `terraform apply` minutes later.
_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_NAME_MAX = 40
_INSTANCE_TYPE_RE = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9]+")
# Options that only one kind of endpoint uses: (settings field, flag, serverless or not).
_ONLY_FOR = (
    ("min_instances", "--min-instances", False),
    ("max_instances", "--max-instances", False),
    ("instance_type", "--instance-type", False),
    ("serverless_memory_mb", "--serverless-memory", True),
    ("serverless_max_concurrency", "--serverless-concurrency", True),
)


def merged_settings(config: ProjectConfig, **given: Any) -> DeploySettings:
    """The remembered settings with the options given now (``None``: keep), validated."""
    # --serverless and --async replace each other unless both are given (then: an error below)
    if given.get("serverless") and given.get("async_inference") is None:
        given["async_inference"] = False
    if given.get("async_inference") and given.get("serverless") is None:
        given["serverless"] = False
    settings = config.settings.replace(**given)
    if settings.image_uri == "":
        settings.image_uri = None  # --image-uri "" goes back to building the image
    if settings.auth not in ("iam", "token"):
        raise ConfigError(f"--auth must be iam or token, not {settings.auth!r}")
    if settings.serverless_memory_mb not in _MEMORY_SIZES:
        raise ConfigError("--serverless-memory must be 1024, 2048, 3072, 4096, 5120 or 6144")
    if settings.serverless and settings.async_inference:
        raise ConfigError("choose one of --serverless and --async")
    if settings.max_instances < settings.min_instances:
        raise ConfigError("--max-instances must be at least --min-instances")
    _check_names(settings)
    _check_kind(settings, given)
    return settings


def _check_names(settings: DeploySettings) -> None:
    name = settings.name
    if len(name) > _NAME_MAX or not _NAME_RE.fullmatch(name):
        raise ConfigError(
            f"--name {name!r} is not allowed: use lowercase letters, digits and hyphens (not at "
            f"either end), at most {_NAME_MAX} characters, e.g. expense-team"
        )
    if not _INSTANCE_TYPE_RE.fullmatch(settings.instance_type):
        raise ConfigError(
            f"--instance-type {settings.instance_type!r} is not a SageMaker instance type: "
            "use e.g. ml.m5.xlarge or ml.g4dn.xlarge"
        )


def _check_kind(settings: DeploySettings, given: dict[str, Any]) -> None:
    """An option given for the other kind of endpoint would be silently ignored: refuse it."""
    for key, flag, serverless_only in _ONLY_FOR:
        if given.get(key) is None or settings.serverless == serverless_only:
            continue
        if serverless_only:
            raise ConfigError(f"{flag} applies to serverless endpoints only: add --serverless")
        switch = "" if given.get("serverless") else " (add --realtime to switch)"
        raise ConfigError(
            f"{flag} does not apply to a serverless endpoint, which has no instances{switch}"
        )


def terraform_env(settings: DeploySettings, config: ProjectConfig) -> dict[str, str]:
    """Environment for the terraform process: the profile, and the token as ``TF_VAR_``."""
    env: dict[str, str] = {}
    if settings.profile:
        env["AWS_PROFILE"] = settings.profile
    if settings.auth == "token" and config.auth_token:
        env["TF_VAR_auth_token"] = config.auth_token  # never written into the tfvars file
        env["TF_VAR_auth_token_version"] = str(token_version(config.auth_token))
    return env


def token_version(token: str) -> int:
    """The stack's ``auth_token_version`` for ``token``: Terraform cannot see a write-only value,
    so SSM gets a new token only when this number changes. Derived from the token (a 48-bit
    prefix of its SHA-256, which tells nothing about it), it changes with every new token
    (``deploy --rotate-token``) and stays put otherwise, with no counter to keep."""
    return int(hashlib.sha256(token.encode("utf-8")).hexdigest()[:12], 16) + 1


def terraform_variables(
    settings: DeploySettings, zip_path: Path, image_tag: str | None
) -> dict[str, Any]:
    """The root stack's variables (``terraform/variables.tf``) for these settings."""
    variables: dict[str, Any] = {
        "name": settings.name,
        "region": settings.region,
        "instance_type": settings.instance_type,
        "min_instances": settings.min_instances,
        "max_instances": settings.max_instances,
        "serverless": settings.serverless,
        "serverless_memory_mb": settings.serverless_memory_mb,
        "serverless_max_concurrency": settings.serverless_max_concurrency,
        "async_inference": settings.async_inference,
        "async_max_document_mb": settings.async_max_mb,
        "async_max_pages": settings.async_max_pages,
        "async_invocation_timeout_s": settings.async_timeout_s,
        "async_max_concurrent_invocations": settings.async_concurrent_per_instance,
        "auth": settings.auth,
        "lambda_zip": str(zip_path),
        # The repository only holds images this tool pushed: destroy removes them with it.
        "force_delete_repository": True,
    }
    if settings.image_uri:
        variables["image_uri"] = settings.image_uri
        variables["create_repository"] = False
    else:
        variables["image_tag"] = image_tag or "latest"
    variables.update(kms_variables(settings))  # --immutable-tags, --kms-key (security.py)
    return variables


def cost_note(settings: DeploySettings) -> str:
    """What the deployment will bill, for the confirmation prompt."""
    if settings.async_inference:
        return (
            f"an asynchronous SageMaker endpoint: 0 to {settings.max_instances} x "
            f"{settings.instance_type}, billed per instance-hour while documents are queued "
            "(it scales to zero instances when the queue is empty), plus S3 storage"
        )
    if settings.serverless:
        return (
            f"a serverless SageMaker endpoint ({settings.serverless_memory_mb} MB, up to "
            f"{settings.serverless_max_concurrency} concurrent): billed per request-second"
        )
    return (
        f"a real-time SageMaker endpoint: {settings.min_instances} to {settings.max_instances} x "
        f"{settings.instance_type}, billed per instance-hour for as long as it exists "
        "(`expense-cli destroy` stops the cost)"
    )
