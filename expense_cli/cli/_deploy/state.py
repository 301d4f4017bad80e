"""Reading what is deployed: Terraform outputs and state, and ``.expense/config.json``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ConfigError

if TYPE_CHECKING:
    from ...aws import ProjectConfig, Terraform

__all__ = ["pushed_tag", "repository_url"]


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
