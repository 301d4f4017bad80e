"""Quota and Docker checks before anything is created (expense_cli/aws/_preflight.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from expense_cli.aws import DeploySettings, Docker
from expense_cli.aws._preflight import (
    check_names,
    check_quotas,
    docker_ready,
    lambda_headroom,
    names_in_use,
    sagemaker_instance_quota,
)
from expense_cli.errors import ConfigError
from tests._moto import aws_env, moto_server
from tests.aws._fakes import RecordingRunner


class _Paginator:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        assert kwargs == {"ServiceCode": "sagemaker"}
        return self.pages


class _Client:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def _give(self) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def get_paginator(self, name: str) -> _Paginator:
        assert name == "list_service_quotas"
        return _Paginator(self._give())

    def get_account_settings(self) -> Any:
        return self._give()


class _Session:
    def __init__(self, **answers: Any) -> None:
        self.answers = answers

    def client(self, service: str, config: Any = None) -> _Client:
        assert config is not None  # bounded timeouts
        return _Client(self.answers[service])


def _quotas(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    half = len(pairs) // 2
    as_quotas = [{"QuotaName": name, "Value": value} for name, value in pairs]
    return [{"Quotas": as_quotas[:half]}, {"Quotas": as_quotas[half:]}]  # two pages


def _client_error(code: str, message: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, "ListServiceQuotas")


PAGES = _quotas(
    ("ml.g5.xlarge for endpoint usage", 0.0),
    ("ml.m5.xlarge for training job usage", 20.0),
    ("ml.m5.xlarge for endpoint usage", 4.0),
)


@pytest.mark.parametrize(
    ("instance", "needed", "ok", "detail"),
    [
        ("ml.m5.xlarge", 4, True, "4 allowed, 4 needed"),
        ("ml.m5.xlarge", 5, False, "4 allowed, 5 needed: request an increase of"),
        ("ml.g5.xlarge", 1, False, "0 allowed, 1 needed"),
        ("ml.c7i.48xlarge", 1, None, "no such quota listed"),
    ],
)
def test_sagemaker_quota(instance: str, needed: int, ok: bool | None, detail: str) -> None:
    check = sagemaker_instance_quota(_Session(**{"service-quotas": PAGES}), instance, needed)  # type: ignore[arg-type]
    assert check.ok is ok
    assert check.detail.startswith(detail)


def test_a_quota_api_that_is_not_there_could_not_be_checked() -> None:
    missing = _client_error("404", "Not yet implemented")
    check = sagemaker_instance_quota(_Session(**{"service-quotas": missing}), "ml.m5.xlarge", 1)  # type: ignore[arg-type]
    assert (check.ok, check.detail) == (None, "Service Quotas API: 404: Not yet implemented")
    assert check.line.endswith(": could not check (Service Quotas API: 404: Not yet implemented)")


@pytest.mark.parametrize(
    ("unreserved", "ok"), [(1000, True), (110, True), (109, False), (50, False), ("x", None)]
)
def test_lambda_headroom(unreserved: object, ok: bool | None) -> None:
    answer = {"AccountLimit": {"UnreservedConcurrentExecutions": unreserved}}
    assert lambda_headroom(_Session(**{"lambda": answer})).ok is ok  # type: ignore[arg-type]


def test_check_quotas_stops_on_a_known_low_quota_and_lists_every_one() -> None:
    session = _Session(
        **{
            "service-quotas": PAGES,
            "lambda": {"AccountLimit": {"UnreservedConcurrentExecutions": 100}},
        }
    )
    with pytest.raises(ConfigError) as caught:
        check_quotas(session, DeploySettings(max_instances=8))  # type: ignore[arg-type]
    message = caught.value.message
    assert message.startswith("quota too low, nothing was created: SageMaker quota ml.m5.xlarge")
    assert "8 needed" in message and "below AWS's minimum of 100" in message
    # serverless needs no instance quota; an existing function already holds its reservation
    serverless = DeploySettings(serverless=True)
    assert check_quotas(session, serverless, function_exists=True) == []  # type: ignore[arg-type]
    asynchronous = DeploySettings(async_inference=True, max_instances=2)
    (only,) = check_quotas(session, asynchronous)  # type: ignore[arg-type]
    assert only.ok is True and "endpoint usage" in only.what


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        (["Cannot connect to the Docker daemon at unix:///var/run/docker.sock."], "Cannot connect"),
        (["permission denied while trying to connect to the Docker daemon socket"], "permission"),
        ([], "no output"),
    ],
)
def test_docker_info_must_answer(lines: list[str], shown: str) -> None:
    recorder = RecordingRunner()
    recorder.results[("info",)] = (1, lines)
    with pytest.raises(
        ConfigError, match=rf"^docker is installed but `docker info` failed \({shown}"
    ):
        docker_ready(Docker(recorder, binary="/x/docker"))
    assert recorder.commands() == [["docker", "info", "--format", "{{.ServerVersion}}"]]
    docker_ready(Docker(RecordingRunner(), binary="/x/docker"))  # a daemon that answers


# --- names already in use (a first deploy only) -------------------------------------------------

_TRUST = '{"Version": "2012-10-17", "Statement": []}'


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 session on the moto server; every test gets its own names (the server is shared)."""
    import boto3

    for key, value in aws_env(moto_endpoint).items():
        monkeypatch.setenv(key, value)
    return boto3.Session(region_name="us-east-1")


