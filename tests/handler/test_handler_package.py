"""The handler zip is deterministic and contains exactly the handler modules at its root."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import expense_cli.contract
import expense_cli.page
from expense_cli.aws._package import (
    CONTRACT_ENTRY,
    HANDLER_ENTRY,
    PAGE_ENTRY,
    build_handler_zip,
    default_handler_dir,
    handler_sources,
)

HANDLER_DIR = default_handler_dir()


def _copy_handler(dest: Path) -> Path:
    shutil.copytree(HANDLER_DIR, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_default_handler_dir_is_the_repository_handler() -> None:
    assert Path(__file__).resolve().parents[2] / "handler" == HANDLER_DIR
    assert (HANDLER_DIR / "app.py").is_file()
    assert HANDLER_ENTRY == "app.lambda_handler"


def test_same_sources_give_identical_bytes(tmp_path: Path) -> None:
    source = _copy_handler(tmp_path / "src")
    first, first_hash = build_handler_zip(tmp_path / "a", source=source)
    first_bytes = first.read_bytes()

    # Change everything that must not matter: mtimes, permissions, stray files, caches.
    for i, path in enumerate(sorted(source.iterdir())):
        os.utime(path, (1_000_000 + i * 777, 2_000_000_000 - i * 999))
        path.chmod(0o600 if i % 2 else 0o755)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00junk")
    (source / "notes.txt").write_text("not code")
    (source / ".app.py.swp").write_bytes(b"swap")
    (source / "sub").mkdir()
    (source / "sub" / "extra.py").write_text("x = 1\n")

    from_copy, copy_hash = build_handler_zip(tmp_path / "b" / "handler.zip", source=source)
    again, again_hash = build_handler_zip(tmp_path / "c", source=HANDLER_DIR)
    assert first_bytes == from_copy.read_bytes() == again.read_bytes()
    assert first_hash == copy_hash == again_hash
    assert first.name == "handler.zip" and from_copy == tmp_path / "b" / "handler.zip"


def test_hash_is_terraforms_filebase64sha256(tmp_path: Path) -> None:
    path, digest = build_handler_zip(tmp_path)
    assert digest == base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def test_zip_holds_the_handler_modules_and_the_contract(tmp_path: Path) -> None:
    path, _ = build_handler_zip(tmp_path)
    package = Path(expense_cli.contract.__file__).parent
    static = ["expense_cli/serving/static/" + n for n in ("app.css", "app.js", "index.html")]
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        handler = sorted(p.name for p in HANDLER_DIR.glob("*.py"))
        assert names == [*handler, CONTRACT_ENTRY, PAGE_ENTRY, *static]
        assert "app.py" in names and CONTRACT_ENTRY == "expense_cli/contract.py"
        assert "expense_cli/__init__.py" not in names  # nothing else of the package
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            name = info.filename
            source = package / name.removeprefix("expense_cli/") if "/" in name else None
            assert archive.read(info) == (source or HANDLER_DIR / name).read_bytes()
        assert archive.testzip() is None


def test_content_changes_change_the_hash(tmp_path: Path) -> None:
    source = _copy_handler(tmp_path / "src")
    _, before = build_handler_zip(tmp_path / "a", source=source)
    (source / "_errors.py").write_text((source / "_errors.py").read_text() + "\n# edit\n")
    _, after = build_handler_zip(tmp_path / "b", source=source)
    assert before != after


def test_missing_entry_point_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "_x.py").write_text("")
    with pytest.raises(FileNotFoundError, match=r"app\.py"):
        handler_sources(tmp_path)
    with pytest.raises(FileNotFoundError):
        build_handler_zip(tmp_path / "out", source=tmp_path / "missing")


def test_zip_runs_as_a_lambda_zip_root(tmp_path: Path) -> None:
    """Unpack the zip as the runtime does (into its task folder) and import ``app`` from there
    alone: no site-packages, so not even this package is importable; answer an event."""
    path, _ = build_handler_zip(tmp_path)
    task = tmp_path / "var-task"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(task)
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(task)!r})\n"
        "import app\n"
        "import expense_cli.contract\n"
        "page = app.lambda_handler({'requestContext': {'http': {'method': 'GET'}},"
        " 'rawPath': '/', 'headers': {}}, None)\n"
        "assert page['statusCode'] == 200 and '<html' in page['body'], page\n"
        "assert app.__file__.startswith(sys.path[0]), app.__file__\n"
        "assert expense_cli.contract.__file__.startswith(sys.path[0])\n"
        "assert sorted(m for m in sys.modules if m.startswith('expense_cli')) == "
        "['expense_cli', 'expense_cli.contract', 'expense_cli.page']\n"
        "event = {'requestContext': {'http': {'method': 'PUT'}}, 'headers': {}}\n"
        "print(json.dumps(app.lambda_handler(event, None)))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENDPOINT_NAME": "ep",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 405
    assert json.loads(response["body"])["error"]["code"] == "method_not_allowed"
