"""A real `terraform apply` + `destroy` of the root stack against moto on 127.0.0.1.

The tree is the stack with ``cli/providers.tf`` beside it, exactly as expense-cli runs it
(``copy_root_stack``). Read back with boto3 afterwards: the endpoint, function URL (auth type),
reserved concurrency, the Lambda role's only permissions, both roles' confused-deputy trust
conditions, the scaling target and policy; then destroy leaves nothing. In token mode the token
reaches SSM through the write-only ``value_wo`` argument: the state file and every other file
Terraform wrote must not contain it, before and after a rotation (``auth_token_version``).
No re-plan for drift here: moto 5.2.5 describes SageMaker models and endpoint configs and Lambda
logging config with empty or missing blocks that real AWS fills in, so a second plan against moto
always shows changes that say nothing about this configuration.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests._moto import REGION, aws_env
from tests.terraform._tf import TERRAFORM_SRC, TfRunner, copy_root_stack

pytestmark = [pytest.mark.terraform, pytest.mark.aws, pytest.mark.slow]

NAME = "expense-it"
TOKEN = "moto-test-token-0123456789abcdef"  # fake token, moto only
# The rotated token: outside the BMP and in JSON-escaped form it would be "\ud83e\uddfe".
ROTATED = "rotated-\U0001f9fe-token-fedcba9876543210"
ACCOUNT = "123456789012"  # moto's default account
HANDLER_ZIP = TERRAFORM_SRC / "tests" / "fixtures" / "handler.zip"


def _clients(endpoint: str) -> dict[str, Any]:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    services = ("sagemaker", "lambda", "iam", "application-autoscaling", "ecr", "logs", "ssm")
    return {name: session.client(name, endpoint_url=endpoint) for name in services}


def _error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else list(resource)


def _inline_policy(iam: Any, role: str) -> dict[str, Any]:
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert len(names) == 1, names
    document = iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else dict(document)


def _trust_conditions(iam: Any, role: str) -> dict[str, Any]:
    document = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(document) if isinstance(document, str) else dict(document)
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    return dict(statement["Condition"])


def _secret_forms(secret: str) -> list[bytes]:
    """The ways a secret could be spelled in a file Terraform writes (raw or JSON-escaped)."""
    escaped = json.dumps(secret)[1:-1]
    return sorted({secret.encode(), escaped.encode(), escaped.encode().lower()})


def _files_containing(secret: str, root: Path) -> list[str]:
    """Every file under root (state, its backups, lock file, module copies) holding the secret."""
    forms = _secret_forms(secret)
    return [
        str(path)
        for path in root.rglob("*")
        if path.is_file() and any(form in path.read_bytes() for form in forms)
    ]


def _check_no_secret_in_state(tree: Path, secret: str) -> None:
    state = tree / "terraform.tfstate"
    assert state.is_file()
    resources = json.loads(state.read_text())["resources"]
    (parameter,) = [r for r in resources if r["type"] == "aws_ssm_parameter"]
    attributes = parameter["instances"][0]["attributes"]
    # The write-only argument is stored as null; "value" (the old, stored argument) is empty.
    assert attributes["value_wo"] is None and not attributes.get("value")
    assert _files_containing(secret, tree) == []


def _check_deployed(aws: dict[str, Any], outputs: dict[str, Any], auth: str) -> None:
    sm, lam, iam = aws["sagemaker"], aws["lambda"], aws["iam"]
    assert outputs["endpoint_name"] == NAME and outputs["function_name"] == NAME
    assert outputs["region"] == REGION

    endpoint = sm.describe_endpoint(EndpointName=NAME)
    endpoint_arn = endpoint["EndpointArn"]
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["InstanceType"] == "ml.m5.xlarge" and variant["InitialInstanceCount"] == 1
    assert "ServerlessConfig" not in variant
    model = sm.describe_model(ModelName=variant["ModelName"])
    assert model["EnableNetworkIsolation"] is True
    assert model["PrimaryContainer"]["Image"] == f"{outputs['repository_url']}:latest"

    repo = aws["ecr"].describe_repositories(repositoryNames=[NAME])["repositories"][0]
    assert repo["repositoryUri"] == outputs["repository_url"]
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True

    # Function URL and its auth type.
    url_config = lam.get_function_url_config(FunctionName=NAME)
    assert url_config["FunctionUrl"].rstrip("/") == outputs["function_url"].rstrip("/")
    assert url_config["AuthType"] == ("AWS_IAM" if auth == "iam" else "NONE")

    # Reserved concurrency, runtime, handler, environment.
    assert lam.get_function_concurrency(FunctionName=NAME)["ReservedConcurrentExecutions"] == 10
    function = lam.get_function_configuration(FunctionName=NAME)
    assert function["Runtime"] == "python3.12" and function["Handler"] == "app.lambda_handler"
    assert function["Timeout"] == 120 and function["MemorySize"] == 512
    expected_env = {
        "ENDPOINT_NAME": NAME,
        "AUTH_MODE": auth,
        "MAX_BODY_BYTES": "6000000",
        "MAX_DOCUMENT_BYTES": "4400000",
        "MAX_PAYLOAD_BYTES": "6000000",
        "FETCH_TIMEOUT_S": "10",
        "INVOKE_READ_TIMEOUT_S": "52",
        "ALLOW_HTTP_URLS": "false",
        "LOG_LEVEL": "INFO",
    }
    if auth == "token":
        expected_env["TOKEN_PARAMETER"] = f"/{NAME}/auth-token"
    assert function["Environment"]["Variables"] == expected_env

    # Lambda role: only InvokeEndpoint on this endpoint, its own logs, the token (token mode).
    role = function["Role"].rsplit("/", 1)[-1]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    statements = _inline_policy(iam, role)["Statement"]
    by_action = {action: s for s in statements for action in _actions(s)}
    sagemaker_actions = {a for a in by_action if a.startswith("sagemaker:")}
    assert sagemaker_actions == {"sagemaker:InvokeEndpoint"}
    assert _resources(by_action["sagemaker:InvokeEndpoint"]) == [endpoint_arn]
    log_group = aws["logs"].describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{NAME}")
    (group,) = log_group["logGroups"]
    assert group["retentionInDays"] == 30
    log_arn = group["arn"].removesuffix(":*")
    assert _resources(by_action["logs:PutLogEvents"]) == [f"{log_arn}:*"]
    expected_actions = {"sagemaker:InvokeEndpoint", "logs:CreateLogStream", "logs:PutLogEvents"}
    if auth == "token":
        expected_actions.add("ssm:GetParameter")
        parameter = aws["ssm"].get_parameter(Name=f"/{NAME}/auth-token", WithDecryption=True)
        assert parameter["Parameter"]["Type"] == "SecureString"
        assert parameter["Parameter"]["Value"] == TOKEN
        assert _resources(by_action["ssm:GetParameter"]) == [parameter["Parameter"]["ARN"]]
        assert outputs["token_parameter_name"] == f"/{NAME}/auth-token"
        # The public URL's resource policy (added by the provider for auth type NONE): only
        # lambda:InvokeFunctionUrl, never plain lambda:InvokeFunction for everyone.
        policy = json.loads(lam.get_policy(FunctionName=NAME)["Policy"])
        assert [s["Action"] for s in policy["Statement"]] == ["lambda:InvokeFunctionUrl"]
    else:
        assert outputs.get("token_parameter_name") is None
        assert _error_code(lam.get_policy, FunctionName=NAME) == "ResourceNotFoundException"
    assert set(by_action) == expected_actions

    # Autoscaling target and target-tracking policy.
    resource_id = f"endpoint/{NAME}/variant/AllTraffic"
    scaling = aws["application-autoscaling"]
    (target,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id]
    )["ScalableTargets"]
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    (policy,) = scaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id
    )["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 300
    assert tracking["ScaleInCooldown"] == 300 and tracking["ScaleOutCooldown"] == 300
    metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
    assert metric == "SageMakerVariantInvocationsPerInstance"
    assert outputs["autoscaling"] == {
        "min": 1,
        "max": 4,
        "target": 300,
        "scale_in_cooldown": 300,
        "scale_out_cooldown": 300,
        "metric": "SageMakerVariantInvocationsPerInstance",
    }

    # The SageMaker execution role: its own repository and its own log group only.
    sm_role = model["ExecutionRoleArn"].rsplit("/", 1)[-1]
    sm_statements = _inline_policy(iam, sm_role)["Statement"]
    pulls = [s for s in sm_statements if "ecr:BatchGetImage" in _actions(s)]
    assert [_resources(s) for s in pulls] == [[repo["repositoryArn"]]]

    # Both roles trust their service only when it acts for this account (confused deputy).
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{NAME}"
    assert _trust_conditions(iam, role) == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": [function_arn, f"{function_arn}:*"]},
    }
    assert _trust_conditions(iam, sm_role) == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:*"},
    }


def _check_destroyed(aws: dict[str, Any]) -> None:
    sm, lam, iam = aws["sagemaker"], aws["lambda"], aws["iam"]
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert _error_code(sm.describe_endpoint, EndpointName=NAME) == "ValidationException"
    assert lam.list_functions()["Functions"] == []
    assert _error_code(lam.get_function, FunctionName=NAME) == "ResourceNotFoundException"
    for role in (f"{NAME}-lambda", f"{NAME}-sagemaker"):
        assert _error_code(iam.get_role, RoleName=role) == "NoSuchEntity"
    assert [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(NAME)] == []
    code = _error_code(aws["ecr"].describe_repositories, repositoryNames=[NAME])
    assert code == "RepositoryNotFoundException"
    scaling = aws["application-autoscaling"]
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    groups = aws["logs"].describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups if NAME in g["logGroupName"]] == []
    assert aws["ssm"].describe_parameters()["Parameters"] == []


def _token_env(env: dict[str, str], token: str) -> dict[str, str]:
    return {**env, "TF_VAR_auth_token": token}


@pytest.mark.parametrize("auth", ["iam", "token"])
def test_apply_then_destroy_against_moto(
    tf: TfRunner, tmp_path: Path, moto_endpoint: str, auth: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = copy_root_stack(tmp_path)
    env = aws_env(moto_endpoint)
    tf_vars = ["-var", f"name={NAME}", "-var", f"lambda_zip={HANDLER_ZIP}", "-var", f"auth={auth}"]
    tf_vars += ["-var", f"region={REGION}"]
    if auth == "token":
        env = _token_env(env, TOKEN)
    aws = _clients(moto_endpoint)

    tf(tree, "init", "-input=false", "-no-color", env=env)
    started = time.monotonic()
    tf(tree, "apply", "-auto-approve", "-input=false", "-no-color", *tf_vars, env=env)
    applied_s = time.monotonic() - started
    try:
        raw = tf(tree, "output", "-json", env=env).stdout
        outputs = {key: value["value"] for key, value in json.loads(raw).items()}
        _check_deployed(aws, outputs, auth)
        if auth == "token":
            _check_token_never_stored(tf, tree, env, tf_vars, aws["ssm"])
    finally:
        started = time.monotonic()
        tf(tree, "destroy", "-auto-approve", "-input=false", "-no-color", *tf_vars, env=env)
        destroyed_s = time.monotonic() - started
    _check_destroyed(aws)
    assert tf(tree, "state", "list", env=env).stdout.strip() == ""
    with capsys.disabled():
        print(f"\n[{auth}] terraform apply {applied_s:.1f} s, destroy {destroyed_s:.1f} s")


def _check_token_never_stored(
    tf: TfRunner, tree: Path, env: dict[str, str], tf_vars: list[str], ssm: Any
) -> None:
    """The token is in SSM but in no file Terraform wrote; a new version rotates it, unstored."""
    _check_no_secret_in_state(tree, TOKEN)

    # Same version, new token: no change planned (Terraform cannot see a write-only value).
    rotated_env = _token_env(env, ROTATED)
    args = ("plan", "-input=false", "-no-color", *tf_vars)
    plan = tf(tree, *args, env=rotated_env)
    assert not re.search(
        r"# module\.function_url\[0\]\.aws_ssm_parameter\.token\[0\] ", plan.stdout
    )

    # A new version writes the new token, which is again in SSM only.
    args = ("apply", "-auto-approve", "-input=false", "-no-color", *tf_vars)
    tf(tree, *args, "-var", "auth_token_version=2", env=rotated_env)
    parameter = ssm.get_parameter(Name=f"/{NAME}/auth-token", WithDecryption=True)["Parameter"]
    assert parameter["Value"] == ROTATED and parameter["Version"] == 2
    for secret in (TOKEN, ROTATED):
        _check_no_secret_in_state(tree, secret)
