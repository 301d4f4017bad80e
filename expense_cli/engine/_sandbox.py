"""pdfium in a child process, with a memory and a time budget.

pdfium (pypdfium2) caps nothing itself, and a few KB of PDF can make it do unbounded work: a
FlateDecode stream behind ``/ASCIIHexDecode`` inflated 1.5 GB for 3 MB of file; one 140 MB content
stream listed 20 times in a page's ``/Contents`` took 2.9 GB; form XObjects nested six deep and ten
wide (10^6 drawings) took 1.7 GB and 12 s for 1 KB, and each level more multiplies that by ten.
No check of the bytes bounds all of that (``_documents._check_inflated_size`` refuses plain zlib
bombs cheaply, before any process starts), so every call into pdfium for a request's document
(``_documents._load_pdf``, ``_preview.page_images``) runs through :func:`isolated`.

How: one helper process (``python -m expense_cli.engine._sandbox``, started on first use, with
pypdfium2 loaded; single-threaded, so forking it is safe) forks a child per call. The child caps
its address space (``RLIMIT_AS``), runs the call and pickles the result into a pipe; the helper
relays it, killing the child at its time limit. A child out of memory or time, or dead (which is
how pdfium meets a failed allocation), is ``document_too_large``. Calls take turns (one lock), so
at most one budget of memory is in use; the caller's own memory never sees pdfium's work.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any, TypeVar

from ..errors import DocumentTooLarge, ExpenseError

__all__ = ["MEMORY_BYTES", "SECONDS", "isolated"]

# Measured in the child (VmPeak): 44 MB to start, 220 MB for a 20-page A4 scan at 200 dpi, 280 MB
# for four 50 Mpx pages (the pixel limits), 320 MB for a 140 MB content stream (under the inflate
# check's cap). 1 GiB leaves room for the pickled result.
MEMORY_BYTES = 1 << 30
SECONDS = 30.0  # that 20-page scan takes 1.4 s

T = TypeVar("T")
_REQUEST = struct.Struct(">Qdq")  # request size, seconds, memory
_FRAME = struct.Struct(">cQ")  # b"D" (result bytes) or b"E" (end: status), length
_LOCK = threading.Lock()
_helper: subprocess.Popen[bytes] | None = None


def isolated(
    target: Callable[..., T],
    *args: Any,
    what: str = "this PDF",
    memory: int = MEMORY_BYTES,
    seconds: float = SECONDS,
) -> T:
    """``target(*args)`` in a child process under ``memory`` bytes of address space and
    ``seconds`` of time; ``target`` and ``args`` must pickle. Its :class:`ExpenseError` is raised
    here as it was; running out of memory or time is a :class:`DocumentTooLarge` naming
    ``what``; any other exception in the child is a ``RuntimeError`` here (a bug)."""
    if not hasattr(os, "fork"):  # Windows: no fork; pdfium runs here, without a budget
        with _LOCK:
            return target(*args)
    request = pickle.dumps((target, args), protocol=pickle.HIGHEST_PROTOCOL)
    with _LOCK:
        status, data = _call(request, seconds, memory)
    if status == b"timeout":
        raise DocumentTooLarge(
            f"reading {what} takes more than {seconds:g} s: refused (is it a content bomb? "
            "re-save or print it to a new PDF)"
        )
    outcome: str
    payload: Any
    # Our own child's pickle of its result (the document's bytes never are unpickled).
    outcome, payload = pickle.loads(data) if status == b"ok" else ("memory", None)  # noqa: S301
    if outcome == "ok":
        return payload  # type: ignore[no-any-return]
    if outcome == "error":
        kind, message, code = payload
        raise kind(message, code=code)
    if outcome == "memory":
        raise DocumentTooLarge(
            f"reading {what} needs more than {memory >> 20:,} MB of memory: refused (is it a "
            "decompression or content bomb? re-save or print it to a new PDF)"
        )
    raise RuntimeError(f"the PDF reader failed: {payload}")


def _call(request: bytes, seconds: float, memory: int) -> tuple[bytes, bytes]:
    global _helper
    if _helper is None or _helper.poll() is not None:
        if _helper is not None:
            _stop(_helper)  # it died between calls: close its pipes
        _helper = _start()
    assert _helper.stdin is not None and _helper.stdout is not None
    try:
        _helper.stdin.write(_REQUEST.pack(len(request), seconds, memory) + request)
        _helper.stdin.flush()
        chunks: list[bytes] = []
        while True:
            kind, size = _FRAME.unpack(_read(_helper.stdout, _FRAME.size))
            body = _read(_helper.stdout, size)
            if kind == b"E":
                return body, b"".join(chunks)
            chunks.append(body)
    except (OSError, EOFError, struct.error) as exc:  # the helper died: start a new one next time
        _stop(_helper)
        _helper = None
        raise RuntimeError(f"the PDF reader's helper process failed: {exc}") from None


def _start() -> subprocess.Popen[bytes]:
    paths = [path for path in sys.path if path and os.path.isdir(path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    helper = subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        close_fds=True,
    )
    atexit.register(_stop, helper)
    return helper


def _stop(helper: subprocess.Popen[bytes]) -> None:
    if helper.poll() is None:
        helper.kill()
    helper.wait()
    for stream in (helper.stdin, helper.stdout):
        if stream is not None:
            stream.close()


def _read(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) != size:
        raise EOFError("the PDF reader's helper process ended")
    return data


# --- the helper process ------------------------------------------------------------------------


def _serve() -> None:
    """Read requests on stdin, fork a child for each, relay its result to stdout."""
    import pypdfium2  # noqa: F401  (loaded once here, shared by every forked child)

    from . import _documents  # noqa: F401

    # The protocol gets its own descriptor; fd 1 (which pdfium or a child might print to) goes to
    # stderr, so nothing can corrupt the frames.
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while True:
        head = stdin.read(_REQUEST.size)
        if len(head) != _REQUEST.size:
            return  # the caller is gone
        size, seconds, memory = _REQUEST.unpack(head)
        request = stdin.read(size)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_end)
            try:
                _child(request, memory, seconds, write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            status = _relay(read_end, pid, seconds, stdout)
        finally:
            os.close(read_end)
        stdout.write(_FRAME.pack(b"E", len(status)) + status)
        stdout.flush()


def _relay(read_end: int, pid: int, seconds: float, stdout: IO[bytes]) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        ready = select.select([read_end], [], [], max(remaining, 0))[0] if remaining > 0 else []
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return b"timeout"
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        stdout.write(_FRAME.pack(b"D", len(chunk)) + chunk)
    _, code = os.waitpid(pid, 0)
    return b"ok" if code == 0 else b"died"


def _child(request: bytes, memory: int, seconds: float, write_end: int) -> None:
    import resource

    # The CPU limit is a backstop should the helper die before it can kill us: the kernel stops
    # a child that spins past its time in CPU seconds (SIGXCPU, then SIGKILL at the hard limit).
    cpu = math.ceil(seconds) + 1
    for limit, value in (
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
    ):
        with contextlib.suppress(OSError, ValueError):  # macOS refuses RLIMIT_AS: time holds
            resource.setrlimit(limit, value)
    result: tuple[str, object]
    try:
        target, args = pickle.loads(request)  # noqa: S301  (from isolated(), in our caller)
        result = ("ok", target(*args))
    except ExpenseError as exc:
        result = ("error", (type(exc), exc.message, exc.code))
    except MemoryError:
        result = ("memory", None)
    except Exception as exc:  # a bug: the caller raises it (internal_error)
        result = ("bug", f"{type(exc).__name__}: {exc}")
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps(("memory", None))
    with os.fdopen(write_end, "wb") as out:
        out.write(data)


if __name__ == "__main__":
    _serve()
