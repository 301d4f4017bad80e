# ruff: noqa: E501  (the request table reads best one case a line)
"""Conformance: one table of requests, sent to the Lambda handler and to the model server.

The handler runs in-process on function-URL events (payload format 2.0, binary bodies
base64-encoded as the URL runtime does) and forwards to the real local server through its
SageMaker-runtime path, exactly as it forwards to an endpoint; the server gets the same request
over real HTTP on ``/invocations``. Every case must give the same status and the same error code
(and, for good requests, the same result) on both sides, and match the table.

The table is README's "error codes" table in executable form: keep them in step. Requests that
differ by design are not here: ``{"image": URL}`` (the handler fetches it, the server answers
``url_not_supported``; see tests/handler/test_handler_fetch.py) and auth (handler only).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import urllib.parse
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from expense_cli.contract import ERRORS, MAX_QUESTION_CHARS, MAX_QUESTIONS
from expense_cli.engine import Engine, EngineConfig, Limits
from expense_cli.serving import Settings, create_app
from expense_cli.synthetic import receipt_pdf, render_receipt
from tests._servers import running_server
from tests.conftest import png_bytes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "handler"))

import app as handler_app  # noqa: E402
from _config import Settings as HandlerSettings  # noqa: E402
from _endpoint import EndpointInvoker  # noqa: E402

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.ocr]

MAX_DOCUMENT = 300_000
MAX_BODY = 420_000
ENDPOINT = "conformance"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _huge_png(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (valid chunk CRCs)."""
    small = png_bytes(Image.new("L", (1, 1)))
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + small[24:29]
    return small[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + small[33:]


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str | None
    status: int
    code: str | None = None  # None: 200
    query: str = ""


def _cases() -> list[Case]:
    receipt = render_receipt(("ACME COFFEE ROASTERS", "TOTAL EUR 17.37"), width=420, height=180)
    png = png_bytes(receipt)
    jpeg = png_bytes(receipt.convert("RGB"), "JPEG", quality=80)
    pdf = receipt_pdf([receipt], text_layer=[["ACME COFFEE ROASTERS", "TOTAL EUR 17.37"]])
    doc = _b64(png)
    many_pages = receipt_pdf([], text_layer=[["page"]] * 25)
    bomb = _huge_png(9000, 9000)
    noise = bytes(range(256)) * 1000
    js, raw = "application/json", "image/png"
    q = {"document": doc}

    def ok(name: str, body: bytes, ctype: str | None, query: str = "") -> Case:
        return Case(name, body, ctype, 200, None, query)

    def bad(
        name: str, body: bytes, ctype: str | None, status: int, code: str, query: str = ""
    ) -> Case:
        return Case(name, body, ctype, status, code, query)

    return [
        # Good requests: every body form and question form
        ok("json document", _json(q), js),
        ok("json one question", _json({**q, "question": "total"}), js),
        ok("json questions", _json({**q, "questions": ["total", "What is the date?"]}), js),
        ok("json data url", _json({"document": "data:image/png;base64," + doc}), js),
        ok("json wrapped base64", _json({"document": base64.encodebytes(png).decode()}), js),
        ok("json urlsafe base64", _json({"document": base64.urlsafe_b64encode(png).decode()}), js),
        ok("json charset", _json(q), "application/json; charset=utf-8"),
        ok("json vendor type", _json(q), "application/vnd.expense+json"),
        ok("json as text/plain", _json(q), "text/plain"),
        ok("json as form (curl -d)", _json(q), "application/x-www-form-urlencoded"),
        ok("json without type", _json(q), None),
        ok("json + query question", _json(q), js, "question=total"),
        ok("json astral question", _json({**q, "question": "Total 💶 amount?"}), js),
        ok("json escaped question", b'{"document": "' + doc.encode() + b'", "question": "\\u0074otal"}', js),
        ok("json 20 questions", _json({**q, "questions": ["q"] * MAX_QUESTIONS}), js),
        ok("json longest question", _json({**q, "question": "x" * MAX_QUESTION_CHARS}), js),
        ok("json pdf", _json({"document": _b64(pdf)}), js),
        ok("raw png", png, raw),
        ok("raw png + questions", png, raw, "question=total&question=merchant"),
        ok("raw jpeg", jpeg, "image/jpeg"),
        ok("raw octet-stream", png, "application/octet-stream"),
        ok("raw pdf", pdf, "application/pdf"),
        ok("raw pdf after whitespace", b"\n  " + pdf, "application/pdf"),
        ok("raw without type", png, None),
        ok("raw with a lying image type", pdf, "image/jpeg"),
        ok("json asking for page images", _json({"document": _b64(pdf), "page_images": True}), js),
        # The body as a whole
        bad("empty json body", b"", js, 400, "empty_body"),
        bad("empty raw body", b"", raw, 400, "empty_body"),
        bad("blank json body", b"  \n ", js, 400, "empty_body"),
        bad("json syntax", b"{oops", js, 400, "invalid_json"),
        bad("json array", b"[1, 2]", js, 400, "invalid_json"),
        bad("json string", b'"document"', js, 400, "invalid_json"),
        bad("json null", b"null", js, 400, "invalid_json"),
        bad("json duplicate key", b'{"document": "' + doc.encode() + b'", "document": "x"}', js, 400, "invalid_json"),
        bad("json NaN", b'{"document": NaN}', js, 400, "invalid_json"),
        bad("json not UTF-8", b'{"question": "caf\xe9"}', js, 400, "invalid_json"),
        bad("json deeply nested", b"[" * 5000, js, 400, "invalid_json"),
        bad("raw png sent as json", png, js, 400, "invalid_json"),
        bad("unknown field", _json({**q, "colour": "red"}), js, 400, "unknown_field"),
        bad("unknown parameter", _json(q), js, 400, "unknown_parameter", "lang=de"),
        bad("unknown parameter raw", png, raw, 400, "unknown_parameter", "question=total&x=1"),
        bad("no document", _json({"questions": ["total"]}), js, 400, "missing_document"),
        bad("empty object", b"{}", js, 400, "missing_document"),
        bad("page_images not a boolean", _json({**q, "page_images": "yes"}), js, 400, "bad_request"),
        bad("image and document", _json({**q, "image": "https://example.com/r.png"}), js, 400, "ambiguous_source"),
        # The document field
        bad("document number", _json({"document": 12}), js, 400, "invalid_document"),
        bad("document null", _json({"document": None}), js, 400, "invalid_document"),
        bad("document list", _json({"document": [doc]}), js, 400, "invalid_document"),
        bad("document not base64", _json({"document": "@@not base64@@"}), js, 400, "invalid_base64"),
        bad("document bad length", _json({"document": "QUJDR"}), js, 400, "invalid_base64"),
        bad("document non-ASCII", _json({"document": "iVBOR€"}), js, 400, "invalid_base64"),
        bad("document empty", _json({"document": ""}), js, 400, "empty_document"),
        bad("document empty data url", _json({"document": "data:image/png;base64,"}), js, 400, "empty_document"),
        bad("image not a string", _json({"image": 12}), js, 400, "invalid_image"),
        bad("image empty", _json({"image": " "}), js, 400, "invalid_image"),
        bad("image too long", _json({"image": "https://a.example/" + "x" * 3000}), js, 400, "invalid_image"),
        # Questions
        bad("question empty", _json({**q, "question": ""}), js, 400, "invalid_question"),
        bad("question blank", _json({**q, "question": " \t "}), js, 400, "invalid_question"),
        bad("question number", _json({**q, "question": 7}), js, 400, "invalid_question"),
        bad("questions a string", _json({**q, "questions": "total"}), js, 400, "invalid_question"),
        bad("questions with null", _json({**q, "questions": ["total", None]}), js, 400, "invalid_question"),
        bad("question and questions", _json({**q, "question": "a", "questions": ["b"]}), js, 400, "invalid_question"),
        bad("question bell", _json({**q, "question": "total\x07"}), js, 400, "invalid_question"),
        bad("question DEL", _json({**q, "question": "total\x7f"}), js, 400, "invalid_question"),
        bad("question C1 control", _json({**q, "question": "total\x9b"}), js, 400, "invalid_question"),
        bad("question lone surrogate", b'{"document": "' + doc.encode() + b'", "question": "a\\ud800b"}', js, 400, "invalid_question"),
        bad("questions in body and query", _json({**q, "question": "a"}), js, 400, "invalid_question", "question=b"),
        bad("query question empty", png, raw, 400, "invalid_question", "question="),
        bad("query question not UTF-8", png, raw, 400, "invalid_question", "question=%C0%AF"),
        bad("too many questions", _json({**q, "questions": ["q"] * (MAX_QUESTIONS + 1)}), js, 400, "too_many_questions"),
        bad("too many query questions", png, raw, 400, "too_many_questions", "&".join(["question=q"] * 21)),
        bad("question too long", _json({**q, "question": "x" * (MAX_QUESTION_CHARS + 1)}), js, 400, "question_too_long"),
        bad("query question too long", png, raw, 400, "question_too_long", "question=" + "y" * 201),
        # Sizes
        bad("json body too large", _json({"document": _b64(noise * 2)}), js, 413, "body_too_large"),
        bad("raw body too large", b"\x89PNG\r\n\x1a\n" + noise * 2, raw, 413, "body_too_large"),
        bad("json document too large", _json({"document": _b64(b"\x89PNG\r\n\x1a\n" + noise + noise[:50_000])}), js, 413, "document_too_large"),
        bad("raw document too large", b"\x89PNG\r\n\x1a\n" + noise + noise[:50_000], raw, 413, "document_too_large"),
        bad("too many pixels", bomb, raw, 413, "document_too_large"),
        bad("too many pages", many_pages, "application/pdf", 413, "document_too_large"),
        # Types and content
        bad("raw text", b"a,b,c\n1,2,3\n", "text/csv", 415, "unsupported_media_type"),
        bad("raw video type", png, "video/mp4", 415, "unsupported_media_type"),
        bad("raw png type, text bytes", b"not an image at all", raw, 415, "unsupported_media_type"),
        bad("raw pdf type, html bytes", b"<html>%PDF-1.4</html>", "application/pdf", 415, "unsupported_media_type"),
        bad("json document of text", _json({"document": _b64(b"hello, world")}), js, 415, "unsupported_media_type"),
        bad("json document mentioning %PDF-", _json({"document": _b64(b"a,b\n%PDF-1.4,c\n")}), js, 415, "unsupported_media_type"),
        bad("raw truncated png", png[:300], raw, 422, "unreadable_document"),
        bad("json truncated png", _json({"document": _b64(png[:300])}), js, 422, "unreadable_document"),
        bad("raw corrupt pdf", b"%PDF-1.7\n" + noise[:2000], "application/pdf", 422, "unreadable_document"),
    ]  # fmt: skip


CASES = _cases()


def test_the_table_is_large_and_its_names_unique() -> None:
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)


