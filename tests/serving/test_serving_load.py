"""A bounded load test against the server program in its own process (127.0.0.1 only)."""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import threading
from pathlib import Path

import httpx
import pytest

from tests._servers import server_process
from tests.serving.conftest import MERCHANT

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.ocr, pytest.mark.slow]

CONCURRENCY = 4
WARMUP = 50
TOTAL = 320


@pytest.mark.timeout(300)
def test_sustained_load_loses_nothing_and_does_not_grow(
    tiny_model_dir: Path, small_receipt_png: bytes
) -> None:
    payload = {"document": base64.b64encode(small_receipt_png).decode(), "questions": ["merchant"]}
    statuses: collections.Counter[int | str] = collections.Counter()
    wrong: list[str] = []
    lock = threading.Lock()

    with (
        server_process(tiny_model_dir) as server,
        httpx.Client(timeout=60, limits=httpx.Limits(max_connections=CONCURRENCY)) as client,
    ):

        def one(_: int) -> None:
            try:
                response = client.post(f"{server.url}/invocations", json=payload)
            except httpx.HTTPError as exc:  # a lost request
                with lock:
                    statuses[type(exc).__name__] += 1
                return
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    answer = response.json()["fields"]["merchant"]["answer"]
                    if answer != MERCHANT:
                        wrong.append(answer)

        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(one, range(WARMUP)))
            rss_after_warmup = server.rss_kib()
            list(pool.map(one, range(TOTAL - WARMUP)))
        rss_at_end = server.rss_kib()
        assert httpx.get(f"{server.url}/ping").status_code == 200
        logs = server.logs()

    growth = (rss_at_end - rss_after_warmup) / rss_after_warmup
    print(
        f"\n{TOTAL} requests at concurrency {CONCURRENCY}: {dict(statuses)}; RSS "
        f"{rss_after_warmup / 1024:.0f} MiB after {WARMUP} → {rss_at_end / 1024:.0f} MiB "
        f"({growth:+.1%})"
    )
    assert statuses == {200: TOTAL}
    assert wrong == []
    assert growth <= 0.05
    assert logs.count('"msg": "request"') >= TOTAL  # one JSON log line per request
    assert small_receipt_png[:16].hex() not in logs
