"""Docker HEALTHCHECK: exit 0 when this container's ``GET /ping`` answers 200, else 1."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("SAGEMAKER_BIND_TO_PORT") or os.environ.get("EXPENSE_PORT") or "8080"
    url = f"http://127.0.0.1:{int(port)}/ping"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
