"""Turn what the user typed (paths, globs, URLs, ``-`` for stdin) into document bytes."""

from __future__ import annotations

import glob
import ipaddress
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import BadRequest, DocumentTooLarge, RemoteError

__all__ = ["MAX_DOWNLOAD_BYTES", "STDIN", "expand_sources", "read_source"]

STDIN = "-"
_GLOB_CHARS = frozenset("*?[")


def expand_sources(sources: Sequence[str]) -> tuple[list[str], bool]:
    """The documents to read, in order, without repeats; and whether the user asked for several
    (more than one, or a glob). A glob the shell did not expand (quoted, or on Windows) is
    expanded here; a folder is refused with a pointer to ``report``, before any work."""
    out: list[str] = []
    several = len(sources) > 1
    for source in sources:
        if source == STDIN or "://" in source:
            out.append(source)
            continue
        path = Path(source).expanduser()
        if path.is_dir():
            raise BadRequest(
                f"{source} is a folder: `expense-cli report {source}` reads every receipt in it"
            )
        if path.exists() or not _GLOB_CHARS & set(source):
            out.append(source)
            continue
        several = True
        matches = sorted(m for m in glob.glob(str(path), recursive=True) if Path(m).is_file())
        if not matches:
            raise BadRequest(f"no file matches {source}")
        out.extend(matches)
    if out.count(STDIN) > 1:
        raise BadRequest("- (stdin) can be given only once")
    return list(dict.fromkeys(out)), several


MAX_DOWNLOAD_BYTES = 20_000_000
_TIMEOUT_S = 30.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_source(source: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> tuple[bytes, str]:
    """Bytes + a display name. URLs must be https (plain http only for this machine); ``-`` is
    standard input."""
    if source == STDIN:
        return _read_stdin(max_bytes), "stdin"
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            raise BadRequest(f"refusing plain http for {parts.hostname}: use an https URL")
        return _download(source, max_bytes), Path(parts.path).name or parts.hostname or source
    if "://" in source:
        raise BadRequest(f"unsupported URL scheme {parts.scheme!r}: use https:// or a file path")
    path = Path(source).expanduser()
    if path.is_dir():
        raise BadRequest(f"{source} is a folder: `expense-cli report {source}` reads it")
    if not path.is_file():
        raise BadRequest(f"no such file: {source}")
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentTooLarge(f"{source} is {size:,} bytes; the limit is {max_bytes:,}")
    return path.read_bytes(), path.name


def _read_stdin(max_bytes: int) -> bytes:
    stream = sys.stdin
    if stream is None or stream.isatty():
        raise BadRequest("- reads a document from stdin: pipe one in (expense-cli ask - < r.png)")
    data = stream.buffer.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DocumentTooLarge(f"stdin holds more than {max_bytes:,} bytes, the limit")
    if not data:
        raise BadRequest("stdin is empty: pipe a document in (expense-cli ask - < r.png)")
    return data


def _download(url: str, max_bytes: int) -> bytes:
    import httpx

    chunks: list[bytes] = []
    received = 0
    try:
        with httpx.stream("GET", url, timeout=_TIMEOUT_S, follow_redirects=True) as response:
            if response.status_code != 200:
                raise RemoteError(f"download failed: HTTP {response.status_code} from {url}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise DocumentTooLarge(f"{url} is {int(declared):,} bytes; limit {max_bytes:,}")
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise DocumentTooLarge(f"{url} is larger than {max_bytes:,} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise RemoteError(f"download failed: {exc}") from None
    return b"".join(chunks)
