"""The CLI starts without torch/transformers unless a command runs the model (issue 13).

Each command runs in a fresh interpreter (``_probe.py``) that reports ``sys.modules`` when it
ends, so an eager import anywhere (``expense_cli/engine/__init__.py``, a CLI module's top level,
the report package) shows up. The same probe hides optional packages to check that a missing
extra is one line naming it, with rich markup such as ``[serve]`` printed as it is.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import expense_cli.engine as engine_pkg

from .conftest import http_server

PROBE = Path(__file__).with_name("_probe.py")
MODEL_MODULES = ("torch", "transformers")
# A file name rich would read as markup ([report]) with a character outside the BMP.
ODD_NAME = "reçu [report] 🧾.png"
ANSWER = "[red]12,30 €[/red]"  # an answer that looks like markup must be printed as it is


class _Result:
    def __init__(self, done: subprocess.CompletedProcess[str], report: Path) -> None:
        self.code = done.returncode
        self.stdout = done.stdout
        self.stderr = done.stderr
        data = json.loads(report.read_text()) if report.is_file() else {}
        self.modules: set[str] = set(data.get("modules", []))

    def loaded(self, *names: str) -> list[str]:
        return sorted(n for n in names if n in self.modules)


def _run(tmp_path: Path, *args: str, block: str = "", cwd: Path | None = None) -> _Result:
    report = tmp_path / "probe.json"
    report.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EXPENSE_", "TF_VAR_"))}
    env.update(
        PROBE_REPORT=str(report),
        PROBE_BLOCK=block,
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        COLUMNS="200",
    )
    done = subprocess.run(
        [sys.executable, str(PROBE), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd or tmp_path,
        timeout=120,
        check=False,
    )
    return _Result(done, report)


@pytest.fixture(scope="module")
def stub_server() -> Iterator[str]:
    """A server of the /invocations contract that answers every POST with a fixed result."""
    body = json.dumps(
        {
            "fields": {
                "total": {
                    "answer": ANSWER,
                    "score": 0.93,
                    "page": 1,
                    "value": "12.30",
                    "currency": "EUR",
                }
            },
            "pages": 1,
        }
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Handler) as url:
        yield url


@pytest.fixture
def receipt(tmp_path: Path, receipt_png: bytes) -> Path:
    folder = tmp_path / "receipts"
    folder.mkdir()
    path = folder / ODD_NAME
    path.write_bytes(receipt_png)
    return path


# --- commands that must not load the model libraries ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["ask", "--help"], 0),
        (["plan", "--help"], 0),
        (["status"], 1),  # no deployment here: one-line error
        (["destroy", "--yes"], 1),
        (["deploy", "--yes", "--image-uri", "1.dkr.ecr.us-east-1.amazonaws.com/x:1"], 1),
        (["plan"], 1),
        (["package", "--out", "handler.zip"], 0),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_light_commands_do_not_import_the_model(tmp_path: Path, args: list[str], code: int) -> None:
    result = _run(tmp_path, *args)
    assert result.code == code, result.stderr
    assert result.modules, "the probe did not report"
    assert result.loaded(*MODEL_MODULES) == []
    if code:
        assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr


def test_version_is_the_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = _run(tmp_path, "--version")
    assert result.stdout.strip() == f"expense-cli {version('expense-cli')}"


def test_ask_and_report_against_a_server(tmp_path: Path, stub_server: str, receipt: Path) -> None:
    asked = _run(tmp_path, "ask", str(receipt), "--server", stub_server)
    assert asked.code == 0, asked.stderr
    assert asked.loaded(*MODEL_MODULES) == []
    assert ANSWER in asked.stdout  # not eaten as markup
    assert "[report]" in asked.stdout and "🧾" in asked.stdout  # the title: the file name

    out = tmp_path / "expenses.csv"
    made = _run(tmp_path, "report", str(receipt.parent), "--server", stub_server, "--out", str(out))
    assert made.code == 0, made.stderr
    assert made.loaded(*MODEL_MODULES) == []
    assert ODD_NAME in out.read_text(encoding="utf-8")


def test_ask_the_deployment_without_one(tmp_path: Path, receipt: Path) -> None:
    result = _run(tmp_path, "ask", str(receipt))
    assert result.code == 1
    assert result.loaded(*MODEL_MODULES) == []
    assert "no deployment" in result.stderr.lower() or "deploy" in result.stderr


def test_local_does_import_the_model(tmp_path: Path, receipt: Path) -> None:
    """The control: the probe does see torch when a command loads the engine."""
    (tmp_path / "no-model").mkdir()  # a folder (a missing one is refused before any import)
    result = _run(tmp_path, "ask", "--local", "--model", str(tmp_path / "no-model"), str(receipt))
    assert result.code == 1
    assert result.loaded(*MODEL_MODULES) == list(MODEL_MODULES)


# --- missing extras: one line naming the extra --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "block", "expected"),
    [
        (["serve"], "starlette,uvicorn", "pip install 'expense-cli[serve]'"),
        (["serve", "--port", "0"], "uvicorn", "(uvicorn missing)"),
        (["ask", "--local", "RECEIPT"], "torch", "download.pytorch.org/whl/cpu"),
        (["ask", "--local", "RECEIPT"], "transformers", "needs transformers"),
        (["ask", "RECEIPT", "--server", "SERVER"], "httpx", "not installed"),
        (["report", "RECEIPTS", "--out", "x.xlsx", "--local"], "openpyxl", "[report]"),
        (["status"], "boto3", "pip install 'expense-cli[deploy]'"),
        (["plan"], "boto3", "pip install 'expense-cli[deploy]'"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_missing_extras_are_one_line(
    tmp_path: Path,
    receipt: Path,
    stub_server: str,
    args: list[str],
    block: str,
    expected: str,
) -> None:
    names = {"RECEIPT": str(receipt), "RECEIPTS": str(receipt.parent), "SERVER": stub_server}
    result = _run(tmp_path, *(names.get(a, a) for a in args), block=block)
    assert result.code == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]


# --- the lazy engine package ----------------------------------------------------------------------


def test_every_public_engine_name_resolves() -> None:
    for name in engine_pkg.__all__:
        assert getattr(engine_pkg, name) is not None, name
    assert set(engine_pkg.__all__) <= set(dir(engine_pkg))


def test_unknown_engine_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = engine_pkg.no_such_name
    with pytest.raises(ImportError):
        exec("from expense_cli.engine import NoSuchThing", {})
