"""Checks ``deploy`` runs before it creates anything (``expense_cli/cli/deploy.py``).

Credentials and region are checked by ``expense_cli/cli/_deploy/session.py`` (STS); this module
adds the Docker daemon (``docker info``, not only the binary) and the quotas that can be read:
the SageMaker endpoint-usage quota of the instance type (Service Quotas) and the Lambda account
concurrency left for the function's 10 reserved executions. A quota that is known to be too low
stops the deployment with what to ask AWS for; one that cannot be read (an emulator, no
``servicequotas:ListServiceQuotas`` permission) is reported as "could not check" and the
deployment goes on. Every call has short timeouts, so a preflight never hangs.

:func:`names_in_use`: a first deploy whose ``--name`` another deployment already uses (another
directory, or another region: IAM role names are global) would fail half way through the apply
with "already exists"; the names the stack creates are looked up first. Only a resource known to
exist stops the deploy; a lookup that fails otherwise is skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import boto3

    from ._config import DeploySettings
    from ._image import Docker

__all__ = [
    "LAMBDA_MIN_UNRESERVED",
    "RESERVED_CONCURRENCY",
    "QuotaCheck",
    "check_names",
    "check_quotas",
    "docker_ready",
    "lambda_headroom",
    "names_in_use",
    "sagemaker_instance_quota",
]

RESERVED_CONCURRENCY = 10  # terraform/variables.tf: the function's reserved concurrency
LAMBDA_MIN_UNRESERVED = 100  # AWS keeps at least this much of the account's concurrency free
_QUOTA_PAGE = "https://console.aws.amazon.com/servicequotas/"


@dataclass(frozen=True)
class QuotaCheck:
    """One quota: ``ok`` True (enough), False (too low: ``detail`` says what to ask for) or
    None (could not check: ``detail`` says why)."""

    what: str
    ok: bool | None
    detail: str

    @property
    def line(self) -> str:
        mark = {True: "ok", False: "TOO LOW", None: "could not check"}[self.ok]
        return f"{self.what}: {mark} ({self.detail})"


def _client(session: boto3.Session, service: str) -> Any:
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})
    return session.client(service, config=config)


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        if code:
            return f"{code}: {error.get('Message') or 'no message'}"[:160]
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def docker_ready(docker: Docker) -> None:
    """``docker info``: the daemon answers (a binary alone cannot build anything)."""
    result = docker.runner([docker.binary, "info", "--format", "{{.ServerVersion}}"])
    if result.returncode != 0:
        text = " ".join(line.strip() for line in result.lines if line.strip())
        raise ConfigError(
            f"docker is installed but `docker info` failed ({text[:160] or 'no output'}): "
            "start Docker (or check that you may use it), "
            "or pass --image-uri of an image you pushed"
        )


def sagemaker_instance_quota(session: boto3.Session, instance_type: str, needed: int) -> QuotaCheck:
    """The account's "<instance type> for endpoint usage" quota against ``needed`` instances."""
    what = f"SageMaker quota {instance_type} for endpoint usage"
    name = f"{instance_type} for endpoint usage"
    try:
        client = _client(session, "service-quotas")
        pages = client.get_paginator("list_service_quotas").paginate(ServiceCode="sagemaker")
        value = next(
            (
                q.get("Value")
                for page in pages
                for q in page.get("Quotas", [])
                if q.get("QuotaName") == name
            ),
            None,
        )
    except Exception as exc:
        return QuotaCheck(what, None, f"Service Quotas API: {_reason(exc)}")
    if value is None:
        return QuotaCheck(what, None, "no such quota listed for this account and region")
    if value < needed:
        return QuotaCheck(
            what,
            False,
            f"{value:g} allowed, {needed} needed: request an increase of "
            f"'{name}' in Service Quotas ({_QUOTA_PAGE}) or lower --max-instances",
        )
    return QuotaCheck(what, True, f"{value:g} allowed, {needed} needed")