def _create(session: Any, kind: str, name: str) -> None:
    """One resource named as the stack would name it (terraform/modules/*/main.tf)."""
    if kind == "lambda-role":
        session.client("iam").create_role(
            RoleName=f"{name}-lambda", AssumeRolePolicyDocument=_TRUST
        )
    elif kind == "sagemaker-role":
        session.client("iam").create_role(
            RoleName=f"{name}-sagemaker", AssumeRolePolicyDocument=_TRUST
        )
    elif kind == "ecr":
        session.client("ecr").create_repository(repositoryName=name)
    elif kind == "lambda-logs":
        session.client("logs").create_log_group(logGroupName=f"/aws/lambda/{name}")
    elif kind == "endpoint-logs":
        session.client("logs").create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{name}")
    elif kind == "function":
        role = session.client("iam").create_role(
            RoleName=f"{name}-other", AssumeRolePolicyDocument=_TRUST
        )["Role"]["Arn"]
        session.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )
    elif kind == "endpoint":
        sagemaker = session.client("sagemaker")
        role = f"arn:aws:iam::123456789012:role/{name}-other"
        sagemaker.create_model(
            ModelName=f"{name}-m",
            ExecutionRoleArn=role,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": f"{name}-m",
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.xlarge",
        }
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{name}-c", ProductionVariants=[variant]
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c")


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


_FOUND = {
    "lambda-role": "IAM role '{name}-lambda'",
    "sagemaker-role": "IAM role '{name}-sagemaker'",
    "ecr": "ECR repository '{name}'",
    "lambda-logs": "log group '/aws/lambda/{name}'",
    "endpoint-logs": "log group '/aws/sagemaker/Endpoints/{name}'",
    "function": "Lambda function '{name}'",
    "endpoint": "SageMaker endpoint '{name}'",
}


@pytest.mark.aws
@pytest.mark.parametrize("kind", sorted(_FOUND))
def test_a_name_another_deployment_uses_stops_a_first_deploy(aws: Any, kind: str) -> None:
    """Seen as a user: `deploy --name dup` from a second directory failed half way through the
    apply ("ResourceAlreadyExistsException: The specified log group already exists"), after the
    cost prompt and the image build. Each resource the stack names after --name is looked up."""
    name = f"n-{kind}"
    settings = DeploySettings(name=name, region="us-east-1")
    assert names_in_use(aws, settings) == []
    _create(aws, kind, name)
    found = _FOUND[kind].format(name=name)
    assert names_in_use(aws, settings) == [found]
    with pytest.raises(ConfigError) as caught:
        check_names(aws, settings)
    assert caught.value.message.startswith(
        f"the name {name!r} is already used in this AWS account: {found} (a deployment from "
        "another directory"
    )
    assert caught.value.message.endswith(
        "?): pass another --name, or run expense-cli in the directory that deployed it; "
        "nothing was created"
    )
    assert ("IAM role names are account-wide" in caught.value.message) == ("role" in kind)
    # a longer name that starts the same is another name
    assert names_in_use(aws, settings.replace(name=f"{name}x")) == []


@pytest.mark.aws
def test_names_the_deployment_kind_does_not_create_are_free(aws: Any) -> None:
    """Async deployments have no function (nor its role and logs); --image-uri no repository."""
    name = "n-kinds"
    for kind in ("function", "lambda-role", "lambda-logs", "ecr"):
        _create(aws, kind, name)
    asynchronous = DeploySettings(name=name, async_inference=True, image_uri="r.example/x:1")
    assert names_in_use(aws, asynchronous) == []
    assert len(names_in_use(aws, DeploySettings(name=name))) == 4


class _FailingSession:
    """Every call of every client raises ``error``; records which calls were made."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls: list[str] = []

    def client(self, service: str, config: Any = None) -> Any:
        assert config is not None  # bounded timeouts
        session = self

        class _Client:
            def __getattr__(self, method: str) -> Any:
                def call(**kwargs: Any) -> Any:
                    session.calls.append(f"{service}.{method}")
                    raise session.error

                return call

        return _Client()


@pytest.mark.parametrize(
    "error", [RuntimeError("AccessDenied"), TimeoutError("read timeout"), OSError("unreachable")]
)
def test_a_lookup_that_fails_is_not_a_clash(error: Exception) -> None:
    """No permission, an emulator without the API, a network error: the deploy goes on."""
    session = _FailingSession(error)
    assert names_in_use(session, DeploySettings()) == []  # type: ignore[arg-type]
    check_names(session, DeploySettings())  # type: ignore[arg-type]
    assert sorted(set(session.calls)) == [
        "ecr.describe_repositories",
        "iam.get_role",
        "lambda.get_function",
        "logs.describe_log_groups",
        "sagemaker.describe_endpoint",
    ]
