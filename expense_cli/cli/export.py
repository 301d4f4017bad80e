"""``expense-cli export MODEL DIR``: a local copy of the model plus its ONNX Runtime graphs.

``DIR`` then serves with ``EXPENSE_MODEL=DIR EXPENSE_BACKEND=onnx`` (add ``EXPENSE_QUANTIZE=1``
for the int8 graph); the export itself is ``expense_cli/engine/_onnx.py``. ``expense-cli build``
does the same into the image (``expense_cli/cli/_deploy/images.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ._extras import require_extra
from ._options import check_model

app = typer.Typer()


@app.command()
def export(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="A model folder or Hub id.")],
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write the copy.")],
    revision: Annotated[
        str | None, typer.Option("--revision", metavar="REV", help="The Hub revision of MODEL.")
    ] = None,
    int8: Annotated[
        bool, typer.Option("--int8/--no-int8", help="Also write the int8 graph.")
    ] = True,
) -> None:
    """Save MODEL into DIR with its ONNX exports (fp32 and int8) for EXPENSE_BACKEND=onnx."""
    check_model(model)
    require_extra("onnx", "export")
    if out_dir.exists() and not out_dir.is_dir():
        from ..errors import BadRequest

        raise BadRequest(f"{out_dir} is a file: give a folder")
    from ..engine._onnx import export_onnx, save_local

    err = Console(stderr=True, highlight=False)
    with err.status(f"saving {model}"):
        local = save_local(model, out_dir, revision)
    with err.status("exporting to ONNX"):
        written = export_onnx(local, int8=int8)
    for path in written:
        typer.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    hint = f"serve it with: EXPENSE_MODEL={local} EXPENSE_BACKEND=onnx"
    err.print(escape(hint + (" (int8: EXPENSE_QUANTIZE=1)" if int8 else "")))
