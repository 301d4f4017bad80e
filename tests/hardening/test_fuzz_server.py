"""Property-based fuzzing of the model server's ``POST /invocations`` (the Starlette app run
in-process by starlette's TestClient, lifespan included, on the session's tiny planted engine with
real tesseract): arbitrary bodies, JSON, headers, content types, methods and query strings get a
documented status and, unless 200, a JSON ``{"error": {"code", "message"}}`` body."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from expense_cli.engine import Engine
from expense_cli.serving import Settings, create_app
from tests.hardening.conftest import FUZZ, MERCHANT

pytestmark = [pytest.mark.model, pytest.mark.ocr]

SERVER_STATUSES = {200, 400, 404, 405, 413, 415, 422, 429, 503, 504}
BODY_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(max_body_bytes=BODY_LIMIT), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
questions = st.one_of(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz ?", min_size=1, max_size=30).filter(str.strip),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.one_of(st.text(max_size=250), json_values), max_size=25),
    json_values,
)
header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20).filter(
    lambda name: name not in {"content-length", "transfer-encoding", "host", "connection"}
)
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/vnd.api+json",
            "image/png",
            "application/pdf",
            "application/octet-stream",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ]
    ),
    header_values,
    st.none(),
)


@st.composite
def requests(draw: st.DrawFn, receipt: bytes) -> dict[str, Any]:
    documents = st.one_of(
        st.just(receipt),
        st.binary(max_size=64),
        st.sampled_from([b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff"]),
    )
    kind = draw(st.sampled_from(["json", "json", "raw", "junk", "big"]))
    content_type = draw(content_types)
    query: list[tuple[str, str]] = []
    if kind == "json":
        message: dict[str, Any] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "document": st.one_of(
                        documents.map(lambda d: base64.b64encode(d).decode()),
                        documents.map(lambda d: "data:;base64," + base64.b64encode(d).decode()),
                        json_values,
                    ),
                    "question": st.one_of(st.text(max_size=40), json_values),
                    "questions": questions,
                    "image": st.text(max_size=20),
                },
            )
        )
        if "document" not in message and draw(st.booleans()):
            message["document"] = base64.b64encode(draw(documents)).decode()
        body = json.dumps(message).encode()
        content_type = draw(st.one_of(st.just("application/json"), content_types))
    elif kind == "raw":
        body = draw(documents)
        content_type = draw(
            st.one_of(st.sampled_from(["image/png", "application/pdf"]), content_types)
        )
    elif kind == "junk":
        body = draw(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
    else:
        body = b"{" + b" " * (BODY_LIMIT + draw(st.integers(1, 1000))) + b"}"
    if draw(st.booleans()):
        query = draw(
            st.lists(
                st.tuples(st.sampled_from(["question", "q", "x"]), st.text(max_size=30)), max_size=3
            )
        )
    headers = draw(st.dictionaries(header_names, header_values, max_size=3))
    if content_type is not None:
        headers["content-type"] = content_type
    method = draw(st.sampled_from(["POST", "POST", "POST", "POST", "GET", "PUT", "DELETE"]))
    path = draw(st.sampled_from(["/invocations"] * 6 + ["/invocations/", "/invocation", "/x"]))
    return {"method": method, "url": path, "content": body, "headers": headers, "params": query}


def _check(response: Any) -> int:
    status = int(response.status_code)
    assert status in SERVER_STATUSES, (status, response.text[:300])
    if status == 200:
        result = response.json()
        assert result["pages"] >= 1 and isinstance(result["answers"], list)
    else:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"] != "internal_error"
        assert isinstance(error["message"], str) and error["message"]
        assert "Traceback" not in response.text
    return status


@pytest.mark.timeout(300)
def test_any_request_gets_a_documented_status_and_a_json_error(
    client: TestClient, tiny_receipt_png: bytes
) -> None:
    seen: set[int] = set()

    @FUZZ
    @given(request=requests(tiny_receipt_png))
    def run(request: dict[str, Any]) -> None:
        seen.add(_check(client.request(**request)))

    run()
    # the strategy reaches the success path and the main refusals (else it fuzzes nothing)
    assert {200, 400, 413, 415} <= seen, seen
    # and the server still answers correctly afterwards
    assert client.get("/ping").status_code == 200
    good = client.post(
        "/invocations",
        json={"document": base64.b64encode(tiny_receipt_png).decode(), "questions": ["merchant"]},
    )
    assert good.status_code == 200 and good.json()["fields"]["merchant"]["answer"] == MERCHANT


@pytest.mark.timeout(60)
@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_deeply_nested_json_is_a_400(client: TestClient, opener: bytes) -> None:
    body = opener * 5_000  # far deeper than json.loads recurses, far below the body limit
    response = client.post(
        "/invocations", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
