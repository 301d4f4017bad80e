"""`terraform test` (plan-only, mock_provider "aws") over terraform/tests/*.tftest.hcl."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.terraform._tf import TERRAFORM_SRC, TfRunner, copy_terraform_tree

pytestmark = pytest.mark.terraform

TEST_FILES = sorted(p.name for p in (TERRAFORM_SRC / "tests").glob("*.tftest.hcl"))


def _run_blocks(name: str) -> list[str]:
    text = (TERRAFORM_SRC / "tests" / name).read_text()
    return re.findall(r'^run "([^"]+)" \{', text, re.MULTILINE)


def _test_results(stdout: str) -> dict[str, str]:
    """run name -> status from `terraform test -json` (one JSON object per line)."""
    results: dict[str, str] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        run = message.get("test_run")
        if message.get("type") == "test_run" and run and run.get("progress") == "complete":
            results[run["run"]] = run["status"]
    return results


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_terraform_test_file_passes(
    tf: TfRunner, tf_tree_initialised: Path, test_file: str
) -> None:
    proc = tf(
        tf_tree_initialised, "test", "-json", f"-filter=tests/{test_file}", timeout=300, check=False
    )
    results = _test_results(proc.stdout)
    expected = _run_blocks(test_file)
    assert expected, f"{test_file} has no run blocks"
    failed = {run: status for run, status in results.items() if status != "pass"}
    assert not failed, f"{failed}\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
    assert sorted(results) == sorted(expected), proc.stdout[-8000:]
    assert proc.returncode == 0, proc.stderr[-4000:]


# Each mutation breaks one promise; the named run of the named test file must then stop passing.
# This shows the tftest assertions really look at what they claim to.
MUTATIONS: dict[str, tuple[str, str, str, str, str]] = {
    "default_target_not_300": (
        "variables.tf",
        "default     = 300\n\n  validation {\n    condition     = var.target_invocations",
        "default     = 250\n\n  validation {\n    condition     = var.target_invocations",
        "root_realtime.tftest.hcl",
        "defaults_realtime_with_autoscaling",
    ),
    "serverless_keeps_autoscaling": (
        "modules/sagemaker_endpoint/main.tf",
        "autoscaling  = !var.serverless && var.enable_autoscaling",
        "autoscaling  = var.enable_autoscaling",
        "root_serverless.tftest.hcl",
        "serverless_has_no_autoscaling",
    ),
    "token_parameter_unscoped": (
        "modules/function_url/main.tf",
        'Action   = "ssm:GetParameter"\n        Resource = local.token_parameter_arn',
        'Action   = "ssm:GetParameter"\n        Resource = "*"',
        "root_auth.tftest.hcl",
        "token_mode",
    ),
    "token_version_not_passed": (
        "modules/function_url/main.tf",
        "value_wo_version = var.auth_token_version",
        "value_wo_version = 1",
        "modules.tftest.hcl",
        "function_url_token_rotation",
    ),
    "lambda_trust_without_conditions": (
        "modules/function_url/main.tf",
        "var.trust_source_conditions ? {\n        Condition",
        "false ? {\n        Condition",
        "modules.tftest.hcl",
        "function_url_trust_conditions",
    ),
    "log_key_not_wired": (
        "main.tf",
        "  log_kms_key_arn      = var.log_kms_key_arn\n",
        "",
        "root_security.tftest.hcl",
        "customer_keys_and_immutable_tags",
    ),
    "nvme_check_removed": (
        "variables.tf",
        "var.endpoint_kms_key_arn == null || var.serverless || !can(",
        "var.endpoint_kms_key_arn == null || true || !can(",
        "root_validation.tftest.hcl",
        "endpoint_key_with_local_nvme_instance_g4dn",
    ),
    "memory_validation_removed": (
        "variables.tf",
        "contains([1024, 2048, 3072, 4096, 5120, 6144], var.serverless_memory_mb)",
        "var.serverless_memory_mb > 0",
        "root_validation.tftest.hcl",
        "serverless_memory_not_a_step",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_terraform_test_catches_mutation(tf: TfRunner, tmp_path: Path, mutation: str) -> None:
    relative, old, new, test_file, run = MUTATIONS[mutation]
    tree = copy_terraform_tree(tmp_path)
    target = tree / relative
    text = target.read_text()
    assert text.count(old) == 1, f"mutation anchor not found once in {relative}"
    target.write_text(text.replace(old, new))

    tf(tree, "init", "-input=false", "-backend=false", "-no-color")
    proc = tf(tree, "test", "-json", f"-filter=tests/{test_file}", timeout=300, check=False)
    results = _test_results(proc.stdout)
    assert proc.returncode != 0
    # "fail": an assertion caught it; "error": the plan failed where the test expected it to pass,
    # e.g. a module's own validation still rejecting what the root stopped rejecting.
    assert results.get(run) in {"fail", "error"}, proc.stdout[-4000:]
