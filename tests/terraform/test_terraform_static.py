"""Formatting, validation and module conventions of terraform/ (no AWS, no network)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.terraform._tf import TERRAFORM_SRC, TfRunner

pytestmark = pytest.mark.terraform

MODULES = ("ecr_image", "sagemaker_endpoint", "function_url")
EXAMPLES = ("realtime", "serverless")
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")

# Every directory holding a Terraform configuration, found on disk so new ones are covered too.
CONFIG_DIRS = sorted(
    {
        str(path.parent.relative_to(TERRAFORM_SRC))
        for path in TERRAFORM_SRC.rglob("*.tf")
        if ".terraform" not in path.parts
    }
)


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
        "region": '"us-east-1"',
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
    }
    for name, default in expected_defaults.items():
        assert name in variables, name
        assert re.search(rf"^  default\s+= {re.escape(default)}$", variables[name], re.MULTILINE), (
            f"{name} default should be {default}"
        )
    assert "lambda_zip" in variables
    assert "default" not in variables["lambda_zip"], "lambda_zip is required"
    assert re.search(r"^  sensitive\s+= true$", variables["auth_token"], re.MULTILINE)

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

    main = (TERRAFORM_SRC / "main.tf").read_text()
    provider = _blocks(main, "provider")["aws"]
    assert re.search(r"^  region = var\.region$", provider, re.MULTILINE)
    assert "endpoint" not in provider
