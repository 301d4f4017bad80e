"""One report run per output file: ``fcntl.flock`` on ``.<name>.lock`` beside the report.

Two runs on the same ``--out`` would each rewrite the whole file from their own rows, so one run's
rows would silently vanish. ``build_report`` (``_run.py``) therefore holds an exclusive,
non-blocking lock for the whole run; a second run fails at once with a one-line error that names
the first (pid, host, start time). The lock file is removed by its holder while still locked; a
run that finds the file replaced after locking it tries again, so no two runs ever hold locks on
different files of the same name. A killed run's lock is released by the kernel; its file is
reused by the next run.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError
from ._names import display_name, safe_text

__all__ = ["lock_output", "lock_path"]

_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def lock_path(out: Path) -> Path:
    """``report.xlsx`` → ``.report.xlsx.lock`` in the same folder."""
    return out.with_name(f".{out.name}.lock")


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return safe_text(text) or "a run that is just starting"


def _open_locked(path: Path, out: Path) -> int | None:
    """An fd holding the lock on the file now at ``path``; None when that file was replaced."""
    try:
        fd = os.open(path, _FLAGS, 0o644)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the lock file {display_name(path)} for {display_name(out)}: "
            f"{exc.strerror or exc}"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another report run ({_holder(fd)}) is writing {display_name(out)}: "
                "wait for it to finish, or choose another --out"
            ) from None
        except OSError as exc:  # a file system without locks (some network shares)
            raise ConfigError(
                f"cannot lock {display_name(path)} ({exc.strerror or exc}): write the report "
                "to a local folder"
            ) from None
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is None or (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(fd)  # the previous holder removed it after we opened it
            return None
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def lock_output(out: Path) -> Iterator[None]:
    """Hold the lock of report ``out`` (ConfigError at once when another run holds it)."""
    path = lock_path(out)
    fd = None
    while fd is None:
        fd = _open_locked(path, out)
    try:
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {started}".encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
