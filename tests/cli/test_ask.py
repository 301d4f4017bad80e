from __future__ import annotations

import http.server
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from expense_cli.cli import app
from expense_cli.errors import BadRequest
from expense_cli.report import name_bytes

from .conftest import http_server

pytestmark = [pytest.mark.model, pytest.mark.ocr]


@pytest.fixture(scope="module")
def receipt_file(tmp_path_factory: pytest.TempPathFactory, receipt_png: bytes) -> Path:
    path = tmp_path_factory.mktemp("docs") / "coffee.png"
    path.write_bytes(receipt_png)
    return path


@pytest.fixture(scope="module")
def file_server(receipt_file: Path) -> Iterator[str]:
    """A static file server on 127.0.0.1 serving the receipt's folder."""
    directory = str(receipt_file.parent)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=directory, **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Handler) as url:
        yield url


def _ask(runner: CliRunner, model: Path, *args: str) -> object:
    return runner.invoke(app, ["ask", "--local", "--model", str(model), *args])


def test_ask_local_prints_a_table(
    runner: CliRunner, tiny_model_dir: Path, receipt_file: Path
) -> None:
    result = _ask(runner, tiny_model_dir, str(receipt_file))
    assert result.exit_code == 0, result.output
    assert "coffee.png (1 page)" in result.stdout
    assert "merchant" in result.stdout and "ACME COFFEE ROASTERS" in result.stdout


def test_ask_json_with_questions(
    runner: CliRunner, tiny_model_dir: Path, receipt_file: Path
) -> None:
    result = _ask(runner, tiny_model_dir, str(receipt_file), "--json", "-q", "total", "-q", "Who?")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload["fields"]) == ["total"]
    assert payload["fields"]["total"]["answer"] == "ACME COFFEE ROASTERS"
    assert payload["answers"][0]["question"] == "Who?"
    assert payload["pages"] == 1


def test_ask_downloads_a_url(runner: CliRunner, tiny_model_dir: Path, file_server: str) -> None:
    result = _ask(runner, tiny_model_dir, f"{file_server}/coffee.png", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fields"]["merchant"]["answer"] == "ACME COFFEE ROASTERS"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{missing}", "no such file"),
        ("{text}", "not a supported document"),
        ("http://example.com/r.png", "refusing plain http for example.com"),
        ("ftp://example.com/r.png", "unsupported URL scheme 'ftp'"),
        ("{server}/nope.png", "download failed: HTTP 404"),
    ],
)
def test_bad_sources_are_one_line_errors(
    runner: CliRunner,
    tiny_model_dir: Path,
    tmp_path: Path,
    file_server: str,
    source: str,
    message: str,
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a receipt")
    source = source.format(missing=tmp_path / "nope.png", text=text, server=file_server)
    result = _ask(runner, tiny_model_dir, source)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("total\x07", "control characters"),
        ("a\ud800b", "control characters or unpaired surrogates"),
        ("x" * 201, "limited to 200 characters"),
        ("   ", "must not be empty"),
    ],
)
@pytest.mark.parametrize("where", [["--local"], ["--server", "http://127.0.0.1:9"]])
def test_questions_follow_the_contract_everywhere(
    runner: CliRunner, receipt_file: Path, question: str, message: str, where: list[str]
) -> None:
    """What the server and the function URL refuse, ``--local`` refuses too (before any work)."""
    result = runner.invoke(app, ["ask", str(receipt_file), *where, "-q", "total", "-q", question])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_too_many_questions_locally(runner: CliRunner, receipt_file: Path) -> None:
    questions = [arg for n in range(21) for arg in ("-q", f"question {n}")]
    result = runner.invoke(app, ["ask", str(receipt_file), "--local", *questions])
    assert result.exit_code == 1
    assert "at most 20 questions" in result.stderr


