"""Build-time checks of the model image: run by container/Dockerfile, fail the build with one line.

``python check_image.py versions``: the torch-independent libraries are the versions pinned in
expense_cli/aws/_image.py (``IMAGE_LIBRARIES``), which ``expense-cli build`` passes as the build
arguments ``TRANSFORMERS_VERSION``, ``TOKENIZERS_VERSION`` and ``HUGGINGFACE_HUB_VERSION`` (a
``RUN`` step sees build arguments as environment variables). The Dockerfile runs it before and
after ``pip install``: the base image must bring them, and installing the package must keep them.

``python check_image.py ocr``: one tesseract in the image, the tesserocr wheel's (the apt
``tesseract`` program must not be on PATH), major version ``EXPECTED_TESSERACT_MAJOR``, reading
``TESSDATA_PREFIX`` (the wheel has no data path of its own: without the variable it looks in the
current directory) with the ``eng`` and ``osd`` data there.

Standard library only: it runs on the base image's Python before this package is installed.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from collections.abc import Mapping, Sequence

# Distribution name → build argument (the same table as _BUILD_ARGS in expense_cli/aws/_image.py).
BUILD_ARGS = {
    "transformers": "TRANSFORMERS_VERSION",
    "tokenizers": "TOKENIZERS_VERSION",
    "huggingface_hub": "HUGGINGFACE_HUB_VERSION",
}
EXPECTED_TESSERACT_MAJOR = 5
REQUIRED_LANGUAGES = ("eng", "osd")


def check_versions(env: Mapping[str, str]) -> list[str]:
    """One message per library that is missing or not at its pinned version."""
    problems = []
    for name, arg in BUILD_ARGS.items():
        wanted = env.get(arg, "").strip()
        if not wanted:
            problems.append(
                f"build argument {arg} is not set: build with `expense-cli build` or pass "
                f"--build-arg {arg}=<version> (the pins are in expense_cli/aws/_image.py)"
            )
            continue
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = "not installed"
        if found != wanted:
            problems.append(
                f"{name} is {found} in this image, the image is pinned to {wanted}: use the base "
                "image of expense_cli/aws/_image.py, or change the pins there and run tests/compat"
            )
    return problems


def check_ocr(env: Mapping[str, str]) -> list[str]:
    """One message per way the image's OCR differs from one tesserocr-only tesseract."""
    problems = []
    cli = shutil.which("tesseract", path=env.get("PATH", os.defpath))
    if cli is not None:
        problems.append(
            f"a tesseract program is on PATH ({cli}): the image reads with the tesserocr wheel's "
            "own tesseract only (install tesseract-ocr-<lang> data packages, not tesseract-ocr)"
        )
    try:
        import tesserocr
    except ImportError as exc:
        return [*problems, f"tesserocr does not import: {exc}"]
    version = str(tesserocr.tesseract_version()).split()[1]
    if version.split(".")[0] != str(EXPECTED_TESSERACT_MAJOR):
        problems.append(
            f"tesserocr runs tesseract {version}, expected {EXPECTED_TESSERACT_MAJOR}.x"
        )
    prefix = env.get("TESSDATA_PREFIX", "")
    if not prefix:
        return [*problems, "TESSDATA_PREFIX is not set: the tesserocr wheel has no data path"]
    path, languages = tesserocr.get_languages(prefix.rstrip("/") + "/")
    missing = [lang for lang in REQUIRED_LANGUAGES if lang not in languages]
    if missing:
        problems.append(f"no {'/'.join(missing)} language data in {path}")
    return problems


CHECKS = {"versions": check_versions, "ocr": check_ocr}


def main(argv: Sequence[str], env: Mapping[str, str]) -> int:
    names = list(argv) or list(CHECKS)
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        print(
            f"check_image: unknown check {unknown[0]!r}: use {', '.join(CHECKS)}", file=sys.stderr
        )
        return 2
    problems = [problem for name in names for problem in CHECKS[name](env)]
    for problem in problems:
        print(f"check_image: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
