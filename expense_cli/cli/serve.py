"""``expense-cli serve``: the model server (same app as the container) on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from ._extras import require_extra

app = typer.Typer()


@app.command()
def serve(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="DIR_OR_ID",
            help="Model directory or Hub id (default: EXPENSE_MODEL or impira/layoutlm-invoices).",
        ),
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", metavar="REV", help="Hub revision of --model.")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Interface to bind (default 127.0.0.1: this machine only)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="Port (default 8080).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="Documents OCR'd in parallel.")
    ] = None,
    max_batch: Annotated[
        int | None,
        typer.Option("--max-batch", min=1, help="Documents per model forward (1: no batching)."),
    ] = None,
) -> None:
    """Serve the model over HTTP: POST /invocations, GET /ping, and a web page at /."""
    require_extra("serve", "serve")  # one line naming the extra, before anything heavy
    from ..serving import Settings, run

    settings = Settings.from_env()
    changes: dict[str, object] = {}
    if model:
        changes["engine"] = settings.engine.replace(model=model, revision=revision)
    elif revision:
        changes["engine"] = settings.engine.replace(revision=revision)
    for name, value in (("host", host), ("port", port), ("threads", threads)):
        if value is not None:
            changes[name] = value
    if max_batch is not None:
        changes["max_batch"] = max_batch
    settings = settings.replace(**changes)
    typer.echo(
        f"serving {settings.engine.model} on http://{settings.host}:{settings.port}/ "
        "(the model loads in the background; /ping answers 200 when ready; Ctrl-C stops)",
        err=True,
    )
    run(settings)
