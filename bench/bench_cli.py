"""CLI start-up benchmark (issue 13): ``expense-cli --help`` against ``python -c pass``.

    python bench/bench_cli.py [--repeat 7]

Each case is a fresh interpreter (what a user waits for), run ``--repeat`` times after one
warm-up; the median wall time is printed with its ratio to ``python -c pass`` measured in the same
run. ``import torch, transformers`` is printed too: what every command paid before the engine
package became lazy (``expense_cli/engine/__init__.py``). The commands run in an empty temporary
directory with AWS lookups switched off, so ``status`` ends at "no deployment" without a network.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measure, report

PYTHON = sys.executable
CLI = [PYTHON, "-m", "expense_cli"]
CASES: list[tuple[str, list[str], int]] = [
    ("python -c pass (baseline)", [PYTHON, "-c", "pass"], 0),
    ("import expense_cli.cli", [PYTHON, "-c", "import expense_cli.cli"], 0),
    ("expense-cli --help", [*CLI, "--help"], 0),
    ("expense-cli --version", [*CLI, "--version"], 0),
    ("expense-cli plan --help", [*CLI, "plan", "--help"], 0),
    ("expense-cli status (nothing deployed)", [*CLI, "status"], 1),
    ("import torch, transformers (before)", [PYTHON, "-c", "import torch, transformers"], 0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as cwd:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EXPENSE_"))}
        env.update(
            PYTHONPATH=str(root),
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )

        def run(argv: list[str], code: int) -> None:
            done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=120)
            if done.returncode != code:
                raise SystemExit(f"{argv}: exit {done.returncode}\n{done.stderr.decode()}")

        times = [measure(lambda a=a, c=c: run(a, c), repeat=args.repeat) for _, a, c in CASES]
    base = times[0]
    report(
        f"CLI start-up (median of {args.repeat}, {os.cpu_count()} cores)",
        [
            (name, f"{t * 1000:7.0f} ms  {t / base:5.1f}x baseline")
            for (name, _, _), t in zip(CASES, times, strict=True)
        ],
    )


if __name__ == "__main__":
    main()
