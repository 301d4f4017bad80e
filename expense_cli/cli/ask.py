"""``expense-cli ask``: one document, the expense fields or your own questions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ._options import (
    JsonOpt,
    LocalOpt,
    ModelOpt,
    QuestionOpt,
    RevisionOpt,
    ServerOpt,
    resolve_target,
)
from ._output import print_json, print_result
from ._sources import read_source

app = typer.Typer()

MinScoreOpt = Annotated[
    float, typer.Option("--min-score", help="Flag answers scored below this.", min=0.0, max=1.0)
]


@app.command()
def ask(
    source: Annotated[str, typer.Argument(help="Receipt image/PDF: a file path or an https URL.")],
    question: QuestionOpt = None,
    local: LocalOpt = False,
    server: ServerOpt = None,
    model: ModelOpt = None,
    revision: RevisionOpt = None,
    json_output: JsonOpt = False,
    min_score: MinScoreOpt = 0.5,
) -> None:
    """Ask a receipt for its expense fields (merchant, date, total, ...) or your own questions."""
    from ..contract import check_questions, sniff_type

    check_questions(question or [])  # the contract's rules, before anything slow
    err = Console(stderr=True)
    with err.status(f"reading {escape(source)}…"):
        data, name = read_source(source)
    target = resolve_target(local, server, model, revision)
    try:
        with err.status(f"asking {escape(target.name)} about {escape(name)}…"):
            result = target.extract(data, content_type=sniff_type(data), questions=question or None)
    finally:
        target.close()
    if json_output:
        print_json(result)
    else:
        print_result(Console(), result, title=name, min_score=min_score)
