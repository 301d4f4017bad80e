"""``expense-cli ask``: documents one by one, the expense fields or your own questions.

Several files, globs (expanded here when the shell did not) and ``-`` (stdin) give one result
each; a folder is refused with a pointer to ``report`` (``expense_cli/cli/_sources.py``). With
several documents, one that fails is reported and the others still run; the exit code is then 1.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from ._options import (
    JsonOpt,
    LangOpt,
    LocalOpt,
    ModelOpt,
    QuestionOpt,
    RevisionOpt,
    ServerOpt,
    check_model,
    resolve_target,
)
from ._output import print_json, print_result
from ._sources import expand_sources, read_source

app = typer.Typer()

# The errors that belong to one document (wire contract codes, expense_cli/contract.py); any
# other error (no model, server unreachable, ...) would repeat for every document, so it stops.
_DOCUMENT_ERRORS = frozenset(
    (
        "bad_request",
        "document_too_large",
        "unsupported_media_type",
        "unreadable_document",
        # what a server (--server, the deployed URL) answers about the document it was sent
        "empty_body",
        "empty_document",
        "body_too_large",
        # a document that takes longer than the time limit (a long PDF); the next may not
        "timeout",
        "endpoint_timeout",
    )
)

SourcesArg = Annotated[
    list[str],
    typer.Argument(
        metavar="SOURCE",
        help="Receipt images/PDFs: file paths, globs ('scans/*.pdf'), https URLs, or - for stdin.",
        show_default=False,
    ),
]
MinScoreOpt = Annotated[
    float,
    typer.Option(
        "--min-score", metavar="SCORE", help="Flag answers scored below this.", min=0.0, max=1.0
    ),
]


@app.command()
def ask(
    sources: SourcesArg,
    question: QuestionOpt = None,
    local: LocalOpt = False,
    server: ServerOpt = None,
    model: ModelOpt = None,
    revision: RevisionOpt = None,
    lang: LangOpt = None,
    json_output: JsonOpt = False,
    min_score: MinScoreOpt = 0.5,
) -> None:
    """Ask receipts for their expense fields (merchant, date, total, ...) or your own questions.

    One result per document; with --json, several documents give a list, each with its "file".
    """
    from ..contract import ContractError, check_questions, sniff_type
    from ..report import display_name  # names as the report writes them: no escapes reach a tty

    check_questions(question or [])  # the contract's rules, before anything slow
    names, several = expand_sources(sources)
    check_model(model)
    target = resolve_target(local, server, model, revision, lang)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    results: list[dict[str, Any]] = []
    try:
        for source in names:
            shown = display_name(source)
            try:
                with err.status(f"reading {escape(shown)}…"):
                    data, name = read_source(source)
                with err.status(f"asking {escape(target.name)} about {escape(name)}…"):
                    result = target.extract(
                        data, content_type=sniff_type(data), questions=question or None
                    )
            except ContractError as exc:
                if not several or (exc.code not in _DOCUMENT_ERRORS and shown not in exc.message):
                    raise  # not this document's fault (no model, no server, ...): stop here
                message = exc.message if shown in exc.message else f"{shown}: {exc.message}"
                err.print(f"[red]error:[/red] {escape(message)}")
                results.append({"file": shown, "error": {"code": exc.code, "message": message}})
                continue
            results.append({"file": shown, **result})
            if not json_output:
                print_result(Console(), result, title=name, min_score=min_score)
    finally:
        target.close()
    if json_output:
        print_json(results if several else results[0])
    if any("error" in result for result in results):
        raise typer.Exit(1)
