"""Server benchmarks (issues 3 and 9): throughput vs concurrency, micro-batching on/off, cold start.

The server under test is the container's program (``python -m expense_cli.serving``) in its own
process on 127.0.0.1, with a base-size random LayoutLM (the real model's shape, so its speed) and
a rendered ~100-word receipt. Every ratio compares runs made by this script on this machine; the
baseline for throughput is the same server answering one request at a time.

    python bench/bench_server.py [--questions N] [--scale S]

The machine may be shared: throughput is wall-clock and moves with other load, so the server's
own CPU seconds per request are printed too (they do not depend on what else runs).

Targets (issue 3): throughput at concurrency 4 ≥ 0.9 × 1/latency; micro-batching at concurrency
8 ≥ 1.6 × its concurrency-1 throughput. Whatever the numbers are, they are printed as measured.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import io
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from _common import base_model, bench_receipt_lines, report  # noqa: E402

from expense_cli.engine import DEFAULT_FIELDS  # noqa: E402
from expense_cli.synthetic import render_receipt  # noqa: E402
from tests._servers import ServerProcess, server_process  # noqa: E402


@dataclass
class Run:
    concurrency: int
    requests: int
    seconds: float
    latencies: list[float]
    batches: list[int]
    stages: dict[str, float]  # median ms per stage (Server-Timing)
    failures: int
    cpu_s: float  # CPU time the server process used during the run (user + system)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(server: ServerProcess, payload: bytes, concurrency: int, requests: int) -> Run:
    """``requests`` POSTs, ``concurrency`` at a time; wall time from first send to last answer."""
    url = server.url
    latencies: list[float] = []
    batches: list[int] = []
    stages: dict[str, list[float]] = {}
    failures = 0
    with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=concurrency)) as client:

        def one(_: int) -> tuple[float, httpx.Response]:
            start = time.perf_counter()
            response = client.post(
                f"{url}/invocations", content=payload, headers={"Content-Type": "application/json"}
            )
            return time.perf_counter() - start, response

        cpu_before = cpu_seconds(server.pid)
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(one, range(requests)))
        seconds = time.perf_counter() - start
        cpu = cpu_seconds(server.pid) - cpu_before
    for latency, response in results:
        if response.status_code != 200:
            failures += 1
            continue
        latencies.append(latency)
        batches.append(int(response.headers.get("x-expense-batch", "1")))
        for part in response.headers.get("server-timing", "").split(","):
            name, _, dur = part.strip().partition(";dur=")
            if dur:
                stages.setdefault(name, []).append(float(dur))
    medians = {name: statistics.median(values) for name, values in stages.items()}
    return Run(concurrency, requests, seconds, latencies, batches, medians, failures, cpu)


def model_load_ms(server: ServerProcess) -> float:
    for line in server.logs().splitlines():
        if '"model ready"' in line:
            return float(json.loads(line)["load_ms"])
    raise RuntimeError("no 'model ready' line in the server log")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=2, help="questions per request (≤ 7)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply request counts")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="server environment"
    )
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)

    def n(count: int) -> int:
        return max(2, round(count * float(args.scale)))

    image = render_receipt(bench_receipt_lines())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    questions = [spec.question for spec in DEFAULT_FIELDS.values()][: args.questions]
    payload = json.dumps(
        {"document": base64.b64encode(buffer.getvalue()).decode(), "questions": questions}
    ).encode()
    started = time.perf_counter()
    model_dir = base_model()
    print(
        f"base-size random LayoutLM built in {time.perf_counter() - started:.1f} s; receipt "
        f"{image.width}x{image.height}; {len(questions)} questions a request; server env "
        f"{extra_env or 'default'}"
    )

    runs: dict[tuple[str, int], Run] = {}
    cold: dict[str, tuple[float, float]] = {}
    for mode, env in (("on", {"EXPENSE_MAX_BATCH": "8"}), ("off", {"EXPENSE_MAX_BATCH": "1"})):
        with server_process(model_dir, env={**extra_env, **env}) as server:
            cold[mode] = (server.ready_s, model_load_ms(server) / 1000)
            load(server, payload, 1, 2)  # warm-up: first forwards allocate
            levels = (1, 4, 8) if mode == "on" else (1, 8)
            for concurrency in levels:
                runs[mode, concurrency] = load(
                    server, payload, concurrency, n({1: 4, 4: 8, 8: 16}[concurrency])
                )

    single = statistics.median(runs["on", 1].latencies)
    rows = [("single-request latency (on, c=1, median)", f"{single * 1000:.0f} ms")]
    for (mode, concurrency), run in runs.items():
        rows.append(
            (
                f"batching {mode:<3} concurrency {concurrency}",
                f"{run.throughput:5.2f} req/s  p50 {run.pct(0.5) * 1000:5.0f} ms  "
                f"p99 {run.pct(0.99) * 1000:5.0f} ms  mean batch "
                f"{statistics.mean(run.batches or [0]):.1f}  server CPU "
                f"{run.cpu_s / run.requests:.2f} s/req  failures {run.failures}  "
                f"({run.requests} requests)",
            )
        )
    report("throughput and latency (server in its own process, 127.0.0.1)", rows)

    stage_rows = []
    for key in (("on", 1), ("on", 8), ("off", 8)):
        stages = runs[key].stages
        shown = ", ".join(
            f"{name} {stages[name]:.0f}"
            for name in ("queue", "ocr", "batch_wait", "forward", "postprocess", "total")
            if name in stages
        )
        stage_rows.append((f"batching {key[0]} c={key[1]}", shown))
    report("median ms per stage (Server-Timing)", stage_rows)

    c4 = runs["on", 4].throughput * single
    on_scaling = runs["on", 8].throughput / runs["on", 1].throughput
    off_scaling = runs["off", 8].throughput / runs["off", 1].throughput
    on_vs_off = runs["on", 8].throughput / runs["off", 8].throughput
    report(
        "ratios (target)",
        [
            ("throughput c=4 / (1 / single latency)  (≥ 0.90)", f"{c4:.2f}×"),
            ("micro-batching on:  c=8 / c=1          (≥ 1.60)", f"{on_scaling:.2f}×"),
            ("micro-batching off: c=8 / c=1", f"{off_scaling:.2f}×"),
            ("c=8: batching on / off", f"{on_vs_off:.2f}×"),
            (
                "c=8: server CPU per request, batching on / off",
                f"{runs['on', 8].cpu_s / runs['off', 8].cpu_s:.2f}×",
            ),
        ],
    )
    report(
        "cold start",
        [
            (
                f"batching {mode}: process start → /ping 200",
                f"{ready:.1f} s (model load {loaded:.1f} s, {loaded / ready:.0%} of it)",
            )
            for mode, (ready, loaded) in cold.items()
        ],
    )
    print(f"\nbench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
