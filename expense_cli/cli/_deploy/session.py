"""An AWS session for the deployment commands, its credentials checked before any long step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...aws import make_session, require_credentials
from ...aws._session import aws_error
from .progress import err

if TYPE_CHECKING:
    import boto3

    from ...aws import DeploySettings

__all__ = ["checked_session"]


def checked_session(settings: DeploySettings) -> boto3.Session:
    """A session with credentials checked against STS (one clear error before any long step)."""
    session = make_session(settings.profile, settings.region)
    require_credentials(session)
    try:
        identity = session.client("sts").get_caller_identity()
    except Exception as exc:
        raise aws_error(exc, "checking your AWS credentials", session.region_name) from exc
    err.print(f"AWS account {identity.get('Account')}, region {session.region_name}", markup=False)
    return session
