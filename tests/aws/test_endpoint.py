"""Waiting for the endpoint: InService, Failed with its reason, still creating at the deadline."""

from __future__ import annotations

from typing import Any

import pytest

from expense_cli.aws import wait_in_service
from expense_cli.errors import RemoteError, Timeout


class FakeSageMaker:
    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states = states
        self.calls = 0

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        self.calls += 1
        return {"EndpointName": EndpointName, **self.states.pop(0)}


class FakeSession:
    region_name = "eu-west-1"

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.sagemaker = FakeSageMaker(states)

    def client(self, service: str) -> FakeSageMaker:
        assert service == "sagemaker"
        return self.sagemaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_polls_until_in_service() -> None:
    session = FakeSession(
        [
            {"EndpointStatus": "Creating"},
            {"EndpointStatus": "Creating"},
            {"EndpointStatus": "InService"},
        ]
    )
    clock = FakeClock()
    seen: list[str] = []
    result = wait_in_service(
        session,
        "demo",
        poll_s=15,
        on_status=seen.append,
        sleep=clock.sleep,
        clock=clock,
    )
    assert result["EndpointStatus"] == "InService"
    assert seen == ["Creating", "Creating", "InService"]
    assert clock.sleeps == [15, 15]


def test_failed_endpoint_reports_the_reason() -> None:
    session = FakeSession(
        [
            {"EndpointStatus": "Creating"},
            {
                "EndpointStatus": "Failed",
                "FailureReason": "The primary container did not pass ping",
            },
        ]
    )
    clock = FakeClock()
    with pytest.raises(RemoteError) as caught:
        wait_in_service(session, "demo", sleep=clock.sleep, clock=clock)
    message = caught.value.message
    assert message.startswith("endpoint demo is Failed: The primary container did not pass ping")
    assert "/aws/sagemaker/Endpoints/demo" in message


def test_gives_up_at_the_deadline() -> None:
    session = FakeSession([{"EndpointStatus": "Creating"}] * 10)
    clock = FakeClock()
    with pytest.raises(Timeout, match="still Creating after 60 s: run `expense-cli status`"):
        wait_in_service(session, "demo", timeout_s=60, poll_s=15, sleep=clock.sleep, clock=clock)
    assert session.sagemaker.calls == 5
