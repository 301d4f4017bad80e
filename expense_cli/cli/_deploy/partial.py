"""``status`` of a deployment that stopped half way (``expense_cli/cli/deploy.py``).

``.expense/config.json`` gets the stack's outputs only after a complete ``terraform apply``; when
there are none but the Terraform state holds resources (a failed or interrupted apply, a timeout,
Ctrl-C), the deployment is partial: ``status`` lists what exists and says how to finish it
(``deploy``) or remove it (``destroy``), instead of "no deployment found".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ConfigError

if TYPE_CHECKING:
    from ...aws import DeploySettings, ProjectConfig, Terraform

__all__ = ["describe_partial", "partial_deployment"]

MakeTerraform = Callable[[Path, "DeploySettings", "ProjectConfig"], "Terraform"]


def describe_partial(resources: list[dict[str, object]]) -> str | None:
    """What a state without outputs holds (``None`` when it holds nothing)."""
    kinds: Counter[str] = Counter()
    for resource in resources:
        instances = resource.get("instances")
        managed = resource.get("mode", "managed") == "managed"
        if managed and isinstance(instances, list) and instances:
            kinds[str(resource.get("type", "?"))] += len(instances)
    if not sum(kinds.values()):
        return None
    listed = ", ".join(f"{n} {kind}" if n > 1 else kind for kind, n in sorted(kinds.items()))
    endpoint = "" if kinds.get("aws_sagemaker_endpoint") else " and no endpoint yet"
    return f"{sum(kinds.values())} resource(s) ({listed}){endpoint}"


def partial_deployment(
    project: Path,
    config: ProjectConfig,
    make_terraform: MakeTerraform,
    init: Callable[[Terraform], None],
) -> None:
    """Raise ConfigError describing a partial deployment of ``project``; return when the state
    is empty or cannot be read here (no terraform: the caller's "no deployment" stands)."""
    try:
        tf = make_terraform(project, config.settings, config)
    except ConfigError:
        return
    if tf.backend is None and not tf.state.is_file():
        return
    if tf.backend is not None:
        init(tf)
    held = describe_partial(tf.state_resources())
    if held is None:
        return
    where = tf.backend.where if tf.backend is not None else str(tf.state)
    raise ConfigError(
        f"partial deployment in {project}: the Terraform state ({where}) holds {held} but the "
        "deployment has no outputs (a deploy failed or was stopped half way): run "
        "`expense-cli deploy` to finish it, or `expense-cli destroy` to remove what exists"
    )
