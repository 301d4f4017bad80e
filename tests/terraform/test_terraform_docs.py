"""The Terraform READMEs match the configuration they document.

Inputs/outputs tables are generated from variables.tf / outputs.tf (``tests/terraform/_docs.py``)
and must be current; the examples' commands use the path ``expense-cli package`` really writes
(``expense_cli/cli/deploy.py``: ``.expense/handler.zip`` under the current directory, or ``--out``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.terraform import _docs
from tests.terraform._tf import TERRAFORM_SRC

pytestmark = pytest.mark.terraform

EXAMPLES = sorted(p.parent for p in (TERRAFORM_SRC / "examples").glob("*/main.tf"))


@pytest.mark.parametrize("folder", _docs.DOCUMENTED)
def test_readme_tables_are_generated_from_the_configuration(folder: str) -> None:
    readme = (TERRAFORM_SRC / folder / "README.md").read_text(encoding="utf-8")
    part = _docs.documented_part(readme)
    assert part is not None, f"{folder}/README.md has no {_docs.BEGIN} ... {_docs.END}"
    assert part == _docs.render(TERRAFORM_SRC / folder), (
        f"{folder}/README.md is out of date: run .venv/bin/python -m tests.terraform._docs"
    )


@pytest.mark.parametrize("folder", _docs.DOCUMENTED)
def test_tables_list_every_variable_and_output(folder: str) -> None:
    """Independent of the generator: each declared name has its own row, no row is stale."""
    text = "".join(p.read_text() for p in sorted((TERRAFORM_SRC / folder).glob("*.tf")))
    # A name may be both an input and an output: one row in each table.
    declared = re.findall(r'^(?:variable|output) "([^"]+)"', text, re.MULTILINE)
    part = _docs.documented_part((TERRAFORM_SRC / folder / "README.md").read_text()) or ""
    rows = re.findall(r"^\| `([^`]+)` \|", part, re.MULTILINE)
    assert sorted(rows) == sorted(declared)


def test_a_changed_variable_makes_the_table_stale(tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    shutil.copytree(TERRAFORM_SRC / "modules" / "ecr_image", folder)
    before = _docs.render(folder)
    variables = folder / "variables.tf"
    text = variables.read_text()
    variables.write_text(text.replace("default     = 10\n", "default     = 11\n", 1))
    assert _docs.render(folder) != before
    # Odd content survives: pipes, quotes, non-BMP characters, multi-line defaults.
    variables.write_text(
        text + 'variable "odd" {\n  description = "a | b \\"q\\" \U0001f9fe"\n  type        = '
        'list(string)\n  default = [\n    "x",\n  ]\n  sensitive   = true\n}\n'
    )
    (row,) = [line for line in _docs.render(folder).splitlines() if line.startswith("| `odd`")]
    assert row == '| `odd` | a \\| b "q" \U0001f9fe *(sensitive)* | `list(string)` | `[ "x", ]` |'


def test_tables_are_rewritten_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    shutil.copytree(TERRAFORM_SRC / "modules" / "ecr_image", folder)
    readme = folder / "README.md"
    original = readme.read_text()
    readme.write_text(original.replace("| `tags` |", "| `stale` |"))
    assert _docs.write(folder) is True
    assert readme.read_text() == original
    assert _docs.write(folder) is False


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_readme_uses_the_zip_expense_cli_package_writes(example: Path) -> None:
    readme = (example / "README.md").read_text()
    commands = "\n".join(re.findall(r"```sh\n(.*?)```", readme, re.DOTALL))
    package = re.search(r"expense-cli package(?: --out (\S+))?", commands)
    assert package, f"{example.name}/README.md does not build the zip"
    written = package.group(1) or ".expense/handler.zip"
    zips = re.findall(r"lambda_zip=(\S+)", commands)
    assert zips and set(zips) == {written}, zips
    # Every variable the commands set exists in the example.
    declared = set(re.findall(r'^variable "([^"]+)"', (example / "variables.tf").read_text(), re.M))
    assert set(re.findall(r"-var (\w+)=", commands)) <= declared
