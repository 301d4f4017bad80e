"""The engine and serving tests under the model image's library versions (issue 19).

The image keeps its base's transformers, tokenizers and huggingface_hub (pinned in
expense_cli/aws/_image.py, enforced at build time by container/check_image.py); the development
venv runs newer ones. The ``compat`` tests run the engine and serving suites again in
``.venv-compat`` (tests/compat/_venv.py), which has exactly the pinned versions, so a change that
only works on the newest transformers fails here before it fails in an endpoint. ``make test``
runs them; the venv is cached between runs.

Not covered here: the image's Python (3.12; the venv uses this machine's Python) and its torch
(2.6; the venv uses this venv's CPU torch): see README's container section.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from expense_cli.aws._image import IMAGE_LIBRARIES
from tests.compat._venv import ROOT, compat_venv, run

# The inner run: every engine and serving test except the browser page (chromium, not a library
# of the image) and the Dockerfile checks (static, the same under any library version), with one
# warning of transformers 5.5.3's own code tolerated (tests/compat/_inner.py).
INNER = [
    "-p",
    "tests.compat._inner",
    "tests/engine",
    "tests/serving",
    "--ignore=tests/serving/test_serving_container.py",
    "-m",
    "not browser",
    "-q",
    "-p",
    "no:cacheprovider",
]


@pytest.fixture(scope="module")
def venv_python() -> Iterator[Path]:
    yield compat_venv()


@pytest.mark.compat
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_compat_venv_has_the_image_versions(venv_python: Path) -> None:
    names = sorted(IMAGE_LIBRARIES)
    probe = (
        "import importlib.metadata as m, json, transformers, tokenizers, huggingface_hub, torch;"
        f"print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    )
    done = run(["-c", probe], timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == IMAGE_LIBRARIES


@pytest.mark.compat
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_engine_and_serving_tests_pass_with_the_image_versions(venv_python: Path) -> None:
    done = run(["-m", "pytest", *INNER], timeout=2000)
    output = done.stdout + done.stderr
    tail = "\n".join(output.strip().splitlines()[-40:])
    assert done.returncode == 0, tail
    passed = re.search(r"(\d+) passed", tail)
    assert passed is not None and int(passed.group(1)) >= 100, tail
    assert " failed" not in tail.splitlines()[-1], tail


def minimum(requirement: str) -> tuple[str, str]:
    name, _, version = requirement.partition(">=")
    return name.strip().replace("-", "_").lower(), version.split(",")[0].strip()


def test_package_minimums_are_the_image_versions() -> None:
    """pyproject.toml's floors are the versions the compat run tests (the oldest tested)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = dict(minimum(r) for r in declared if ">=" in r)
    for name, version in IMAGE_LIBRARIES.items():
        assert floors.get(name) == version, f"{name}>={version} in pyproject.toml"
