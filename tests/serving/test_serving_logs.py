"""Structured logs: one JSON object a line, extras as keys, exceptions as one string."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from expense_cli.serving import JsonFormatter, configure_logging


def record(**extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "expense.serving", "msg": "request", "levelno": 20})
    rec.levelname = "INFO"
    rec.__dict__.update(extra)
    return rec


def test_extras_become_keys() -> None:
    line = json.loads(JsonFormatter().format(record(status=200, timings={"ocr": 12.5})))
    assert line["msg"] == "request" and line["level"] == "info"
    assert line["status"] == 200 and line["timings"] == {"ocr": 12.5}
    assert line["ts"].endswith("Z")


def test_an_exception_is_one_field_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        rec = record()
        rec.exc_info = sys.exc_info()
    text = JsonFormatter().format(rec)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["error"]


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False


def test_configure_logging_is_idempotent_and_writes_json(
    clean_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info")
    configure_logging("info")
    ours = [h for h in clean_root.handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(ours) == 1
    logging.getLogger("expense.serving").info("hello", extra={"pages": 2})
    logging.getLogger("expense.serving").debug("hidden")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["msg"], line.get("pages")) for line in lines] == [("hello", 2)]
    assert logging.getLogger("uvicorn.access").disabled
