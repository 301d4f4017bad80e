"""Formatting, validation and module conventions of terraform/ (no AWS, no network)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.terraform._tf import TERRAFORM_SRC, TfRunner, copy_root_stack

pytestmark = pytest.mark.terraform

MODULES = ("ecr_image", "sagemaker_endpoint", "function_url")
EXAMPLES = ("realtime", "serverless")
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")

# Every directory holding a Terraform configuration, found on disk so new ones are covered too.
# cli/ is not one: its providers.tf only makes sense beside the root stack (validated that way).
CONFIG_DIRS = sorted(
    {
        str(path.parent.relative_to(TERRAFORM_SRC))
        for path in TERRAFORM_SRC.rglob("*.tf")
        if ".terraform" not in path.parts and path.parent.name != "cli"
    }
)
TF_FILES = sorted(p for p in TERRAFORM_SRC.rglob("*.tf") if ".terraform" not in p.parts)


def _blocks(text: str, kind: str) -> dict[str, str]:
    """Top-level `kind "name" { ... }` blocks of a `terraform fmt`-formatted file, by name."""
    pattern = re.compile(rf'^{kind} "([^"]+)" \{{\n(.*?)^\}}', re.MULTILINE | re.DOTALL)
    return {m.group(1): m.group(2) for m in pattern.finditer(text)}


def test_layout_has_every_module_and_example() -> None:
    for module in MODULES:
        for name in MODULE_FILES:
            assert (TERRAFORM_SRC / "modules" / module / name).is_file(), f"{module}/{name}"
    for example in EXAMPLES:
        assert (TERRAFORM_SRC / "examples" / example / "main.tf").is_file()
    assert list((TERRAFORM_SRC / "tests").glob("*.tftest.hcl"))
    assert {"modules/" + m for m in MODULES} | {"examples/" + e for e in EXAMPLES} | {"."} <= set(
        CONFIG_DIRS
    )


def test_fmt_check(tf: TfRunner) -> None:
    proc = tf(TERRAFORM_SRC, "fmt", "-check", "-recursive", "-diff", "-no-color", check=False)
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("config_dir", CONFIG_DIRS)
def test_validate(tf: TfRunner, tf_tree: Path, config_dir: str) -> None:
    workdir = tf_tree / config_dir
    tf(workdir, "init", "-input=false", "-backend=false", "-no-color")
    proc = tf(workdir, "validate", "-json", "-no-color", check=False)
    result = json.loads(proc.stdout)
    assert result["valid"], json.dumps(result["diagnostics"], indent=2)
    assert result["warning_count"] == 0, json.dumps(result["diagnostics"], indent=2)


def test_validate_as_the_cli_runs_it(tf: TfRunner, tmp_path: Path) -> None:
    """The root stack with cli/providers.tf beside it (what expense-cli runs) is valid."""
    tree = copy_root_stack(tmp_path)
    tf(tree, "init", "-input=false", "-backend=false", "-no-color")
    result = json.loads(tf(tree, "validate", "-json", "-no-color", check=False).stdout)
    assert result["valid"] and result["warning_count"] == 0, json.dumps(result, indent=2)


def test_provider_blocks_only_in_callers() -> None:
    """terraform-aws-modules style: the stack and its modules never configure a provider.

    The stack is itself a module of examples/realtime; a provider block inside it would stop
    callers from using count/for_each/depends_on on it and pin its region.
    """
    callers = {"examples", "cli"}
    found = {
        str(path.relative_to(TERRAFORM_SRC))
        for path in TF_FILES
        if re.search(r'^\s*provider\s+"', path.read_text(), re.MULTILINE)
    }
    assert {f for f in found if not callers & set(Path(f).parts)} == set()
    for example in EXAMPLES:
        text = "".join(p.read_text() for p in (TERRAFORM_SRC / "examples" / example).glob("*.tf"))
        assert re.search(r'^provider "aws" \{$', text, re.MULTILINE), example
    cli = _blocks((TERRAFORM_SRC / "cli" / "providers.tf").read_text(), "provider")["aws"]
    assert re.search(r"^  region = var\.region$", cli, re.MULTILINE)
    assert "endpoint" not in cli and "access_key" not in cli


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TERRAFORM_SRC)))
def test_terraform_version_supports_write_only_arguments(path: Path) -> None:
    """value_wo needs Terraform >= 1.11 and hashicorp/aws >= 5.90 wherever a version is pinned."""
    text = path.read_text()
    for pin in re.findall(r'required_version\s*=\s*"([^"]+)"', text):
        assert pin == ">= 1.11", f"{path}: required_version {pin}"
    for pin in re.findall(r'source\s*=\s*"hashicorp/aws"\s*\n\s*version\s*=\s*"([^"]+)"', text):
        assert pin == ">= 5.90, < 6.0", f"{path}: aws provider {pin}"
    if path.name == "versions.tf":
        assert "required_version" in text and "hashicorp/aws" in text


@pytest.mark.parametrize("module", MODULES)
def test_module_conventions(module: str) -> None:
    """terraform-aws-modules style: a primary `this`, documented and typed variables."""
    root = TERRAFORM_SRC / "modules" / module
    main = (root / "main.tf").read_text()
    assert re.search(r'^resource "aws_[a-z0-9_]+" "this" \{', main, re.MULTILINE)

    variables = _blocks((root / "variables.tf").read_text(), "variable")
    assert variables
    for name, body in variables.items():
        assert re.search(r'^  description = ".+"$', body, re.MULTILINE), f"{name}: description"
        assert re.search(r"^  type        = \S", body, re.MULTILINE), f"{name}: type"

    outputs = _blocks((root / "outputs.tf").read_text(), "output")
    assert outputs
    for name, body in outputs.items():
        assert re.search(r'^  description = ".+"$', body, re.MULTILINE), f"{name}: description"

    readme = (root / "README.md").read_text()
    for name in variables:
        assert f"`{name}`" in readme, f"{module}/README.md does not document variable {name}"


def test_root_contract_variables_and_outputs() -> None:
    """The variables and outputs the deploy CLI relies on exist, with their defaults."""
    variables = _blocks((TERRAFORM_SRC / "variables.tf").read_text(), "variable")
    expected_defaults = {
        "name": '"expense"',
        "region": "null",
        "tags": "{}",
        "image_uri": "null",
        "image_tag": '"latest"',
        "create_repository": "true",
        "instance_type": '"ml.m5.xlarge"',
        "min_instances": "1",
        "max_instances": "4",
        "target_invocations_per_instance": "300",
        "scale_in_cooldown": "300",
        "scale_out_cooldown": "300",
        "serverless": "false",
        "serverless_memory_mb": "4096",
        "serverless_max_concurrency": "5",
        "model_env": "{}",
        "auth": '"iam"',
        "auth_token": "null",
        "reserved_concurrency": "10",
        "lambda_timeout": "120",
        "lambda_memory_mb": "512",
        "cors_allow_origins": "[]",
        "log_retention_days": "30",
        "auth_token_version": "1",
        "immutable_tags": "false",
        "ecr_kms_key_arn": "null",
        "endpoint_kms_key_arn": "null",
        "log_kms_key_arn": "null",
        "token_kms_key_arn": "null",
        "trust_source_conditions": "true",
    }
    for name, default in expected_defaults.items():
        assert name in variables, name
        assert re.search(rf"^  default\s+= {re.escape(default)}$", variables[name], re.MULTILINE), (
            f"{name} default should be {default}"
        )
    assert "lambda_zip" in variables
    assert "default" not in variables["lambda_zip"], "lambda_zip is required"
    # The token never reaches state or plan files: ephemeral, only used by value_wo.
    for flag in ("sensitive", "ephemeral"):
        assert re.search(rf"^  {flag}\s+= true$", variables["auth_token"], re.MULTILINE), flag

    outputs = _blocks((TERRAFORM_SRC / "outputs.tf").read_text(), "output")
    for name in (
        "function_url",
        "function_name",
        "endpoint_name",
        "repository_url",
        "token_parameter_name",
        "region",
        "autoscaling",
    ):
        assert name in outputs, name
