"""Deterministic zip of the Lambda handler (``handler/*.py`` with ``app.py`` at the zip root).

The same sources always give the same bytes, whatever the files' timestamps, permissions,
directory order or the zlib version: entries are sorted, dated 1980-01-01 00:00:00, mode 0644,
made on "Unix", and *stored* (uncompressed; the handler is a few dozen KB, and deflate output may
differ between zlib builds, which would make Terraform see a change on another machine). Only the
handler's top-level ``.py`` files go in (no ``__pycache__``, tests or editor files), plus what the
handler shares with the server, from this package: the wire contract ``expense_cli/contract.py``
and the web page (``expense_cli/page.py`` and ``expense_cli/serving/static/``). The returned
hash is what Terraform's ``filebase64sha256()`` computes, for ``source_code_hash``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

from .._assets import asset_root
from .._files import atomic_write
from ..errors import ConfigError
from ..page import PAGE_FILES, static_dir

__all__ = [
    "CONTRACT_ENTRY",
    "HANDLER_ENTRY",
    "PAGE_ENTRY",
    "build_handler_zip",
    "default_handler_dir",
    "handler_sources",
    "zip_entries",
]

HANDLER_ENTRY = "app.lambda_handler"
CONTRACT_ENTRY = "expense_cli/contract.py"
PAGE_ENTRY = "expense_cli/page.py"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644  # regular file, rw-r--r--
_ZIP_NAME = "handler.zip"


def default_handler_dir() -> Path:
    """The ``handler/`` folder shipped with this package, or of its checkout
    (``expense_cli/_assets.py``)."""
    return asset_root() / "handler"


def handler_sources(source: Path | None = None) -> list[Path]:
    """The files that go into the zip, sorted by name; raises when ``app.py`` is missing."""
    root = default_handler_dir() if source is None else source
    if not root.is_dir():
        raise FileNotFoundError(f"handler directory not found: {root}")
    files = sorted(
        (p for p in root.iterdir() if p.suffix == ".py" and p.is_file()), key=lambda p: p.name
    )
    if not any(p.name == "app.py" for p in files):
        raise FileNotFoundError(f"{root} has no app.py (the Lambda entry point {HANDLER_ENTRY})")
    return files


def zip_entries(source: Path | None = None) -> list[tuple[str, Path]]:
    """(name in the zip, file) of every entry, in zip order: the handler's modules at the root,
    then what it imports of this package as a namespace package (no ``expense_cli/__init__.py``,
    so nothing else comes along): the wire contract, and the web page with its files."""
    package = Path(__file__).resolve().parents[1]
    entries = [(path.name, path) for path in handler_sources(source)]
    entries += [(CONTRACT_ENTRY, package / "contract.py"), (PAGE_ENTRY, package / "page.py")]
    entries += [
        (f"expense_cli/serving/static/{name}", static_dir() / name) for name in sorted(PAGE_FILES)
    ]
    return entries


def _zip_bytes(entries: list[tuple[str, Path]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3
            info.external_attr = _FILE_MODE << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def build_handler_zip(out: Path, *, source: Path | None = None) -> tuple[Path, str]:
    """Write the handler zip and return ``(path, base64 SHA-256)``.

    ``out`` is the zip's path when it ends in ``.zip``, else a directory that receives
    ``handler.zip``. The file is replaced atomically.
    """
    target = out if out.suffix == ".zip" else out / _ZIP_NAME
    data = _zip_bytes(zip_entries(source))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data, mode=0o644)
    except OSError as exc:  # a read-only place, a file where a folder is needed, /dev/null
        raise ConfigError(
            f"cannot write the handler zip to {target} ({exc.strerror or exc}): pass --out a "
            ".zip path or a folder you can write to"
        ) from exc
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    return target, digest
