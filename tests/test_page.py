"""The web page in a real headless browser (Debian chromium through playwright), three ways:

* from the local model server;
* from the Lambda handler behind a local function-URL stand-in (tests/_function_url.py) in token
  mode, forwarding to the local server as its endpoint;
* from ``expense-cli serve --deployment``'s proxy, which signs every request (SigV4) for a
  function URL in IAM mode; the stand-in checks each signature.

Screenshots land in ``test-artifacts/page/`` (``EXPENSE_TEST_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from expense_cli.contract import ERRORS, error_body
from expense_cli.engine import Engine
from expense_cli.serving import Settings, create_app
from expense_cli.synthetic import RECEIPT_LINES, receipt_pdf, render_receipt
from tests._function_url import Credentials, function_url
from tests._servers import running_server
from tests.conftest import png_bytes
from tests.page_stub import MAX_HOLD_S, Reply, Stub, result, stub_service

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "handler"))

import app as handler_app  # noqa: E402
from _auth import TokenAuthenticator  # noqa: E402
from _config import Settings as HandlerSettings  # noqa: E402
from _endpoint import EndpointInvoker  # noqa: E402
from _fetch import FetchPolicy  # noqa: E402

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.model, pytest.mark.ocr]

MERCHANT = "ACME COFFEE ROASTERS"
TOKEN = "page-test-token"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
ARTIFACTS = Path(os.environ.get("EXPENSE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "page"


# --- documents -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A PNG receipt, a 3-page PDF whose answer is on page 2 (scanned pages, no text layer), a
    text file named like a PDF, and two more receipts for a queue."""
    out = tmp_path_factory.mktemp("page-files")
    receipt = render_receipt(RECEIPT_LINES)
    blank = render_receipt(("Terms and conditions", "Page intentionally left blank"))
    paths = {
        "png": out / "receipt.png",
        "pdf": out / "three pages.pdf",
        "bad": out / "notes.pdf",
        "second": out / "second.png",
        "third": out / "third.jpg",
    }
    paths["png"].write_bytes(png_bytes(receipt))
    paths["pdf"].write_bytes(receipt_pdf([blank, receipt, blank]))
    paths["bad"].write_text("not a document, just notes\n")
    paths["second"].write_bytes(png_bytes(render_receipt(RECEIPT_LINES[:5])))
    paths["third"].write_bytes(png_bytes(receipt.convert("RGB"), "JPEG", quality=85))
    return paths


# --- servers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url(engine: Engine) -> Iterator[str]:
    with running_server(create_app(Settings(), engine=engine)) as url:
        yield url


def _invoker(server_url: str) -> EndpointInvoker:
    import boto3
    from botocore.config import Config

    def client() -> Any:
        return boto3.client(
            "sagemaker-runtime",
            endpoint_url=server_url,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
        )

    return EndpointInvoker("page", client_factory=client)


def _loopback_fetch(port: int) -> FetchPolicy:
    """The production rules, widened to this test's document server on 127.0.0.1 only."""
    return FetchPolicy(
        max_bytes=4_400_000,
        timeout_s=10,
        allow_http=True,
        address_allowed=lambda ip: ip == ipaddress.ip_address("127.0.0.1"),
        extra_ports=frozenset({port}),
    )


@pytest.fixture(scope="module")
def document_server(files: dict[str, Path]) -> Iterator[str]:
    import http.server
    import threading

    root = files["png"].parent

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def token_url(server_url: str, document_server: str) -> Iterator[str]:
    """The handler in token mode behind the function-URL stand-in."""
    settings = HandlerSettings(endpoint_name="page", auth_mode="token", token_parameter="/page/t")
    handler = handler_app.Handler(
        settings,
        invoker=_invoker(server_url),
        authenticator=TokenAuthenticator(lambda: TOKEN),
        fetch_policy=_loopback_fetch(int(document_server.rsplit(":", 1)[1])),
    )
    with function_url(handler) as url:
        yield url


@pytest.fixture(scope="module")
def iam() -> Credentials:
    return Credentials()


@pytest.fixture(scope="module")
def proxy_url(server_url: str, iam: Credentials) -> Iterator[str]:
    """``serve --deployment``'s app in front of an IAM function URL (signatures checked)."""
    from botocore.credentials import Credentials as BotoCredentials

    from expense_cli.aws import FunctionUrlTarget
    from expense_cli.serving._proxy import create_proxy_app

    handler = handler_app.Handler(
        HandlerSettings(endpoint_name="page"), invoker=_invoker(server_url)
    )
    with function_url(handler, iam=iam) as url:
        target = FunctionUrlTarget(
            url,
            auth="iam",
            region=iam.region,
            credentials=BotoCredentials(iam.access_key, iam.secret_key),
        )
        with running_server(create_proxy_app(target), ready=False) as proxy:
            yield proxy


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: scripts/system-deps.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """One browser tab on ``base``; fails the test on console errors, page errors and any
    request to another origin (the page must need nothing but its own origin)."""

    def __init__(self, browser: Any, base: str, *, width: int = 1280) -> None:
        self.base = base
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, accept_downloads=True
        )
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        self.tab = self.context.new_page()
        self.problems: list[str] = []

        def on_console(message: Any) -> None:
            # chromium also logs every non-2xx fetch; the error tests provoke those on purpose
            if message.type == "error" and "Failed to load resource" not in message.text:
                self.problems.append(f"console: {message.text}")

        def same_origin(route: Any) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                self.problems.append(f"external request: {route.request.url}")
                route.abort()

        self.tab.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.tab.on("console", on_console)
        self.tab.route("**/*", same_origin)
        self.tab.goto(f"{base}/")
        self.tab.locator("#drop").wait_for()

    def read(self, *paths: Path, questions: str = "", url: str = "") -> None:
        if paths:
            self.tab.set_input_files("#file", [str(p) for p in paths])
        if url:
            self.tab.fill("#url", url)
        if questions:
            self.tab.fill("#questions", questions)
        before = self.tab.locator("#queue .item").count()
        self.tab.click("#submit")
        expected = before + len(paths) + (1 if url else 0)
        expect(self.tab.locator("#queue .item")).to_have_count(expected, timeout=30_000)
        busy = self.tab.locator("#queue .item[data-state=queued], #queue .item[data-state=running]")
        expect(busy).to_have_count(0, timeout=120_000)

    def item(self, index: int) -> Any:
        return self.tab.locator("#queue .item").nth(index)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.tab.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        return path

    def close(self) -> None:
        self.context.close()
        assert self.problems == []


