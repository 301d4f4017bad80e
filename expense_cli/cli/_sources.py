"""Turn what the user typed (a path or a URL) into document bytes."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import BadRequest, DocumentTooLarge, RemoteError

__all__ = ["MAX_DOWNLOAD_BYTES", "read_source"]

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
    """Bytes + a display name. URLs must be https (plain http only for this machine)."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            raise BadRequest(f"refusing plain http for {parts.hostname}: use an https URL")
        return _download(source, max_bytes), Path(parts.path).name or parts.hostname or source
    if "://" in source:
        raise BadRequest(f"unsupported URL scheme {parts.scheme!r}: use https:// or a file path")
    path = Path(source).expanduser()
    if not path.is_file():
        raise BadRequest(f"no such file: {source}")
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentTooLarge(f"{source} is {size:,} bytes; the limit is {max_bytes:,}")
    return path.read_bytes(), path.name


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
