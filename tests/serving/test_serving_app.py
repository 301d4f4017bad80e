"""The container contract on a real uvicorn server: ping, invocations, every error status."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import threading
from pathlib import Path

import httpx
import pytest

from expense_cli.engine import Engine, EngineConfig
from expense_cli.serving import Settings, create_app
from expense_cli.serving._app import transform_parameters
from tests._servers import running_server, wait_ready
from tests.serving.conftest import MERCHANT, GatedEngine, b64

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.ocr]


def post(url: str, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{url}/invocations", timeout=60, **kwargs)  # type: ignore[arg-type]


def error_of(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert "Traceback" not in response.text
    return dict(body["error"])


def test_a_long_path_is_not_echoed_back_whole(server_url: str) -> None:
    response = httpx.get(f"{server_url}/{'x' * 8000}")
    assert response.status_code == 404
    message = error_of(response)["message"]
    assert message.startswith("no such path: /xxx") and len(message) < 200


def test_ping_is_200_when_loaded(server_url: str) -> None:
    response = httpx.get(f"{server_url}/ping")
    assert response.status_code == 200
    # the session engine: no GPU, torch fp32 (an image runs what its accuracy gate chose)
    assert response.json() == {"status": "ok", "device": "cpu", "variant": "torch"}


def test_json_invocation_answers_the_default_fields(server_url: str, receipt_png: bytes) -> None:
    response = post(server_url, json={"document": b64(receipt_png)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pages"] == 1
    assert body["fields"]["merchant"]["answer"] == MERCHANT
    assert {"merchant", "date", "total"} <= set(body["fields"])
    stages = {part.split(";")[0].strip() for part in response.headers["server-timing"].split(",")}
    assert {"load", "ocr", "forward", "postprocess", "total"} <= stages
    assert response.headers["x-request-id"]


def test_json_invocation_with_questions(server_url: str, receipt_png: bytes) -> None:
    payload = {"document": b64(receipt_png), "questions": ["Who sold this?", "total"]}
    body = post(server_url, json=payload).json()
    assert [a["question"] for a in body["answers"]] == ["Who sold this?"]
    assert body["answers"][0]["answer"] == MERCHANT
    assert set(body["fields"]) == {"total"}


def test_raw_image_body_with_query_questions(server_url: str, receipt_png: bytes) -> None:
    response = post(
        server_url,
        content=receipt_png,
        headers={"Content-Type": "image/png"},
        params=[("question", "Who sold this?"), ("question", "Where?")],
    )
    assert response.status_code == 200, response.text
    assert [a["answer"] for a in response.json()["answers"]] == [MERCHANT, MERCHANT]


def test_raw_pdf_body(server_url: str, receipt_image: object) -> None:
    from expense_cli.synthetic import receipt_pdf

    pdf = receipt_pdf([receipt_image, receipt_image])  # type: ignore[list-item]
    response = post(server_url, content=pdf, headers={"Content-Type": "application/pdf"})
    assert response.status_code == 200, response.text
    assert response.json()["pages"] == 2


@pytest.fixture(scope="module")
def strict_url(engine: Engine) -> object:
    """A server with a small body cap (so 413 is cheap to provoke)."""
    with running_server(create_app(Settings(max_body_bytes=200_000), engine=engine)) as url:
        yield url


def _bad_requests(receipt_png: bytes) -> list[tuple[str, dict[str, object], int, str]]:
    js = {"Content-Type": "application/json"}
    return [
        ("bad JSON", {"content": b"{oops", "headers": js}, 400, "invalid_json"),
        ("missing document", {"json": {"questions": ["x"]}}, 400, "missing_document"),
        ("bad base64", {"json": {"document": "@@not base64@@"}}, 400, "invalid_base64"),
        ("empty body", {"content": b"", "headers": js}, 400, "empty_body"),
        ("empty document", {"json": {"document": ""}}, 400, "empty_document"),
        ("not an image", {"json": {"document": b64(b"hello, world")}}, 415,
         "unsupported_media_type"),
        ("text body", {"content": b"hi", "headers": {"Content-Type": "text/plain"}}, 400,
         "invalid_json"),
        ("unknown type", {"content": b"hi", "headers": {"Content-Type": "video/mp4"}}, 415,
         "unsupported_media_type"),
        ("truncated", {"json": {"document": b64(receipt_png[:2000])}}, 422, "unreadable_document"),
        ("too big", {"content": b"\0" * 300_000, "headers": {"Content-Type": "image/png"}}, 413,
         "body_too_large"),
        ("too many questions", {"json": {"document": b64(receipt_png), "questions": ["q"] * 21}},
         400, "too_many_questions"),
        ("URL instead of bytes", {"json": {"image": "https://example.com/r.png"}}, 400,
         "url_not_supported"),
    ]  # fmt: skip


def test_every_bad_request_gets_its_status_then_the_server_still_works(
    strict_url: str, receipt_png: bytes
) -> None:
    for name, kwargs, status, code in _bad_requests(receipt_png):
        response = post(strict_url, **kwargs)
        assert response.status_code == status, (name, response.text)
        error = error_of(response)
        assert error["code"] == code, name
        assert error["message"]
    wrong_method = httpx.get(f"{strict_url}/invocations")
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["code"] == "method_not_allowed"
    unknown = httpx.post(f"{strict_url}/predict", json={})
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "not_found"
    assert httpx.get(f"{strict_url}/ping").status_code == 200
    good = post(strict_url, json={"document": b64(receipt_png)})
    assert good.status_code == 200
    assert good.json()["fields"]["merchant"]["answer"] == MERCHANT


def test_too_big_is_refused_from_content_length_without_the_body(strict_url: str) -> None:
    """A huge declared body is answered 413 at once: the server does not wait to read it."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(strict_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: 5000000000\r\n\r\n"
        )
        head = sock.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head


