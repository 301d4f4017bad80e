"""Quota and Docker checks before anything is created (expense_cli/aws/_preflight.py)."""

from __future__ import annotations

from typing import Any

import pytest

from expense_cli.aws import DeploySettings, Docker
from expense_cli.aws._preflight import (
    check_quotas,
    docker_ready,
    lambda_headroom,
    sagemaker_instance_quota,
)
from expense_cli.errors import ConfigError
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
