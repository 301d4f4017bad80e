"""A real `terraform apply` + `destroy` of the root stack in async mode (issue 16) against moto.

Read back with boto3: the endpoint config's AsyncInferenceConfig (output/failure paths in the
created bucket, concurrency per instance), the bucket's access block, encryption, TLS-only policy
and expiry (moto enforces the policy: a plain-HTTP upload is refused), the execution role's S3
permissions (its own prefixes only), the scalable target from 0, the backlog target-tracking
policy, the wake-up step policy and its CloudWatch alarm; no Lambda function in this mode. Then
destroy leaves none of it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests._moto import REGION, aws_env
from tests.terraform._tf import TERRAFORM_SRC, TfRunner, copy_root_stack

pytestmark = [pytest.mark.terraform, pytest.mark.aws, pytest.mark.slow]

NAME = "expense-async"
HANDLER_ZIP = TERRAFORM_SRC / "tests" / "fixtures" / "handler.zip"


def _clients(endpoint: str) -> dict[str, Any]:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    services = ("sagemaker", "lambda", "iam", "application-autoscaling", "s3", "cloudwatch")
    return {name: session.client(name, endpoint_url=endpoint) for name in services}


def _check_deployed(aws: dict[str, Any], outputs: dict[str, Any]) -> None:
    assert outputs.get("function_url") is None and outputs.get("function_name") is None
    assert aws["lambda"].list_functions()["Functions"] == []
    paths = outputs["async_inference"]
    bucket = paths["bucket"]
    assert outputs["async_input_path"] == f"s3://{bucket}/inputs"

    sagemaker = aws["sagemaker"]
    endpoint = sagemaker.describe_endpoint(EndpointName=NAME)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    async_config = config["AsyncInferenceConfig"]
    assert async_config["OutputConfig"]["S3OutputPath"] == f"s3://{bucket}/outputs"
    assert async_config["OutputConfig"]["S3FailurePath"] == f"s3://{bucket}/failures"
    assert async_config["ClientConfig"]["MaxConcurrentInvocationsPerInstance"] == 2
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    environment = model["PrimaryContainer"]["Environment"]
    assert environment["EXPENSE_MAX_BYTES"] == "120000000"
    assert environment["EXPENSE_MAX_PAGES"] == "250"

    s3 = aws["s3"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lifecycle[0]["Expiration"]["Days"] == 30

    iam = aws["iam"]
    role = f"{NAME}-sagemaker"
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"]
    statements = (json.loads(document) if isinstance(document, str) else document)["Statement"]
    s3_grants = {s["Sid"]: s["Resource"] for s in statements if str(s["Action"]).count("s3:") > 0}
    assert s3_grants == {
        "ReadAsyncInputs": f"arn:aws:s3:::{bucket}/inputs/*",
        "WriteAsyncResults": [
            f"arn:aws:s3:::{bucket}/outputs/*",
            f"arn:aws:s3:::{bucket}/failures/*",
        ],
    }

    scaling = aws["application-autoscaling"]
    resource = f"endpoint/{NAME}/variant/AllTraffic"
    (target,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    policies = {
        p["PolicyName"]: p
        for p in scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource
        )["ScalingPolicies"]
    }
    backlog = policies[f"{NAME}-backlog-per-instance"]["TargetTrackingScalingPolicyConfiguration"]
    assert backlog["CustomizedMetricSpecification"]["MetricName"] == (
        "ApproximateBacklogSizePerInstance"
    )
    wake = policies[f"{NAME}-wake-from-zero"]
    assert wake["PolicyType"] == "StepScaling"
    (alarm,) = aws["cloudwatch"].describe_alarms(AlarmNamePrefix=NAME)["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["AlarmActions"] == [wake["PolicyARN"]]


def _check_destroyed(aws: dict[str, Any], bucket: str) -> None:
    with pytest.raises(ClientError):
        aws["sagemaker"].describe_endpoint(EndpointName=NAME)
    with pytest.raises(ClientError):
        aws["s3"].head_bucket(Bucket=bucket)
    assert aws["cloudwatch"].describe_alarms(AlarmNamePrefix=NAME)["MetricAlarms"] == []
    scaling = aws["application-autoscaling"]
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_async_apply_then_destroy_against_moto(
    tf: TfRunner, tmp_path: Path, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = copy_root_stack(tmp_path)
    env = aws_env(moto_endpoint)
    tf_vars = ["-var", f"name={NAME}", "-var", f"lambda_zip={HANDLER_ZIP}"]
    tf_vars += ["-var", f"region={REGION}", "-var", "async_inference=true"]
    tf_vars += ["-var", "max_instances=3", "-var", "async_max_concurrent_invocations=2"]
    tf_vars += ["-var", "async_max_document_mb=120", "-var", "async_max_pages=250"]
    aws = _clients(moto_endpoint)

    tf(tree, "init", "-input=false", "-no-color", env=env)
    started = time.monotonic()
    tf(tree, "apply", "-auto-approve", "-input=false", "-no-color", *tf_vars, env=env)
    applied_s = time.monotonic() - started
    bucket = ""
    try:
        raw = tf(tree, "output", "-json", env=env).stdout
        outputs = {key: value["value"] for key, value in json.loads(raw).items()}
        bucket = outputs["async_inference"]["bucket"]
        with pytest.raises(ClientError) as refused:  # moto speaks plain HTTP: not TLS
            aws["s3"].put_object(Bucket=bucket, Key="inputs/x", Body=b"%PDF-1.4")
        assert refused.value.response["Error"]["Code"] in ("403", "AccessDenied")
        _check_deployed(aws, outputs)
    finally:
        tf(tree, "destroy", "-auto-approve", "-input=false", "-no-color", *tf_vars, env=env)
    _check_destroyed(aws, bucket)
    assert tf(tree, "state", "list", env=env).stdout.strip() == ""
    with capsys.disabled():
        print(f"\n[async] terraform apply {applied_s:.1f} s")
