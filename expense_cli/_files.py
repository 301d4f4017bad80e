"""Atomic file writes: the one helper behind every file this package writes in place.

Used by the reports (``expense_cli/report/_writers.py``), the project state
(``expense_cli/aws/_config.py``: ``write_private``) and the handler zip
(``expense_cli/aws/_package.py``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write"]


def atomic_write(
    path: Path, content: bytes | Callable[[IO[bytes]], None], *, mode: int | None = None
) -> None:
    """Write ``content`` (bytes, or a function writing to a binary file) to ``path`` atomically.

    The data goes to a temp file with an unpredictable name in the same folder, created with
    O_EXCL (``tempfile.mkstemp``: a symlink planted in the folder is never followed), is synced,
    gets ``mode`` (default: the mode ``path`` has now, else 0644; a private file passes 0600 and
    is never readable by others, not even for a moment) and is renamed over ``path``. On any
    failure, Ctrl-C included, the temp file is removed and ``path`` is as it was.
    """
    if mode is None:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode & 0o600)  # at most owner-only until complete
            if isinstance(content, bytes):
                handle.write(content)
            else:
                content(handle)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