def test_execution_parameters(server_url: str) -> None:
    params = httpx.get(f"{server_url}/execution-parameters").json()
    assert params["BatchStrategy"] == "SINGLE_RECORD"
    assert params["MaxConcurrentTransforms"] >= 1
    assert params == transform_parameters(Settings())


@pytest.mark.parametrize("concurrency", [1, 3, 8, 64, 100, 101, 1000])
@pytest.mark.parametrize(
    "body_limit", [None, 100_000, 1_048_576, 6_000_000, 26_000_000, 27_262_976, 500_000_000]
)
def test_execution_parameters_keep_sagemaker_limits_and_the_body_limit(
    concurrency: int, body_limit: int | None
) -> None:
    """CreateTransformJob refuses MaxPayloadInMB over 100 and MaxConcurrentTransforms x
    MaxPayloadInMB over 100; a payload SageMaker may send (MB read as MiB, the larger) must not
    be refused 413 (the defaults asked for 8 x 26 MB, and 26 MiB is over the 26.7 MB limit)."""
    settings = Settings(max_concurrency=concurrency, max_body_bytes=body_limit)
    params = transform_parameters(settings)
    payload, parallel = params["MaxPayloadInMB"], params["MaxConcurrentTransforms"]
    assert 1 <= payload <= 100 and 1 <= parallel <= concurrency
    assert payload * parallel <= 100
    if settings.body_limit >= 1 << 20:
        assert payload << 20 <= settings.body_limit


def test_ping_is_503_while_the_model_loads(engine: Engine, receipt_png: bytes) -> None:
    release = threading.Event()

    def slow_loader(config: EngineConfig) -> Engine:
        assert release.wait(30)
        return engine

    app = create_app(Settings(engine=engine.config), loader=slow_loader)
    with running_server(app, ready=False) as url:
        try:
            ping = httpx.get(f"{url}/ping")
            assert ping.status_code == 503
            assert ping.headers["retry-after"].isdigit()
            assert error_of(ping)["code"] == "model_not_ready"
            early = post(url, json={"document": b64(receipt_png)})
            assert early.status_code == 503
            assert early.headers["retry-after"].isdigit()
        finally:
            release.set()
        wait_ready(url, timeout=30)
        assert post(url, json={"document": b64(receipt_png)}).status_code == 200


def test_a_model_that_fails_to_load_is_reported_not_hung(tmp_path: Path) -> None:
    app = create_app(Settings(engine=EngineConfig(model=str(tmp_path))))  # no checkpoint here
    with running_server(app, ready=False) as url:
        for _ in range(200):
            ping = httpx.get(f"{url}/ping")
            if ping.status_code != 503:
                break
            threading.Event().wait(0.05)
        assert ping.status_code == 500
        assert error_of(ping)["code"] == "model_load_failed"
        response = post(url, json={"document": b64(b"x")})
        assert response.status_code == 500
        assert error_of(response)["code"] == "model_load_failed"


def test_overload_answers_429_at_once_and_recovers(engine: Engine, receipt_png: bytes) -> None:
    """One slot + one queue place: with the slot held, of two more requests one waits in the
    queue and the other is refused with 429 at once; both others succeed once the slot frees."""
    gated = GatedEngine(engine)
    app = create_app(Settings(max_concurrency=1, max_queue=1), engine=gated)
    payload = {"json": {"document": b64(receipt_png)}}
    with (
        running_server(app) as url,
        concurrent.futures.ThreadPoolExecutor(3) as pool,
    ):
        try:
            first = pool.submit(post, url, **payload)
            assert gated.entered.acquire(timeout=30)  # the first request holds the slot
            others = [pool.submit(post, url, **payload) for _ in range(2)]
            done, _ = concurrent.futures.wait(
                others, timeout=30, return_when=concurrent.futures.FIRST_COMPLETED
            )
            assert done, "neither request was answered while the slot was held"
            refused = done.pop().result()
        finally:
            gated.gate.set()
        assert refused.status_code == 429
        assert refused.headers["retry-after"].isdigit()
        assert error_of(refused)["code"] == "throttled"
        assert first.result(60).status_code == 200
        assert sorted(f.result(60).status_code for f in others) == [200, 429]
        assert post(url, **payload).status_code == 200


