"""The web page at ``/`` in a real headless browser (Debian chromium through playwright)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import png_bytes
from tests.serving.conftest import MERCHANT

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.model, pytest.mark.ocr]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, server_url: str) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # Chromium also logs every non-2xx fetch ("Failed to load resource"); the error tests
        # provoke those on purpose. Anything else on the console is a problem.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console: {message.text}")

    def only_this_server(route: Any) -> None:
        # The page must need nothing but this server (no CDN): refuse every other request.
        if route.request.url.startswith(server_url):
            route.continue_()
        else:
            problems.append(f"external request: {route.request.url}")
            route.abort()

    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", on_console)
    page.route("**/*", only_this_server)
    page.goto(f"{server_url}/")
    try:
        yield page
    finally:
        context.close()
    assert problems == []


def test_upload_a_receipt_and_see_the_fields(
    page: Any, receipt_png: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("page")
    receipt = out / "receipt.png"
    receipt.write_bytes(receipt_png)
    assert page.locator("#submit").is_disabled()
    page.set_input_files("#file", str(receipt))
    page.click("#submit")
    merchant_row = page.locator("#fields tbody tr", has_text="merchant").first
    merchant_row.wait_for(timeout=60_000)
    cells = merchant_row.locator("td").all_inner_texts()
    assert cells[0] == "merchant"
    assert cells[1] == MERCHANT
    assert 0 <= float(cells[3]) <= 1
    assert cells[4] == "1"
    assert page.locator("#error").is_hidden()
    page.screenshot(path=str(out / "page.png"), full_page=True)
    assert (out / "page.png").stat().st_size > 0


def test_custom_questions_are_answered(page: Any, receipt_png: bytes, tmp_path: Path) -> None:
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(receipt_png)
    page.set_input_files("#file", str(receipt))
    page.fill("#questions", "Who sold the coffee?\n\ntotal\n")
    page.click("#submit")
    answer = page.locator("#answers tbody tr").first
    answer.wait_for(timeout=60_000)
    assert answer.locator("td").all_inner_texts()[:2] == ["Who sold the coffee?", MERCHANT]
    assert page.locator("#fields tbody tr").all_inner_texts()[0].startswith("total")


def test_a_bad_file_shows_the_server_error(page: Any, tmp_path: Path, receipt_image: Any) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(png_bytes(receipt_image)[:3000])
    page.set_input_files("#file", str(broken))
    page.click("#submit")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=60_000)
    assert "422" in error.inner_text()
    assert "unreadable_document" in error.inner_text()
    assert page.locator("#results").is_hidden()


def test_page_is_self_contained_and_locked_down(server_url: str) -> None:
    response = httpx.get(f"{server_url}/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    linked = re.findall(r'(?:src|href)="([^"]*)"', response.text)
    assert sorted(linked) == ["static/app.css", "static/app.js"]  # nothing from elsewhere
    for name in ("app.js", "app.css"):
        asset = httpx.get(f"{server_url}/static/{name}")
        assert asset.status_code == 200
        assert "http://" not in asset.text and "https://" not in asset.text
    assert httpx.get(f"{server_url}/static/../_app.py").status_code == 404
    assert httpx.get(f"{server_url}/static/secret.txt").status_code == 404
