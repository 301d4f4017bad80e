"""OCR: page image → words + boxes on the 0..1000 grid.

Two backends with one interface:

* ``tesserocr`` keeps a tesseract engine loaded per worker (no process start, no temp files);
* ``cli`` pipes the page to the ``tesseract`` program (stdin → stdout, still no temp files), with
  ``OMP_THREAD_LIMIT=1`` in *its* environment only: tesseract's OpenMP threading is erratic on small
  machines, and setting the variable in our own process would also throttle torch.

``auto`` picks ``tesserocr`` when it is installed and finds its language data.
"""

from __future__ import annotations

import functools
import glob
import io
import os
import queue
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

from PIL import Image

from ..errors import ConfigError, UnreadableDocument
from ._documents import Box, Page, grid_box

__all__ = [
    "OcrEngine",
    "TesseractCli",
    "Tesserocr",
    "check_languages",
    "create_ocr",
    "fit_for_ocr",
    "ocr_pages",
    "tessdata_dir",
]

Words = tuple[list[str], list[Box]]


class OcrEngine(Protocol):
    name: str

    def read(self, image: Image.Image) -> Words: ...


@functools.cache
def tessdata_dir() -> str | None:
    """Where tesseract keeps ``*.traineddata`` (TESSDATA_PREFIX, the CLI's answer, or usual)."""
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix and glob.glob(os.path.join(prefix, "*.traineddata")):
        return prefix
    exe = shutil.which("tesseract")
    if exe:
        try:
            out = subprocess.run(
                [exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
            )
            found = re.search(r'"([^"]+)"', out.stdout + out.stderr)
            if found and os.path.isdir(found.group(1)):
                return found.group(1)
        except (OSError, subprocess.SubprocessError):
            pass
    for pattern in (
        "/usr/share/tesseract-ocr/*/tessdata",
        "/usr/share/tessdata",
        "/usr/local/share/tessdata",
        "/opt/homebrew/share/tessdata",
    ):
        for path in sorted(glob.glob(pattern), reverse=True):
            if glob.glob(os.path.join(path, "*.traineddata")):
                return path
    return None


_LANGS = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*")


def apt_package(lang: str) -> str:
    """Debian/Ubuntu's package of a tesseract language (``chi_sim`` → tesseract-ocr-chi-sim)."""
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


def check_languages(lang: str, directory: str | None = None) -> str:
    """``lang`` (``eng``, ``deu+eng``, ...) if tesseract has data for every language in it, else
    a :class:`ConfigError` naming the package to install. Checked before any OCR: tesseract
    itself only says "Failed loading language" (the CLI, per page) or "Failed to init API"."""
    lang = lang.strip()
    if not _LANGS.fullmatch(lang):
        raise ConfigError(
            f"OCR language {lang!r} is not a tesseract language list like eng or deu+eng"
        )
    path = directory or tessdata_dir()
    if path is None:
        raise ConfigError("tesseract language data not found: install tesseract-ocr-eng")
    have = {os.path.basename(p)[: -len(".traineddata")] for p in glob.glob(
        os.path.join(path, "*.traineddata"))}  # fmt: skip
    missing = [code for code in lang.split("+") if code not in have]
    if missing:
        packages = " ".join(apt_package(code) for code in missing)
        raise ConfigError(
            f"tesseract has no {'+'.join(missing)} language data in {path}: install "
            f"{packages} (apt-get), or put {missing[0]}.traineddata there "
            f"(available: {'+'.join(sorted(have)) or 'none'})"
        )
    return lang


class Tesserocr:
    """Tesseract's C++ API kept loaded: one engine per concurrent caller, reused."""

    name = "tesserocr"

    def __init__(self, lang: str = "eng", psm: int = 3) -> None:
        import tesserocr

        self._tesserocr = tesserocr
        path = tessdata_dir()
        if path is None:
            raise ConfigError("tesseract language data not found: install tesseract-ocr-eng")
        self._kwargs: dict[str, Any] = {"path": path.rstrip("/") + "/", "lang": lang, "psm": psm}
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._idle.put(self._new())  # fail fast on bad language data

    def _new(self) -> Any:
        try:
            return self._tesserocr.PyTessBaseAPI(**self._kwargs)
        except RuntimeError as exc:
            raise ConfigError(f"cannot start tesseract: {exc}") from None

    @contextmanager
    def _api(self) -> Iterator[Any]:
        try:
            api = self._idle.get_nowait()
        except queue.Empty:
            api = self._new()
        try:
            yield api
        finally:
            api.Clear()
            self._idle.put(api)

    def read(self, image: Image.Image) -> Words:
        with self._api() as api:
            api.SetImage(image)
            try:
                tsv = api.GetTSVText(0)
            except RuntimeError as exc:  # tesseract refused the image: like the CLI's failure
                raise UnreadableDocument(f"OCR failed: {exc}") from None
        return parse_tsv(tsv, image.width, image.height)


class TesseractCli:
    """The ``tesseract`` program, image on stdin, TSV on stdout."""

    name = "cli"

    def __init__(self, lang: str = "eng", psm: int = 3, timeout: float = 120.0) -> None:
        exe = shutil.which("tesseract")
        if exe is None:
            raise ConfigError("tesseract not found: install it (apt install tesseract-ocr)")
        self._argv = [exe, "stdin", "stdout", "-l", lang, "--psm", str(psm), "tsv"]
        self._env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        self._timeout = timeout

    def read(self, image: Image.Image) -> Words:
        buffer = io.BytesIO()
        image.save(buffer, format="PPM")  # uncompressed: cheapest to write and to read
        try:
            done = subprocess.run(
                self._argv,
                input=buffer.getvalue(),
                capture_output=True,
                env=self._env,
                timeout=self._timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UnreadableDocument("OCR took too long on this page") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UnreadableDocument(f"OCR failed: {message[-1] if message else 'no output'}")
        return parse_tsv(done.stdout.decode("utf-8", "replace"), image.width, image.height)


def parse_tsv(tsv: str, width: int, height: int) -> Words:
    """Word rows (level 5) of tesseract's TSV output (with or without its header line)."""
    words: list[str] = []
    boxes: list[Box] = []
    for line in tsv.splitlines():
        cols = line.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        if not text:
            continue
        left, top, w, h = (int(c) for c in cols[6:10])
        words.append(text)
        boxes.append(grid_box(left, top, left + w, top + h, width, height))
    return words, boxes


def create_ocr(backend: str = "auto", lang: str = "eng", psm: int = 3) -> OcrEngine:
    """An OCR engine; ``auto`` prefers the loaded tesserocr engine."""
    if backend not in ("auto", "tesserocr", "cli"):
        raise ConfigError(f"unknown OCR backend {backend!r}: use auto, tesserocr or cli")
    lang = check_languages(lang)
    if backend in ("auto", "tesserocr"):
        try:
            return Tesserocr(lang, psm)
        except (ImportError, ConfigError):
            if backend == "tesserocr":
                raise
    return TesseractCli(lang, psm)


# Tesseract refuses an image with a side over 32767 px ("Image too large"; tesserocr: "No image
# set?"); load_document allows a 40000x20 strip (its pixels are few), so it is always fitted.
TESSERACT_MAX_SIDE = 32_767


def fit_for_ocr(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale so the longer side is at most ``max_side`` px: tesseract's time grows with
    pixels, while past ~300 dpi for receipt-sized print it reads no better. ``max_side`` 0 (or
    anything larger) still keeps within :data:`TESSERACT_MAX_SIDE`."""
    if max_side <= 0 or max_side > TESSERACT_MAX_SIDE:
        max_side = TESSERACT_MAX_SIDE
    longest = max(image.size)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def ocr_pages(ocr: OcrEngine, pages: Sequence[Page], workers: int = 1, max_side: int = 0) -> None:
    """Fill in words + boxes of every page that needs OCR (in parallel up to ``workers``)."""
    todo = [page for page in pages if page.needs_ocr]
    images = [fit_for_ocr(page.image, max_side) for page in todo if page.image is not None]
    if workers > 1 and len(images) > 1:
        with ThreadPoolExecutor(min(workers, len(images))) as pool:
            results = list(pool.map(ocr.read, images))
    else:
        results = [ocr.read(image) for image in images]
    for page, (words, boxes) in zip(todo, results, strict=True):
        page.words, page.boxes = words, boxes
