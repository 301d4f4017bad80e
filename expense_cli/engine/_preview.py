"""Page previews: the pages of a document as small PNG images, for the web page's highlights.

A browser shows PNG, JPEG, WebP and GIF uploads itself, but not PDF or TIFF pages; so when a
request asks for ``page_images``, the server renders the pages that hold answers here (the same
page geometry the answer boxes refer to: a PDF page's media box, an image's frame after EXIF
rotation) at most ``max_side`` pixels on the longer side, grayscale.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Mapping
from typing import Any

from PIL import Image, ImageOps

from ..contract import sniff_type
from ._config import Limits
from ._documents import _without_icc, quiet_pillow, to_gray
from ._sandbox import isolated

__all__ = ["answer_pages", "page_images"]

MAX_SIDE = 1000
MAX_IMAGES = 8  # pages returned at most (those with answers come first)


def answer_pages(result: Mapping[str, Any]) -> list[int]:
    """The 1-based pages that hold an answer of a result (``Result.to_dict()``), in order."""
    items = [*(result.get("fields") or {}).values(), *(result.get("answers") or [])]
    pages = {item.get("page") for item in items if item.get("answer")}
    return sorted(page for page in pages if isinstance(page, int))[:MAX_IMAGES]


def _png(image: Image.Image, max_side: int) -> tuple[int, int, str]:
    image = to_gray(image)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return image.width, image.height, "data:image/png;base64," + encoded


def page_images(
    data: bytes, pages: Iterable[int], limits: Limits, max_side: int = MAX_SIDE
) -> list[dict[str, Any]]:
    """``[{"page", "width", "height", "image": "data:image/png;base64,..."}]`` for ``pages``.

    ``data`` has been validated by ``load_document`` under the same ``limits`` already (this is
    called after its answers were found), so its pixel and page counts are within bounds.
    """
    wanted = sorted(set(pages))[:MAX_IMAGES]
    if not wanted:
        return []
    out: list[dict[str, Any]] = []
    if sniff_type(data) == "application/pdf":
        # pdfium in a child process with a budget, like load_document (_sandbox.py)
        rendered = isolated(_render_pdf, data, wanted, max_side, what="this PDF's pages")
        return [_entry(number, image, max_side) for number, image in rendered]
    if sniff_type(data) == "image/png":
        data = _without_icc(data)  # as load_document read it
    with quiet_pillow(), Image.open(io.BytesIO(data)) as image:
        for number in wanted:
            try:
                image.seek(number - 1)
            except EOFError:
                continue
            out.append(_entry(number, ImageOps.exif_transpose(image), max_side))
    return out


def _render_pdf(data: bytes, wanted: list[int], max_side: int) -> list[tuple[int, Image.Image]]:
    import pypdfium2 as pdfium

    out: list[tuple[int, Image.Image]] = []
    pdf = pdfium.PdfDocument(data)
    try:
        for number in wanted:
            if not 1 <= number <= len(pdf):
                continue
            page = pdf[number - 1]
            try:
                width, height = page.get_size()
                scale = max_side / max(width, height, 1)
                out.append((number, page.render(scale=scale, grayscale=True).to_pil()))
            finally:
                page.close()
    finally:
        pdf.close()
    return out


def _entry(number: int, image: Image.Image, max_side: int) -> dict[str, Any]:
    width, height, uri = _png(image, max_side)
    return {"page": number, "width": width, "height": height, "image": uri}
