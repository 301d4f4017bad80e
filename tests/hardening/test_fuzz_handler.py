"""Property-based fuzzing of the Lambda handler's request parsing (``Handler`` with an injected
stub endpoint: nothing leaves the process). Whatever the event — arbitrary JSON, bodies, headers,
content types, query strings, methods, base64 flags — the answer is a function URL response with
a documented status and, unless 200, a JSON ``{"error": {"code", "message"}}`` body."""

from __future__ import annotations

import base64
import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "handler"))

import app
from _config import Settings
from _fetch import FetchPolicy

from tests.hardening.conftest import FUZZ

# 502 only when the stub endpoint's reply is no JSON object, which this stub never gives.
HANDLER_STATUSES = {200, 400, 401, 403, 404, 405, 413, 415, 422, 429, 503, 504}
PAGE_TYPES = {"text/html", "text/javascript", "text/css", "application/json"}
TOKEN = "s3cret-token"

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class StubInvoker:
    """Stands in for the SageMaker endpoint: records payloads, answers a fixed JSON result."""

    endpoint_name = "fuzz-endpoint"

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def invoke(self, payload: bytes) -> bytes:
        self.payloads.append(payload)
        return json.dumps({"fields": {}, "answers": [], "pages": 1}).encode()


class StaticToken:
    def __init__(self) -> None:
        from _auth import TokenAuthenticator

        self.auth = TokenAuthenticator(lambda: TOKEN)

    def check(self, headers: Any) -> None:
        self.auth.check(headers)


def _no_dns(host: str, port: int) -> list[str]:
    """The fuzz never leaves the process: every name is unknown (a URL is refused or fails)."""
    raise socket.gaierror(socket.EAI_NONAME, f"{host}: no DNS in the fuzz")


def _handler(*, token: bool = False) -> tuple[app.Handler, StubInvoker]:
    invoker = StubInvoker()
    settings = Settings(endpoint_name=invoker.endpoint_name, max_document_bytes=4096)
    authenticator = StaticToken().auth if token else None
    policy = FetchPolicy(max_bytes=4096, timeout_s=1.0, resolver=_no_dns)
    handler = app.Handler(
        settings,
        invoker=invoker,  # type: ignore[arg-type]
        fetch_policy=policy,
        authenticator=authenticator,
    )
    return handler, invoker


# ------------------------------------------------------------------------------ strategies

# Any code point, lone surrogates included: a hand-made event (JSON with "\\ud800") carries them.
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=())
any_text = st.text(st.characters(exclude_categories=()) | surrogates, max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
documents = st.one_of(
    st.sampled_from([PNG, PDF, b"GIF89a" + b"\x00" * 20, b"", b"\xff\xd8\xff\xe0"]),
    st.binary(max_size=64),
    st.binary(min_size=5000, max_size=6000),  # over max_document_bytes
)
b64_text = st.one_of(
    documents.map(lambda data: base64.b64encode(data).decode()),
    documents.map(lambda data: "data:image/png;base64," + base64.b64encode(data).decode()),
    documents.map(lambda data: base64.urlsafe_b64encode(data).decode().rstrip("=")),
    st.text(max_size=80),
)
questions = st.one_of(
    st.text(max_size=30),
    st.text(min_size=190, max_size=260),
    json_values,
)
json_objects = st.fixed_dictionaries(
    {},
    optional={
        "image": st.one_of(
            st.just("https://example.com/r.png"),
            st.text(max_size=30),
            any_text.map(lambda text: f"https://example.com/{text}"),
            json_values,
        ),
        "document": st.one_of(b64_text, json_values),
        "question": questions,
        "questions": st.one_of(st.lists(questions, max_size=25), json_values),
        "extra": json_values,
    },
)
json_bodies = st.one_of(
    json_objects.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.sampled_from(
        ["", "{", "[]", "NaN", '{"a": 1, "a": 2}', "[" * 5000, '{"document": Infinity}']
    ),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "image/png",
            "image/jpeg",
            "application/pdf",
            "application/octet-stream",
            "multipart/form-data; boundary=x",
            "application/xml",
            "",
        ]
    ),
    st.text(max_size=30),
    st.none(),
)
query_strings = st.one_of(
    st.none(),
    st.lists(
        st.tuples(st.sampled_from(["question", "questions", "q", "x"]), st.text(max_size=20)),
        max_size=4,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    st.text(max_size=40),
)
header_maps = st.dictionaries(
    st.text(min_size=1, max_size=20), st.one_of(any_text, json_values), max_size=4
)
authorizations = st.one_of(
    st.sampled_from([f"Bearer {TOKEN}", "Bearer wrong", "Basic abc", "Bearer", ""]),
    st.sampled_from(["Bearer \ud800", f"Bearer {TOKEN}\udcff", "Bearer \U0001f511"]),
    any_text.map(lambda text: f"Bearer {text}"),
)
methods = st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "OPTIONS", "post", ""])


@st.composite
def chaos_events(draw: st.DrawFn) -> Any:
    """A function URL event with every part of it fuzzed."""
    raw_body = draw(st.booleans())
    if raw_body:
        body: Any = base64.b64encode(draw(documents)).decode()
        encoded: Any = True
    else:
        body = draw(json_bodies)
        encoded = draw(st.sampled_from([False, False, True, "true", None]))
        if encoded is True:
            body = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
    headers: dict[str, Any] = dict(draw(header_maps))
    content_type = draw(content_types)
    if content_type is not None:
        headers["content-type"] = content_type
    if draw(st.booleans()):
        headers["authorization"] = draw(authorizations)
    event: dict[str, Any] = {
        "version": "2.0",
        "rawPath": "/",
        "headers": headers,
        "requestContext": {"requestId": "fuzz", "http": {"method": draw(methods), "path": "/"}},
        "isBase64Encoded": encoded,
        "body": body,
    }
    query = draw(query_strings)
    if query is not None:
        event["rawQueryString"] = query
    return event


