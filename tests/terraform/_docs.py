"""Inputs/outputs tables of the Terraform READMEs, generated from variables.tf and outputs.tf.

Each README of ``terraform/`` (the root stack and every module under ``terraform/modules/``)
holds its tables between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``.
``tests/terraform/test_terraform_docs.py`` checks that they match; to rewrite them after changing
a variable or an output::

    .venv/bin/python -m tests.terraform._docs

The files are read as ``terraform fmt`` writes them (top-level blocks start in column 0 and
end with a ``}`` line), so no HCL parser is needed.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

TERRAFORM_SRC = Path(__file__).resolve().parents[2] / "terraform"
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
# Folders whose README carries generated tables: the root stack and each module.
DOCUMENTED = (".", "modules/ecr_image", "modules/sagemaker_endpoint", "modules/function_url")

_BLOCK = re.compile(r'^(variable|output) "([^"]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # HCL text; None when the variable is required
    flags: tuple[str, ...]  # "sensitive", "ephemeral"


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _attribute(body: str, name: str) -> str | None:
    """The HCL text of a top-level attribute of a block body (brackets followed across lines)."""
    match = re.search(rf"^  {name}\s*= (.*)$", body, re.MULTILINE)
    if match is None:
        return None
    text = match.group(1)
    rest = body[match.end() :].split("\n")[1:]  # the lines after the attribute's own
    while text.count("[") + text.count("{") + text.count("(") > (
        text.count("]") + text.count("}") + text.count(")")
    ):
        text += "\n" + rest.pop(0)
    return " ".join(line.strip() for line in text.splitlines())


def _string(text: str | None) -> str:
    # HCL's quoted-string escapes used here (\" and \\) are JSON's.
    return str(json.loads(text)) if text else ""


def read_config(folder: Path) -> tuple[list[Variable], list[Output]]:
    """Variables and outputs of one configuration folder, in file order."""
    variables: list[Variable] = []
    outputs: list[Output] = []
    for path in sorted(folder.glob("*.tf")):
        for kind, name, body in _BLOCK.findall(path.read_text(encoding="utf-8")):
            description = _string(_attribute(body, "description"))
            if kind == "output":
                outputs.append(Output(name, description))
                continue
            flags = tuple(f for f in ("sensitive", "ephemeral") if _attribute(body, f) == "true")
            variables.append(
                Variable(
                    name,
                    description,
                    _attribute(body, "type") or "any",
                    _attribute(body, "default"),
                    flags,
                )
            )
    return variables, outputs


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(folder: Path) -> str:
    """The generated part of folder/README.md (between the markers, markers excluded)."""
    variables, outputs = read_config(folder)
    lines = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default |",
        "|------|-------------|------|---------|",
    ]
    for var in sorted(variables, key=lambda v: (v.default is not None, v.name)):
        description = var.description + "".join(f" *({flag})*" for flag in var.flags)
        default = "required" if var.default is None else f"`{_cell(var.default)}`"
        lines.append(f"| `{var.name}` | {_cell(description)} | `{_cell(var.type)}` | {default} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for out in sorted(outputs, key=lambda o: o.name):
        lines.append(f"| `{out.name}` | {_cell(out.description)} |")
    return "\n".join(lines)


def documented_part(readme: str) -> str | None:
    """The text between the markers of a README, or None when it has no markers."""
    if BEGIN not in readme or END not in readme:
        return None
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def write(folder: Path) -> bool:
    """Rewrite folder/README.md's generated part; True when it changed."""
    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8")
    if documented_part(text) is None:
        raise SystemExit(f"{readme}: add {BEGIN} and {END} where the tables go")
    head, tail = text.split(BEGIN, 1)
    new = f"{head}{BEGIN}\n{render(folder)}\n{END}{tail.split(END, 1)[1]}"
    readme.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    changed = [f for f in DOCUMENTED if write(TERRAFORM_SRC / f)]
    print("rewritten: " + (", ".join(changed) or "none"), file=sys.stderr)
