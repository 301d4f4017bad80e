"""One structured JSON log line per request.

Only metadata is logged: request id, status, error code, sizes, source kind, question count,
durations and, for URL sources, the host name. Never document bytes, tokens, questions' text or
full URLs (their paths and query strings can carry signatures).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["LOGGER_NAME", "configure", "log_request"]

LOGGER_NAME = "expense.handler"
_logger = logging.getLogger(LOGGER_NAME)


def configure(level: str) -> None:
    """Set the handler logger's level (the Lambda runtime's root handler does the output)."""
    _logger.setLevel(level)


def log_request(record: Mapping[str, Any], *, level: int = logging.INFO) -> None:
    """Emit ``record`` as one JSON line."""
    if _logger.isEnabledFor(level):
        _logger.log(level, json.dumps(record, separators=(",", ":"), sort_keys=True, default=str))
