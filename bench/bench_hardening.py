"""Hostile documents (issue 8): worst-case time and peak memory of ``load_document`` per case.

Each case of ``tests/hardening/hostile.py`` runs in a fresh child process (so one case's memory
cannot hide another's); an intermediate process waits for it and reads the child's peak RSS with
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``. "over base" subtracts the peak of a child that
only imports the engine (torch and friends), i.e. what the document itself cost.

    python bench/bench_hardening.py [--repeat N] [--only NAME ...]

Time is the slowest of N runs (worst case), measured inside the child around ``load_document``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--wait", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    if args.wait:
        _waiter(args.wait)
        return

    from tests.hardening.hostile import CASES

    cases = [c for c in CASES if not args.only or c.name in args.only]
    base = max(int(_measure("(imports only)")["peak_kib"]) for _ in range(2))  # type: ignore[call-overload]
    print(f"hostile documents through load_document: {len(cases)} cases, worst of {args.repeat}")
    print(f"baseline peak RSS of a child that only imports the engine: {base / 1024:.0f} MiB\n")
    header = f"{'case':<22}{'size':>10}  {'expected':<10}{'outcome':<26}{'worst s':>8}"
    print(header + f"{'peak MiB':>10}{'over base':>11}  what")
    print("-" * (len(header) + 40))
    worst_s, worst_mib, mismatches = 0.0, 0.0, 0
    for item in cases:
        runs = [_measure(item.name) for _ in range(args.repeat)]
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


if __name__ == "__main__":
    main()
