"""The deployed SageMaker endpoint: wait until it serves, and read back its state and scaling."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, RemoteError, Timeout
from ._session import aws_error

if TYPE_CHECKING:
    import boto3

__all__ = ["EndpointStatus", "endpoint_status", "wait_in_service"]

_WAITING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})


def _describe(client: Any, name: str, region: str | None) -> dict[str, Any]:
    import botocore.exceptions

    try:
        result: dict[str, Any] = client.describe_endpoint(EndpointName=name)
        return result
    except botocore.exceptions.ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if "Could not find endpoint" in message or "does not exist" in message:
            raise ConfigError(
                f"endpoint {name} not found in {region}: the deployment is partial (deleted "
                "outside Terraform, or a deploy stopped half way) or in another region (pass "
                "--region): run `expense-cli deploy` to finish it, or `expense-cli destroy` to "
                "remove what is left"
            ) from exc
        raise aws_error(exc, f"describing endpoint {name}", region) from exc
    except Exception as exc:
        raise aws_error(exc, f"describing endpoint {name}", region) from exc


def wait_in_service(
    session: boto3.Session,
    name: str,
    *,
    timeout_s: float = 3600.0,
    poll_s: float = 15.0,
    on_status: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll ``DescribeEndpoint`` until InService; Failed → RemoteError with the FailureReason."""
    client = session.client("sagemaker")
    deadline = clock() + timeout_s
    while True:
        described = _describe(client, name, session.region_name)
        state = str(described.get("EndpointStatus", "Unknown"))
        if on_status is not None:
            on_status(state)
        if state == "InService":
            return described
        if state not in _WAITING:
            reason = described.get("FailureReason") or "no reason given"
            raise RemoteError(
                f"endpoint {name} is {state}: {reason} — see the CloudWatch log group "
                f"/aws/sagemaker/Endpoints/{name}, fix the cause and run `expense-cli deploy` again"
            )
        if clock() >= deadline:
            raise Timeout(
                f"endpoint {name} is still {state} after {timeout_s:.0f} s: run "
                "`expense-cli status` later to see whether it came up"
            )
        sleep(poll_s)


@dataclass
class EndpointStatus:
    """What ``expense-cli status`` shows about the endpoint."""

    name: str
    state: str
    failure_reason: str | None = None
    instance_type: str | None = None
    instances: int | None = None
    desired_instances: int | None = None
    serverless: dict[str, Any] | None = None
    scaling: dict[str, Any] = field(default_factory=dict)
    reserved_concurrency: int | None = None


def endpoint_status(
    session: boto3.Session, name: str, function_name: str | None = None
) -> EndpointStatus:
    """Endpoint state, instance counts, autoscaling target/policy and the function's concurrency."""
    region = session.region_name
    sagemaker = session.client("sagemaker")
    described = _describe(sagemaker, name, region)
    status = EndpointStatus(
        name=name,
        state=str(described.get("EndpointStatus", "Unknown")),
        failure_reason=described.get("FailureReason"),
    )
    variants = described.get("ProductionVariants") or []
    variant = variants[0] if variants else {}
    status.instances = variant.get("CurrentInstanceCount")
    status.desired_instances = variant.get("DesiredInstanceCount")
    serverless = variant.get("CurrentServerlessConfig") or variant.get("DesiredServerlessConfig")
    try:
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
        first = (config.get("ProductionVariants") or [{}])[0]
        status.instance_type = first.get("InstanceType")
        serverless = serverless or first.get("ServerlessConfig")
        variant_name = variant.get("VariantName") or first.get("VariantName")
    except Exception as exc:
        raise aws_error(exc, f"describing the config of endpoint {name}", region) from exc
    status.serverless = dict(serverless) if serverless else None
    if variant_name and not status.serverless:
        status.scaling = _scaling(session, f"endpoint/{name}/variant/{variant_name}")
    if function_name:
        try:
            concurrency = session.client("lambda").get_function_concurrency(
                FunctionName=function_name
            )
            status.reserved_concurrency = concurrency.get("ReservedConcurrentExecutions")
        except Exception as exc:
            raise aws_error(exc, f"reading function {function_name}", region) from exc
    return status


def _scaling(session: boto3.Session, resource_id: str) -> dict[str, Any]:
    client = session.client("application-autoscaling")
    try:
        targets = client.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource_id]
        )["ScalableTargets"]
        policies = client.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource_id
        )["ScalingPolicies"]
    except Exception as exc:
        raise aws_error(
            exc, f"reading the autoscaling of {resource_id}", session.region_name
        ) from exc
    scaling: dict[str, Any] = {}
    if targets:
        scaling["min"] = targets[0].get("MinCapacity")
        scaling["max"] = targets[0].get("MaxCapacity")
    for policy in policies:
        config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        if config:
            metric = (config.get("PredefinedMetricSpecification") or {}).get(
                "PredefinedMetricType"
            ) or (config.get("CustomizedMetricSpecification") or {}).get("MetricName", "custom")
            scaling["metric"] = metric
            scaling["target"] = config.get("TargetValue")
            scaling["scale_in_cooldown"] = config.get("ScaleInCooldown")
            scaling["scale_out_cooldown"] = config.get("ScaleOutCooldown")
            break
    return scaling
