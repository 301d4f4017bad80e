"""Find the documents of a report: images and PDFs by magic bytes, in a deterministic order.

A file is a document when its first KiB says so (``sniff_type``), or when its name ends in a
document extension (:data:`DOCUMENT_SUFFIXES`, or :data:`UNREADABLE_SUFFIXES` for image formats the
engine does not read): ``receipt.pdf`` holding text must show up in the report as an error row,
not vanish. Any other file is skipped and counted; so is a folder that cannot be listed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..engine import sniff_type
from ..errors import BadRequest, UnsupportedDocument
from ._names import display_name
from ._read import read_head, stat_argument

__all__ = [
    "DOCUMENT_SUFFIXES",
    "UNREADABLE_SUFFIXES",
    "Collected",
    "collect_documents",
    "not_a_document",
]

_SNIFF_BYTES = 1024  # sniff_type looks for "%PDF-" within the first KiB
DOCUMENT_SUFFIXES = frozenset(
    {".pdf", ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".webp", ".gif"}
)
# Image formats phones and old scanners write that the engine cannot read: listed as error rows
# that say how to convert them.
UNREADABLE_SUFFIXES = frozenset({".heic", ".heif", ".avif", ".bmp", ".dib", ".jp2"})


@dataclass
class Collected:
    """What ``collect_documents`` found."""

    documents: list[Path] = field(default_factory=list)
    skipped: int = 0  # files that are not images/PDFs (hidden files are not counted)
    hidden: int = 0  # hidden files and folders' files, skipped
    unreadable_folders: list[str] = field(default_factory=list)  # display names, not listed

    def _add(self, path: Path, seen: set[Path]) -> None:
        try:
            key = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop: the path itself identifies it
            key = path.absolute()
        if key in seen:
            return
        seen.add(key)
        if _is_document(path):
            self.documents.append(path)
        else:
            self.skipped += 1


def _is_document(path: Path) -> bool:
    if path.suffix.lower() in DOCUMENT_SUFFIXES | UNREADABLE_SUFFIXES:
        return True
    try:
        head = read_head(path, _SNIFF_BYTES)
    except Exception:
        # Unreadable: keep it, so that the report shows an error row instead of hiding it.
        return True
    return sniff_type(head) is not None


def not_a_document(path: Path) -> UnsupportedDocument:
    """The error row of a file that was collected but whose bytes are not a supported document."""
    suffix = path.suffix.lower()
    if suffix in UNREADABLE_SUFFIXES:
        kind = suffix.lstrip(".").upper()
        return UnsupportedDocument(
            f"{kind} images are not supported: convert it to JPEG or PNG (or print it to PDF)"
        )
    if suffix in DOCUMENT_SUFFIXES:
        return UnsupportedDocument(
            f"named {suffix} but the content is not a PDF or an image we read "
            "(PNG, JPEG, TIFF, WebP, GIF): check the file, or convert it"
        )
    return UnsupportedDocument(
        "not a supported document: PNG, JPEG, TIFF, WebP, GIF or PDF (the content changed?)"
    )


def _folder_key(path: str | Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:  # gone or unreadable: os.walk reports it through onerror
        return None
    return found.st_dev, found.st_ino


def _walk(folder: Path, unreadable: list[str]) -> Iterable[tuple[Path, bool]]:
    """Every file under ``folder`` (sorted, recursive) with whether it is hidden.

    Links to folders are followed (a receipts folder that links to a scans share must not lose
    those receipts), each real folder once; a link back to the folder or one of its parents
    (``loop -> .``, ``up -> ..``, ``root -> /``) is a loop and is not followed.
    """

    def failed(exc: OSError) -> None:
        unreadable.append(display_name(exc.filename if exc.filename is not None else folder))

    real = Path(os.path.realpath(folder))
    visited = {_folder_key(path) for path in (real, *real.parents)}
    for root, dirs, files in os.walk(folder, onerror=failed, followlinks=True):
        follow = []
        for name in sorted(dirs):
            key = _folder_key(os.path.join(root, name))
            if key is None or key not in visited:
                visited.add(key)
                follow.append(name)
        dirs[:] = follow
        root_path = Path(root)
        hidden_dir = any(part.startswith(".") for part in root_path.relative_to(folder).parts)
        for name in sorted(files):
            yield root_path / name, hidden_dir or name.startswith(".")


def collect_documents(paths: Sequence[Path | str], exclude: Iterable[Path] = ()) -> Collected:
    """Folders (recursively, sorted, hidden entries skipped) and files, in the order given.

    Type is decided by magic bytes or a document extension (see the module docstring);
    non-documents are counted, not listed. A file named twice (or reached through two arguments)
    is listed once. ``exclude``: files neither listed nor counted (the report's own files, when
    ``--out`` is inside an input folder).
    """
    if not paths:
        raise BadRequest("give at least one folder or file")
    found = Collected()
    seen: set[Path] = {path.resolve() for path in exclude}
    for raw in paths:
        path = Path(raw)
        found_stat = stat_argument(path)
        if found_stat is None:
            raise BadRequest(f"no such file or folder: {display_name(path)}")
        if stat.S_ISDIR(found_stat.st_mode):
            for file, hidden in _walk(path, found.unreadable_folders):
                if hidden:
                    found.hidden += 1
                elif file.is_file():
                    found._add(file, seen)
                else:  # a pipe, socket, device or broken link
                    found.skipped += 1
        elif stat.S_ISREG(found_stat.st_mode):
            found._add(path, seen)
        else:
            raise BadRequest(f"not a regular file or folder: {display_name(path)}")
    return found
