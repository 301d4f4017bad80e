"""``expense-cli demo``: the whole local pipeline on a built-in receipt, no set-up needed."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ._options import JsonOpt, check_model
from ._output import print_json, print_result

app = typer.Typer()


def _hub_available(model: str, revision: str | None) -> bool:
    """True when the model is in the local Hub cache or the Hub answers within 3 s."""
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model, "config.json", revision=revision), str):
        return True
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        return False
    return True


DemoModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="DIR_OR_ID",
        help="A model directory or Hub id (default: impira/layoutlm-invoices, or a synthetic "
        "stand-in when that is neither cached nor reachable).",
    ),
]
DemoRevisionOpt = Annotated[
    str | None, typer.Option("--revision", metavar="REV", help="The Hub revision of --model.")
]


@app.command()
def demo(
    model: DemoModelOpt = None,
    revision: DemoRevisionOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Render a sample receipt, OCR it with tesseract and ask it the expense questions."""
    check_model(model)  # a mistyped --model path: one line, before the slow imports
    # Heavy (PIL, torch, transformers): imported here so that other commands start fast.
    from ..engine import DEFAULT_MODEL, DEFAULT_REVISION
    from ..synthetic import RECEIPT_ANSWERS, RECEIPT_LINES, build_model, render_receipt
    from ..targets import LocalTarget

    err = Console(stderr=True)
    workdir = Path(tempfile.mkdtemp(prefix="expense-demo-"))
    receipt = workdir / "receipt.png"
    render_receipt(RECEIPT_LINES).save(receipt)
    err.print(f"sample receipt: {escape(str(receipt))}")
    if model is None:
        model, revision = DEFAULT_MODEL, revision or DEFAULT_REVISION
        if not _hub_available(model, revision):
            err.print(
                f"[yellow]offline:[/yellow] {model} is not cached and the Hub is unreachable, so "
                "this demo uses a tiny SYNTHETIC model whose weights are set by hand to answer "
                "each field from its place on this sample receipt (real OCR and normalisation, "
                "planted answers). Pass --model DIR for a real one."
            )
            model = str(build_model(workdir / "synthetic-model", fields=RECEIPT_ANSWERS))
            revision = None
    target = LocalTarget(model, revision)
    with err.status(f"loading {escape(model)} and reading the receipt…"):
        result = target.extract(receipt.read_bytes())
    if json_output:
        print_json(result)
    else:
        print_result(Console(), result, title=receipt.name, min_score=0.5)