def test_slow_documents_get_504(engine: Engine, receipt_png: bytes) -> None:
    gated = GatedEngine(engine, max_wait=20.0)
    app = create_app(Settings(request_timeout_s=3.0), engine=gated)
    with running_server(app) as url:
        response = post(url, json={"document": b64(receipt_png)})  # held at the gate
        gated.gate.set()
        assert response.status_code == 504
        assert error_of(response)["code"] == "timeout"
        after = post(url, json={"document": b64(receipt_png)})  # the gate is open now
        assert after.status_code == 200, after.text[:300]


def test_page_previews_count_against_the_time_limit_and_admission(
    engine: Engine, small_receipt_png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering the web page's previews (``page_images``) is part of the request: a slow
    one is answered 504 at the request's time limit (not whenever it ends), and it keeps its
    admission place until it ends (so a flood of them is refused 429, not queued unbounded)."""
    from expense_cli.serving import _service

    gate, entered = threading.Event(), threading.Event()

    def slow_previews(*args: object) -> list[object]:
        entered.set()
        gate.wait(30)
        return []

    monkeypatch.setattr(_service, "page_images", slow_previews)
    settings = Settings(request_timeout_s=2.0, max_concurrency=1, max_queue=0)
    payload = {"document": b64(small_receipt_png), "page_images": True}
    with running_server(create_app(settings, engine=engine)) as url:
        try:
            response = post(url, json=payload)
            assert entered.is_set()  # the previews were under way
            assert response.status_code == 504, response.text[:300]
            assert error_of(response)["code"] == "timeout"
            busy = post(url, json={"document": b64(small_receipt_png)})
            assert busy.status_code == 429  # the previews still hold the one place
        finally:
            gate.set()
        for _ in range(100):  # the place frees once the previews end
            after = post(url, json={"document": b64(small_receipt_png)})
            if after.status_code != 429:
                break
            threading.Event().wait(0.05)
        assert after.status_code == 200, after.text[:300]


def test_a_bug_is_a_500_without_traceback(
    engine: Engine, receipt_png: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    gated = GatedEngine(engine, fail=RuntimeError("secret internals /srv/x.py line 3"))
    with running_server(create_app(Settings(), engine=gated)) as url:
        response = post(url, json={"document": b64(receipt_png)})
        assert response.status_code == 500
        assert error_of(response) == {"code": "internal_error", "message": "internal server error"}
        assert "secret" not in response.text
        gated.fail = None
        gated.gate.set()
        assert post(url, json={"document": b64(receipt_png)}).status_code == 200
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


def test_one_log_line_per_request_with_stage_timings_and_no_document(
    server_url: str, receipt_png: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    from expense_cli.serving import JsonFormatter

    encoded = b64(receipt_png)
    with caplog.at_level(logging.INFO, logger="expense.serving"):
        response = post(server_url, json={"document": encoded, "questions": ["total"]})
        assert response.status_code == 200
        rid = response.headers["x-request-id"]
        # the line is written once the response is sent: wait for it (bounded)
        for _ in range(100):
            found = [r for r in caplog.records if getattr(r, "request_id", None) == rid]
            if found:
                break
            threading.Event().wait(0.05)
    (record,) = found
    assert record.name == "expense.serving" and record.getMessage() == "request"
    line = json.loads(JsonFormatter().format(record))
    assert line["status"] == 200 and line["path"] == "/invocations" and line["questions"] == 1
    assert {"queue", "load", "ocr", "forward", "postprocess", "total"} <= set(line["timings"])
    assert line["bytes"] > len(receipt_png)
    text = json.dumps(line)
    assert encoded[:40] not in text and base64.b64encode(receipt_png[:30]).decode() not in text


def test_concurrent_requests_all_answer(server_url: str, receipt_png: bytes) -> None:
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(lambda _: post(server_url, json={"document": b64(receipt_png)}), range(6))
        )
    assert [r.status_code for r in responses] == [200] * 6
    assert all(r.json()["fields"]["merchant"]["answer"] == MERCHANT for r in responses)
    assert all(1 <= int(r.headers["x-expense-batch"]) <= 6 for r in responses)


def test_micro_batching_off_answers_the_same(engine: Engine, receipt_png: bytes) -> None:
    with running_server(create_app(Settings(max_batch=1), engine=engine)) as url:
        off = post(url, json={"document": b64(receipt_png)})
    with running_server(create_app(Settings(max_batch=8), engine=engine)) as url:
        on = post(url, json={"document": b64(receipt_png)})
    assert off.status_code == on.status_code == 200
    assert off.json() == on.json()
