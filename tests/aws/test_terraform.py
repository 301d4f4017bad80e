"""The Terraform runner with a recording runner: argv, environment, progress, errors."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from expense_cli.aws import ApplyProgress, Terraform, TerraformError, find_terraform_source
from expense_cli.aws._terraform import _FINISH, S3Backend
from expense_cli.errors import ConfigError
from tests.aws._fakes import RecordingRunner

SUMMARY = {"add": 3, "change": 0, "remove": 0}
REPO_TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"


@pytest.fixture
def stub_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``terraform`` on PATH that is never run (the recording runner stands in for it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "terraform"
    stub.write_text("#!/bin/sh\nexit 99\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return stub


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    source = tmp_path / "stack"
    (source / "modules" / "a").mkdir(parents=True)
    (source / "main.tf").write_text("# root\n")
    (source / "modules" / "a" / "main.tf").write_text("# module\n")
    for junk in ("tests", "examples", ".terraform"):
        (source / junk).mkdir()
        (source / junk / "x.tf").write_text("# not copied\n")
    (source / "terraform.tfstate").write_text("{}")
    (source / "dev.auto.tfvars").write_text('name = "x"\n')
    return source


def _event(kind: str, **fields: object) -> str:
    return json.dumps({"@level": "info", "@message": kind, "type": kind, **fields})


def _hook(addr: str, action: str = "create", **extra: object) -> dict[str, object]:
    return {"resource": {"addr": addr}, "action": action, **extra}


def test_missing_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^terraform not found: install Terraform >= 1\.11 "):
        Terraform(tmp_path)


def test_source_defaults_to_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPENSE_TERRAFORM_DIR", raising=False)
    assert find_terraform_source() == REPO_TERRAFORM


def test_source_from_env(stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPENSE_TERRAFORM_DIR", str(stack))
    assert find_terraform_source() == stack
    monkeypatch.setenv("EXPENSE_TERRAFORM_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"EXPENSE_TERRAFORM_DIR=.* has no main\.tf"):
        find_terraform_source()


@pytest.mark.usefixtures("stub_terraform")
def test_init_works_on_a_private_copy(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    before = sorted(p.relative_to(stack) for p in stack.rglob("*"))
    project = tmp_path / "project"
    tf = Terraform(project, source=stack, runner=recorder, env={"AWS_PROFILE": "dev"})
    tf.init()

    module = project / ".expense" / "terraform" / "module"
    copied = sorted(str(p.relative_to(module)) for p in module.rglob("*"))
    assert copied == ["backend.tf", "main.tf", "modules", "modules/a", "modules/a/main.tf"]
    assert sorted(p.relative_to(stack) for p in stack.rglob("*")) == before  # source untouched
    (call,) = recorder.calls
    assert recorder.commands()[0][:4] == ["terraform", "init", "-input=false", "-no-color"]
    assert call.cwd == module
    assert call.env["TF_DATA_DIR"] == str(project.resolve() / ".expense" / "terraform" / "data")
    assert call.env["AWS_PROFILE"] == "dev"
    assert oct((project / ".expense").stat().st_mode & 0o777) == "0o700"


@pytest.mark.usefixtures("stub_terraform")
def test_lock_file_survives_a_fresh_copy(stack: Path, tmp_path: Path) -> None:
    tf = Terraform(tmp_path, source=stack, runner=RecordingRunner())
    tf.prepare()
    (tf.module / ".terraform.lock.hcl").write_text("# lock\n")
    tf.prepare()
    assert (tf.module / ".terraform.lock.hcl").read_text() == "# lock\n"


@pytest.mark.usefixtures("stub_terraform")
def test_the_copy_gets_the_root_provider_file(stack: Path, tmp_path: Path) -> None:
    """The stack has no provider block; cli/providers.tf is added beside it, cli/ is not copied."""
    (stack / "cli").mkdir()
    (stack / "cli" / "providers.tf").write_text('provider "aws" {}\n')
    tf = Terraform(tmp_path, source=stack, runner=RecordingRunner())
    tf.prepare()
    copied = sorted(str(p.relative_to(tf.module)) for p in tf.module.rglob("*"))
    assert copied == [
        "backend.tf", "main.tf", "modules", "modules/a", "modules/a/main.tf", "providers.tf"
    ]  # fmt: skip
    assert (tf.module / "providers.tf").read_text() == 'provider "aws" {}\n'


@pytest.mark.usefixtures("stub_terraform")
def test_the_real_stack_is_configured_in_the_copy_only(tmp_path: Path) -> None:
    tf = Terraform(tmp_path, source=REPO_TERRAFORM, runner=RecordingRunner())
    tf.prepare()
    configured = [
        str(p.relative_to(tf.module))
        for p in tf.module.rglob("*.tf")
        if 'provider "aws"' in p.read_text()
    ]
    assert configured == ["providers.tf"]
    assert not any('provider "aws"' in p.read_text() for p in REPO_TERRAFORM.glob("*.tf"))


@pytest.mark.usefixtures("stub_terraform")
def test_apply_reports_progress(stack: Path, tmp_path: Path, recorder: RecordingRunner) -> None:
    """The total comes from the saved plan, before the first resource: Terraform's apply stream
    alone has no plan summary (the old ``5/0 ... 18/0``)."""
    read = _hook("data.aws_caller_identity.this", "read")
    recorder.results[("plan",)] = (
        0,
        [
            _event("version", terraform="1.11.0"),
            # data sources are read while planning, with apply hooks (the old "0" total)
            _event("apply_start", hook=read),
            _event("apply_complete", hook=read),
            *[_event("planned_change", change={"resource": {"addr": a}}) for a in "xyz"],
            _event("change_summary", changes={**SUMMARY, "operation": "plan"}),
        ],
    )
    recorder.results[("apply",)] = (
        0,
        [
            _event("version", terraform="1.11.0"),
            _event("apply_start", hook=read),
            _event("apply_complete", hook=read),
            _event("apply_start", hook=_hook("a.x")),
            _event("apply_complete", hook=_hook("a.x", elapsed_seconds=1)),
            _event("apply_start", hook=_hook("a.y")),
            _event("apply_progress", hook=_hook("a.y", elapsed_seconds=10)),
            _event("apply_complete", hook=_hook("a.y", elapsed_seconds=12)),
            _event("apply_start", hook=_hook("a.z")),
            _event("apply_complete", hook=_hook("a.z")),
            _event("change_summary", changes={**SUMMARY, "operation": "apply"}),
        ],
    )  # fmt: skip
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    tf.write_vars({"name": "demo", "auth_token": None})
    seen: list[ApplyProgress] = []
    final = tf.apply(targets=["module.ecr_image"], progress=seen.append)

    assert recorder.commands() == [
        [
            "terraform", "plan", "-input=false", "-json", f"-out={tf.plan_file}",
            f"-var-file={tf.var_file}", "-target=module.ecr_image",
        ],
        ["terraform", "apply", "-input=false", "-auto-approve", "-json", str(tf.plan_file)],
    ]  # fmt: skip
    assert not any("-state" in arg for call in recorder.commands() for arg in call)
    assert (final.done, final.total) == (3, 3)
    assert [s.done for s in seen] == [0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3]
    assert {s.total for s in seen} == {3}
    assert "create a.y (10s)" in [s.current for s in seen]
    assert json.loads(tf.var_file.read_text()) == {"auth_token": None, "name": "demo"}
    assert oct(tf.var_file.stat().st_mode & 0o777) == "0o600"
    assert (tf.root / "apply.log").read_text().count("\n") == 11
    assert not tf.plan_file.exists()


@pytest.mark.usefixtures("stub_terraform")
def test_destroy_plans_with_destroy_and_counts_removals(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    summary = {"add": 0, "change": 0, "remove": 2, "operation": "plan"}
    recorder.results[("plan",)] = (0, [_event("change_summary", changes=summary)])
    recorder.results[("apply",)] = (
        0,
        [_event("apply_complete", hook=_hook(a, "delete")) for a in ("a.x", "a.y")],
    )
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    seen: list[ApplyProgress] = []
    final = tf.destroy(progress=seen.append)
    assert recorder.commands()[0][:5] == ["terraform", "plan", "-input=false", "-json", "-destroy"]
    assert (final.done, final.total, final.action) == (2, 2, "destroy")
    assert [(s.done, s.total) for s in seen] == [(0, 2), (1, 2), (2, 2)]


@pytest.mark.usefixtures("stub_terraform")
def test_an_apply_past_its_timeout_names_the_resource_in_progress(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    """Terraform prints "still creating" every 10 s; the apply stops at the first one past the
    deadline (the runner kills terraform) instead of hanging on an API that never answers."""
    addr = "module.endpoint.aws_appautoscaling_target.this[0]"
    recorder.results[("plan",)] = (
        0,
        [_event("change_summary", changes={**SUMMARY, "operation": "plan"})],
    )
    recorder.results[("apply",)] = (
        0,
        [
            _event("apply_complete", hook=_hook("a.x")),
            _event("apply_start", hook=_hook(addr)),
            *[_event("apply_progress", hook=_hook(addr, elapsed_seconds=10 * i)) for i in (1, 2)],
        ],
    )

    def slow(call: object) -> None:
        time.sleep(0.05)  # the deadline below passes while "terraform" runs

    recorder.on_call = slow
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    with pytest.raises(TerraformError) as caught:
        tf.apply(timeout_s=0.0)
    message = caught.value.message
    assert message.startswith("terraform apply did not finish within 0 s: still at ")
    assert f"'create {addr} (10s)' (1/3 done)" in message
    assert "`expense-cli deploy` to finish or `expense-cli destroy`" in message


@pytest.mark.usefixtures("stub_terraform")
def test_a_failure_half_way_says_how_to_finish(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    recorder.results[("plan",)] = (
        0,
        [_event("change_summary", changes={**SUMMARY, "operation": "plan"})],
    )
    diagnostic = {"severity": "error", "summary": "creating endpoint", "detail": "quota"}
    recorder.results[("apply",)] = (
        1,
        [
            _event("apply_complete", hook=_hook("a.x")),
            json.dumps({"@level": "error", "type": "diagnostic", "diagnostic": diagnostic}),
        ],
    )
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    with pytest.raises(TerraformError, match=r"; 1 of 3 change\(s\) were made: run `expense-cli"):
        tf.apply()


@pytest.mark.usefixtures("stub_terraform")
def test_state_files_are_private_whatever_terraform_wrote(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    """Terraform writes its state 0644 under a usual umask: it runs under umask 077 and every
    file of .expense/terraform is 0600 (folders 0700) after each command."""
    umasks: list[int] = []

    def write_state(call: object) -> None:
        current = os.umask(0o022)
        os.umask(current)
        umasks.append(current)
        tf.state.write_text("{}")
        os.chmod(tf.state, 0o644)  # what terraform leaves without the umask
        (tf.root / "data").mkdir(exist_ok=True, mode=0o755)
        (tf.root / "data" / "x.lock.info").write_text("{}")
        os.chmod(tf.root / "data" / "x.lock.info", 0o664)

    recorder.on_call = write_state
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    tf.init()
    tf.outputs()
    assert umasks == [0o077, 0o077]
    for path in [tf.root, *tf.root.rglob("*")]:
        want = 0o700 if path.is_dir() else 0o600
        assert oct(path.stat().st_mode & 0o777) == oct(want), path
    assert oct(tf.root.parent.stat().st_mode & 0o777) == "0o700"


@pytest.mark.usefixtures("stub_terraform")
def test_local_backend_is_configured_at_init(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    tf.init()
    assert recorder.commands() == [
        [
            "terraform", "init", "-input=false", "-no-color", "-reconfigure",
            f"-backend-config=path={tf.state}",
        ]
    ]  # fmt: skip
    assert 'backend "local" {}' in (tf.module / "backend.tf").read_text()


@pytest.mark.parametrize(
    ("backend", "config"),
    [
        (
            S3Backend("team-state", "envs/prod/expense.tfstate", "eu-west-1"),
            ["bucket=team-state", "key=envs/prod/expense.tfstate", "region=eu-west-1",
             "use_lockfile=true", "encrypt=true"],
        ),
        (
            S3Backend("b", lock_table="tf-locks"),
            ["bucket=b", "key=expense/terraform.tfstate", "dynamodb_table=tf-locks",
             "encrypt=true"],
        ),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("stub_terraform")
def test_s3_backend_is_a_partial_config(
    stack: Path, tmp_path: Path, recorder: RecordingRunner, backend: S3Backend, config: list[str]
) -> None:
    tf = Terraform(tmp_path, source=stack, runner=recorder, backend=backend)
    tf.init()
    (init,) = recorder.commands()
    assert init[:6] == [
        "terraform",
        "init",
        "-input=false",
        "-no-color",
        "-migrate-state",
        "-force-copy",
    ]
    assert init[6:] == [f"-backend-config={c}" for c in config]
    assert 'backend "s3" {}' in (tf.module / "backend.tf").read_text()
    recorder.results[("state", "pull")] = (
        0,
        [json.dumps({"resources": [{"type": "aws_x", "instances": [{}]}]})],
    )
    assert tf.has_state()


@pytest.mark.usefixtures("stub_terraform")
def test_apply_failure_names_the_first_error(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    diagnostic = {
        "severity": "error",
        "summary": "creating SageMaker Endpoint",
        "detail": "ResourceLimitExceeded:\n  account-level service limit",
    }
    recorder.results[("apply",)] = (
        1,
        [json.dumps({"@level": "error", "type": "diagnostic", "diagnostic": diagnostic})],
    )
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    with pytest.raises(TerraformError) as caught:
        tf.destroy()
    assert caught.value.message == (
        "terraform destroy failed: creating SageMaker Endpoint: ResourceLimitExceeded: "
        f"account-level service limit (full output in {tf.root / 'destroy.log'})"
    )


@pytest.mark.usefixtures("stub_terraform")
def test_init_failure_without_json(stack: Path, tmp_path: Path, recorder: RecordingRunner) -> None:
    recorder.results[("init",)] = (1, ["Initializing...", "Error: Failed to query provider", ""])
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    with pytest.raises(
        TerraformError, match="terraform init failed: Error: Failed to query provider"
    ):
        tf.init()


@pytest.mark.usefixtures("stub_terraform")
def test_outputs(stack: Path, tmp_path: Path, recorder: RecordingRunner) -> None:
    outputs = {
        "function_url": {"sensitive": False, "type": "string", "value": "https://x.on.aws/"},
        "repository_url": {"sensitive": False, "type": "string", "value": None},
    }
    recorder.results[("output",)] = (0, json.dumps(outputs, indent=2).splitlines())
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    assert tf.outputs() == {"function_url": "https://x.on.aws/", "repository_url": None}
    assert recorder.commands()[0] == ["terraform", "output", "-json"]


@pytest.mark.usefixtures("stub_terraform")
def test_state_resources(stack: Path, tmp_path: Path) -> None:
    tf = Terraform(tmp_path, source=stack, runner=RecordingRunner())
    assert not tf.has_state()
    tf.root.mkdir(parents=True)
    tf.state.write_text(json.dumps({"resources": [{"type": "aws_x", "instances": [{}]}]}))
    assert tf.has_state()
    tf.state.write_text(json.dumps({"resources": [{"type": "aws_x", "instances": []}]}))
    assert not tf.has_state()
    assert os.access(tf.state, os.R_OK)


_STATE = json.dumps({"version": 4, "resources": [{"type": "aws_x", "instances": [{"a": 1}]}]})
_DAMAGED = {
    "truncated": _STATE[: len(_STATE) // 2],
    "overwritten with text": "garbage\n",
    "not UTF-8": "\udcff\udcfe{\n",  # written as the raw bytes ff fe below
    "a JSON list": "[]",
    "resources not a list": json.dumps({"version": 4, "resources": {"a": 1}}),
    "a resource not an object": json.dumps({"version": 4, "resources": ["aws_x"]}),
}


@pytest.mark.usefixtures("stub_terraform")
@pytest.mark.parametrize("kind", sorted(_DAMAGED))
def test_a_damaged_local_state_is_one_clear_error(
    stack: Path, tmp_path: Path, recorder: RecordingRunner, kind: str
) -> None:
    """Seen as a user: a truncated state made `destroy`/`status` crash with "internal error:
    JSONDecodeError", and a state overwritten with text made `destroy` say "nothing to destroy"
    while everything was still deployed. Terraform is not even started (`init` checks first)."""
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    tf.root.mkdir(parents=True)
    tf.state.write_bytes(_DAMAGED[kind].encode("utf-8", "surrogateescape"))
    expected = (
        f"the Terraform state {tf.state} is damaged (not "
        + ("a Terraform state" if kind.startswith(("a ", "resources")) else "valid JSON")
        + f"): restore it, e.g. from {tf.state}.backup (the state before the last change); "
        "until then expense-cli cannot tell what is deployed"
    )
    for call in (tf.has_state, tf.state_resources, tf.init):
        with pytest.raises(ConfigError) as caught:
            call()
        assert caught.value.message == expected
    assert recorder.calls == []


@pytest.mark.usefixtures("stub_terraform")
def test_an_empty_state_file_is_no_state(stack: Path, tmp_path: Path) -> None:
    """As for Terraform: a zero-length (or blank) state file holds nothing."""
    tf = Terraform(tmp_path, source=stack, runner=RecordingRunner())
    tf.root.mkdir(parents=True)
    for text in ("", "\n  \n"):
        tf.state.write_text(text)
        assert tf.state_resources() == [] and not tf.has_state()


@pytest.mark.usefixtures("stub_terraform")
def test_a_damaged_shared_state_is_one_clear_error(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    backend = S3Backend(bucket="b", key="expense/x.tfstate")
    tf = Terraform(tmp_path, source=stack, runner=recorder, backend=backend)
    recorder.results[("state", "pull")] = (0, ['{"version": 4, "resources": [tru'])
    with pytest.raises(ConfigError) as caught:
        tf.has_state()
    assert caught.value.message == (
        "the Terraform state s3://b/expense/x.tfstate is damaged (not valid JSON): restore it; "
        "until then expense-cli cannot tell what is deployed"
    )
    recorder.results[("state", "pull")] = (0, [])  # no state yet: nothing
    assert not tf.has_state()


@pytest.mark.usefixtures("stub_terraform")
def test_an_error_listing_its_problems_names_them(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    """Terraform's "Error: ...: 2 problems:" is followed by the problems: they are the message."""
    recorder.results[("init",)] = (
        1,
        [
            "Initializing the backend...",
            "Error: Error refreshing state: 2 problems:",
            "",
            "- Unsupported state file format: The state file could not be parsed as JSON.",
            "- Unsupported state file format: no version attribute.",
        ],
    )
    tf = Terraform(tmp_path, source=stack, runner=recorder)
    with pytest.raises(TerraformError) as caught:
        tf.init()
    assert caught.value.message.startswith(
        "terraform init failed: Error: Error refreshing state: 2 problems: - Unsupported state "
        "file format: The state file could not be parsed as JSON. - Unsupported state file "
        "format: no version attribute. (full output in "
    )


