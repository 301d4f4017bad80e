"""A cached virtual environment with the model image's library versions.

The image (container/Dockerfile) runs the transformers, tokenizers and huggingface_hub of its
base image, pinned in expense_cli/aws/_image.py (``IMAGE_LIBRARIES``); the development venv runs
whatever the ranges of pyproject.toml resolve to today. ``compat_venv()`` makes ``.venv-compat``
next to ``.venv``: the same Python and the same CPU torch as the running venv (the image's torch
2.6 CPU build is not on PyPI, and a bare ``pip install torch`` pulls the CUDA build), the
package with the extras the engine and serving tests import, and exactly the pinned libraries.
A stamp file records what it was built for: it is made anew when Python or torch change, and
updated by pip when the pins, the test tools or pyproject.toml do, so only the first run pays for
the whole install.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from expense_cli.aws._image import IMAGE_LIBRARIES

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-compat"
STAMP = VENV / ".expense-compat.json"
# What the engine and serving tests need besides the package: the same versions as this venv.
# httpx2: starlette's TestClient transport (without it the client warns, an error here); the
# main venv has it from the dev extra, the image's huggingface_hub does not bring it
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis", "httpx2")
EXTRAS = "fast,serve,deploy,onnx"  # deploy: boto3 for the runtime-path tests; onnx: the backend


def torch_requirement() -> str:
    """``torch==X.Y.Z`` of this venv (without its ``+cpu`` local label)."""
    return "torch==" + importlib.metadata.version("torch").split("+")[0]


def requirements() -> list[str]:
    # The image installs transformers[sentencepiece,audio,vision]: the sentencepiece extra
    # (sentencepiece, protobuf) changes how tokenizers load, the others do not concern it.
    extras = {"transformers": "[sentencepiece]"}
    pins = [f"{name}{extras.get(name, '')}=={version}" for name, version in IMAGE_LIBRARIES.items()]
    tools = [f"{name}=={importlib.metadata.version(name)}" for name in TEST_TOOLS]
    return [*pins, *tools]


def wanted_stamp() -> dict[str, object]:
    pyproject = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return {
        "python": sys.version.split()[0],
        "torch": torch_requirement(),
        "requirements": requirements(),
        "extras": EXTRAS,
        "pyproject": pyproject,
    }


def python() -> Path:
    return VENV / "bin" / "python"


def _pip(*args: str) -> None:
    done = subprocess.run(
        [str(python()), "-m", "pip", "install", "--quiet", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n" + "\n".join(tail))


def _stamp() -> dict[str, object] | None:
    if not (STAMP.is_file() and python().is_file()):
        return None
    try:
        found = json.loads(STAMP.read_text())
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def compat_venv() -> Path:
    """The interpreter of ``.venv-compat``, updated when its stamp is not the wanted one: made
    anew for another Python or torch, else brought to the wanted requirements by pip."""
    wanted = wanted_stamp()
    found = _stamp()
    if found == wanted:
        return python()
    if found is None or any(found.get(key) != wanted[key] for key in ("python", "torch")):
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        # torch first and alone: the CPU build this venv runs, never a resolver's pick
        _pip(str(wanted["torch"]))
    STAMP.unlink(missing_ok=True)
    _pip("-e", f".[{EXTRAS}]", *requirements())
    STAMP.write_text(json.dumps(wanted, indent=1) + "\n")
    return python()


def clean_env() -> dict[str, str]:
    """This process's environment for a child of the compat venv (no trace of this venv)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS")
        and not key.startswith("PYTEST_")
    }
    env["PATH"] = os.pathsep.join([str(VENV / "bin"), env.get("PATH", os.defpath)])
    return env


def run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` of the compat venv in the checkout, output captured."""
    return subprocess.run(
        [str(python()), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(),
        timeout=timeout,
        check=False,
    )