# Codes both sides can give that no request body can provoke: capacity, time, routing, bugs.
# Each has its own tests (tests/serving/test_serving_app.py, tests/handler/test_handler_*.py).
NOT_FROM_A_BODY = {"throttled", "model_not_ready", "timeout", "internal_error", "not_found",
                   "method_not_allowed"}  # fmt: skip


def test_every_shared_code_is_in_the_table() -> None:
    """A code marked as given by both sides must be provoked by a case here; adding a code to
    one side only means marking it so in expense_cli/contract.py."""
    shared = {code for code, spec in ERRORS.items() if spec.sides == "both"}
    covered = {case.code for case in CASES if case.code}
    assert shared - NOT_FROM_A_BODY == covered
    assert covered <= set(ERRORS)


_CODE_LITERAL = re.compile(
    r"""(?:ContractError|_bad|_refuse)\(\s*"([a-z0-9_]+)"|code=\s*"([a-z0-9_]+)\""""
)


def _codes_in(paths: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in paths:
        for match in _CODE_LITERAL.finditer(path.read_text()):
            found.setdefault(match[1] or match[2], set()).add(path.name)
    return found


@pytest.mark.parametrize(
    ("folder", "allowed"),
    [("handler", {"both", "handler"}), ("expense_cli", {"both", "server", "cli"})],
)
def test_each_side_raises_only_its_own_codes(folder: str, allowed: set[str]) -> None:
    """A new error code can't be added to one side without the table saying so."""
    # The contract itself, and the proxy of `serve --deployment`, which stands in for the
    # function URL on the user's machine, are not one side.
    files = [p for p in (ROOT / folder).rglob("*.py") if p.name not in ("contract.py", "_proxy.py")]
    found = _codes_in(files)
    assert found, "the pattern finds no codes: it is out of date"
    unknown = {code: where for code, where in found.items() if code not in ERRORS}
    assert not unknown
    wrong = {code: where for code, where in found.items() if ERRORS[code].sides not in allowed}
    assert not wrong


# --- running the table on both sides ----------------------------------------------------------

_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded")


def _event(case: Case) -> dict[str, Any]:
    """The event the function URL runtime gives the handler: text bodies as text, the rest
    (binary types, or no type) base64-encoded."""
    headers = {"host": "abc.lambda-url.us-east-1.on.aws"}
    if case.content_type is not None:
        headers["content-type"] = case.content_type
    media = (case.content_type or "").split(";")[0].strip()
    text = None
    if media.startswith(_TEXT_TYPES) or media.endswith("+json"):
        try:
            text = case.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    return {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": case.query,
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/"}, "requestId": "conf"},
        "body": text if text is not None else _b64(case.body),
        "isBase64Encoded": text is None,
    }


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path) -> Iterator[str]:
    limits = Limits(max_bytes=MAX_DOCUMENT, max_pages=20)
    engine = Engine(EngineConfig(model=str(tiny_model_dir), limits=limits))
    settings = Settings(max_body_bytes=MAX_BODY)
    with running_server(create_app(settings, engine=engine)) as url:
        yield url