def lambda_headroom(session: boto3.Session, reserved: int = RESERVED_CONCURRENCY) -> QuotaCheck:
    """The account's unreserved Lambda concurrency can give up ``reserved`` and keep AWS's
    minimum of 100 unreserved."""
    what = f"Lambda concurrency for {reserved} reserved executions"
    try:
        limits = _client(session, "lambda").get_account_settings().get("AccountLimit") or {}
    except Exception as exc:
        return QuotaCheck(what, None, f"Lambda GetAccountSettings: {_reason(exc)}")
    unreserved = limits.get("UnreservedConcurrentExecutions")
    if not isinstance(unreserved, int):
        return QuotaCheck(what, None, "the account settings have no unreserved concurrency")
    left = unreserved - reserved
    if left < LAMBDA_MIN_UNRESERVED:
        return QuotaCheck(
            what,
            False,
            f"{unreserved} unreserved; {reserved} more would leave {left}, below AWS's minimum "
            f"of {LAMBDA_MIN_UNRESERVED}: request a higher 'Concurrent executions' quota "
            f"({_QUOTA_PAGE}) or free reserved concurrency elsewhere",
        )
    return QuotaCheck(what, True, f"{unreserved} unreserved, {left} left after this deployment")


def check_quotas(
    session: boto3.Session, settings: DeploySettings, *, function_exists: bool = False
) -> list[QuotaCheck]:
    """The quotas this deployment needs that can be read; raises ConfigError listing the ones
    known to be too low. ``function_exists``: the function already holds its reservation."""
    checks: list[QuotaCheck] = []
    if not settings.serverless:
        checks.append(
            sagemaker_instance_quota(session, settings.instance_type, settings.max_instances)
        )
    if not settings.async_inference and not function_exists:
        checks.append(lambda_headroom(session))
    low = [c for c in checks if c.ok is False]
    if low:
        raise ConfigError("quota too low, nothing was created: " + "; ".join(c.line for c in low))
    return checks


def _exists(session: boto3.Session, service: str, call: Callable[[Any], Any]) -> bool:
    """True when ``call(client)`` finds the resource; False when AWS says there is none, and also
    when the lookup fails otherwise (no permission, an emulator): only a certain clash stops a
    deploy."""
    try:
        call(_client(session, service))
    except Exception:
        return False
    return True


def _log_group_exists(session: boto3.Session, name: str) -> bool:
    try:
        found = _client(session, "logs").describe_log_groups(logGroupNamePrefix=name)
    except Exception:
        return False
    return any(g.get("logGroupName") == name for g in found.get("logGroups") or [])


def _get_role(client: Any, role: str) -> Any:
    return client.get_role(RoleName=role)


def names_in_use(session: boto3.Session, settings: DeploySettings) -> list[str]:
    """The resources named as this deployment's would be (terraform/modules/*/main.tf) that
    already exist in the account and region (IAM roles: in the account)."""
    name = settings.name
    found: list[str] = []
    if _exists(session, "sagemaker", lambda c: c.describe_endpoint(EndpointName=name)):
        found.append(f"SageMaker endpoint {name!r}")
    roles = [f"{name}-sagemaker"]
    if not settings.async_inference:
        if _exists(session, "lambda", lambda c: c.get_function(FunctionName=name)):
            found.append(f"Lambda function {name!r}")
        roles.insert(0, f"{name}-lambda")
    for role in roles:
        if _exists(session, "iam", functools.partial(_get_role, role=role)):
            found.append(f"IAM role {role!r}")
    if not settings.image_uri and _exists(
        session, "ecr", lambda c: c.describe_repositories(repositoryNames=[name])
    ):
        found.append(f"ECR repository {name!r}")
    groups = [f"/aws/sagemaker/Endpoints/{name}"]
    if not settings.async_inference:
        groups.insert(0, f"/aws/lambda/{name}")
    found.extend(f"log group {g!r}" for g in groups if _log_group_exists(session, g))
    return found


def check_names(session: boto3.Session, settings: DeploySettings) -> None:
    """ConfigError when :func:`names_in_use` finds anything (a first deploy only: resources of
    this directory's own state are its own)."""
    found = names_in_use(session, settings)
    if found:
        raise ConfigError(
            f"the name {settings.name!r} is already used in this AWS account: "
            + ", ".join(found)
            + " (a deployment from another directory"
            + (
                ", or another region: IAM role names are account-wide"
                if "IAM" in str(found)
                else ""
            )
            + "?): pass another --name, or run "
            "expense-cli in the directory that deployed it; nothing was created"
        )
