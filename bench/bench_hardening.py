"""Hostile documents (issue 8) and slow clients (issue 12).

**Documents**: worst-case time and peak memory of ``load_document`` per case.

Each case of ``tests/hardening/hostile.py`` runs in a fresh child process (so one case's memory
cannot hide another's); an intermediate process waits for it and reads the child's peak RSS with
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``. "over base" subtracts the peak of a child that
only imports the engine (torch and friends), i.e. what the document itself cost.

    python bench/bench_hardening.py [--repeat N] [--only NAME ...] [--skip-documents]
                                    [--skip-slow-clients] [--window S]

Time is the slowest of N runs (worst case), measured inside the child around ``load_document``.

**Slow clients** (:func:`slow_clients`): the model server (tiny random model, real OCR, the
production uvicorn configuration of ``expense_cli/serving/_server.py``) is driven by 4 client
threads for ``--window`` seconds with no attack (the baseline), then during a stalled-body attack
(60 connections that send 1 byte of a 100 kB body, admission limit 6) and during a slowloris
attack (300 connections that never finish their headers, connection cap 64); requests served
are printed as a ratio to the baseline. Then the Lambda handler's URL fetch
(``handler/_fetch.py``) against servers that drip their answer a byte every 50 ms: wall time
against the configured cap, for each attack of ``tests/handler/_drip.py``.
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _child(name: str) -> None:
    """Build the case, load it once, print the outcome as JSON."""
    from expense_cli.engine import load_document
    from expense_cli.errors import ExpenseError

    if name == "(imports only)":
        print(json.dumps({"seconds": 0.0, "outcome": "-", "bytes": 0}))
        return
    from tests.hardening.hostile import case

    data = case(name).build()
    start = time.perf_counter()
    try:
        pages = load_document(data)
        outcome = f"200 ({len(pages)} page{'s' if len(pages) > 1 else ''})"
    except ExpenseError as exc:
        outcome = f"{exc.status} {type(exc).__name__}"
    except BaseException as exc:  # an escaped exception is a finding: report it, do not hide it
        outcome = f"ESCAPED {type(exc).__name__}"
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "outcome": outcome, "bytes": len(data)}))


def _waiter(name: str) -> None:
    """Run the child, then report its peak RSS (KiB) from RUSAGE_CHILDREN."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", name],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"seconds": float("nan"), "outcome": "CRASHED"}
    if done.returncode != 0:
        result["outcome"] = f"CRASHED rc={done.returncode}"
    result["peak_kib"] = peak_kib
    print(json.dumps(result))


def _measure(name: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--wait", name],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--skip-documents", action="store_true")
    parser.add_argument("--skip-slow-clients", action="store_true")
    parser.add_argument("--window", type=float, default=6.0, help="seconds per load window")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--wait", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    if args.wait:
        _waiter(args.wait)
        return
    if not args.skip_documents:
        documents(args.repeat, args.only)
    if not args.skip_slow_clients:
        slow_clients(args.window)


