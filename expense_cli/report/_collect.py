"""Find the documents of a report: images and PDFs by magic bytes, in a deterministic order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..engine import sniff_type
from ..errors import BadRequest

__all__ = ["Collected", "collect_documents"]

_SNIFF_BYTES = 1024  # sniff_type looks for "%PDF-" within the first KiB


@dataclass
class Collected:
    """What ``collect_documents`` found."""

    documents: list[Path] = field(default_factory=list)
    skipped: int = 0  # files that are not images/PDFs (hidden files are not counted)
    hidden: int = 0  # hidden files and folders' files, skipped

    def _add(self, path: Path, seen: set[Path]) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        if _is_document(path):
            self.documents.append(path)
        else:
            self.skipped += 1


def _is_document(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        # Unreadable: keep it, so that the report shows an error row instead of hiding it.
        return True
    return sniff_type(head) is not None


def _walk(folder: Path) -> Iterable[tuple[Path, bool]]:
    """Every file under ``folder`` (sorted, recursive) with whether it is hidden."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        root_path = Path(root)
        hidden_dir = any(part.startswith(".") for part in root_path.relative_to(folder).parts)
        for name in sorted(files):
            yield root_path / name, hidden_dir or name.startswith(".")


def collect_documents(paths: Sequence[Path | str]) -> Collected:
    """Folders (recursively, sorted, hidden entries skipped) and files, in the order given.

    Type is decided by magic bytes, never by file name; non-documents are counted, not listed.
    A file named twice (or reached through two arguments) is listed once.
    """
    if not paths:
        raise BadRequest("give at least one folder or file")
    found = Collected()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file, hidden in _walk(path):
                if hidden:
                    found.hidden += 1
                elif file.is_file():
                    found._add(file, seen)
        elif path.is_file():
            found._add(path, seen)
        else:
            raise BadRequest(f"no such file or folder: {path}")
    return found
