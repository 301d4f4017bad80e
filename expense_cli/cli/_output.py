"""How results look in a terminal: a rich table per document, or JSON.

Text that comes from documents, users or servers (answers, questions, file names) is shown as
plain text, never parsed as rich markup: an answer ``[red]`` or a file ``scan[report].png`` prints
as it is.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

__all__ = ["print_json", "print_result"]


def _score(score: float, min_score: float) -> str:
    style = "green" if score >= max(min_score, 0.8) else "yellow" if score >= min_score else "red"
    return f"[{style}]{score:.2f}[/{style}]"


def _text(answer: object) -> Text:
    """An answer cell: the text as it is, or a dim dash for no answer."""
    return Text(str(answer)) if answer else Text("—", style="dim")


def print_result(console: Console, result: dict[str, Any], *, title: str, min_score: float) -> None:
    """Fields (answer, normalised value, score, page) and custom answers as tables."""
    fields: dict[str, dict[str, Any]] = result.get("fields") or {}
    answers: list[dict[str, Any]] = result.get("answers") or []
    pages = result.get("pages")
    if fields:
        table = Table(
            title=f"{escape(title)} ({pages} page{'s' if pages != 1 else ''})",
            title_justify="left",
        )
        for column in ("field", "answer", "value", "score", "page"):
            table.add_column(column, justify="right" if column in ("score", "page") else "left")
        for name, field in fields.items():
            value = " ".join(str(field[k]) for k in ("value", "currency") if field.get(k))
            table.add_row(
                Text(name),
                _text(field.get("answer")),
                Text(value),
                _score(float(field.get("score", 0.0)), min_score),
                str(field.get("page") or ""),
            )
        console.print(table)
    if answers:
        table = Table(title=None if fields else escape(title), title_justify="left")
        for column in ("question", "answer", "score", "page"):
            table.add_column(column, justify="right" if column in ("score", "page") else "left")
        for answer in answers:
            table.add_row(
                Text(str(answer["question"])),
                _text(answer.get("answer")),
                _score(float(answer.get("score", 0.0)), min_score),
                str(answer.get("page") or ""),
            )
        console.print(table)
    low = [n for n, f in fields.items() if float(f.get("score", 0.0)) < min_score]
    if low:
        console.print(f"[yellow]low confidence (< {min_score}):[/yellow] {escape(', '.join(low))}")


def print_json(result: Any) -> None:
    print(json.dumps(result, indent=2, ensure_ascii=False))