good_questions = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ?", min_size=1, max_size=30).filter(str.strip),
    max_size=3,
)


@st.composite
def near_valid_events(draw: st.DrawFn) -> Any:
    """A valid request (JSON base64, data URL or raw bytes; with or without questions), then at
    most one part of it broken."""
    document = draw(st.sampled_from([PNG, PDF, b"\xff\xd8\xff\xe0" + b"\x00" * 40]))
    asked = draw(good_questions)
    mode = draw(st.sampled_from(["json", "data-url", "raw"]))
    headers: dict[str, Any] = {"content-type": "application/json"}
    query = ""
    encoded = mode == "raw"
    if mode == "raw":
        headers["content-type"] = draw(st.sampled_from(["image/png", "application/pdf"]))
        body: Any = base64.b64encode(document).decode()
        query = "&".join(f"question={q}" for q in asked)
    else:
        text = base64.b64encode(document).decode()
        message: dict[str, Any] = {
            "document": text if mode == "json" else "data:image/png;base64," + text
        }
        if asked:
            message["questions"] = asked
        body = json.dumps(message)
    event: dict[str, Any] = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {"requestId": "fuzz", "http": {"method": "POST", "path": "/"}},
        "isBase64Encoded": encoded,
        "body": body,
    }
    part = draw(
        st.sampled_from(
            ["none", "none", "method", "content-type", "body", "query", "header", "flag", "part"]
        )
    )
    if part == "method":
        event["requestContext"]["http"]["method"] = draw(methods)
    elif part == "content-type":
        headers["content-type"] = draw(st.one_of(content_types, st.none()))
    elif part == "body":
        event["body"] = draw(st.one_of(json_bodies, json_values))
    elif part == "query":
        event["rawQueryString"] = draw(st.one_of(query_strings, json_values))
    elif part == "header":
        headers.update(draw(header_maps))
    elif part == "flag":
        event["isBase64Encoded"] = draw(st.one_of(st.booleans(), json_values))
    elif part == "part":
        key = draw(st.sampled_from(sorted(event)))
        if draw(st.booleans()):
            del event[key]
        else:
            event[key] = draw(json_values)
    return event


def events() -> st.SearchStrategy[Any]:
    return st.one_of(near_valid_events(), chaos_events())


def _is_get(event: Any) -> bool:
    context = event.get("requestContext") if isinstance(event, dict) else None
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else None
    return isinstance(method, str) and method.upper() == "GET"


def _check(response: Any, event: Any = None) -> int:
    assert isinstance(response, dict)
    status = response["statusCode"]
    assert status in HANDLER_STATUSES, response
    if status == 200 and _is_get(event):  # the web page and its files (and config.json)
        media = response["headers"]["content-type"].split(";")[0]
        assert media in PAGE_TYPES, response["headers"]
        assert "default-src 'none'" in response["headers"]["content-security-policy"]
        return 200
    assert response["headers"]["content-type"] == "application/json"
    body = json.loads(response["body"])
    if status != 200:
        error = body["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        assert "Traceback" not in response["body"]
    return int(status)


def _post(authorization: str = "", **message: Any) -> dict[str, Any]:
    return {
        "headers": {"authorization": authorization, "content-type": "application/json"},
        "requestContext": {"http": {"method": "POST"}},
        "body": json.dumps(message or {"document": base64.b64encode(PNG).decode()}),
    }


@pytest.mark.timeout(180)
@FUZZ
@given(event=events())
@example(event=_post(image="https://example.com/r\ud800.png"))
@example(event=_post(image="https://example.com/r.png?q=\udfff"))
def test_any_event_gets_a_documented_status_and_a_json_error(event: Any) -> None:
    handler, invoker = _handler()
    status = _check(handler(event, None), event)
    # Only a 200 POST reaches the endpoint, and what reaches it is JSON with canonical base64.
    assert len(invoker.payloads) == (1 if status == 200 and not _is_get(event) else 0)
    for payload in invoker.payloads:
        forwarded = json.loads(payload)
        assert base64.b64decode(forwarded["document"], validate=True)


@pytest.mark.timeout(180)
@FUZZ
@given(event=events())
@example(event=_post("Bearer \ud800"))
@example(event=_post(f"Bearer {TOKEN}\udcff"))
def test_token_mode_never_forwards_without_the_token(event: Any) -> None:
    handler, invoker = _handler(token=True)
    status = _check(handler(event, None), event)
    headers = event.get("headers") if isinstance(event, dict) else None
    authorised = isinstance(headers, dict) and headers.get("authorization") == f"Bearer {TOKEN}"
    if invoker.payloads:
        assert authorised
    if status == 200 and not _is_get(event):  # the page itself is public: it holds no secret
        assert authorised


@pytest.mark.timeout(60)
@FUZZ
@given(event=st.one_of(json_values, st.binary(max_size=20), st.lists(st.binary(max_size=5))))
def test_events_that_are_not_objects(event: Any) -> None:
    handler, invoker = _handler()
    status = _check(handler(event, None))
    # a mapping without requestContext has no method: 405; anything else is unreadable: 400
    assert status == (405 if isinstance(event, dict) else 400)
    assert invoker.payloads == []
