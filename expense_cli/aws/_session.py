"""boto3 sessions with the user's profile/region, and AWS failures turned into one-line errors."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, RemoteError

if TYPE_CHECKING:
    import boto3

__all__ = ["aws_error", "make_session", "require_credentials"]

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_HOW = "run `aws configure` (or `aws sso login`), set AWS_PROFILE, or pass --profile"
_NO_CREDENTIALS = f"no AWS credentials found: {_HOW}"


def make_session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """A boto3 session; raises ConfigError for an unknown profile, no region or a bad region."""
    try:
        import boto3
        import botocore.exceptions
    except ImportError as exc:  # pragma: no cover - boto3 is in the deploy extra
        raise ConfigError(
            "boto3 is not installed: pip install 'expense-cli[deploy]' to deploy or ask remotely"
        ) from exc
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound as exc:
        raise ConfigError(
            f"AWS profile {profile!r} not found: check ~/.aws/config or pass another --profile"
        ) from exc
    name = session.region_name
    if not name:
        raise ConfigError("no AWS region set: pass --region (e.g. us-east-1) or set AWS_REGION")
    if not _REGION_RE.match(name):
        raise ConfigError(f"{name!r} is not an AWS region name: pass --region, e.g. us-east-1")
    return session


def require_credentials(session: boto3.Session) -> Any:
    """The session's (frozen) credentials; ConfigError saying how to get some when missing."""
    import botocore.exceptions

    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(f"cannot load AWS credentials ({exc}): {_HOW}") from exc
    if credentials is None:
        raise ConfigError(_NO_CREDENTIALS)
    return credentials.get_frozen_credentials()


def aws_error(exc: Exception, doing: str, region: str | None = None) -> Exception:
    """Map a botocore exception raised while ``doing`` something to an ExpenseError."""
    import botocore.exceptions

    where = f" in {region}" if region else ""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return ConfigError(_NO_CREDENTIALS)
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return RemoteError(
            f"cannot reach AWS{where} while {doing}: check your network and --region"
        )
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or code
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken"):
            return ConfigError(
                f"AWS rejected your credentials while {doing} ({message}): refresh them "
                "(`aws sso login`, `aws configure`) or pass another --profile"
            )
        if code in ("AccessDenied", "AccessDeniedException"):
            return ConfigError(
                f"access denied while {doing}{where}: {message} (use credentials allowed to do it)"
            )
        return RemoteError(f"AWS error while {doing}{where}: {code}: {message}")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return RemoteError(f"AWS error while {doing}{where}: {exc}")
    return exc
