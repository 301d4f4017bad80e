"""The web page's files and headers: one source for every place that serves the page.

Standard library only. The page (``expense_cli/serving/static/``) is served by the local model
server (``expense_cli/serving/_app.py``), by the deployed function URL (``handler/app.py``; the
Lambda zip carries this module and the static folder: ``expense_cli/aws/_package.py``) and by
``expense-cli serve --deployment`` (``expense_cli/serving/_proxy.py``). Each tells the page what it
can do through ``GET config.json`` (:func:`page_config`): whether it wants a bearer token, and
whether it fetches image URLs. Requests go to ``invocations`` beside the page, same origin.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["PAGE_FILES", "PAGE_HEADERS", "page_config", "page_file", "static_dir"]

PAGE_FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# Strict: nothing but this origin's own files; answer pages arrive as data: URLs in the JSON.
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def static_dir() -> Path:
    """``expense_cli/serving/static`` beside this module (in the package or the Lambda zip)."""
    return Path(__file__).resolve().parent / "serving" / "static"


def page_file(path: str) -> tuple[bytes, str] | None:
    """``(bytes, content type)`` of the page file a request path names, or ``None``.

    ``/`` and ``/index.html`` are the page; ``/static/<name>`` its assets. Nothing else is served
    (no directory walking: only the names in :data:`PAGE_FILES`).
    """
    name = path.lstrip("/")
    if name in ("", "index.html"):
        name = "index.html"
    elif name.startswith("static/"):
        name = name.removeprefix("static/")
    else:
        return None
    if name not in PAGE_FILES:
        return None
    return (static_dir() / name).read_bytes(), PAGE_FILES[name]


def page_config(
    *,
    auth: str,
    fetches_urls: bool,
    max_document_bytes: int | None = None,
    max_body_bytes: int | None = None,
) -> bytes:
    """The page's ``config.json``: ``auth`` is ``none``, ``token`` (ask for a bearer token) or
    ``iam`` (a browser cannot sign: use ``expense-cli serve --deployment``). With the service's
    limits (``expense_cli/contract.py`` ``Limits``), the page refuses a file over them before
    uploading it; without them (the signing proxy: the deployment's own limits are not known
    there) the service's 413 says so."""
    config: dict[str, object] = {"auth": auth, "fetches_urls": fetches_urls}
    if max_document_bytes is not None and max_body_bytes is not None:
        config.update(max_document_bytes=max_document_bytes, max_body_bytes=max_body_bytes)
    return json.dumps(config).encode()