@pytest.fixture(scope="module")
def handler(server: str) -> handler_app.Handler:
    import boto3
    from botocore.config import Config

    def client() -> Any:
        return boto3.client(
            "sagemaker-runtime",
            endpoint_url=server,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
        )

    settings = HandlerSettings(
        endpoint_name=ENDPOINT,
        max_body_bytes=MAX_BODY,
        max_document_bytes=MAX_DOCUMENT,
        max_payload_bytes=2 * MAX_BODY,
    )
    return handler_app.Handler(settings, invoker=EndpointInvoker(ENDPOINT, client_factory=client))


def _from_server(server: str, case: Case) -> tuple[int, dict[str, Any]]:
    headers = {} if case.content_type is None else {"content-type": case.content_type}
    url = f"{server}/invocations" + (f"?{case.query}" if case.query else "")
    response = httpx.post(url, content=case.body, headers=headers, timeout=60)
    return response.status_code, response.json()


def _from_handler(handler: handler_app.Handler, case: Case) -> tuple[int, dict[str, Any]]:
    response = handler(_event(case), None)
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_handler_and_server_agree(server: str, handler: handler_app.Handler, case: Case) -> None:
    server_status, server_body = _from_server(server, case)
    handler_status, handler_body = _from_handler(handler, case)
    expected = (case.status, case.code)
    got_server = (server_status, (server_body.get("error") or {}).get("code"))
    got_handler = (handler_status, (handler_body.get("error") or {}).get("code"))
    assert got_server == expected, server_body
    assert got_handler == expected, handler_body
    if case.code is None:
        assert handler_body == server_body  # the handler passes the server's result through
    else:
        assert server_body["error"]["message"] and handler_body["error"]["message"]


def test_the_documented_table_lists_every_code() -> None:
    """README's table of error codes is the contract's table."""
    text = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \| (\d{3}) \|", text, re.MULTILINE))
    wire = {(code, str(spec.status)) for code, spec in ERRORS.items() if spec.sides != "cli"}
    assert documented == wire


def test_query_strings_are_decoded_the_same_way(server: str, handler: handler_app.Handler) -> None:
    """Percent-encoding, '+' for spaces and repeated keys, through both sides."""
    question = "What is the total?"
    query = urllib.parse.urlencode([("question", question), ("question", "merchant")])
    png = png_bytes(render_receipt(("ACME COFFEE ROASTERS",), width=300, height=80))
    case = Case("query", png, "image/png", 200, None, query)
    server_status, server_body = _from_server(server, case)
    handler_status, handler_body = _from_handler(handler, case)
    assert server_status == handler_status == 200
    assert server_body == handler_body
    assert [a["question"] for a in server_body["answers"]] == [question]
    assert "merchant" in server_body["fields"]
