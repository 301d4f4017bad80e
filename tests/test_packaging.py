"""The built wheel works outside the checkout, without torch (issue 13).

The wheel is built from a copy of the sources (``setup.py`` bundles ``terraform/``, ``handler/``
and ``container/`` as ``expense_cli/_bundle``) and installed with ``--no-deps`` into a fresh
virtual environment together with only the light dependencies the deployment commands use. Every
command then runs from a directory that is not the checkout, so nothing can be found by accident
through the source tree.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from expense_cli._assets import BUNDLE_DIR, bundle_files

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
LIGHT = ("typer", "rich", "httpx", "boto3")  # what the deploy commands import; no torch
_NOT_SOURCES = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".terraform", "*.tfstate*", "model", "*.egg-info", "build", "dist"
)


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the sources the wheel is built from (the checkout is never written to, and
    the tests compare against this snapshot, not against files that may change meanwhile)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("expense_cli", "terraform", "handler", "container"):
        shutil.copytree(REPO / name, src / name, ignore=_NOT_SOURCES)
    return src


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, sources: Path) -> Path:
    """``pip wheel --no-deps`` of the snapshot."""
    out = tmp_path_factory.mktemp("dist")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(sources))
    (found,) = out.glob("expense_cli-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Iterator[Path]:
    """A new virtual environment with the wheel (no dependencies) + the light packages."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _pip("--python", str(python), "install", "--quiet", "--no-deps", str(wheel))
    _pip("--python", str(python), "install", "--quiet", *LIGHT)
    yield env_dir


def _run(fresh: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPENSE_", "PYTHON", "AWS_"))}
    env["PATH"] = f"{fresh / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["AWS_CONFIG_FILE"] = str(cwd / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(cwd / "no-aws-credentials")
    return subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory that is not the checkout, with a name to trip up path handling."""
    path = tmp_path / "projet [prod] 🧾"
    path.mkdir()
    return path


def test_wheel_carries_the_assets_and_no_serve_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    shipped = {f"expense_cli/{BUNDLE_DIR}/{p}" for p in bundle_files(REPO)}
    assert shipped <= names
    for needed in ("terraform/main.tf", "handler/app.py", "container/Dockerfile"):
        assert f"expense_cli/{BUNDLE_DIR}/{needed}" in names
    assert not [n for n in names if "/tests/" in n or n.endswith((".tfstate", ".pyc"))]
    assert "expense-cli = expense_cli.cli:main" in scripts
    assert "serve =" not in scripts  # the container runs `python -m expense_cli.serving`


def test_no_torch_in_the_fresh_environment(fresh: Path, elsewhere: Path) -> None:
    done = _run(fresh, elsewhere, "python", "-c", "import torch")
    assert done.returncode == 1 and "No module named 'torch'" in done.stderr


def test_version(fresh: Path, elsewhere: Path) -> None:
    done = _run(fresh, elsewhere, "expense-cli", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("expense-cli ")
    assert done.stdout.strip() != "expense-cli 0.0.0"


def test_package_zips_the_shipped_handler(fresh: Path, elsewhere: Path, sources: Path) -> None:
    """The zip holds the handler the wheel was built from (+ the contract module), as the
    checkout's zip does: each entry is byte for byte a file of the sources."""
    done = _run(fresh, elsewhere, "expense-cli", "package")
    assert done.returncode == 0, done.stderr
    zip_path = elsewhere / ".expense" / "handler.zip"
    assert str(zip_path) in done.stdout
    data = zip_path.read_bytes()
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert f"sha256 (base64): {digest}" in done.stdout
    with zipfile.ZipFile(zip_path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    handler = {p.name for p in (sources / "handler").glob("*.py")}
    assert handler <= set(entries) and "app.py" in entries
    for name, content in entries.items():
        source = sources / "handler" / name if name in handler else sources / name
        assert source.is_file() and source.read_bytes() == content, name


def test_plan_help(fresh: Path, elsewhere: Path) -> None:
    done = _run(fresh, elsewhere, "expense-cli", "plan", "--help")
    assert done.returncode == 0, done.stderr
    assert "--serverless" in done.stdout


def test_deploy_finds_the_shipped_stack_and_container(fresh: Path, elsewhere: Path) -> None:
    script = (
        "import sys, tempfile, pathlib\n"
        "from expense_cli.aws import find_terraform_source, find_source_root, assemble_context\n"
        "print(find_terraform_source())\n"
        "print(find_source_root())\n"
        "ctx = assemble_context(pathlib.Path(tempfile.mkdtemp()) / 'ctx')\n"
        "names = sorted(p.relative_to(ctx).as_posix() for p in ctx.rglob('*') if p.is_file())\n"
        "print(*names, sep='\\n')\n"
    )
    done = _run(fresh, elsewhere, "python", "-c", script)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    site = str(fresh)
    assert lines[0].startswith(site) and lines[0].endswith(f"{BUNDLE_DIR}/terraform")
    assert lines[1].startswith(site) and lines[1].endswith(BUNDLE_DIR)
    files = set(lines[2:])
    assert {
        "pyproject.toml",
        "README.md",
        "container/Dockerfile",
        "expense_cli/cli/__init__.py",
    } <= (files)
    assert not [f for f in files if BUNDLE_DIR in f or "__pycache__" in f]


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["serve"], "pip install 'expense-cli[serve]'"),
        (["ask", "--local", "receipt.png"], "pip install"),
        (["demo"], "pip install"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_missing_extras_give_one_line(
    fresh: Path, elsewhere: Path, argv: list[str], hint: str
) -> None:
    (elsewhere / "receipt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    done = _run(fresh, elsewhere, "expense-cli", *argv)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert hint in lines[0]