def test_conflicting_targets(runner: CliRunner, receipt_file: Path) -> None:
    result = runner.invoke(app, ["ask", str(receipt_file), "--local", "--server", "http://x"])
    assert result.exit_code == 1
    assert "choose one of --local and --server" in result.stderr


def test_unreachable_server(runner: CliRunner, receipt_file: Path) -> None:
    result = runner.invoke(app, ["ask", str(receipt_file), "--server", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9" in result.stderr


def test_missing_model_is_a_one_line_error(
    runner: CliRunner, receipt_file: Path, tmp_path: Path
) -> None:
    result = _ask(runner, tmp_path, str(receipt_file))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot load model {tmp_path}")


def test_debug_env_shows_the_traceback(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ask", str(tmp_path / "nope.png"), "--local"], env={"EXPENSE_DEBUG": "1"}
    )
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "BadRequest"


def test_demo_offline_uses_a_labelled_synthetic_model(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from expense_cli.cli import demo

    monkeypatch.setattr(demo, "_hub_available", lambda model, revision: False)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "offline:" in result.stderr and "SYNTHETIC" in result.stderr
    assert "ACME COFFEE ROASTERS" in result.stdout
    # each field its own answer, and the value column normalised (not one string repeated)
    for shown in ("12 Market Street, Springfield", "2024-01-03", "17.37 EUR", "14.60", "004217"):
        assert shown in result.stdout, result.stdout
    assert result.stdout.count("ACME COFFEE ROASTERS") == 1


def test_demo_model_path_that_does_not_exist_says_so(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--model", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: --model {tmp_path / 'nope'}: no such folder")


def test_demo_help_describes_only_demo_options(runner: CliRunner) -> None:
    result = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--model" in result.stdout and "--local" not in result.stdout


def test_demo_with_a_model_dir(runner: CliRunner, tiny_model_dir: Path) -> None:
    result = runner.invoke(app, ["demo", "--model", str(tiny_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert "offline:" not in result.stderr
    assert json.loads(result.stdout)["fields"]["merchant"]["answer"] == "ACME COFFEE ROASTERS"


# --- several documents, stdin, folders, --model paths, usage errors, help, --lang (issue 18) ---


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory: pytest.TempPathFactory, receipt_png: bytes) -> Path:
    """Receipts with odd names (spaces, brackets, a character outside the BMP) and a non-receipt."""
    folder = tmp_path_factory.mktemp("many")
    for name in ("a receipt.png", "b[1].png", "c 🧾.png"):
        (folder / name).write_bytes(receipt_png)
    (folder / "notes.txt").write_text("not a receipt")
    return folder


def test_several_files_give_one_json_result_each_with_its_file(
    runner: CliRunner, tiny_model_dir: Path, odd_folder: Path
) -> None:
    files = [str(odd_folder / n) for n in ("a receipt.png", "c 🧾.png", "b[1].png")]
    result = _ask(runner, tiny_model_dir, *files, "--json", "-q", "total")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [r["file"] for r in payload] == files  # in the order given
    assert all(r["fields"]["total"]["answer"] == "ACME COFFEE ROASTERS" for r in payload)


def test_a_quoted_glob_is_expanded_and_one_bad_file_does_not_stop_the_others(
    runner: CliRunner, tiny_model_dir: Path, odd_folder: Path
) -> None:
    result = _ask(runner, tiny_model_dir, str(odd_folder / "*"), "--json", "-q", "date")
    assert result.exit_code == 1  # notes.txt failed ...
    payload = json.loads(result.stdout)  # ... and every file still has its result
    assert [Path(r["file"]).name for r in payload] == sorted(p.name for p in odd_folder.iterdir())
    bad = next(r for r in payload if r["file"].endswith("notes.txt"))
    assert bad["error"]["code"] == "unsupported_media_type"
    assert "notes.txt" in bad["error"]["message"]
    assert sum("fields" in r for r in payload) == 3
    assert result.stderr.count("error:") == 1 and "notes.txt" in result.stderr


def test_several_files_print_a_table_each(
    runner: CliRunner, tiny_model_dir: Path, odd_folder: Path
) -> None:
    result = _ask(runner, tiny_model_dir, str(odd_folder / "*.png"), "-q", "total")
    assert result.exit_code == 0, result.output
    for title in ("a receipt.png (1 page)", "b[1].png (1 page)", "c 🧾.png (1 page)"):
        assert title in result.stdout


def test_a_glob_matching_one_file_still_gives_a_list(
    runner: CliRunner, tiny_model_dir: Path, odd_folder: Path
) -> None:
    result = _ask(runner, tiny_model_dir, str(odd_folder / "a*.png"), "--json", "-q", "total")
    assert result.exit_code == 0, result.output
    assert [Path(r["file"]).name for r in json.loads(result.stdout)] == ["a receipt.png"]


def test_stdin(runner: CliRunner, tiny_model_dir: Path, receipt_png: bytes) -> None:
    result = runner.invoke(
        app, ["ask", "--local", "--model", str(tiny_model_dir), "-", "--json", "-q", "total"],
        input=receipt_png,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["file"] == "-" and payload["fields"]["total"]["answer"] == "ACME COFFEE ROASTERS"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["-"], b"", "stdin is empty"),
        (["-", "-"], b"x", "- (stdin) can be given only once"),
        (["{folder}"], b"", "is a folder: `expense-cli report {folder}` reads every receipt"),
        (["{folder}/*.pdf"], b"", "no file matches {folder}/*.pdf"),
    ],
)
def test_source_errors_before_any_work(
    runner: CliRunner,
    odd_folder: Path,
    tmp_path: Path,
    args: list[str],
    stdin: bytes,
    message: str,
) -> None:
    """Checked before the model loads (the --model here does not even exist as a model)."""
    args = [a.format(folder=odd_folder) for a in args]
    result = runner.invoke(app, ["ask", "--local", "--model", str(tmp_path), *args], input=stdin)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ")
    assert message.format(folder=odd_folder) in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("{tmp}/no-such-model", "no such folder (and not a Hub id like owner/name)"),
        ("./models/x", "no such folder"),
        ("~/nope-𝔄/model", "no such folder"),
        ("a/b/c", "no such folder"),
        ("{tmp}/file.bin", "is a file: give the model's folder"),
    ],
)
def test_a_model_path_that_does_not_exist_says_so(
    runner: CliRunner, receipt_file: Path, tmp_path: Path, model: str, message: str
) -> None:
    (tmp_path / "file.bin").write_bytes(b"x")
    model = model.format(tmp=tmp_path)
    result = runner.invoke(app, ["ask", "--local", "--model", model, str(receipt_file)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: --model {model}") and message in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "--bogus", "x.png"], "No such option: --bogus (see: expense-cli ask --help)"),
        (["ask"], "Missing argument 'SOURCE' (see: expense-cli ask --help)"),
        (["ask", "x.png", "--min-score", "2"], "Invalid value for '--min-score'"),
        (["ask", "x.png", "--jsn"], "No such option: --jsn"),
        (["ask", "x.png", "-q"], "Option '-q' requires an argument"),
        (["bogus"], "No such command 'bogus'"),
        (["--bogus"], "No such option: --bogus (see: expense-cli --help)"),
        (["demo", "--local"], "No such option: --local (see: expense-cli demo --help)"),
    ],
)
def test_usage_errors_are_one_line_errors_with_exit_code_1(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""


def _every_command() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(app)
    return [[], *([name] for name in group.commands)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _every_command(), ids=" ".join)
def test_help_has_no_type_noise(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for noise in ("<bool>", "<str>", "<list[str]>"):
        assert noise not in result.stdout, result.stdout
    if command == ["ask"]:
        assert "SOURCE" in result.stdout and "--lang" in result.stdout


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("klingon", "tesseract has no klingon language data in "),
        ("eng+chi_sim", "install tesseract-ocr-chi-sim (apt-get)"),
        ("deu+klingon", "install tesseract-ocr-"),
        ("eng;rm", "OCR language 'eng;rm' is not a tesseract language list like eng or deu+eng"),
    ],
)
def test_a_missing_language_pack_is_one_line_naming_the_package(
    runner: CliRunner, tiny_model_dir: Path, receipt_file: Path, lang: str, message: str
) -> None:
    result = _ask(runner, tiny_model_dir, str(receipt_file), "--lang", lang)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_lang_is_for_local_runs(runner: CliRunner, receipt_file: Path) -> None:
    result = runner.invoke(
        app, ["ask", str(receipt_file), "--server", "http://127.0.0.1:9", "--lang", "eng"]
    )
    assert result.exit_code == 1
    assert "--lang applies to --local only" in result.stderr


def test_lang_reaches_the_engine(
    runner: CliRunner, tiny_model_dir: Path, receipt_file: Path
) -> None:
    result = _ask(runner, tiny_model_dir, str(receipt_file), "--lang", "eng", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fields"]["merchant"]["answer"] == "ACME COFFEE ROASTERS"


def test_report_lang_names_the_missing_pack(runner: CliRunner, odd_folder: Path) -> None:
    out = odd_folder.parent / "r.csv"
    result = runner.invoke(
        app, ["report", str(odd_folder), "-o", str(out), "--local", "--lang", "deu+xyz_abc"]
    )
    assert result.exit_code == 1
    assert "tesseract-ocr-xyz-abc" in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("lang", "expected"), [(None, "eng"), ("eng", "eng"), ("osd+eng", "osd+eng")]
)
def test_serve_lang_reaches_the_engine_settings(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, lang: str | None, expected: str
) -> None:
    import expense_cli.serving as serving

    started: list[object] = []
    monkeypatch.setattr(serving, "run", started.append)
    monkeypatch.delenv("EXPENSE_OCR_LANG", raising=False)
    result = runner.invoke(app, ["serve", *(["--lang", lang] if lang else [])])
    assert result.exit_code == 0, result.output
    assert [s.engine.ocr_lang for s in started] == [expected]  # type: ignore[attr-defined]


def test_serve_refuses_a_missing_pack_before_starting(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import expense_cli.serving as serving

    started: list[object] = []
    monkeypatch.setattr(serving, "run", started.append)
    result = runner.invoke(app, ["serve", "--lang", "klingon"])
    assert result.exit_code == 1 and "install tesseract-ocr-klingon" in result.stderr
    result = runner.invoke(app, ["serve"], env={"EXPENSE_OCR_LANG": "eng+tlh"})
    assert result.exit_code == 1 and "install tesseract-ocr-tlh" in result.stderr
    assert started == []


@pytest.mark.parametrize("where", ["local", "server"])
def test_an_error_that_is_not_the_documents_stops_the_run_once(
    runner: CliRunner, odd_folder: Path, tmp_path: Path, where: str
) -> None:
    """No model, no server: one line, not one per document."""
    target = (
        ["--local", "--model", str(tmp_path)] if where == "local"
        else ["--server", "http://127.0.0.1:9"]
    )  # fmt: skip
    result = runner.invoke(app, ["ask", *target, str(odd_folder / "*.png"), "--json"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert ("cannot load model" if where == "local" else "cannot reach") in result.stderr


# --- hostile names and non-files (round 3): names in the report's display form, one-line errors ---
def test_odd_names_reach_neither_the_terminal_nor_the_json_raw(
    runner: CliRunner, tiny_model_dir: Path, tmp_path: Path, receipt_png: bytes
) -> None:
    """A name with a terminal escape, a newline or a Latin-1 byte is shown as the report shows it
    (``expense_cli/report/_names.py``): stdout stays valid UTF-8 JSON, no ESC reaches a tty."""
    folder = os.fsencode(tmp_path)
    names = [b"x\x1b[31mred\nline.png", b"caf\xe9 \xf0\x9f\xa7\xbe.png", b"back\\slash.png"]
    for name in names:
        Path(os.fsdecode(folder + b"/" + name)).write_bytes(receipt_png)
    text = Path(os.fsdecode(folder + b"/t\x1b]0;title\x07.pdf"))
    text.write_bytes(b"not a pdf")
    sources = [os.fsdecode(folder + b"/" + name) for name in names] + [str(text)]
    result = _ask(runner, tiny_model_dir, *sources, "--json", "-q", "total")
    assert result.exit_code == 1  # the text file
    assert b"\x1b" not in result.stdout_bytes + result.stderr_bytes
    payload = json.loads(result.stdout_bytes.decode("utf-8"))  # strict UTF-8
    shown = [Path(r["file"]).name for r in payload]
    assert shown == [
        "x\\x1b[31mred\\x0aline.png",
        "caf\\xe9 🧾.png",
        "back\\\\slash.png",
        "t\\x1b]0;title\\x07.pdf",
    ]
    assert [name_bytes(r["file"]) for r in payload] == [os.fsencode(s) for s in sources]
    assert payload[3]["error"]["code"] == "unsupported_media_type"
    assert result.stderr.count("\n") == 1 and "t\\x1b]0;title\\x07.pdf" in result.stderr
    tables = _ask(runner, tiny_model_dir, *sources[:2], "-q", "total")
    assert tables.exit_code == 0, tables.output
    assert b"\x1b" not in tables.stdout_bytes
    assert "x\\x1b[31mred\\x0aline.png (1 page)" in tables.stdout
    assert "caf\\xe9 🧾.png (1 page)" in tables.stdout


def _not_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    device = tmp_path / "zero.pdf"
    device.symlink_to("/dev/zero")
    dangling = tmp_path / "gone.png"
    dangling.symlink_to(tmp_path / "nowhere.png")
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    long = tmp_path / ("é" * 200 + ".png")
    return {
        "fifo": (fifo, "is not a regular file (a pipe, device or socket)"),
        "device": (device, "is not a regular file (a pipe, device or socket)"),
        "dangling": (dangling, "no such file"),
        "loop": (loop, "Too many levels of symbolic links"),
        "long": (long, "File name too long"),
    }


@pytest.mark.parametrize("kind", ["fifo", "device", "dangling", "loop", "long"])
def test_a_path_that_is_no_file_is_a_one_line_error_that_says_why(
    runner: CliRunner, tiny_model_dir: Path, tmp_path: Path, kind: str
) -> None:
    """Never "no such file" for a pipe that is there, never a hang, never an internal error."""
    path, message = _not_files(tmp_path)[kind]
    result = _ask(runner, tiny_model_dir, str(path), "-q", "total")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr


def test_a_pipe_among_several_files_does_not_stop_the_others(
    runner: CliRunner, tiny_model_dir: Path, tmp_path: Path, receipt_png: bytes
) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(receipt_png)
    bad = _not_files(tmp_path)
    sources = [str(bad[k][0]) for k in ("fifo", "device", "dangling")] + [str(good)]
    result = _ask(runner, tiny_model_dir, *sources, "--json", "-q", "total")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [r["file"] for r in payload] == sources
    assert [r["error"]["code"] for r in payload[:3]] == ["bad_request"] * 3
    assert "pipe.png is not a regular file" in payload[0]["error"]["message"]
    assert payload[3]["fields"]["total"]["answer"] == "ACME COFFEE ROASTERS"


def test_a_file_that_grows_while_read_is_never_read_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size is checked on the open file and the read stops at the limit."""
    from expense_cli.cli import _sources
    from expense_cli.errors import DocumentTooLarge

    path = tmp_path / "growing.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    real_read = os.read

    def read(fd: int, size: int) -> bytes:
        with path.open("ab") as handle:  # a scanner still writing it
            handle.write(b"x" * 4096)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", read)
    with pytest.raises(DocumentTooLarge, match=r"growing\.png: the file grew past the limit"):
        _sources.read_source(str(path), max_bytes=10_000)


def test_a_url_that_drips_its_body_is_given_up_on_as_a_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx's timeout is per read: a server sending a byte every 50 ms never trips it, so the
    download has its own deadline (shortened here; the server stops after 3 s in any case)."""
    import threading
    import time

    from expense_cli.cli import _sources
    from expense_cli.errors import RemoteError

    stop = threading.Event()

    class Drip(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "60")
            self.end_headers()
            for _ in range(60):
                if stop.is_set():
                    return
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setattr(_sources, "_DEADLINE_S", 0.5)
    with http_server(Drip) as url:
        try:
            with pytest.raises(RemoteError, match="and was still sending"):
                _sources.read_source(f"{url}/slow.png")
        finally:
            stop.set()


def test_a_file_reached_by_several_names_is_asked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quoted recursive glob went through a link loop (loop -> .) 40 levels deep: every
    receipt came back 41 times and was asked 41 times."""
    from expense_cli.cli._sources import expand_sources

    monkeypatch.chdir(tmp_path)
    box = Path("box 🧾")
    (box / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png", ".hidden.png"):
        (box / name).write_bytes(b"\x89PNG\r\n\x1a\n")
    (box / "loop").symlink_to(".")
    names, several = expand_sources(
        [f"{box}/**/*.png", f"./{box}/a.png", f"{box}/sub/../a.png", f"{box}/loop/sub/b.png"]
    )
    assert several and names == [f"{box}/a.png", f"{box}/sub/b.png"]
    assert expand_sources([f"{box}/**"])[0] == [f"{box}/a.png", f"{box}/sub/b.png"]
    names, _ = expand_sources(["-", f"{box}/a.png", f"{box}/loop/a.png"])
    assert names == ["-", f"{box}/a.png"]


@pytest.mark.timeout(60)
def test_a_recursive_glob_through_two_links_back_up_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With loop -> . and sub/up -> .. glob.glob tried 2**40 paths (ask hung before any work);
    ** no longer goes through links to folders, like bash's globstar."""
    from expense_cli.cli._sources import expand_sources

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for name in ("a.png", "sub/b.png"):
        (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "loop").symlink_to(".")
    (tmp_path / "sub" / "up").symlink_to("..")
    assert expand_sources(["**/*.png"])[0] == ["a.png", "sub/b.png"]


@pytest.mark.parametrize(
    "code", ["body_too_large", "empty_document", "empty_body", "timeout", "endpoint_timeout"]
)
def test_a_servers_refusal_of_one_document_does_not_stop_the_others(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """--server answers 413 body_too_large for a scan too big for its request body: that is this
    document's fault, like document_too_large, and the other files still get their answers."""
    from expense_cli.cli import ask as ask_cli
    from expense_cli.contract import ContractError

    files = []
    for name in ("a.png", "big.png", "c.png"):
        (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
        files.append(str(tmp_path / name))

    class Server:
        name = "http://127.0.0.1:9"

        def extract(self, data: bytes, **kwargs: Any) -> dict[str, Any]:
            if b"big" in data:
                raise ContractError(code, "refused by the server")
            return {"fields": {}, "answers": [], "pages": 1}

        def close(self) -> None:
            pass

    monkeypatch.setattr(ask_cli, "resolve_target", lambda *args: Server())
    result = runner.invoke(app, ["ask", *files, "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [r["file"] for r in payload] == files
    assert payload[1]["error"]["code"] == code and "pages" in payload[2]


def test_an_empty_file_is_refused_before_it_is_sent(runner: CliRunner, tmp_path: Path) -> None:
    from expense_cli.cli import _sources

    empty = tmp_path / "scan.pdf"
    empty.write_bytes(b"")
    with pytest.raises(BadRequest, match=r"scan\.pdf is empty \(0 bytes\)"):
        _sources.read_source(str(empty))