def documents(repeat: int, only: list[str]) -> None:
    from tests.hardening.hostile import CASES

    cases = [c for c in CASES if not only or c.name in only]
    base = max(int(_measure("(imports only)")["peak_kib"]) for _ in range(2))  # type: ignore[call-overload]
    print(f"hostile documents through load_document: {len(cases)} cases, worst of {repeat}")
    print(f"baseline peak RSS of a child that only imports the engine: {base / 1024:.0f} MiB\n")
    header = f"{'case':<22}{'size':>10}  {'expected':<10}{'outcome':<26}{'worst s':>8}"
    print(header + f"{'peak MiB':>10}{'over base':>11}  what")
    print("-" * (len(header) + 40))
    worst_s, worst_mib, mismatches = 0.0, 0.0, 0
    for item in cases:
        runs = [_measure(item.name) for _ in range(repeat)]
        seconds = max(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
        peak = max(int(r["peak_kib"]) for r in runs)  # type: ignore[call-overload]
        outcome = str(runs[0]["outcome"])
        expected = str(item.error.status) if item.error else "200"
        if not outcome.startswith(expected):
            mismatches += 1
        over = max(0.0, (peak - base) / 1024)
        worst_s, worst_mib = max(worst_s, seconds), max(worst_mib, over)
        size = int(runs[0]["bytes"])  # type: ignore[call-overload]
        print(
            f"{item.name:<22}{size:>10,}  {expected:<10}{outcome:<26}{seconds:>8.2f}"
            f"{peak / 1024:>10.0f}{over:>11.0f}  {item.what}"
        )
    print(
        f"\nworst case: {worst_s:.2f} s, {worst_mib:.0f} MiB over the baseline; "
        f"{mismatches} outcome(s) differ from the expected status"
    )


# ------------------------------------------------------------------------------- slow clients

STALLED_BODIES = 60
SLOWLORIS = 300
CLIENTS = 4
DRIP_INTERVAL_S = 0.05


def _load(url: str, payload: dict[str, object], window: float) -> collections.Counter[str]:
    """``CLIENTS`` threads posting ``payload`` for ``window`` seconds; outcomes counted."""
    import httpx

    outcomes: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    end = time.monotonic() + window

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < end:
                try:
                    outcome = str(http.post(f"{url}/invocations", json=payload).status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _served_under_attack(window: float) -> None:
    import base64

    from expense_cli.engine import Engine, EngineConfig
    from expense_cli.serving import Settings, create_app
    from expense_cli.synthetic import RECEIPT_LINES, build_model, render_receipt
    from tests._servers import running_server
    from tests.conftest import png_bytes
    from tests.serving._raw_http import is_closed, slowloris, stalled_body

    model = build_model(Path(tempfile.mkdtemp(prefix="bench-slow-")))
    engine = Engine(EngineConfig(model=str(model), revision=None))
    receipt = png_bytes(render_receipt(RECEIPT_LINES[:4], width=640, height=320, font_size=28))
    payload: dict[str, object] = {"document": base64.b64encode(receipt).decode()}
    settings = Settings(
        max_concurrency=2,
        max_queue=4,
        max_connections=64,
        header_timeout_s=window * 4,
        body_timeout_s=window * 4,
    )
    admission = settings.max_concurrency + settings.max_queue
    print(
        f"\nrequests served in {window:g} s by {CLIENTS} clients (tiny model, real OCR); "
        f"admission limit {admission}, connection cap {settings.max_connections}"
    )
    print(f"{'attack':<44}{'200':>6}{'429':>6}{'other':>7}{'vs none':>9}  attackers left")
    with running_server(create_app(settings, engine=engine), production=settings) as url:
        _load(url, payload, 1.0)  # warm-up
        base = _load(url, payload, window)
        rows: list[tuple[str, collections.Counter[str], str]] = [("none (baseline)", base, "-")]
        with stalled_body(url, STALLED_BODIES) as socks:
            during = _load(url, payload, window)
            left = f"{sum(not is_closed(s) for s in socks)}/{len(socks)} open"
        rows.append((f"stalled bodies ({STALLED_BODIES} conns, 1 of 100000 B)", during, left))
        with slowloris(url, SLOWLORIS) as socks:
            during = _load(url, payload, window)
            left = f"{sum(not is_closed(s) for s in socks)}/{len(socks)} open"
        rows.append((f"slowloris ({SLOWLORIS} conns, headers never end)", during, left))
    for name, counts, left in rows:
        other = sum(v for k, v in counts.items() if k not in ("200", "429"))
        ratio = counts["200"] / max(1, base["200"])
        print(f"{name:<44}{counts['200']:>6}{counts['429']:>6}{other:>7}{ratio:>8.2f}x  {left}")


def _fetch_under_drip() -> None:
    sys.path[:0] = [str(ROOT / "handler"), str(ROOT / "tests" / "handler")]
    import _fetch
    from _drip import drip_scripts, drip_server

    from expense_cli.contract import ContractError
    from expense_cli.synthetic import RECEIPT_LINES, render_receipt
    from tests.conftest import png_bytes

    png = png_bytes(render_receipt(RECEIPT_LINES[:2], width=200, height=80, font_size=14))
    print(f"\nURL fetch against servers dripping a byte every {DRIP_INTERVAL_S * 1000:g} ms")
    print(f"{'attack':<16}{'cap s':>7}{'wall s':>8}{'wall/cap':>10}  {'outcome':<14}bytes taken")
    for cap in (1.0, 2.0):
        for name, (prefix, drip) in drip_scripts(png).items():
            with drip_server(prefix, drip, DRIP_INTERVAL_S) as server:
                policy = _fetch.FetchPolicy(
                    max_bytes=10_000_000,
                    timeout_s=cap,
                    allow_http=True,
                    resolver=lambda host, port: ["127.0.0.1"],
                    address_allowed=lambda ip: ip.is_loopback,
                    extra_ports=frozenset({server.port}),
                )
                scheme = "https" if name.startswith("tls") else "http"
                start = time.perf_counter()
                try:
                    _fetch.fetch_document(f"{scheme}://docs.test:{server.port}/r", policy)
                    outcome = "fetched"
                except ContractError as exc:
                    outcome = exc.code
                wall = time.perf_counter() - start
            taken = f"{max(server.sent, default=0)}/{len(drip)}"
            print(f"{name:<16}{cap:>7.1f}{wall:>8.2f}{wall / cap:>10.2f}  {outcome:<14}{taken}")


def slow_clients(window: float) -> None:
    _served_under_attack(window)
    _fetch_under_drip()


if __name__ == "__main__":
    main()
