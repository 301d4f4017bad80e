"""Turn what the user typed (paths, globs, URLs, ``-`` for stdin) into document bytes.

Names in messages are in the lossless display form of ``expense_cli/report/_names.py`` (a
non-UTF-8 byte as ``\\xNN``, control characters escaped), like the report's, so no name can write
invalid UTF-8 or terminal escape sequences. A local file is read like a report's document
(``expense_cli/report/_read.py``): regular files only, never blocking on a pipe, and never more
than the limit even if it grows while read.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import stat
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import BadRequest, DocumentTooLarge, RemoteError, UnreadableDocument

__all__ = ["MAX_DOWNLOAD_BYTES", "STDIN", "expand_sources", "read_source"]

STDIN = "-"
_GLOB_CHARS = frozenset("*?[")


def expand_sources(sources: Sequence[str]) -> tuple[list[str], bool]:
    """The documents to read, in order, without repeats; and whether the user asked for several
    (more than one, or a glob). A glob the shell did not expand (quoted, or on Windows) is
    expanded here; a folder is refused with a pointer to ``report``, before any work."""
    from ..report import display_name
    from ..report._read import stat_argument

    out: list[str] = []
    several = len(sources) > 1
    for source in sources:
        if source == STDIN or "://" in source:
            out.append(source)
            continue
        path = Path(source).expanduser()
        found = stat_argument(path)
        if found is not None and stat.S_ISDIR(found.st_mode):
            raise _a_folder(display_name(source))
        if found is not None or not _GLOB_CHARS & set(source):
            out.append(source)
            continue
        several = True
        matches = sorted(m for m in _glob(path) if Path(m).is_file())
        if not matches:
            raise BadRequest(f"no file matches {display_name(source)}")
        out.extend(matches)
    if out.count(STDIN) > 1:
        raise BadRequest("- (stdin) can be given only once")
    # One file reached by several names (./a.png and a.png, or a recursive glob through a link
    # loop such as loop -> ., which spells each file 40 ways) is asked once, by its shortest name.
    unique: dict[str, str] = {}
    for source in out:
        local = source != STDIN and "://" not in source
        key = os.path.realpath(Path(source).expanduser()) if local else source
        if key not in unique or len(source) < len(unique[key]):
            unique[key] = source
    return list(unique.values()), several


def _a_folder(shown: str) -> BadRequest:
    return BadRequest(
        f"{shown} is a folder: `expense-cli report {shown}` reads every receipt in it"
    )


def _glob(pattern: Path) -> list[str]:
    """The paths matching ``pattern``, hidden ones left out like the shell does. ``**`` does not
    go through links to folders (as bash's globstar): ``glob.glob`` does, and in a folder with
    two links back up (``loop -> .``, ``sub/up -> ..``) it tried 2**40 paths."""
    if "**" not in pattern.parts:
        return glob.glob(str(pattern))
    parts = pattern.parts
    first = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part) or part == "**")
    base = Path(*parts[:first]) if first else Path()
    rest = Path(*parts[first:], *(["*"] if parts[-1] == "**" else []))  # pathlib's ** is folders
    return [
        str(match)
        for match in base.glob(str(rest))
        if not any(part.startswith(".") for part in match.relative_to(base).parts)
    ]


MAX_DOWNLOAD_BYTES = 20_000_000
_TIMEOUT_S = 30.0  # per connect / read
_DEADLINE_S = 120.0  # the whole download


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
    from ..report import display_name

    if source == STDIN:
        return _read_stdin(max_bytes), "stdin"
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            raise BadRequest(f"refusing plain http for {parts.hostname}: use an https URL")
        name = Path(parts.path).name or parts.hostname or source
        data = _download(source, max_bytes)
        if not data:
            raise BadRequest(f"{display_name(source)} sent an empty body (0 bytes)")
        return data, display_name(name)
    if "://" in source:
        raise BadRequest(f"unsupported URL scheme {parts.scheme!r}: use https:// or a file path")
    return _read_file(Path(source).expanduser(), display_name(source), max_bytes)


def _read_file(path: Path, shown: str, max_bytes: int) -> tuple[bytes, str]:
    from ..report import display_name
    from ..report._read import read_document, stat_argument

    found = stat_argument(path)
    if found is None:  # a dangling link too
        raise BadRequest(f"no such file: {shown}")
    if stat.S_ISDIR(found.st_mode):
        raise _a_folder(shown)
    try:
        data = read_document(path, max_bytes)
    except UnreadableDocument:  # a pipe, a device (a link to /dev/zero), a socket
        raise BadRequest(f"{shown} is not a regular file (a pipe, device or socket)") from None
    except DocumentTooLarge as exc:
        raise DocumentTooLarge(f"{shown}: {exc.message}") from None
    except BadRequest as exc:  # empty: an interrupted copy, said here, not as a server's "no body"
        raise BadRequest(f"{shown} is empty (0 bytes)", code=exc.code) from None
    except OSError as exc:  # permissions, or the file went away after the check
        raise UnreadableDocument(f"cannot read {shown}: {exc.strerror or exc}") from None
    return data, display_name(path.name)


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
    """The body of ``url``, at most ``max_bytes``, within about ``_DEADLINE_S`` in all: httpx's
    timeout is per read, so a server dripping a byte at a time would otherwise never end."""
    import httpx

    chunks: list[bytes] = []
    received = 0
    deadline = time.monotonic() + _DEADLINE_S
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
                if time.monotonic() > deadline:
                    raise RemoteError(
                        f"download failed: {url} sent {received:,} bytes in {_DEADLINE_S:.0f} s "
                        "and was still sending (download it, then ask about the file)"
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise RemoteError(f"download failed: {exc}") from None
    return b"".join(chunks)
