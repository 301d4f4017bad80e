"""`expense-cli deploy --async` (issue 16): settings, Terraform variables, and a real deploy +
status + destroy of async mode against moto (tests/cli/test_deploy.py has the other modes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from expense_cli.aws import AsyncEndpointTarget, ProjectConfig, load_config, remote_target
from expense_cli.aws._config import DeploySettings
from expense_cli.cli import app
from expense_cli.cli._deploy.tfvars import cost_note, merged_settings, terraform_variables
from expense_cli.errors import ConfigError
from tests.cli import test_deploy as _deploy_tests
from tests.cli.test_deploy import IMAGE, _boto

# the fixtures of tests/cli/test_deploy.py: a project directory, moto, the offline provider mirror
project = _deploy_tests.project
moto = _deploy_tests.moto
tf_cli_config = _deploy_tests.tf_cli_config


def test_async_and_serverless_replace_each_other_unless_both_are_given() -> None:
    serverless = ProjectConfig(settings=DeploySettings(serverless=True))
    settings = merged_settings(serverless, async_inference=True)
    assert settings.async_inference and not settings.serverless
    back = merged_settings(ProjectConfig(settings=settings), serverless=True)
    assert back.serverless and not back.async_inference
    kept = merged_settings(ProjectConfig(settings=settings), max_instances=2)
    assert kept.async_inference and kept.max_instances == 2
    with pytest.raises(ConfigError, match="choose one of --serverless and --async"):
        merged_settings(ProjectConfig(), serverless=True, async_inference=True)


def test_async_terraform_variables_and_cost_note(tmp_path: Path) -> None:
    settings = DeploySettings(
        async_inference=True, async_max_mb=120, async_max_pages=250, async_timeout_s=900
    )
    variables = terraform_variables(settings, tmp_path / "h.zip", "v1")
    assert variables["async_inference"] is True and variables["serverless"] is False
    assert variables["async_max_document_mb"] == 120
    assert variables["async_max_pages"] == 250
    assert variables["async_invocation_timeout_s"] == 900
    assert variables["async_max_concurrent_invocations"] == 4
    assert "0 to 4" in cost_note(settings) and "scales to zero" in cost_note(settings)
    assert (
        terraform_variables(DeploySettings(), tmp_path / "h.zip", "v1")["async_inference"] is False
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--async", "--serverless"], "choose one of --serverless and --async"),
        (["--async", "--async-max-mb", "0"], "--async-max-mb"),
        (["--async", "--async-timeout", "7200"], "--async-timeout"),
    ],
)
def test_async_option_errors(
    runner: CliRunner, project: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(
        app, ["deploy", "--image-uri", IMAGE, "--yes", "--region", "us-east-1", *args]
    )
    assert result.exit_code in (1, 2)
    assert message in result.output + result.stderr


@pytest.mark.slow
@pytest.mark.aws
@pytest.mark.terraform
def test_deploy_async_status_destroy(runner: CliRunner, project: Path, moto: str) -> None:
    args = ["deploy", "--image-uri", IMAGE, "--yes", "--region", "us-east-1", "--async"]
    result = runner.invoke(app, [*args, "--max-instances", "3", "--async-max-mb", "150"])
    assert result.exit_code == 0, result.output
    config = load_config(project)
    assert config.deployed and config.settings.async_inference
    queue = config.outputs["async_input_path"]
    assert queue.startswith("s3://") and queue.endswith("/inputs")
    assert "Asynchronous endpoint: expense" in result.stdout
    assert f"Documents queue in: {queue}" in result.stdout
    assert "Function URL" not in result.stdout
    assert _boto(moto, "lambda").list_functions()["Functions"] == []
    sagemaker = _boto(moto, "sagemaker")
    described = sagemaker.describe_endpoint(EndpointName="expense")
    endpoint_config = sagemaker.describe_endpoint_config(
        EndpointConfigName=described["EndpointConfigName"]
    )
    assert endpoint_config["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == (
        queue.removesuffix("/inputs") + "/outputs"
    )
    target = remote_target(project)
    assert isinstance(target, AsyncEndpointTarget)
    assert target.max_bytes == 150_000_000 and f"s3://{target.bucket}/{target.prefix}" == queue

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    text = " ".join(status.stdout.split())
    assert "0-3 instances" in text and "ApproximateBacklogSizePerInstance" in text, text
    assert f"Documents queue in: {queue}" in text

    destroyed = runner.invoke(app, ["destroy", "--yes"])
    assert destroyed.exit_code == 0, destroyed.output
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert not load_config(project).deployed