@pytest.fixture
def local_page(browser: Any, server_url: str) -> Iterator[Page]:
    page = Page(browser, server_url)
    yield page
    page.close()


def _rows(item: Any) -> dict[str, list[str]]:
    rows = {}
    for row in item.locator("table.answers tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        rows[cells[0].strip()] = cells
    return rows


def _assert_boxes_on_the_answer(item: Any) -> None:
    """Boxes are drawn inside the document image, one per answer word, where the words are."""
    figure = item.locator("figure.doc")
    figure.wait_for()
    img = figure.locator("img").bounding_box()
    boxes = figure.locator(".box")
    assert boxes.count() >= 3  # ACME, COFFEE, ROASTERS of at least one row
    for index in range(min(boxes.count(), 6)):
        box = boxes.nth(index).bounding_box()
        assert img["x"] <= box["x"] and box["x"] + box["width"] <= img["x"] + img["width"] + 1
        assert img["y"] <= box["y"] and box["y"] + box["height"] <= img["y"] + img["height"] + 1
        assert box["width"] > 3 and box["height"] > 3


# --- the local server -----------------------------------------------------------------------


def test_png_answers_are_highlighted_where_they_are(
    local_page: Page, files: dict[str, Path]
) -> None:
    local_page.read(files["png"])
    item = local_page.item(0)
    assert item.get_attribute("data-state") == "done"
    rows = _rows(item)
    assert rows["merchant"][1] == MERCHANT
    assert set(rows) >= {"merchant", "date", "total"}
    _assert_boxes_on_the_answer(item)
    # the merchant's boxes are on the first line of the receipt: the top of the image
    first = item.locator("figure.doc .box").first.bounding_box()
    img = item.locator("figure.doc img").bounding_box()
    assert first["y"] - img["y"] < img["height"] * 0.1
    local_page.shot("local-png")


def test_hover_and_focus_link_rows_and_boxes(local_page: Page, files: dict[str, Path]) -> None:
    local_page.read(files["png"], questions="Who sold it?")
    item = local_page.item(0)
    row = item.locator("table.answers tbody tr").filter(has_text="Who sold it?")
    row.hover()
    index = row.get_attribute("data-row")
    assert item.locator(f".box.hl[data-row='{index}']").count() >= 1
    local_page.tab.mouse.move(0, 0)
    assert item.locator(".box.hl").count() == 0
    row.focus()  # keyboard: rows are focusable and highlight like hover
    assert item.locator(f".box.hl[data-row='{index}']").count() >= 1
    box = item.locator(f".box[data-row='{index}']").first
    local_page.tab.mouse.move(0, 0)
    row.evaluate("r => r.blur()")
    box.hover()
    assert "hl" in (row.get_attribute("class") or "")


def test_low_scores_are_flagged(local_page: Page, files: dict[str, Path]) -> None:
    local_page.tab.fill("#min-score", "1")  # everything below 1.0 is low
    local_page.read(files["png"])
    item = local_page.item(0)
    flagged = item.locator("table.answers tbody tr.low")
    scores = [
        float(r.split("\t")[3].split()[0]) for r in item.locator("tbody tr").all_inner_texts()
    ]
    assert flagged.count() == sum(1 for s in scores if s < 1.0)
    assert item.locator(".flag").count() == flagged.count()
    local_page.tab.fill("#min-score", "0")
    assert item.locator("table.answers tbody tr.low").count() == 0


def test_multi_page_pdf_shows_the_answers_page(local_page: Page, files: dict[str, Path]) -> None:
    local_page.read(files["pdf"])
    item = local_page.item(0)
    assert item.get_attribute("data-state") == "done"
    assert "3 pages" in item.locator(".state").inner_text()
    assert _rows(item)["merchant"][4] == "2"
    img = item.locator("figure.doc img")
    assert img.get_attribute("alt").endswith("page 2")
    assert img.get_attribute("src").startswith("data:image/png;base64,")
    _assert_boxes_on_the_answer(item)
    local_page.shot("local-pdf-page-2")


def test_a_non_document_gets_a_clear_error(local_page: Page, files: dict[str, Path]) -> None:
    local_page.read(files["bad"])
    item = local_page.item(0)
    assert item.get_attribute("data-state") == "failed"
    problem = item.locator(".problem").inner_text()
    assert "415" in problem and "unsupported_media_type" in problem
    assert item.locator("table").count() == 0


def test_an_empty_file_and_too_many_pages_each_say_why(
    local_page: Page, files: dict[str, Path], tmp_path: Path
) -> None:
    """A 0-byte file and a 25-page PDF (the limit is 20): each fails with the server's own
    words; the receipt after them is still read."""
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    many = tmp_path / "twenty-five pages.pdf"
    many.write_bytes(receipt_pdf([render_receipt(("page",))] * 25))
    local_page.read(empty, many, files["png"])
    problems = [local_page.item(i).locator(".problem").inner_text() for i in range(2)]
    assert "(400 empty_document)" in problems[0]
    assert "25 pages" in problems[1] and "(413 document_too_large)" in problems[1]
    assert local_page.item(2).get_attribute("data-state") == "done"


def test_three_files_queue_then_export(local_page: Page, files: dict[str, Path]) -> None:
    local_page.read(files["png"], files["second"], files["third"])
    assert local_page.tab.locator("#queue .item").count() == 3
    names = local_page.tab.locator("#queue .item-head .name").all_inner_texts()
    assert names == ["receipt.png", "second.png", "third.jpg"]
    for index in range(3):
        assert local_page.item(index).get_attribute("data-state") == "done"
    assert "3 of 3" in local_page.tab.locator("#status").inner_text()
    local_page.shot("local-queue")

    with local_page.tab.expect_download() as download:
        local_page.tab.click("#save-json")
    exported = json.loads(Path(download.value.path()).read_text())
    assert [r["file"] for r in exported] == names
    assert exported[0]["fields"]["merchant"]["boxes"]  # the boxes come along
    with local_page.tab.expect_download() as download:
        local_page.tab.click("#save-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {r["file"] for r in rows} == set(names)
    assert any(r["name"] == "merchant" and r["answer"] == MERCHANT for r in rows)
    local_page.tab.click("#copy-json")
    copied = local_page.tab.evaluate("navigator.clipboard.readText()")
    assert json.loads(copied) == exported


def test_a_phone_screen_needs_no_horizontal_scrolling(
    browser: Any, server_url: str, files: dict[str, Path]
) -> None:
    page = Page(browser, server_url, width=390)
    page.read(files["png"], files["pdf"])
    wide = page.tab.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390
    page.shot("phone-390px")
    page.close()


def test_the_page_is_self_contained_and_locked_down(
    server_url: str, token_url: str, proxy_url: str
) -> None:
    for base in (server_url, token_url, proxy_url):
        response = httpx.get(f"{base}/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        linked = re.findall(r'(?:src|href)="([^"]*)"', response.text)
        assert sorted(linked) == ["static/app.css", "static/app.js"]
        for name in ("app.js", "app.css"):
            asset = httpx.get(f"{base}/static/{name}")
            assert asset.status_code == 200
            assert "http://" not in asset.text and "https://" not in asset.text.replace(
                "https://example.com/receipt.png", ""
            )
        assert httpx.get(f"{base}/static/../_app.py").status_code == 404
        assert httpx.get(f"{base}/static/secret.txt").status_code == 404
    # one source: the function URL serves byte-identical files
    for name in ("", "static/app.js", "static/app.css"):
        assert httpx.get(f"{server_url}/{name}").content == httpx.get(f"{token_url}/{name}").content
    # the limits each side checks (the page refuses a file over them before uploading it)
    served = httpx.get(f"{server_url}/config.json").json()
    server = Settings()  # server_url's
    assert served == {
        "auth": "none",
        "fetches_urls": False,
        "max_document_bytes": server.engine.limits.max_bytes,
        "max_body_bytes": server.body_limit,
    }
    deployed = httpx.get(f"{token_url}/config.json").json()
    handler = HandlerSettings("page")
    assert deployed == {
        "auth": "token",
        "fetches_urls": True,
        "max_document_bytes": handler.max_document_bytes,
        "max_body_bytes": handler.max_body_bytes,
    }


# --- deployed: the function URL in token mode ---------------------------------------------------


def test_token_mode_wrong_token_then_right_token(
    browser: Any, token_url: str, files: dict[str, Path]
) -> None:
    page = Page(browser, token_url)
    assert page.tab.locator("#token-box").is_visible()
    page.tab.fill("#token", "wrong")
    page.read(files["png"])
    problem = page.item(0).locator(".problem").inner_text()
    assert "refused" in problem and "403" in problem and "forbidden" in problem
    page.shot("token-wrong")
    page.tab.fill("#token", TOKEN)
    page.tab.locator("#token").dispatch_event("change")
    page.read(files["pdf"])
    item = page.item(1)
    assert item.get_attribute("data-state") == "done"
    assert _rows(item)["merchant"][1] == MERCHANT
    _assert_boxes_on_the_answer(item)
    # kept for this tab only
    assert page.tab.evaluate("sessionStorage.getItem('expense-token')") == TOKEN
    assert page.tab.evaluate("localStorage.length") == 0
    page.shot("token-right-pdf")
    page.close()


def test_token_mode_fetches_an_image_url(
    browser: Any, token_url: str, document_server: str, files: dict[str, Path]
) -> None:
    page = Page(browser, token_url)
    page.tab.fill("#token", TOKEN)
    page.tab.locator("#token").dispatch_event("change")
    page.read(url=f"{document_server}/receipt.png")
    item = page.item(0)
    assert item.get_attribute("data-state") == "done"
    assert _rows(item)["merchant"][1] == MERCHANT
    _assert_boxes_on_the_answer(item)  # the fetched image comes back rendered
    page.close()


# --- deployed: IAM mode through `serve --deployment` ---------------------------------------------


def test_proxy_signs_every_request_for_the_urls_region(
    browser: Any, proxy_url: str, iam: Credentials, files: dict[str, Path]
) -> None:
    before = len(iam.seen)
    page = Page(browser, proxy_url)
    assert page.tab.locator("#token-box").is_hidden()
    page.read(files["png"], files["pdf"])
    for index in range(2):
        assert page.item(index).get_attribute("data-state") == "done"
        _assert_boxes_on_the_answer(page.item(index))
    assert iam.seen[before:] == ["eu-west-1/lambda/aws4_request"] * 2
    page.shot("proxy-iam")
    page.close()


def test_the_proxy_with_credentials_the_url_refuses(
    browser: Any, server_url: str, iam: Credentials, files: dict[str, Path]
) -> None:
    """AWS's own 403 through ``serve --deployment``: about the AWS credentials, not a token
    (the page used to say 'The access token was refused' and focus a hidden token box)."""
    from botocore.credentials import Credentials as BotoCredentials

    from expense_cli.aws import FunctionUrlTarget
    from expense_cli.serving._proxy import create_proxy_app

    handler = handler_app.Handler(HandlerSettings(endpoint_name="page"))
    with function_url(handler, iam=iam) as url:
        wrong = BotoCredentials(iam.access_key, "not-the-secret")
        target = FunctionUrlTarget(url, auth="iam", region=iam.region, credentials=wrong)
        with running_server(create_proxy_app(target), ready=False) as proxy:
            page = Page(browser, proxy)
            page.read(files["png"])
            problem = page.item(0).locator(".problem").inner_text()
            assert problem.startswith("The request was refused: Forbidden"), problem
            assert "(403 Forbidden)" in problem and "lambda:InvokeFunctionUrl" in problem
            assert "token" not in problem
            assert page.tab.evaluate("document.activeElement.id") != "token"
            page.close()


def test_the_stand_in_refuses_unsigned_and_wrongly_signed_requests(
    proxy_url: str, iam: Credentials
) -> None:
    """The IAM check is real: unsigned, wrong-region and wrong-key requests get AWS's 403."""
    from botocore.credentials import Credentials as BotoCredentials

    from expense_cli.aws import sign_request

    target_url = httpx.get(f"{proxy_url}/config.json")  # the proxy is up
    assert target_url.status_code == 200
    body = json.dumps({"document": "aGVsbG8="}).encode()
    handler = handler_app.Handler(HandlerSettings(endpoint_name="x"))
    with function_url(handler, iam=iam) as url:
        headers = {"content-type": "application/json"}
        assert httpx.post(url, content=body, headers=headers).status_code == 403
        wrong_region = sign_request(
            url, body, headers, BotoCredentials(iam.access_key, iam.secret_key), "us-east-1"
        )
        assert httpx.post(url, content=body, headers=wrong_region).status_code == 403
        wrong_key = sign_request(
            url, body, headers, BotoCredentials(iam.access_key, "nope"), iam.region
        )
        assert httpx.post(url, content=body, headers=wrong_key).status_code == 403
        right = sign_request(
            url, body, headers, BotoCredentials(iam.access_key, iam.secret_key), iam.region
        )
        answer = httpx.post(url, content=body, headers=right)
        assert answer.status_code == 415  # past the IAM check: the handler refused "hello"
        assert answer.json()["error"]["code"] == "unsupported_media_type"


# --- hostile use, against a scripted stand-in (tests/page_stub.py) -------------------------------

HOSTILE = '<img src=x onerror="window.__xss=1"></script><script>window.__xss=2</script>'


@pytest.fixture
def stub() -> Iterator[Stub]:
    with stub_service() as service:
        yield service


@pytest.fixture(scope="module")
def receipts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Forty-eight small real PNGs with names nobody on the team would pick."""
    out = tmp_path_factory.mktemp("page-receipts")
    data = png_bytes(render_receipt(RECEIPT_LINES[:3]))
    odd = ["<img src=x onerror=alert(1)>", "\u202egnp.exe", "🧾 reçu", "فاتورة", "a" * 150]
    paths = []
    for index in range(48):
        path = out / f"{index:02d} {odd[index % len(odd)]}.png"
        path.write_bytes(data)
        paths.append(path)
    return paths


def _not_broken(text: str, sent: str = "") -> None:
    """No JavaScript junk in ``text`` beyond what the server ``sent``."""
    text = text.replace(sent, "") if sent else text
    for junk in ("[object Object]", "undefined", "null", "NaN", "Cannot read properties"):
        assert junk not in text, text


def _no_script_ran(page: Page) -> None:
    assert page.tab.evaluate("window.__xss") is None
    assert page.tab.locator("#queue img:not(figure.doc img)").count() == 0


def _wait_held(page: Page, stub: Stub) -> None:
    """Until the stub holds a request; playwright's routing (Page's same-origin check) only runs
    while the test calls into playwright, so wait through it, not on the event alone."""
    for _ in range(int(MAX_HOLD_S * 10)):
        if stub.held.is_set():
            return
        page.tab.wait_for_timeout(100)
    raise AssertionError("the page sent no request")


def test_every_contract_error_shows_its_message_and_code(
    browser: Any, stub: Stub, receipts: list[Path]
) -> None:
    """Each code of expense_cli/contract.py's ERRORS, as either side sends it, in one queue.
    (408 request_timeout aside: by HTTP's rules chromium sends a request answered 408 again.)"""
    specs = [s for s in ERRORS.values() if s.sides != "cli" and s.code != "request_timeout"]
    for spec in specs:
        body = error_body(spec.code, f"{spec.meaning} 𝄞 {HOSTILE}", "req-1")
        # 429 and 503 are sent four times (test_retry_after_is_waited_for_...), here at once
        again = spec.status in (429, 503)
        headers = {"retry-after": "0"} if again else {}
        stub.script.extend([Reply(spec.status, body, headers=headers)] * (4 if again else 1))
    page = Page(browser, stub.url)
    page.read(*receipts[: len(specs)])
    for index, spec in enumerate(specs):
        item = page.item(index)
        assert item.get_attribute("data-state") == "failed"
        problem = item.locator(".problem").inner_text()
        assert f"{spec.meaning} 𝄞 {HOSTILE}" in problem
        assert f"{spec.status} {spec.code}" in problem
        _not_broken(problem, f"{spec.meaning} 𝄞 {HOSTILE}")
    _no_script_ran(page)
    assert f"0 of {len(specs)}" in page.tab.locator("#status").inner_text()
    page.shot("stub-contract-errors")
    page.close()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # AWS itself, in front of the handler: {"Message": ...}, not the contract's shape
        (Reply(429, {"Message": "Rate Exceeded."}), ["429", "Rate Exceeded."]),
        (
            Reply(413, {"Message": "Request must be smaller than 6291456 bytes"}),
            ["413", "Request must be smaller than 6291456 bytes"],
        ),
        (Reply(502, {"Message": None}), ["502", "Bad Gateway"]),
        # a proxy's HTML page
        (
            Reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
            ["502", "Bad Gateway"],
        ),
        (Reply(500, {"error": "boom"}), ["500", "boom"]),
        (Reply(500, {"error": {"code": "odd"}}), ["500", "odd"]),
        (Reply(500, b""), ["500", "Internal Server Error"]),
        # a 200 that is not a result
        (Reply(200, "OK", "text/plain"), ["200", "not with a result"]),
        (Reply(200, b"null"), ["200", "not with a result"]),
        (Reply(200, b"[1, 2]"), ["200", "not with a result"]),
        (Reply(200, {"fields": "merchant"}), ["200", "not with a result"]),
    ],
    ids=lambda v: str(v)[:40] if not isinstance(v, Reply) else f"{v.status}-{v.data()[:12]!r}",
)
def test_any_failed_answer_gets_a_readable_message(
    browser: Any, stub: Stub, receipts: list[Path], reply: Reply, expected: list[str]
) -> None:
    stub.script.extend([reply] * (4 if reply.status in (429, 503) else 1))  # sent 4 times
    page = Page(browser, stub.url)
    page.read(receipts[0], receipts[1])  # the next document still gets read
    item = page.item(0)
    assert item.get_attribute("data-state") == "failed"
    problem = item.locator(".problem").inner_text()
    for text in expected:
        assert text in problem, problem
    _not_broken(problem, reply.data().decode())
    assert page.item(1).get_attribute("data-state") == "done"
    page.close()


def test_a_file_over_the_services_limits_is_not_sent(
    browser: Any, stub: Stub, receipts: list[Path], tmp_path: Path
) -> None:
    """config.json's limits (the server's and the handler's): over the document limit, or over
    the request limit once base64 in JSON, a file is refused before its upload (a 5 MB scan on
    a phone link is not uploaded only to be told 413); a file within both is read."""
    size = receipts[0].stat().st_size
    big = tmp_path / "big scan 🧾.png"
    big.write_bytes(receipts[0].read_bytes() + b"\0" * size)  # twice the size, still a PNG
    stub.config.update(max_document_bytes=size * 3 // 2, max_body_bytes=size * 5 // 4)
    page = Page(browser, stub.url)
    page.read(big, receipts[0])
    assert page.item(0).get_attribute("data-state") == "failed"
    problem = page.item(0).locator(".problem").inner_text()
    assert problem.startswith(f"not sent: this file is {2 * size:,} bytes, more than the ")
    assert f"{size * 3 // 2:,} bytes the service reads" in problem
    assert page.item(1).get_attribute("data-state") == "failed"  # base64 makes it 4/3 larger
    problem = page.item(1).locator(".problem").inner_text()
    assert problem.startswith("not sent: as a request (base64 in JSON) this file is ")
    assert f"more than the {size * 5 // 4:,} bytes the service takes" in problem
    assert stub.requests == []
    stub.config.update(max_body_bytes=size * 2)
    page.close()
    page = Page(browser, stub.url)
    page.read(receipts[0])
    assert page.item(0).get_attribute("data-state") == "done"
    assert len(stub.requests) == 1
    page.close()


def test_the_server_going_away_mid_request(browser: Any, stub: Stub, receipts: list[Path]) -> None:
    """``serve`` stopped (Ctrl-C) while the first of three documents is being read."""
    stub.script.append(Reply(hold=True, drop=True))
    page = Page(browser, stub.url)
    page.tab.set_input_files("#file", [str(p) for p in receipts[:3]])
    page.tab.click("#submit")
    _wait_held(page, stub)
    stub.stop()
    stub.release()
    expect(page.tab.locator("#queue .item[data-state=failed]")).to_have_count(3)
    for index in range(3):
        problem = page.item(index).locator(".problem").inner_text()
        assert problem.startswith("could not reach the service"), problem
        _not_broken(problem)
    assert "0 of 3" in page.tab.locator("#status").inner_text()
    page.close()


def _active(page: Page) -> str:
    return str(page.tab.evaluate("document.activeElement.outerHTML.slice(0, 120)"))


def test_a_slow_request_can_be_stopped_from_the_keyboard(
    browser: Any, stub: Stub, receipts: list[Path]
) -> None:
    stub.script.append(Reply(hold=True))
    page = Page(browser, stub.url)
    page.tab.set_input_files("#file", [str(p) for p in receipts[:3]])
    page.tab.focus("#submit")
    page.tab.keyboard.press("Enter")
    _wait_held(page, stub)
    stop = page.tab.locator("#stop")
    expect(stop).to_be_visible()
    assert 'id="stop"' in _active(page)  # focus follows the run: Enter again stops it
    expect(page.item(0)).to_have_attribute("data-state", "running")
    # a slow answer shows that time passes (no spinner to animate; the seconds count)
    expect(page.item(0).locator(".state")).to_have_text(re.compile(r"reading… [12] s"))
    assert 'id="stop"' in _active(page)
    page.tab.keyboard.press("Enter")
    expect(page.tab.locator("#queue .item[data-state=stopped]")).to_have_count(3)
    expect(stop).to_be_hidden()
    assert "stopped" in page.tab.locator("#status").inner_text().lower()
    assert len(stub.requests) == 1  # the two queued documents were never sent
    page.shot("stub-stopped")
    stub.release()
    # the page still works after a stop
    page.read(receipts[3])
    assert page.item(3).get_attribute("data-state") == "done"
    page.close()


def test_double_clicks_and_enter_presses_send_each_document_once(
    browser: Any, stub: Stub, receipts: list[Path]
) -> None:
    page = Page(browser, stub.url)
    page.tab.set_input_files("#file", [str(p) for p in receipts[:2]])
    page.tab.dblclick("#submit")
    page.tab.focus("#min-score")
    page.tab.keyboard.press("Enter")
    page.tab.keyboard.press("Enter")
    expect(page.tab.locator("#queue .item[data-state=done]")).to_have_count(2)
    assert len(stub.requests) == 2
    assert page.tab.locator("#queue .item").count() == 2
    page.close()


def test_keyboard_focus_lands_on_the_results_and_survives_page_switches(
    browser: Any, stub: Stub, receipts: list[Path]
) -> None:
    """Tab onto a row whose answer is on another page, or press a page button: the page is
    redrawn and focus stays on the same row or button (it used to drop to <body>)."""
    answers = {"merchant": ("ACME", 1), "date": ("2024-01-02", 2), "total": ("9.99", 3)}
    stub.script.append(Reply(body=result(answers, pages=3, images=True)))
    page = Page(browser, stub.url)
    page.tab.set_input_files("#file", [str(receipts[0])])
    page.tab.focus("#submit")
    page.tab.keyboard.press("Enter")
    item = page.item(0)
    expect(item).to_have_attribute("data-state", "done")
    active = _active(page)
    assert 'class="item"' in active  # the first new result, announced by its name
    img = item.locator("figure.doc img")
    assert img.get_attribute("alt").endswith("page 1")
    # keyboard only: Tab to the page buttons, then to the rows
    page.tab.keyboard.press("Tab")
    assert _active(page).startswith("<button") and ">1<" in _active(page)
    page.tab.keyboard.press("Tab")
    page.tab.keyboard.press("Enter")  # page 2
    assert ">2<" in _active(page) and 'aria-pressed="true"' in _active(page)
    assert img.get_attribute("alt").endswith("page 2")
    for _ in range(2):
        page.tab.keyboard.press("Tab")
    assert _active(page).startswith("<tr") and 'data-row="0"' in _active(page)
    assert img.get_attribute("alt").endswith("page 1")
    page.tab.keyboard.press("Tab")
    page.tab.keyboard.press("Tab")  # the total, on page 3
    assert _active(page).startswith("<tr") and 'data-row="2"' in _active(page)
    assert img.get_attribute("alt").endswith("page 3")
    assert item.locator(".box.hl[data-row='2']").count() == 1
    # what a screen reader lists: the table says whose answers it holds, the buttons which page
    expect(item.locator("table")).to_have_accessible_name(f"Answers for {receipts[0].name}")
    expect(item.locator(".pages button").nth(2)).to_have_accessible_name("page 3")
    page.shot("stub-keyboard-page-3")
    page.close()


def test_a_file_dropped_beside_the_drop_zone_is_taken_not_opened(browser: Any, stub: Stub) -> None:
    """Chromium opens a file dropped where the page does not take it, in place of the page and
    its results; the whole page takes drops."""
    page = Page(browser, stub.url)
    for target in ("body", "#queue", "h1"):
        prevented = page.tab.evaluate(
            """(target) => {
                const data = new DataTransfer();
                data.items.add(new File(["\\x89PNG"], "dropped " + target + ".png",
                                        { type: "image/png" }));
                const node = document.querySelector(target);
                const over = new DragEvent("dragover", { dataTransfer: data, bubbles: true,
                                                        cancelable: true });
                node.dispatchEvent(over);
                const drop = new DragEvent("drop", { dataTransfer: data, bubbles: true,
                                                    cancelable: true });
                node.dispatchEvent(drop);
                return [over.defaultPrevented, drop.defaultPrevented];
            }""",
            target,
        )
        assert prevented == [True, True], target
        assert f"dropped {target}.png" in page.tab.locator("#drop-text").inner_text()
    page.close()


@pytest.mark.parametrize("width", [320, 360, 640])
def test_hostile_answers_stay_text_and_fit_narrow_screens(
    browser: Any, stub: Stub, receipts: list[Path], width: int
) -> None:
    """HTML/JS, RTL, emoji outside the BMP and a 5,000-character answer: shown as text, exported
    unchanged, never wider than the screen (320 px, 360 px; 640 px is 1280 at 200 % zoom)."""
    long = "9" * 5000
    answers = {
        "merchant": (HOSTILE, 1),
        "date": ("فاتورة رقم ١٢٣ — 🧾🧾", 1),
        "total": (long, 1),
        "\u202etax": ("\u202e1.23", 1),
    }
    stub.script.append(Reply(body=result(answers)))
    page = Page(browser, stub.url, width=width)
    page.read(receipts[0], questions=HOSTILE)
    item = page.item(0)
    assert item.get_attribute("data-state") == "done"
    rows = _rows(item)
    assert rows["merchant"][1] == HOSTILE
    assert rows["total"][1] == long
    assert rows["date"][1] == answers["date"][0]
    _no_script_ran(page)
    assert page.tab.evaluate("document.documentElement.scrollWidth") <= width
    page.tab.set_input_files("#file", [str(receipts[4])])  # a 150-letter name, chosen
    assert "a" * 150 in page.tab.locator("#drop-text").inner_text()
    assert page.tab.evaluate("document.documentElement.scrollWidth") <= width
    assert stub.requests[0]["questions"] == [HOSTILE]
    with page.tab.expect_download() as download:
        page.tab.click("#save-csv")
    exported = {
        r["name"]: r["answer"]
        for r in csv.DictReader(io.StringIO(Path(download.value.path()).read_text()))
    }
    assert exported["merchant"] == HOSTILE and exported["total"] == long
    page.shot(f"stub-hostile-{width}px")
    page.close()


def test_retry_after_is_waited_for_then_given_up_or_stopped(
    browser: Any, stub: Stub, receipts: list[Path]
) -> None:
    """429/503 (the model loading, throttling, AWS's own 429 without a header): sent again after
    Retry-After (at most 30 s) or 1, 2, 4 s without one, four sends in all, as the CLI does
    (expense_cli/targets.py); Stop ends a wait at once."""
    loading = error_body("model_not_ready", "the model is loading; retry in 1 s")
    throttled = error_body("throttled", "too many requests")
    creating = error_body("endpoint_not_ready", "creating")
    stub.script.extend(
        [Reply(503, loading), Reply(body=result())]  # no Retry-After: 1 s
        + [Reply(429, throttled, headers={"retry-after": "0"})] * 4
        + [Reply(503, creating, headers={"retry-after": "3600"})]
    )
    page = Page(browser, stub.url)
    page.tab.set_input_files("#file", [str(p) for p in receipts[:3]])
    page.tab.click("#submit")
    expect(page.item(0).locator(".state")).to_contain_text("waiting 1 s to try again")
    expect(page.item(0)).to_have_attribute("data-state", "done", timeout=10_000)
    expect(page.item(1)).to_have_attribute("data-state", "failed", timeout=10_000)
    assert "too many requests (429 throttled)" in page.item(1).locator(".problem").inner_text()
    expect(page.item(2).locator(".state")).to_contain_text("waiting 30 s", timeout=10_000)
    page.tab.click("#stop")
    expect(page.item(2)).to_have_attribute("data-state", "stopped")
    assert len(stub.requests) == 2 + 4 + 1
    page.close()


# WCAG 2.x colour arithmetic, in the page: rgb() of a CSS colour, ratio() of two, background()
# the first opaque background at or behind a node.
_COLOURS = """
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const lin = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a.slice(0, 3)), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const background = (node) => {
    for (; node && node.nodeType === 1; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || colour[3] === 1) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
"""

_CONTRAST = (
    "() => {"
    + _COLOURS
    + """
  const low = [];
  for (const node of document.querySelectorAll("body *")) {
    const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (!own || !node.getClientRects().length || node.closest(":disabled")) continue;
    const style = getComputedStyle(node);
    const large = parseFloat(style.fontSize) >= 24 ||
                  (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    const r = ratio(rgb(style.color).slice(0, 3), background(node));
    if (r < (large ? 3 : 4.5)) low.push(node.tagName + "." + node.className + " " + r.toFixed(2));
  }
  return low;
}"""
)

_FOCUS_RING = (
    "() => {"
    + _COLOURS
    + """
  const node = document.activeElement, style = getComputedStyle(node);
  return [node.id || node.tagName, style.outlineStyle, parseFloat(style.outlineWidth),
          ratio(rgb(style.outlineColor), background(node.parentElement))];
}"""
)


def test_text_and_focus_rings_have_enough_contrast(
    browser: Any, stub: Stub, receipts: list[Path]
) -> None:
    """WCAG 2.2: text 4.5:1 (large 3:1) against what is behind it, focus indicators 3:1 —
    on the form, a result with a low score, a failure, the export buttons; every Tab stop."""
    low = result({"merchant": ("ACME", 1), "total": ("9.99", 1)})
    low["fields"]["total"]["score"] = 0.2
    stub.script.extend([Reply(body=low), Reply(415, error_body("unsupported_media_type", "no"))])
    page = Page(browser, stub.url)
    page.read(*receipts[:2])
    assert page.tab.evaluate(_CONTRAST) == []
    page.tab.locator("#questions").focus()
    rings = []
    for _ in range(20):
        page.tab.keyboard.press("Tab")
        ring = page.tab.evaluate(_FOCUS_RING)
        if ring[0] == "BODY":  # past the last stop
            break
        rings.append(ring)
    assert [r[0] for r in rings[:5]] == ["min-score", "copy-json", "save-json", "save-csv", "TR"]
    weak = [r for r in rings if r[1] == "none" or r[2] < 2 or r[3] < 3]
    assert weak == [], rings
    page.close()


@pytest.mark.parametrize("name", ["\u202egnp.exe", "فاتورة", "קבלה 2024"])
def test_a_right_to_left_file_name_keeps_to_itself(
    browser: Any, stub: Stub, tmp_path: Path, name: str
) -> None:
    """The chosen file's name, then its size: the size is still read left to right, after the
    name, whatever direction the name has (U+202E used to turn the whole line around)."""
    path = tmp_path / f"{name}.png"
    path.write_bytes(png_bytes(render_receipt(RECEIPT_LINES[:2])))
    page = Page(browser, stub.url)
    page.tab.set_input_files("#file", [str(path)])
    text = page.tab.locator("#drop-text").inner_text()
    assert name in text and text.endswith(" bytes)")
    order = page.tab.evaluate(
        """() => {
            const node = document.getElementById("drop-text").firstChild, text = node.data;
            const x = (index) => {
                const range = document.createRange();
                range.setStart(node, index);
                range.setEnd(node, index + 1);
                return range.getBoundingClientRect().x;
            };
            const open = text.lastIndexOf("(");
            return [x(open), x(open + 1), x(text.length - 2)];  // "(", the digit, "s"
        }"""
    )
    assert order == sorted(order), order  # left to right
    page.close()


def test_a_request_too_large_says_how_large_the_file_was(
    browser: Any, stub: Stub, receipts: list[Path]
) -> None:
    """The limits are on the request, which base64 makes a third larger than the file: a 413
    for the body (the server's or AWS's) says both sizes; one for pages does not."""
    stub.script.extend(
        [
            Reply(413, error_body("body_too_large", "request body is larger than 2,000 bytes")),
            Reply(413, {"Message": "Request must be smaller than 6291456 bytes"}),
            Reply(413, error_body("document_too_large", "document has 25 pages; the limit is 20")),
        ]
    )
    page = Page(browser, stub.url)
    page.read(*receipts[:3])
    size = receipts[0].stat().st_size
    sent = len(json.dumps(stub.requests[0], separators=(",", ":")))
    for index in range(2):
        problem = page.item(index).locator(".problem").inner_text()
        assert f"this file is {size:,} bytes, {sent:,} as the request" in problem, problem
    assert "this file" not in page.item(2).locator(".problem").inner_text()
    page.close()


@pytest.mark.parametrize(
    ("token", "point"),
    [
        ("tok\u200ben", "U+200B, at position 4"),
        ("“tok”", "U+201C, at position 1"),
        ("tök", "U+00F6"),
        ("tok 🔑", "U+0020"),
    ],
)
def test_a_token_no_header_can_carry_is_refused_before_sending(
    browser: Any, receipts: list[Path], token: str, point: str
) -> None:
    """A character picked up with a copy: the page says which, instead of 'could not reach the
    service' (fetch refuses such a header), and sends nothing."""
    with stub_service(auth="token") as stub:
        page = Page(browser, stub.url)
        page.tab.fill("#token", token)
        page.tab.set_input_files("#file", [str(receipts[0])])
        page.tab.click("#submit")
        error = page.tab.locator("#error")
        expect(error).to_be_visible()
        assert point in error.inner_text() and ".expense/config.json" in error.inner_text()
        assert _active(page).startswith('<input id="token"')
        assert stub.requests == [] and page.tab.locator("#queue .item").count() == 0
        page.tab.fill("#token", TOKEN)  # the files are still chosen: the right token goes
        page.tab.click("#submit")
        expect(page.tab.locator("#queue .item[data-state=done]")).to_have_count(1)
        assert stub.authorizations == [f"Bearer {TOKEN}"]
        page.close()


def test_a_browser_that_refuses_storage_still_reads(browser: Any, receipts: list[Path]) -> None:
    """All cookies blocked: sessionStorage throws. The token is then simply not kept (Read used
    to do nothing: its handler threw on the storage before sending)."""
    with stub_service(auth="token") as stub:
        context = browser.new_context()
        context.add_init_script(
            "Object.defineProperty(window, 'sessionStorage', { get() {"
            " throw new DOMException('blocked', 'SecurityError'); } });"
        )
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(f"{stub.url}/")
        expect(tab.locator("#token-box")).to_be_visible()
        tab.fill("#token", TOKEN)
        tab.set_input_files("#file", [str(receipts[0])])
        tab.click("#submit")
        expect(tab.locator("#queue .item[data-state=done]")).to_have_count(1)
        assert errors == []
        assert stub.authorizations == [f"Bearer {TOKEN}"]
        context.close()
