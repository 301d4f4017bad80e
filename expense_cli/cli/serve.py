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
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="LANGS",
            help="Tesseract language(s), e.g. deu or deu+eng (default: EXPENSE_OCR_LANG or eng).",
        ),
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
    deployment: Annotated[
        bool,
        typer.Option(
            "--deployment",
            help="No model here: serve the web page and forward its requests to this "
            "directory's deployed function URL, signed with your AWS credentials.",
        ),
    ] = False,
) -> None:
    """Serve the model over HTTP: POST /invocations, GET /ping, and a web page at /."""
    require_extra("serve", "serve")  # one line naming the extra, before anything heavy
    if deployment:
        _serve_deployment(host or "127.0.0.1", 8080 if port is None else port)
        return
    from ..serving import Settings, run

    settings = Settings.from_env()
    changes: dict[str, object] = {}
    engine = settings.engine
    if model:
        engine = engine.replace(model=model, revision=revision)
    elif revision:
        engine = engine.replace(revision=revision)
    from ..engine._ocr import check_languages

    # --lang or EXPENSE_OCR_LANG: a missing pack is one line now, not a failed load in /ping
    engine = engine.replace(ocr_lang=check_languages(lang or engine.ocr_lang))
    if engine != settings.engine:
        changes["engine"] = engine
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


def _serve_deployment(host: str, port: int) -> None:
    """The web page on ``host:port``, forwarding to the deployed function URL."""
    require_extra("deploy", "serve --deployment")
    import uvicorn

    from ..aws import FunctionUrlTarget, remote_target
    from ..serving import Settings
    from ..serving._proxy import create_proxy_app
    from ..serving._server import uvicorn_config

    target = remote_target()
    if not isinstance(target, FunctionUrlTarget):  # pragma: no cover - remote_target's contract
        raise TypeError(type(target).__name__)
    typer.echo(
        f"the web page of {target.url} on http://{host}:{port}/ "
        f"(requests are forwarded with {target.auth} auth; Ctrl-C stops)",
        err=True,
    )
    # the server's own slow-client limits (header timeout, connection cap) apply here too
    uvicorn.Server(uvicorn_config(create_proxy_app(target), Settings(host=host, port=port))).run()
