"""Soak: 1,000 mixed good and bad requests at concurrency 8 against the server program in its own
process (127.0.0.1, tiny planted model, real tesseract). Nothing is lost: every good request is a
200 with the right answer, every bad one its documented 4xx; the server's memory stays flat."""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._servers import server_process
from tests.hardening.conftest import MERCHANT
from tests.hardening.hostile import case

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.ocr, pytest.mark.slow]

TOTAL = 1000
CONCURRENCY = 8
RSS_MARK = 200  # memory is compared between this request and the end


def _kinds(png: bytes) -> dict[str, tuple[Callable[[httpx.Client], httpx.Response], int, str]]:
    """name → (send, expected status, expected error code or the expected answer)."""
    document = base64.b64encode(png).decode()
    good = {"document": document, "questions": ["merchant"]}
    bomb = case("png_bomb_10k").build()
    truncated = png[: len(png) // 2]
    return {
        "good-json": (lambda c: c.post("/invocations", json=good), 200, MERCHANT),
        "good-raw": (
            lambda c: c.post(
                "/invocations",
                content=png,
                params={"question": "merchant"},
                headers={"content-type": "image/png"},
            ),
            200,
            MERCHANT,
        ),
        "bad-json": (
            lambda c: c.post(
                "/invocations", content=b"{nope", headers={"content-type": "application/json"}
            ),
            400,
            "invalid_json",
        ),
        "bad-field": (
            lambda c: c.post("/invocations", json={"document": document, "x": 1}),
            400,
            "unknown_field",
        ),
        "bad-type": (
            lambda c: c.post("/invocations", content=b"a,b", headers={"content-type": "text/csv"}),
            415,
            "unsupported_media_type",
        ),
        "not-a-document": (
            lambda c: c.post(
                "/invocations", content=b"hello", headers={"content-type": "image/png"}
            ),
            415,
            "unsupported_media_type",
        ),
        "truncated": (
            lambda c: c.post(
                "/invocations", content=truncated, headers={"content-type": "image/png"}
            ),
            422,
            "unreadable_document",
        ),
        "bomb": (
            lambda c: c.post("/invocations", content=bomb, headers={"content-type": "image/png"}),
            413,
            "document_too_large",
        ),
        "wrong-method": (lambda c: c.get("/invocations"), 405, "method_not_allowed"),
        "wrong-path": (lambda c: c.post("/nope", json=good), 404, "not_found"),
    }


@pytest.mark.timeout(300)
def test_soak_loses_nothing_and_memory_stays_flat(
    tiny_model_dir: Path, tiny_receipt_png: bytes
) -> None:
    kinds = _kinds(tiny_receipt_png)
    names = sorted(kinds)
    goods = [name for name in names if name.startswith("good")]
    # half good, half spread over the bad kinds, interleaved deterministically
    bads = [name for name in names if name not in goods]
    plan = [
        goods[i // 2 % len(goods)] if i % 2 == 0 else bads[i // 2 % len(bads)] for i in range(TOTAL)
    ]
    outcomes: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    lock = threading.Lock()
    done = 0
    rss: dict[str, int] = {}

    with (
        server_process(tiny_model_dir) as server,
        httpx.Client(
            base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=CONCURRENCY)
        ) as client,
    ):

        def one(index: int) -> None:
            nonlocal done
            name = plan[index]
            send, status, expected = kinds[name]
            try:
                response = send(client)
                got: Any = response.json()
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                problem = f"{name}: {type(exc).__name__}: {exc}"
            else:
                if response.status_code != status:
                    problem = f"{name}: status {response.status_code} {response.text[:200]}"
                elif status == 200 and got["fields"]["merchant"]["answer"] != expected:
                    problem = f"{name}: answer {got['fields']['merchant']!r}"
                elif status != 200 and got["error"]["code"] != expected:
                    problem = f"{name}: code {got['error']!r}"
                else:
                    problem = ""
            with lock:
                outcomes[name] += 1
                if problem:
                    failures.append(problem)
                done += 1
                if done == RSS_MARK:
                    rss["mark"] = server.rss_kib()

        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(one, range(TOTAL)))
        rss["end"] = server.rss_kib()
        assert client.get("/ping").status_code == 200
        logs = server.logs()

    growth = (rss["end"] - rss["mark"]) / rss["mark"]
    print(
        f"\nsoak: {TOTAL} requests at concurrency {CONCURRENCY}: {dict(sorted(outcomes.items()))}; "
        f"{len(failures)} wrong; RSS {rss['mark'] / 1024:.0f} MiB at request {RSS_MARK} → "
        f"{rss['end'] / 1024:.0f} MiB at the end ({growth:+.1%})"
    )
    assert failures == [], failures[:10]
    assert sum(outcomes.values()) == TOTAL
    assert sum(outcomes[name] for name in goods) == TOTAL // 2
    assert growth <= 0.05
    assert tiny_receipt_png[8:40].hex() not in logs  # no document bytes in the logs
