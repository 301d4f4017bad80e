"""Recognise supported document formats by their first bytes (never trust a declared type)."""

from __future__ import annotations

__all__ = ["SUPPORTED_TYPES", "sniff"]

SUPPORTED_TYPES = (
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/webp",
    "image/gif",
    "application/pdf",
)

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def sniff(data: bytes) -> str | None:
    """The media type ``data`` starts like, or ``None`` when it is no supported document."""
    for prefix, media_type in _PREFIXES:
        if data.startswith(prefix):
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
