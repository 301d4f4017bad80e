"""Reading one document of a report: regular files only, size checked from ``fstat`` first.

A report folder is input we did not make: a sparse 32 GB file, a FIFO named ``receipt.pdf`` or a
file that grows while we read must cost at most ``max_bytes + 1`` bytes of reading and never
block. ``_run.py`` reads each document once through :func:`read_document` and hashes those bytes;
``_collect.py`` sniffs the first KiB through :func:`read_head`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import BadRequest, DocumentTooLarge, UnreadableDocument
from ._names import display_name

__all__ = ["read_document", "read_head", "stat_argument"]

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def _open_regular(path: Path) -> int:
    """An fd for ``path`` if it is a regular file (a FIFO or device never blocks the open)."""
    fd = os.open(path, _FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnreadableDocument("not a regular file (a pipe, device or socket)")
        if _FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def stat_argument(path: Path) -> os.stat_result | None:
    """``os.stat`` of a path the user typed (an input, ``--out`` or its folder): None when nothing
    is there (a dangling link included); BadRequest naming it when the path itself cannot be used
    (a name too long, a link loop, a folder that cannot be searched), never a bare OSError."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in a name from the Python API
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadRequest(f"cannot use {display_name(path)}: {reason}") from None


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def read_document(path: Path, max_bytes: int) -> bytes:
    """All bytes of ``path``; DocumentTooLarge (before reading) when it is over ``max_bytes``,
    BadRequest ``empty_document`` when it has none (an interrupted copy or download)."""
    fd = _open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise DocumentTooLarge(
                f"the file is {_mb(size)}; the limit is {_mb(max_bytes)} "
                "(shrink the scan or split the PDF)"
            )
        data = _read_up_to(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew after the stat
        raise DocumentTooLarge(f"the file grew past the limit of {_mb(max_bytes)} while read")
    if not data:
        raise BadRequest("the file is empty (0 bytes)", code="empty_document")
    return data


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a regular file."""
    fd = _open_regular(path)
    try:
        return _read_up_to(fd, size)
    finally:
        os.close(fd)
