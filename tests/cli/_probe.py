"""Run ``expense-cli ARGS...`` in this interpreter and write the loaded modules to a JSON file.

Used by ``tests/cli/test_imports.py`` as ``python _probe.py ARGS...`` with ``PROBE_REPORT`` (where
to write ``{"code": ..., "modules": [...]}``) and ``PROBE_BLOCK`` (comma-separated top-level
modules made unimportable first, as if their package were not installed).
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    for name in filter(None, os.environ.get("PROBE_BLOCK", "").split(",")):
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ModuleNotFoundError
    from expense_cli.cli import app

    code: object = 0
    try:
        app(args=sys.argv[1:], prog_name="expense-cli")
    except SystemExit as exc:
        code = exc.code
    finally:
        with open(os.environ["PROBE_REPORT"], "w", encoding="utf-8") as handle:
            json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
    sys.exit(code)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
