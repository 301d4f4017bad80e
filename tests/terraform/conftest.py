"""Fixtures for the Terraform tests: the terraform binary, its environment, and a scratch copy.

Nothing is ever written into the source tree: every ``init``/``validate``/``test``/``apply``
runs in a copy of ``terraform/`` under pytest's tmp dir (``.terraform/``, lock files and state
stay there), and ``TF_DATA_DIR`` points into the same tmp dir. ``terraform fmt -check`` and checkov
read the source tree without writing to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_REPO_ROOT = Path(__file__).resolve().parents[2]
# tests/_moto.py and tests/terraform/_tf.py are imported as `tests.…` however pytest was started.
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from tests.terraform._tf import (  # noqa: E402
    OFFLINE_CONFIG,
    TfRunner,
    copy_terraform_tree,
    make_runner,
    missing,
)


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    found = shutil.which("terraform")
    if found is None:
        missing("terraform")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def tf_base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for terraform: offline provider mirror when there is one, no prompts."""
    env = {
        key: value
        for key, value in os.environ.items()
        # A developer's own AWS settings or TF_VAR_s must not leak into the tests.
        if not key.startswith(("AWS_", "TF_VAR_", "TF_CLI_ARGS"))
    }
    env.update(
        {
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "NO_COLOR": "1",
        }
    )
    config = ""
    if OFFLINE_CONFIG.is_file():
        config = subprocess.run(
            [str(OFFLINE_CONFIG)], capture_output=True, text=True, check=True, timeout=120
        ).stdout.strip()
    if config:
        env["TF_CLI_CONFIG_FILE"] = config
    else:
        # Registry downloads: share one provider download between the several inits.
        cache = tmp_path_factory.mktemp("tf-plugin-cache")
        env["TF_PLUGIN_CACHE_DIR"] = str(cache)
    return env


@pytest.fixture(scope="session")
def tf_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide scratch copy of terraform/ for read-only runs (validate, test)."""
    return copy_terraform_tree(tmp_path_factory.mktemp("tf-tree"))


@pytest.fixture(scope="session")
def tf(
    terraform_bin: str, tf_base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> TfRunner:
    return make_runner(terraform_bin, tf_base_env, tmp_path_factory.mktemp("tf-data"))


@pytest.fixture(scope="session")
def tf_tree_initialised(tf_tree: Path, tf: TfRunner) -> Path:
    """The scratch copy with the root stack initialised (providers + local modules)."""
    tf(tf_tree, "init", "-input=false", "-backend=false", "-no-color")
    return tf_tree


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A fresh moto server (with the autoscaling tagging patch) on 127.0.0.1 for one test."""
    from tests._moto import moto_server

    with moto_server() as endpoint:
        yield endpoint
