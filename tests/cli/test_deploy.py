"""``expense-cli package | build | push | plan | deploy | status | destroy``.

Docker is never run: ``make_docker`` is replaced by a Docker whose runner records the exact
commands. AWS is a moto server on 127.0.0.1 (tests/_moto.py); Terraform is the real binary applying
the real stack against it (marked slow/aws/terraform).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from expense_cli.aws import Docker, FunctionUrlTarget, load_config, remote_target
from expense_cli.aws._image import library_build_args
from expense_cli.cli import app
from expense_cli.cli import deploy as deploy_cli
from expense_cli.errors import ConfigError

_REPO_ROOT = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from tests._moto import aws_env, moto_server  # noqa: E402
from tests.aws._fakes import Call, RecordingRunner  # noqa: E402

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prebuilt:v1"
DOCKER_MISSING = (
    "error: docker not found: install Docker or pass --image-uri of an image you pushed"
)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory as the current directory, with no AWS settings leaking in."""
    path = tmp_path / "project"
    path.mkdir()
    monkeypatch.chdir(path)
    for name in list(os.environ):
        if name.startswith(("AWS_", "TF_VAR_", "EXPENSE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return path


@pytest.fixture
def docker_calls(monkeypatch: pytest.MonkeyPatch) -> RecordingRunner:
    """Replace docker with a recorder; snapshot the build context while the build "runs"."""
    recorder = RecordingRunner()
    recorder.results[("buildx", "version")] = (1, ["docker: unknown command: docker buildx"])
    recorder.context_files = []  # type: ignore[attr-defined]

    def look(call: Call) -> None:
        if call.argv[1] == "build":
            context = Path(call.argv[-1])
            files = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
            recorder.context_files = files  # type: ignore[attr-defined]

    recorder.on_call = look
    monkeypatch.setattr(deploy_cli, "make_docker", lambda: Docker(recorder, binary="/x/docker"))
    return recorder


@pytest.fixture
def source_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A source tree with a Dockerfile, used through EXPENSE_SOURCE_DIR."""
    root = tmp_path / "source"
    (root / "container").mkdir(parents=True)
    (root / "container" / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'expense-cli'\n")
    (root / "README.md").write_text("# expense\n")
    (root / "expense_cli" / "__pycache__").mkdir(parents=True)
    (root / "expense_cli" / "__init__.py").write_text("")
    (root / "expense_cli" / "__pycache__" / "x.pyc").write_bytes(b"")
    monkeypatch.setenv("EXPENSE_SOURCE_DIR", str(root))
    return root


@pytest.fixture
def path_without(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """``path_without("docker")``: PATH holds links to terraform/docker except the named ones."""

    def make(*missing: str) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for tool in ("terraform", "docker"):
            found = shutil.which(tool)
            if tool not in missing and found:
                (bin_dir / tool).symlink_to(found)
        monkeypatch.setenv("PATH", str(bin_dir))

    yield make


@pytest.fixture(scope="module")
def tf_cli_config() -> str:
    """The offline provider mirror's CLI config (empty where there is none)."""
    script = _REPO_ROOT.parent / "shared" / "tf-offline-config"
    if not script.is_file():
        return ""
    return subprocess.run(
        [str(script)], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


@pytest.fixture
def moto(project: Path, monkeypatch: pytest.MonkeyPatch, tf_cli_config: str) -> Iterator[str]:
    """A moto server; boto3 and Terraform (through the environment) talk to it."""
    with moto_server() as endpoint:
        for name, value in aws_env(endpoint).items():
            monkeypatch.setenv(name, value)
        if tf_cli_config:
            monkeypatch.setenv("TF_CLI_CONFIG_FILE", tf_cli_config)
        monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
        yield endpoint


def _boto(endpoint: str, service: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def _error_line(result: object) -> str:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


# --- package / build ----------------------------------------------------------------------------


def test_package_writes_the_zip_and_its_hash(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["package"])
    assert result.exit_code == 0, result.output
    path = project / ".expense" / "handler.zip"
    digest = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    assert result.stdout.splitlines() == [str(path), f"sha256 (base64): {digest}"]


@pytest.mark.parametrize(
    ("out", "target", "reason"),
    [
        ("/dev/null", "/dev/null/handler.zip", "File exists"),  # not a folder
        ("notes.txt", "notes.txt/handler.zip", "File exists"),  # a file of the user's
        ("notes.txt/x.zip", "notes.txt/x.zip", "File exists"),  # a file where a folder is needed
        ("/proc/handler.zip", "/proc/handler.zip", "No such file or directory"),  # not writable
    ],
)
def test_package_to_a_place_it_cannot_write_is_one_line(
    runner: CliRunner, project: Path, out: str, target: str, reason: str
) -> None:
    (project / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["package", "--out", out])
    assert result.exit_code == 1
    assert _error_line(result) == (
        f"error: cannot write the handler zip to {target} ({reason}): pass --out a .zip path "
        "or a folder you can write to"
    )
    assert (project / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "command",
    [
        ["deploy", "--image-uri", IMAGE, "--yes"],
        ["plan", "--image-uri", IMAGE],
        ["build", "--base-image", "public.example.com/base:1"],
    ],
)
def test_a_folder_it_cannot_write_is_one_line_before_anything(
    runner: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """Seen as a user: `deploy` from a read-only folder went through the preflight and the cost
    prompt, then crashed with "internal error: FileNotFoundError" when saving its settings
    (`build`: after the image build). /proc stands for a folder nobody may write, root included."""
    monkeypatch.chdir("/proc")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    result = runner.invoke(app, command)
    assert result.exit_code == 1
    assert _error_line(result) == (
        "error: cannot create /proc/.expense (No such file or directory): run expense-cli in a "
        "folder you can write to (it keeps the deployment's settings and Terraform state there)"
    )
    assert "AWS account" not in result.output and "Estimated cost" not in result.output


def test_build_runs_docker_on_an_assembled_context(
    runner: CliRunner,
    project: Path,
    source_tree: Path,
    docker_calls: RecordingRunner,
    tmp_path: Path,
) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    args = ["build", "--model", str(model), "--base-image", "public.example.com/base:1"]
    result = runner.invoke(app, [*args, "--tag", "expense:test"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "expense:test"

    build = docker_calls.commands()[1]
    context = build[-1]
    revision = load_config(project).image["revision"]
    assert revision.startswith("local-")
    assert build == [
        "docker", "build", "--platform", "linux/amd64",
        "-f", f"{context}/container/Dockerfile",
        "--build-arg", "BASE_IMAGE=public.example.com/base:1",
        "--build-arg", "MODEL_ID=my-model",
        "--build-arg", f"MODEL_REVISION={revision}",
        *library_build_args(),
        "-t", "expense:test",
        context,
    ]  # fmt: skip
    files = docker_calls.context_files  # type: ignore[attr-defined]
    for expected in (
        "pyproject.toml",
        "README.md",
        "container/Dockerfile",
        "expense_cli/__init__.py",
        "model/config.json",
        "model/model.safetensors",
    ):
        assert expected in files
    assert not any("__pycache__" in f for f in files)
    assert not Path(context).exists()  # the temp context is removed afterwards
    # No registry login: the base image is not in ECR, so no AWS access was needed.
    assert [c[1] for c in docker_calls.commands()] == ["buildx", "build"]


def test_build_without_docker(runner: CliRunner, project: Path, path_without) -> None:  # type: ignore[no-untyped-def]
    path_without("docker")
    result = runner.invoke(app, ["build", "--base-image", "public.example.com/base:1"])
    assert result.exit_code == 1
    assert _error_line(result) == DOCKER_MISSING


def test_deploy_without_docker(runner: CliRunner, project: Path, path_without) -> None:  # type: ignore[no-untyped-def]
    path_without("docker")
    result = runner.invoke(app, ["deploy", "--yes", "--region", "us-east-1"])
    assert result.exit_code == 1
    assert _error_line(result) == DOCKER_MISSING
    assert not (project / ".expense" / "terraform").exists()


def test_deploy_without_terraform(runner: CliRunner, project: Path, path_without) -> None:  # type: ignore[no-untyped-def]
    path_without("terraform", "docker")
    result = runner.invoke(app, ["deploy", "--image-uri", IMAGE, "--yes", "--region", "us-east-1"])
    assert result.exit_code == 1
    # the minimum version is expense_cli/aws/_terraform.py's to set: only its shape is checked here
    assert re.match(
        r"error: terraform not found: install Terraform >= \d+\.\d+ ", _error_line(result)
    )


def test_deploy_without_credentials(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["deploy", "--image-uri", IMAGE, "--yes", "--region", "us-east-1"])
    assert result.exit_code == 1
    assert _error_line(result) == (
        "error: no AWS credentials found: run `aws configure` (or `aws sso login`), "
        "set AWS_PROFILE, or pass --profile"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "moon-1"], "'moon-1' is not an AWS region name: pass --region"),
        (["--auth", "basic"], "--auth must be iam or token, not 'basic'"),
        (["--min-instances", "3", "--max-instances", "2"], "--max-instances must be at least"),
        (["--serverless-memory", "1000"], "--serverless-memory must be 1024"),
        (["--profile", "nope"], "AWS profile 'nope' not found"),
    ],
)
def test_deploy_option_errors(
    runner: CliRunner, project: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["deploy", "--image-uri", IMAGE, "--yes", *args])
    assert result.exit_code == 1
    assert message in _error_line(result)


_BAD_NAME = "use lowercase letters, digits and hyphens (not at either end), at most 40"
_NOT_SERVERLESS = "does not apply to a serverless endpoint, which has no instances"


@pytest.mark.parametrize("command", ["deploy", "plan"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Expense"], f"--name 'Expense' is not allowed: {_BAD_NAME}"),
        (["--name", "a" * 70], f"--name '{'a' * 70}' is not allowed: {_BAD_NAME}"),
        (["--name", "a" * 41], f"is not allowed: {_BAD_NAME}"),
        (["--name", "-expense"], f"--name '-expense' is not allowed: {_BAD_NAME}"),
        (["--name", "expense-"], f"--name 'expense-' is not allowed: {_BAD_NAME}"),
        (["--name", ""], f"--name '' is not allowed: {_BAD_NAME}"),
        (["--name", "exp_ense"], f"--name 'exp_ense' is not allowed: {_BAD_NAME}"),
        (
            ["--name", "expense\U0001f9fe"],
            f"--name 'expense\U0001f9fe' is not allowed: {_BAD_NAME}",
        ),
        (["--name", "expense\n"], f"--name 'expense\\n' is not allowed: {_BAD_NAME}"),
        (
            ["--instance-type", "m5.xlarge"],
            "--instance-type 'm5.xlarge' is not a SageMaker instance",
        ),
        (["--instance-type", "ml.bogus"], "--instance-type 'ml.bogus' is not a SageMaker instance"),
        (["--instance-type", "ML.M5.XLARGE"], "'ML.M5.XLARGE' is not a SageMaker instance type"),
        (["--serverless", "--min-instances", "2"], f"--min-instances {_NOT_SERVERLESS}"),
        (["--serverless", "--max-instances", "8"], f"--max-instances {_NOT_SERVERLESS}"),
        (["--serverless", "--instance-type", "ml.g5.xlarge"], f"--instance-type {_NOT_SERVERLESS}"),
        (
            ["--serverless-memory", "2048"],
            "--serverless-memory applies to serverless endpoints only",
        ),
        (
            ["--async", "--serverless-concurrency", "9"],
            "--serverless-concurrency applies to serverless endpoints only: add --serverless",
        ),
    ],
)
def test_settings_terraform_would_refuse_or_ignore_stop_before_anything(
    runner: CliRunner, project: Path, command: str, args: list[str], message: str
) -> None:
    """Checked before AWS is asked (no credentials here), the cost prompt, the image build and
    the settings being remembered: not by `terraform apply` once everything before it has run,
    and never silently ignored (serverless endpoints have no instances to scale)."""
    result = runner.invoke(app, [command, "--image-uri", IMAGE, "--region", "us-east-1", *args])
    assert result.exit_code == 1
    assert message in _error_line(result)
    assert "Traceback" not in result.output
    assert not (project / ".expense").exists()


def test_a_serverless_deployment_refuses_instance_options_until_switched(
    runner: CliRunner, project: Path
) -> None:
    """Remembered serverless: --max-instances alone is refused with the way to switch; given with
    --realtime it is the switch (and a real-time deployment keeps them: nothing is refused)."""
    from expense_cli.aws import DeploySettings, ProjectConfig
    from expense_cli.cli._deploy.tfvars import merged_settings

    serverless = ProjectConfig(settings=DeploySettings(serverless=True, region="us-east-1"))
    with pytest.raises(ConfigError, match="add --realtime to switch"):
        merged_settings(serverless, max_instances=8)
    switched = merged_settings(serverless, serverless=False, max_instances=8)
    assert (switched.serverless, switched.max_instances) == (False, 8)
    realtime = ProjectConfig(settings=switched)
    assert merged_settings(realtime, min_instances=2, max_instances=8).min_instances == 2
    back = merged_settings(realtime, serverless=True, serverless_memory_mb=2048)
    assert (back.serverless, back.serverless_memory_mb, back.max_instances) == (True, 2048, 8)
    # the longest name the stack accepts is accepted here too
    assert merged_settings(realtime, name="a" * 40).name == "a" * 40


def test_the_cli_checks_the_stack_rules() -> None:
    """The name and instance type rules are those of terraform/variables.tf (one place to change
    them: the test says when they drift apart)."""
    from expense_cli.cli._deploy import tfvars

    text = (_REPO_ROOT / "terraform" / "variables.tf").read_text()
    name = re.search(
        r'can\(regex\("\^(.+?)\$", var\.name\)\) && length\(var\.name\) <= (\d+)', text
    )
    assert name, "terraform/variables.tf name rule not found"
    assert name.group(1) == tfvars._NAME_RE.pattern
    assert int(name.group(2)) == tfvars._NAME_MAX
    kind = re.search(r'can\(regex\("\^(.+?)\$", var\.instance_type\)\)', text)
    assert kind, "terraform/variables.tf instance_type rule not found"
    assert kind.group(1).replace("\\\\", "\\") == tfvars._INSTANCE_TYPE_RE.pattern


def test_no_region_anywhere(runner: CliRunner, project: Path) -> None:
    result = runner.invoke(app, ["deploy", "--image-uri", IMAGE, "--yes"])
    assert result.exit_code == 1
    assert _error_line(result) == (
        "error: no AWS region set: pass --region (e.g. us-east-1) or set AWS_REGION"
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["status"], "no deployment found in {project}: run `expense-cli deploy`"),
        (["destroy", "--yes"], "no deployment found in {project}: nothing to destroy"),
        (["push"], "no image to push: run `expense-cli build` first or pass --image"),
        (["push", "--image", "x:1"], "no ECR repository known: run `expense-cli deploy`"),
    ],
)
def test_nothing_deployed(
    runner: CliRunner, project: Path, command: list[str], message: str
) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 1
    assert _error_line(result).startswith("error: " + message.format(project=project))


@pytest.mark.parametrize("command", [["destroy", "--yes"], ["status"]])
def test_a_damaged_state_is_one_line_not_a_crash_or_nothing(
    runner: CliRunner, project: Path, command: list[str]
) -> None:
    """A state truncated by a full disk or a bad copy: `destroy` and `status` say so and where the
    backup is, instead of "internal error: JSONDecodeError" (truncated) or "nothing to destroy"
    (overwritten) while the resources still exist."""
    state = project / ".expense" / "terraform" / "terraform.tfstate"
    state.parent.mkdir(parents=True)
    whole = json.dumps(
        {"version": 4, "resources": [{"type": "aws_lambda_function", "instances": [{}]}]}
    )
    for text in (whole[:40], "garbage"):
        state.write_text(text)
        result = runner.invoke(
            app, [*command, "--region", "us-east-1"] if command[0] == "destroy" else command
        )
        assert result.exit_code == 1
        assert _error_line(result) == (
            f"error: the Terraform state {state} is damaged (not valid JSON): restore it, e.g. "
            f"from {state}.backup (the state before the last change); until then expense-cli "
            "cannot tell what is deployed"
        )
        assert state.read_text() == text  # left as it was for the user to repair


_MOVE = (
    "error: this directory's deployment is in us-east-1, not eu-west-1: run `expense-cli "
    "destroy` first to move it, or deploy to eu-west-1 from another directory (with another "
    "--name if it is the same account)"
)


@pytest.mark.parametrize("command", ["deploy", "plan", "destroy"])
@pytest.mark.parametrize("how", ["deployed", "partial", "nothing"])
def test_another_region_is_refused_while_deployed(
    runner: CliRunner, project: Path, command: str, how: str
) -> None:
    """Seen against moto: `plan --region eu-west-1` of a us-east-1 deployment planned a second
    deployment in eu-west-1 ("9 to add"): Terraform finds nothing in the new region, so the
    us-east-1 endpoint would leave the state and bill on, out of `destroy`'s reach."""
    from expense_cli.aws import DeploySettings, ProjectConfig, save_config

    outputs = {"function_url": "https://x.on.aws/", "region": "us-east-1"}
    config = ProjectConfig(
        settings=DeploySettings(region="us-east-1", image_uri=IMAGE),
        outputs=outputs if how == "deployed" else {},
    )
    save_config(config, project)
    if how != "nothing":  # the state holds resources (with outputs: a complete deployment)
        state = project / ".expense" / "terraform" / "terraform.tfstate"
        state.parent.mkdir(parents=True)
        state.write_text(json.dumps({"resources": [{"type": "aws_iam_role", "instances": [{}]}]}))
    yes = ["--yes"] if command != "plan" else []
    result = runner.invoke(app, [command, "--region", "eu-west-1", *yes])
    same = runner.invoke(app, [command, "--region", "us-east-1", *yes])
    assert result.exit_code == same.exit_code == 1
    no_credentials = "error: no AWS credentials found"
    if how == "nothing":  # a new region is fine (then: no credentials here)
        expected = "error: no deployment found" if command == "destroy" else no_credentials
        assert _error_line(result).startswith(expected)
        assert _error_line(same).startswith(expected)
        return
    if how == "deployed" and command == "destroy":  # destroy goes to the deployment's region
        assert _error_line(result).startswith(no_credentials)
    elif command == "destroy":
        assert _error_line(result) == (
            "error: this directory's deployment is in us-east-1, not eu-west-1: pass --region "
            "us-east-1 (or leave it out)"
        )
    else:
        assert _error_line(result) == _MOVE
    assert _error_line(same).startswith(no_credentials)


# --- against moto -------------------------------------------------------------------------------


@pytest.mark.aws
def test_push_logs_in_to_ecr_tags_and_pushes(
    runner: CliRunner, project: Path, moto: str, docker_calls: RecordingRunner
) -> None:
    repo = _boto(moto, "ecr").create_repository(repositoryName="expense")["repository"]
    url = repo["repositoryUri"]
    result = runner.invoke(app, ["push", "--image", "expense:abc", "--repository", url])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{url}:abc"
    registry = url.split("/")[0]
    assert docker_calls.commands() == [
        ["docker", "login", "--username", "AWS", "--password-stdin", registry],
        ["docker", "tag", "expense:abc", f"{url}:abc"],
        ["docker", "push", f"{url}:abc"],
    ]
    login = docker_calls.calls[0]
    assert login.input and login.input not in " ".join(login.argv)  # password on stdin only
    assert load_config(project).image["pushed"] == f"{url}:abc"


@pytest.mark.aws
def test_deploy_asks_before_creating_anything(runner: CliRunner, project: Path, moto: str) -> None:
    result = runner.invoke(app, ["deploy", "--image-uri", IMAGE], input="n\n")
    assert result.exit_code == 1
    assert "billed per instance-hour" in result.stderr
    assert not (project / ".expense" / "terraform" / "terraform.tfstate").exists()
    assert _boto(moto, "sagemaker").list_endpoints()["Endpoints"] == []
    # moto has no Price List API and no SageMaker quotas: both say so, and the deploy goes on
    stderr = " ".join(result.stderr.split())
    assert "Estimated cost: could not reach the AWS Price List API (" in stderr
    assert "1-4 x ml.m5.xlarge in us-east-1 for 730 h/month" in stderr
    assert "SageMaker quota ml.m5.xlarge for endpoint usage: could not check (" in stderr
    assert "Lambda concurrency for 10 reserved executions: " in stderr


def _nothing_created(project: Path, endpoint: str) -> None:
    assert _boto(endpoint, "ecr").describe_repositories()["repositories"] == []
    assert _boto(endpoint, "sagemaker").list_endpoints()["Endpoints"] == []
    assert not (project / ".expense" / "terraform" / "terraform.tfstate").exists()


@pytest.mark.aws
@pytest.mark.parametrize(
    ("args", "docker_results", "message"),
    [
        pytest.param(
            [],
            {
                ("info",): (
                    1,
                    ["Cannot connect to the Docker daemon at unix:///var/run/docker.sock."],
                )
            },
            "error: docker is installed but `docker info` failed (Cannot connect to the Docker "
            "daemon",
            id="docker-daemon-down",
        ),
        pytest.param(
            ["--model", "/nonexistent/model 📄"],
            {},
            "error: ",
            id="model-missing",
        ),
        pytest.param(
            [],
            {("login",): (1, ["Error response from daemon: login attempt to https://x denied"])},
            "error: docker login to 763104351884.dkr.ecr.us-east-1.amazonaws.com failed: Error "
            "response from daemon: login attempt",
            id="base-image-login-refused",
        ),
        pytest.param(
            ["--base-image", "public.example.com/base:1"],
            {("login",): (1, ["Error response from daemon: unauthorized: denied"])},
            "error: docker login to 123456789012.dkr.ecr.us-east-1.amazonaws.com failed",
            id="deployment-registry-login-refused",
        ),
    ],
)
def test_a_failed_preflight_creates_nothing(
    runner: CliRunner,
    project: Path,
    moto: str,
    source_tree: Path,
    docker_calls: RecordingRunner,
    tmp_path: Path,
    args: list[str],
    docker_results: dict[tuple[str, ...], tuple[int, list[str]]],
    message: str,
) -> None:
    """Each check that can fail runs before the ECR repository (or anything else) exists."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    docker_calls.results.update(docker_results)
    base = ["deploy", "--yes", "--region", "us-east-1", "--model", str(model)]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 1, result.output
    assert _error_line(result).startswith(message)
    if "model-missing" in message or args[:1] == ["--model"]:
        assert "/nonexistent/model 📄" in _error_line(result)
    _nothing_created(project, moto)
    assert not any(c[1] == "push" for c in docker_calls.commands())


@pytest.mark.aws
def test_a_name_in_use_elsewhere_is_refused_before_anything(
    runner: CliRunner, project: Path, moto: str
) -> None:
    """Another directory (or region: IAM is account-wide) deployed `expense`: a first deploy here
    under the same name stops before the prompt with what exists, instead of failing half way."""
    trust = '{"Version": "2012-10-17", "Statement": []}'
    _boto(moto, "iam").create_role(RoleName="expense-lambda", AssumeRolePolicyDocument=trust)
    _boto(moto, "logs").create_log_group(logGroupName="/aws/sagemaker/Endpoints/expense")
    result = runner.invoke(app, ["deploy", "--image-uri", IMAGE, "--region", "us-east-1"])
    assert result.exit_code == 1, result.output
    assert _error_line(result) == (
        "error: the name 'expense' is already used in this AWS account: IAM role "
        "'expense-lambda', log group '/aws/sagemaker/Endpoints/expense' (a deployment from "
        "another directory, or another region: IAM role names are account-wide?): pass another "
        "--name, or run expense-cli in the directory that deployed it; nothing was created"
    )
    assert "Deploy 'expense'" not in result.output  # no cost prompt
    _nothing_created(project, moto)
    result = runner.invoke(app, ["plan", "--image-uri", IMAGE, "--name", "expense-2"])
    assert result.exit_code == 0, result.output  # another name is free


@pytest.mark.aws
def test_a_bad_kms_key_or_bucket_is_refused_before_anything(
    runner: CliRunner, project: Path, moto: str
) -> None:
    for args, message in (
        (["--kms-key", "alias/mine"], "error: --kms-key 'alias/mine' is not a KMS key ARN"),
        (["--log-kms-key", "arn:aws:kms:us-east-1:1:key/x"], "error: --log-kms-key "),
        (["--state-bucket", "Not_A_Bucket"], "error: --state-bucket 'Not_A_Bucket' is not"),
    ):
        result = runner.invoke(app, ["deploy", "--image-uri", IMAGE, "--yes", *args])
        assert result.exit_code == 1
        assert _error_line(result).startswith(message)
    _nothing_created(project, moto)
    assert not (project / ".expense" / "config.json").exists()


def test_status_of_a_partial_deployment_says_how_to_finish_or_remove_it(
    runner: CliRunner, project: Path
) -> None:
    """Resources in the state but no outputs in config.json: an apply that stopped half way."""
    root = project / ".expense" / "terraform"
    root.mkdir(parents=True)
    state = {
        "version": 4,
        "resources": [
            {"mode": "managed", "type": "aws_ecr_repository", "instances": [{}]},
            {"mode": "managed", "type": "aws_iam_role", "instances": [{}, {}]},
            {"mode": "data", "type": "aws_caller_identity", "instances": [{}]},
            {"mode": "managed", "type": "aws_lambda_function", "instances": []},
        ],
    }
    (root / "terraform.tfstate").write_text(json.dumps(state))
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    assert _error_line(result) == (
        f"error: partial deployment in {project}: the Terraform state "
        f"({root / 'terraform.tfstate'}) holds 3 resource(s) (aws_ecr_repository, 2 "
        "aws_iam_role) and no endpoint yet but the deployment has no outputs (a deploy failed "
        "or was stopped half way): run `expense-cli deploy` to finish it, or `expense-cli "
        "destroy` to remove what exists"
    )
    (root / "terraform.tfstate").write_text(json.dumps({"version": 4, "resources": []}))
    empty = runner.invoke(app, ["status"])
    assert _error_line(empty).startswith("error: no deployment found in")


def test_security_options_become_stack_variables() -> None:
    from expense_cli.aws import DeploySettings
    from expense_cli.cli._deploy.tfvars import terraform_variables

    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    own = "arn:aws:kms:eu-west-1:123456789012:key/own"
    settings = DeploySettings(region="eu-west-1", immutable_tags=True, kms_key=key, log_kms_key=own)
    variables = terraform_variables(settings, Path("h.zip"), "t1")
    assert {k: v for k, v in variables.items() if "kms" in k or "immutable" in k} == {
        "immutable_tags": True,
        "endpoint_kms_key_arn": key,
        "log_kms_key_arn": own,
        "token_kms_key_arn": key,
        "ecr_kms_key_arn": key,
    }
    nvme = settings.replace(instance_type="ml.g5.xlarge", image_uri=IMAGE)
    variables = terraform_variables(nvme, Path("h.zip"), None)
    assert "endpoint_kms_key_arn" not in variables  # hardware-encrypted volumes refuse a key
    assert "ecr_kms_key_arn" not in variables  # no repository is created
    assert terraform_variables(DeploySettings(), Path("h.zip"), None)["immutable_tags"] is False


@pytest.mark.slow
@pytest.mark.aws
@pytest.mark.terraform
def test_deploy_status_destroy_with_image_uri(runner: CliRunner, project: Path, moto: str) -> None:
    result = runner.invoke(
        app,
        ["deploy", "--image-uri", IMAGE, "--yes", "--region", "us-east-1", "--max-instances", "3"],
    )
    assert result.exit_code == 0, result.output
    function_url = _boto(moto, "lambda").get_function_url_config(FunctionName="expense")
    assert f"Function URL: {function_url['FunctionUrl']}" in result.stdout.splitlines()
    assert "Auth: iam" in result.stdout
    assert "Web page: run `expense-cli serve --deployment`" in result.stdout
    assert "terraform apply:" in result.stderr
    assert "Waiting for endpoint expense" in result.stderr

    model = _boto(moto, "sagemaker").describe_model(
        ModelName=_boto(moto, "sagemaker").list_models()["Models"][0]["ModelName"]
    )
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert _boto(moto, "ecr").describe_repositories()["repositories"] == []  # none needed
    config = load_config(project)
    assert config.outputs["function_url"] == function_url["FunctionUrl"]
    assert not (_REPO_ROOT / "terraform" / "terraform.tfstate").exists()
    assert not (_REPO_ROOT / "terraform" / ".terraform").exists()
    target = remote_target(project)
    assert isinstance(target, FunctionUrlTarget)
    assert (target.url, target.auth) == (function_url["FunctionUrl"], "iam")

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    text = " ".join(status.stdout.split())
    assert "InService" in text
    assert f"Function URL: {function_url['FunctionUrl']}" in status.stdout.splitlines()
    assert "Web page: run `expense-cli serve --deployment`" in text
    assert "1-3 instances, target 300" in text
    assert "10 reserved" in text

    assert "Estimated cost now: could not reach the AWS Price List API" in " ".join(text.split())
    _assert_private(project / ".expense" / "terraform")

    destroyed = runner.invoke(app, ["destroy", "--yes"])
    assert destroyed.exit_code == 0, destroyed.output
    assert "Destroyed 'expense' in us-east-1." in destroyed.stdout
    assert _boto(moto, "sagemaker").list_endpoints()["Endpoints"] == []
    assert _boto(moto, "lambda").list_functions()["Functions"] == []
    assert not load_config(project).deployed
    again = runner.invoke(app, ["status"])
    assert again.exit_code == 1


@pytest.mark.slow
@pytest.mark.aws
@pytest.mark.terraform
def test_deploy_builds_pushes_and_uses_token_auth(
    runner: CliRunner,
    project: Path,
    moto: str,
    source_tree: Path,
    docker_calls: RecordingRunner,
    tmp_path: Path,
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    result = runner.invoke(
        app,
        ["deploy", "--yes", "--region", "us-east-1", "--auth", "token", "--model", str(model)],
    )
    assert result.exit_code == 0, result.output

    config = load_config(project)
    token = config.auth_token
    assert token and len(token) >= 32
    token_lines = [line for line in result.stdout.splitlines() if token in line]
    assert len(token_lines) == 1 and token_lines[0].startswith("Token (shown once")
    config_file = project / ".expense" / "config.json"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert token not in (project / ".expense" / "terraform" / "expense.tfvars.json").read_text()

    repo_url = _boto(moto, "ecr").describe_repositories()["repositories"][0]["repositoryUri"]
    pushed = config.image["pushed"]
    tag = pushed.rsplit(":", 1)[1]
    assert pushed == f"{repo_url}:{tag}"
    base_registry = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
    commands = docker_calls.commands()
    # docker info and the model, base image and registry logins come before the repository
    assert [c[1] for c in commands] == ["info", "login", "buildx", "build", "login", "tag", "push"]
    assert commands[1][-1] == base_registry
    assert f"BASE_IMAGE={base_registry}/huggingface-pytorch-inference:" in " ".join(commands[3])
    assert commands[4][-1] == repo_url.split("/")[0]
    assert commands[5] == ["docker", "tag", config.image["tag"], pushed]
    assert commands[6] == ["docker", "push", pushed]

    sagemaker = _boto(moto, "sagemaker")
    model_name = sagemaker.list_models()["Models"][0]["ModelName"]
    assert sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]["Image"] == pushed
    parameter = _boto(moto, "ssm").get_parameter(
        Name=config.outputs["token_parameter_name"], WithDecryption=True
    )
    assert parameter["Parameter"]["Value"] == token
    target = remote_target(project)
    assert isinstance(target, FunctionUrlTarget)
    assert target.auth == "token"

    # A second deploy keeps the token and does not show it again.
    docker_calls.calls.clear()
    again = runner.invoke(app, ["deploy", "--yes", "--image-uri", pushed])
    assert again.exit_code == 0, again.output
    assert token not in again.stdout
    assert load_config(project).auth_token == token
    assert docker_calls.calls == []  # --image-uri: no docker at all

    # --rotate-token really replaces the SSM value (a write-only value is rewritten only when
    # its version changes: the CLI derives the version from the token).
    rotated = runner.invoke(app, ["deploy", "--yes", "--image-uri", pushed, "--rotate-token"])
    assert rotated.exit_code == 0, rotated.output
    new_token = load_config(project).auth_token
    assert new_token and new_token != token and new_token in rotated.stdout
    parameter = _boto(moto, "ssm").get_parameter(
        Name=config.outputs["token_parameter_name"], WithDecryption=True
    )
    assert parameter["Parameter"]["Value"] == new_token
    state = (project / ".expense" / "terraform" / "terraform.tfstate").read_text()
    assert token not in state and new_token not in state

    destroyed = runner.invoke(app, ["destroy", "--yes"])
    assert destroyed.exit_code == 0, destroyed.output
    assert _boto(moto, "ecr").describe_repositories()["repositories"] == []
    assert json.loads(config_file.read_text())["auth_token"] is None


def _assert_private(root: Path) -> None:
    """Terraform's state, plans, logs and lock files: 0600 in 0700 folders (providers 0700)."""
    assert (root / "terraform.tfstate").is_file()
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode in ((0o700,) if path.is_dir() else (0o600, 0o700)), (path, oct(mode))
    assert stat.S_IMODE((root / "terraform.tfstate").stat().st_mode) == 0o600


@pytest.fixture
def stock_moto(project: Path, monkeypatch: pytest.MonkeyPatch, tf_cli_config: str) -> Iterator[str]:
    """moto's own server, without the test-only patches of tests/_moto.py."""
    from tests._moto import _free_port, _ready, _stop

    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    serve = "from moto.server import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", serve, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            if _ready(endpoint) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert _ready(endpoint), "moto server did not start"
        for name, value in aws_env(endpoint).items():
            monkeypatch.setenv(name, value)
        if tf_cli_config:
            monkeypatch.setenv("TF_CLI_CONFIG_FILE", tf_cli_config)
        monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
        yield endpoint
    finally:
        _stop(proc)


@pytest.mark.slow
@pytest.mark.aws
@pytest.mark.terraform
def test_stock_moto_deploy_is_bounded_and_left_partial_then_destroyed(
    runner: CliRunner, project: Path, stock_moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain moto lacks application-autoscaling ListTagsForResource: the provider waits on the
    scalable target for ever. The apply stops at its timeout naming that resource; status then
    sees a partial deployment and destroy removes it."""
    monkeypatch.setattr(deploy_cli, "APPLY_TIMEOUT_S", 150.0)
    result = runner.invoke(app, ["deploy", "--image-uri", IMAGE, "--yes", "--region", "us-east-1"])
    if result.exit_code == 0:  # a moto that implements it: then it simply works
        assert load_config(project).deployed
    else:
        line = _error_line(result)
        assert line.startswith("error: terraform apply did not finish within 150 s: still at ")
        assert "aws_appautoscaling_target" in line
        counted = re.search(r"\((\d+)/(\d+) done\)", line)
        assert counted and 0 < int(counted[1]) < int(counted[2]), line  # a real total
        assert not re.search(r"\(\d+/0\)", result.stderr)  # never the old "5/0 ... 18/0"
        assert "run `expense-cli status` to see what exists" in line
        status = runner.invoke(app, ["status"])
        assert status.exit_code == 1
        assert _error_line(status).startswith(f"error: partial deployment in {project}: ")
        assert "expense-cli destroy` to remove what exists" in _error_line(status)
        _assert_private(project / ".expense" / "terraform")
    destroyed = runner.invoke(app, ["destroy", "--yes"])
    assert destroyed.exit_code == 0, destroyed.output
    assert _boto(stock_moto, "sagemaker").list_endpoints()["Endpoints"] == []
    assert _boto(stock_moto, "lambda").list_functions()["Functions"] == []


@pytest.mark.slow
@pytest.mark.aws
@pytest.mark.terraform
def test_state_in_s3_is_shared_and_remembered(
    runner: CliRunner, project: Path, moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--state-bucket: the state lives in S3 (locked with a lock file), nothing in
    .expense/terraform; status and destroy read it through the backend."""
    s3 = _boto(moto, "s3")
    s3.create_bucket(Bucket="team-state")
    monkeypatch.setenv("EXPENSE_STATE_BACKEND_CONFIG", "use_path_style=true")  # moto's URLs
    args = ["deploy", "--image-uri", IMAGE, "--yes", "--region", "us-east-1", "--serverless"]
    result = runner.invoke(app, [*args, "--state-bucket", "team-state"])
    assert result.exit_code == 0, result.output
    stored = s3.get_object(Bucket="team-state", Key="expense/expense.tfstate")["Body"].read()
    resources = json.loads(stored)["resources"]
    assert any(r["type"] == "aws_sagemaker_endpoint" for r in resources)
    assert not (project / ".expense" / "terraform" / "terraform.tfstate").exists()
    assert load_config(project).settings.state_bucket == "team-state"
    init = (project / ".expense" / "terraform" / "init.log").read_text()
    assert 'Successfully configured the backend "s3"' in init

    destroyed = runner.invoke(app, ["destroy", "--yes"])  # the remembered bucket
    assert destroyed.exit_code == 0, destroyed.output
    assert (
        json.loads(
            s3.get_object(Bucket="team-state", Key="expense/expense.tfstate")["Body"].read()
        )["resources"]
        == []
    )
    assert _boto(moto, "sagemaker").list_endpoints()["Endpoints"] == []


@pytest.mark.slow
@pytest.mark.aws
@pytest.mark.terraform
def test_plan_changes_nothing(runner: CliRunner, project: Path, moto: str) -> None:
    args = ["plan", "--image-uri", IMAGE, "--region", "us-east-1", "--serverless"]
    result = runner.invoke(app, [*args, "--auth", "token"])
    assert result.exit_code == 0, result.output
    assert "aws_sagemaker_endpoint" in result.stdout
    assert "serverless_config" in result.stdout
    assert "Plan:" in result.stdout
    assert _boto(moto, "sagemaker").list_endpoints()["Endpoints"] == []
    tfvars = json.loads((project / ".expense" / "terraform" / "expense.tfvars.json").read_text())
    assert (tfvars["serverless"], tfvars["auth"], tfvars["image_uri"]) == (True, "token", IMAGE)
    assert "auth_token" not in tfvars
    assert not load_config(project).deployed


def test_serve_deployment_without_a_deployment_is_one_line(
    runner: CliRunner, project: Path
) -> None:
    result = runner.invoke(app, ["serve", "--deployment"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no deployment found in")
    assert result.stderr.count("\n") == 1
