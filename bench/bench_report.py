"""Report benchmark (issue 7): documents per minute for a folder of rendered receipts.

    python bench/bench_report.py [--docs 20] [--size base|tiny] [--concurrency 4] [--budget 60]
                                 [--with-j1]

Runs ``build_report`` (what ``expense-cli report`` runs) over ``--docs`` rendered ~100-word
receipts (7 questions each: the default expense fields), each way on a fresh output file:

- local: ``LocalTarget`` (the engine in this process, one document at a time); the model is loaded
  before the clock starts (its load time is printed apart);
- resume: the same report again: what the local run finished is skipped (hash + read + rewrite);
- server: ``ServerTarget`` against ``python -m expense_cli.serving`` in a child process on
  127.0.0.1 (the container's program; micro-batching on), ``--concurrency`` documents in flight;
  the server is ready (model loaded, /ping 200) before the clock starts. ``--with-j1`` adds the
  same server fed one document at a time.

The model is a base-size random LayoutLM (12 × 768, the real model's shape, so its speed; the
answers are meaningless) unless ``--size tiny``. Both paths OCR with the same engine settings.

Bounded: each timed run stops after ``--budget`` seconds (the report written so far is a valid
partial one) and the rate is taken over the documents it finished; with concurrency, requests in
flight at the stop are not counted (a slight under-estimate). Wall-clock rates move with other
load on the machine, so the load average and CPU seconds per document are printed too.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from _common import base_model, bench_receipt_lines, report  # noqa: E402

from expense_cli.report import Row, build_report  # noqa: E402
from expense_cli.synthetic import build_model, render_receipt  # noqa: E402
from expense_cli.targets import LocalTarget, ServerTarget  # noqa: E402
from tests._servers import server_process  # noqa: E402


def _folder(root: Path, count: int) -> Path:
    """``count`` distinct receipts (a different receipt number on each), as PNG."""
    lines = bench_receipt_lines()
    for i in range(count):
        page = [*lines[:3], f"Receipt No {4217 + i:06d}   Table {i % 9 + 1}", *lines[4:]]
        buffer = io.BytesIO()
        render_receipt(page).save(buffer, format="PNG")
        (root / f"receipt-{i:03d}.png").write_bytes(buffer.getvalue())
    return root


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (and its waited-for children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class _OutOfTime(Exception):
    pass


class _Budget:
    """Progress sink that stops the run (a partial report is written) after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.done = 0
        self.total = 0
        self.t0 = time.perf_counter()

    def begin(self) -> None:
        self.done, self.t0 = 0, time.perf_counter()

    def start(self, total: int) -> None:  # the ReportProgress protocol
        self.total = total

    def advance(self, row: Row) -> None:
        assert row.error is None, row.error
        self.done += 1
        if self.done < self.total and time.perf_counter() - self.t0 > self.seconds:
            raise _OutOfTime

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def _run(budget: _Budget, run: Callable[[_Budget], object]) -> str:
    """Run ``run(progress)`` until it finishes or the budget is spent; the rate over what ran."""
    budget.begin()
    note = ""
    try:
        run(budget)
    except _OutOfTime:
        note = f", stopped after the {budget.seconds:g} s budget"
    seconds = budget.elapsed()
    n = budget.done
    return (
        f"{n / seconds * 60:7.1f} docs/min  ({seconds:6.2f} s for {n}, {seconds / n:.2f} s/doc"
        f"{note})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--size", choices=["base", "tiny"], default="base")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per timed run at most")
    parser.add_argument(
        "--with-j1", action="store_true", help="also time the server one document at a time"
    )
    args = parser.parse_args()
    budget = _Budget(args.budget)

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        model = base_model() if args.size == "base" else build_model(work / "model")
        build_s = time.perf_counter() - start
        (work / "receipts").mkdir()
        folder = _folder(work / "receipts", args.docs)
        rows: list[tuple[str, str]] = [
            ("model", f"{args.size}-size random LayoutLM (built in {build_s:.1f} s)"),
            ("documents", f"{args.docs} rendered receipts, 1000×1400 PNG, ~100 words"),
        ]

        # -- local: the engine in this process -------------------------------------------------
        local = LocalTarget(str(model))
        start = time.perf_counter()
        _ = local.engine  # load before the clock
        rows.append(("local: model load", f"{time.perf_counter() - start:.2f} s (not counted)"))
        out = work / "local.json"
        cpu0 = time.process_time()
        rows.append(
            (
                "local (sequential)",
                _run(budget, lambda p: build_report([folder], out, local, progress=p)),
            )
        )
        rows.append(("local CPU", f"{(time.process_time() - cpu0) / budget.done:.2f} CPU-s/doc"))

        # -- resume: what the local run finished is skipped ------------------------------------
        done = budget.done
        stub = _Stub()
        start = time.perf_counter()
        result = build_report([folder], out, stub)
        seconds = time.perf_counter() - start
        assert result.reused == done and stub.calls == args.docs - done, (result.reused, done)
        rows.append(("resume", f"{seconds:.3f} s to skip the {done} done documents"))

        # -- server: the container's program in a child process --------------------------------
        with server_process(model) as server:
            rows.append(("server: ready", f"{server.ready_s:.2f} s (process start → /ping 200)"))
            target = ServerTarget(server.url)
            try:
                for j in sorted({args.concurrency} | ({1} if args.with_j1 else set())):
                    out_j = work / f"server-{j}.json"
                    cpu0 = _cpu_s(server.pid)
                    rate = _run(
                        budget,
                        lambda p, o=out_j, c=j: build_report(
                            [folder], o, target, concurrency=c, progress=p
                        ),
                    )
                    cpu = (_cpu_s(server.pid) - cpu0) / budget.done
                    rows.append((f"server -j {j}", rate))
                    rows.append((f"server -j {j} CPU", f"{cpu:.2f} server CPU-s/doc"))
            finally:
                close = getattr(target, "close", None)
                if callable(close):
                    close()
                else:  # ServerTarget has no close() yet
                    target._client.close()

        load = os.getloadavg()[0]
        report(f"expense-cli report ({os.cpu_count()} CPUs, load average {load:.1f})", rows)


class _Stub:
    """A target for the resume run: answers instantly, counts what is still sent to it."""

    name = "stub"
    concurrency = 1

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, data: bytes, **_: object) -> dict[str, object]:
        self.calls += 1
        return {"fields": {}, "answers": [], "pages": 1}


if __name__ == "__main__":
    main()
