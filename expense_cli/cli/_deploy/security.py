"""Options of ``plan``/``deploy`` for security and shared state (issue 17).

``--immutable-tags`` and the KMS keys become the stack variables ``immutable_tags``,
``endpoint_kms_key_arn``, ``log_kms_key_arn``, ``token_kms_key_arn`` and ``ecr_kms_key_arn``
(``terraform/variables.tf``, via ``expense_cli/cli/_deploy/tfvars.py``); ``--state-bucket`` and
friends select the S3 backend (``expense_cli/aws/_terraform.py`` S3Backend). All are remembered
in ``.expense/config.json`` like every other deploy option; an empty value clears one.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ...errors import ConfigError

if TYPE_CHECKING:
    from ...aws import DeploySettings
    from ...aws._terraform import S3Backend

__all__ = [
    "EcrKmsOpt",
    "EndpointKmsOpt",
    "ImmutableTagsOpt",
    "KmsOpt",
    "LogKmsOpt",
    "StateBucketOpt",
    "StateKeyOpt",
    "StateLockTableOpt",
    "TokenKmsOpt",
    "kms_variables",
    "s3_backend",
    "security_settings",
]

ImmutableTagsOpt = Annotated[
    bool | None,
    typer.Option(
        "--immutable-tags/--mutable-tags",
        help="Make the ECR repository's tags immutable (each build pushes a new tag). Default: "
        "mutable.",
    ),
]
KmsOpt = Annotated[
    str | None,
    typer.Option(
        "--kms-key",
        metavar="ARN",
        help="Customer-managed KMS key for every use below that is not given its own: endpoint "
        "volume (not on NVMe instance types), logs, the token parameter, ECR images.",
    ),
]
EndpointKmsOpt = Annotated[
    str | None,
    typer.Option("--endpoint-kms-key", metavar="ARN", help="KMS key of the endpoint's volume."),
]
LogKmsOpt = Annotated[
    str | None,
    typer.Option("--log-kms-key", metavar="ARN", help="KMS key of both CloudWatch log groups."),
]
TokenKmsOpt = Annotated[
    str | None,
    typer.Option("--token-kms-key", metavar="ARN", help="KMS key of the SSM token parameter."),
]
EcrKmsOpt = Annotated[
    str | None,
    typer.Option(
        "--ecr-kms-key",
        metavar="ARN",
        help="KMS key of the ECR repository's images (changing it replaces the repository).",
    ),
]
StateBucketOpt = Annotated[
    str | None,
    typer.Option(
        "--state-bucket",
        metavar="BUCKET",
        help="Keep the Terraform state in this S3 bucket (shared with a team and CI, locked) "
        "instead of .expense/terraform; '' goes back to the local state.",
    ),
]
StateKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--state-key",
        metavar="KEY",
        help="Object key of the state in --state-bucket (default: expense/<name>.tfstate).",
    ),
]
StateLockTableOpt = Annotated[
    str | None,
    typer.Option(
        "--state-lock-table",
        metavar="TABLE",
        help="Lock the S3 state with this DynamoDB table instead of an S3 lock file.",
    ),
]

# terraform/variables.tf: what each variable accepts (the endpoint key may be an alias ARN)
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$")
_ENDPOINT_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[a-zA-Z0-9/_-]+$")
_NVME = re.compile(r"^ml\.([a-z]+[0-9]+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|p5en|trn1|trn1n)\.")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# More S3 backend settings, e.g. "use_path_style=true" for an S3-compatible store or emulator.
BACKEND_CONFIG_ENV = "EXPENSE_STATE_BACKEND_CONFIG"
_FIELDS = ("kms_key", "endpoint_kms_key", "log_kms_key", "token_kms_key", "ecr_kms_key")


def security_settings(**given: Any) -> dict[str, Any]:
    """The options as :class:`DeploySettings` changes, checked (one line per bad value)."""
    for name in _FIELDS:
        value = given.get(name)
        pattern = _ENDPOINT_ARN if name == "endpoint_kms_key" else _KEY_ARN
        if value and not pattern.match(value):
            option = "--" + name.replace("_", "-")
            raise ConfigError(
                f"{option} {value!r} is not a KMS key ARN: give arn:aws:kms:REGION:ACCOUNT:key/ID"
            )
    bucket = given.get("state_bucket")
    if bucket and not _BUCKET.match(bucket):
        raise ConfigError(f"--state-bucket {bucket!r} is not an S3 bucket name")
    return given


def kms_variables(settings: DeploySettings) -> dict[str, Any]:
    """``immutable_tags`` and the ``*_kms_key_arn`` stack variables (unset ones stay null)."""
    shared = settings.kms_key or None
    endpoint = settings.endpoint_kms_key or None
    if endpoint is None and shared and not settings.serverless:
        endpoint = None if _NVME.match(settings.instance_type) else shared
    variables: dict[str, Any] = {
        "immutable_tags": settings.immutable_tags,
        "endpoint_kms_key_arn": endpoint,
        "log_kms_key_arn": settings.log_kms_key or shared,
        "token_kms_key_arn": settings.token_kms_key or shared,
    }
    if not settings.image_uri:
        variables["ecr_kms_key_arn"] = settings.ecr_kms_key or shared
    return {k: v for k, v in variables.items() if v is not None}


def s3_backend(settings: DeploySettings) -> S3Backend | None:
    """The S3 backend of ``--state-bucket`` (``None``: the local state)."""
    from ...aws._terraform import S3Backend

    if not settings.state_bucket:
        return None
    extra = os.environ.get(BACKEND_CONFIG_ENV, "").replace(",", " ").split()
    for item in extra:
        if "=" not in item:
            raise ConfigError(f"{BACKEND_CONFIG_ENV}: {item!r} is not KEY=VALUE")
    return S3Backend(
        bucket=settings.state_bucket,
        key=settings.state_key or f"expense/{settings.name}.tfstate",
        region=settings.region,
        lock_table=settings.state_lock_table or None,
        extra=tuple(extra),
    )
