"""Command-line options of the deployment commands (``expense-cli deploy --help``).

Defaults shown in the help text are those of :class:`expense_cli.aws.DeploySettings`
(``expense_cli/aws/_config.py``); ``None`` means "the remembered value, else that default".
"""

from __future__ import annotations

from typing import Annotated

import typer

from ...aws._config import DeploySettings

__all__ = [
    "AsyncMaxMbOpt",
    "AsyncMaxPagesOpt",
    "AsyncOpt",
    "AsyncTimeoutOpt",
    "AuthOpt",
    "BaseImageOpt",
    "ConcurrencyOpt",
    "ImageUriOpt",
    "InstanceTypeOpt",
    "MaxOpt",
    "MemoryOpt",
    "MinOpt",
    "ModelOpt",
    "NameOpt",
    "ProfileOpt",
    "RegionOpt",
    "RevisionOpt",
    "ServerlessOpt",
    "YesOpt",
]

_D = DeploySettings()  # the one place of every default below (terraform/variables.tf mirrors it)

RegionOpt = Annotated[
    str | None,
    typer.Option("--region", help="AWS region (default: remembered, else AWS_REGION / profile)."),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", help="AWS profile from ~/.aws/config (default: AWS_PROFILE)."),
]
NameOpt = Annotated[
    str | None,
    typer.Option("--name", help=f"Prefix of every AWS resource name (default: {_D.name})."),
]
InstanceTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--instance-type", help=f"Real-time endpoint instance type (default: {_D.instance_type})."
    ),
]
MinOpt = Annotated[
    int | None,
    typer.Option(
        "--min-instances", min=1, help=f"Autoscaling minimum (default: {_D.min_instances})."
    ),
]
MaxOpt = Annotated[
    int | None,
    typer.Option(
        "--max-instances",
        min=1,
        max=100,
        help=f"Autoscaling maximum (default: {_D.max_instances}).",
    ),
]
ServerlessOpt = Annotated[
    bool | None,
    typer.Option(
        "--serverless/--realtime",
        help="Serverless endpoint (pay per request, cold starts, 4 MB payloads) or real-time "
        "instances with autoscaling (default: real-time).",
    ),
]
AsyncOpt = Annotated[
    bool | None,
    typer.Option(
        "--async/--no-async",
        help="Asynchronous endpoint: documents queue in S3 and results land in S3, up to "
        "--async-max-mb and --async-timeout each, instances scale from 0 to --max-instances "
        "(no function URL; `expense-cli report` uses it). Default: off.",
    ),
]
AsyncMaxMbOpt = Annotated[
    int | None,
    typer.Option(
        "--async-max-mb",
        min=1,
        max=1000,
        help=f"Async mode: largest document in MB (default: {_D.async_max_mb}).",
    ),
]
AsyncMaxPagesOpt = Annotated[
    int | None,
    typer.Option(
        "--async-max-pages",
        min=1,
        max=10000,
        help=f"Async mode: most pages per document (default: {_D.async_max_pages}).",
    ),
]
AsyncTimeoutOpt = Annotated[
    int | None,
    typer.Option(
        "--async-timeout",
        min=60,
        max=3600,
        help=f"Async mode: seconds one document may take (default: {_D.async_timeout_s}).",
    ),
]
MemoryOpt = Annotated[
    int | None,
    typer.Option(
        "--serverless-memory",
        help="Serverless memory in MB: 1024-6144 in steps of 1024 "
        f"(default: {_D.serverless_memory_mb}).",
    ),
]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--serverless-concurrency",
        min=1,
        max=200,
        help=f"Serverless max concurrency (default: {_D.serverless_max_concurrency}).",
    ),
]
AuthOpt = Annotated[
    str | None,
    typer.Option(
        "--auth",
        help="iam: requests are SigV4-signed with your AWS credentials (default); token: public "
        "URL checked against a bearer token that is generated and shown once.",
    ),
]
ImageUriOpt = Annotated[
    str | None,
    typer.Option(
        "--image-uri",
        metavar="URI",
        help="Use this pushed model image; skips docker build/push (and the ECR repository).",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="DIR_OR_ID",
        help="Model baked into the image: a saved model directory or a Hub id "
        "(default: impira/layoutlm-invoices at its pinned revision).",
    ),
]
RevisionOpt = Annotated[
    str | None, typer.Option("--revision", metavar="REV", help="Hub revision of --model.")
]
BaseImageOpt = Annotated[
    str | None,
    typer.Option(
        "--base-image",
        metavar="URI",
        help="Base image (default: the AWS Hugging Face PyTorch inference image of the region).",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
