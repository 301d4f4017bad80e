"""``python -m expense_cli.serving [serve]``: the container's server (see :func:`serve`)."""

from __future__ import annotations

import sys

from . import serve

if len(sys.argv) > 1 and sys.argv[1] == "serve":
    del sys.argv[1]
serve()