@pytest.mark.usefixtures("stub_terraform")
def test_failed_resources_are_not_counted_as_made(
    stack: Path, tmp_path: Path, recorder: RecordingRunner
) -> None:
    """Seen deploying a name another directory already uses: every create failed ("already
    exists"), yet the message said "4 of 13 change(s) were made: ... `expense-cli deploy` to
    finish", while the state held nothing (and `status`: "no deployment found")."""
    recorder.results[("plan",)] = (
        0,
        [_event("change_summary", changes={**SUMMARY, "operation": "plan"})],
    )
    diagnostic = {"severity": "error", "summary": "creating log group", "detail": "exists"}
    error = json.dumps({"@level": "error", "type": "diagnostic", "diagnostic": diagnostic})
    cases = {
        0: [_event("apply_errored", hook=_hook("a.x")), _event("apply_errored", hook=_hook("b.y"))],
        1: [
            _event("apply_errored", hook=_hook("a.x")),
            _event("apply_complete", hook=_hook("b.y")),
        ],
    }
    for made, events in cases.items():
        recorder.results[("apply",)] = (1, [*events, error])
        seen: list[ApplyProgress] = []
        tf = Terraform(tmp_path, source=stack, runner=recorder)
        with pytest.raises(TerraformError) as caught:
            tf.apply(progress=seen.append)
        message = caught.value.message
        assert message.startswith("terraform apply failed: creating log group: exists (full")
        if made:
            assert message.endswith(f"; 1 of 3 change(s) were made: {_FINISH}")
        else:
            assert "were made" not in message and "to finish" not in message
        assert seen[-1].done == 2  # the progress bar still counts both as finished
