"""Reading what is deployed: Terraform outputs and state, and ``.expense/config.json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import ConfigError

if TYPE_CHECKING:
    from ...aws import ProjectConfig, Terraform

__all__ = ["pushed_tag", "repository_url", "same_account", "same_region"]


def repository_url(tf: Terraform) -> str:
    """The ECR repository's URL: the stack output, else the resource in the state."""
    url = tf.outputs().get("repository_url")
    if url:
        return str(url)
    for resource in tf.state_resources():
        if resource.get("type") == "aws_ecr_repository":
            for instance in resource.get("instances") or []:
                found = (instance.get("attributes") or {}).get("repository_url")
                if found:
                    return str(found)
    raise ConfigError(
        "the ECR repository was not created: run `expense-cli deploy` again, or pass --image-uri"
    )


def pushed_tag(config: ProjectConfig) -> str:
    """The tag of the image last pushed by this project (``latest`` when none was)."""
    return str(config.image.get("pushed", ":latest")).rsplit(":", 1)[-1]


def same_region(
    config: ProjectConfig, region: str | None, tf: Terraform, *, destroying: bool = False
) -> None:
    """Refuse ``--region`` other than the one this directory's deployment is in.

    Terraform would look for the deployed resources in the new region, find none, and create a
    second deployment there: the first one (its endpoint billing by the hour) would drop out of
    the state, and ``destroy`` would never remove it."""
    where = config.outputs.get("region") or config.settings.region
    if not region or not where or region == where:
        return
    deployed = config.deployed or (tf.backend is None and tf.has_state())
    if deployed and destroying:
        raise ConfigError(
            f"this directory's deployment is in {where}, not {region}: pass --region {where} "
            "(or leave it out)"
        )
    if deployed:
        raise ConfigError(
            f"this directory's deployment is in {where}, not {region}: run `expense-cli "
            f"destroy` first to move it, or deploy to {region} from another directory (with "
            "another --name if it is the same account)"
        )


def same_account(config: ProjectConfig, session: Any) -> None:
    """Refuse credentials of another AWS account than the deployment's (another ``--profile``):
    as with another region, Terraform would find nothing there and deploy a second time, the
    first deployment leaving the state. The account is read from the endpoint's ARN output."""
    arn = str(config.outputs.get("endpoint_arn") or "")
    parts = arn.split(":")
    if len(parts) < 5 or not parts[4].isdigit():
        return  # not deployed (or an older output): nothing to compare
    try:
        account = str(session.client("sts").get_caller_identity().get("Account") or "")
    except Exception:
        return  # checked_session has just read it: a failure here is not a move
    if account and account != parts[4]:
        raise ConfigError(
            f"this directory's deployment is in AWS account {parts[4]}, but these credentials "
            f"are for account {account}: use the profile it was deployed with (--profile), or "
            "deploy to the other account from another directory"
        )
