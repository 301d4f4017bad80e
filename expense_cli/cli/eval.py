"""``expense-cli eval DIR``: per-field accuracy on your own labelled documents, per variant.

The label format (a sidecar JSON per document) and the comparison rules are in
``expense_cli/engine/_eval.py``; ``--compare torch,onnx,onnx-int8`` adds agreement with torch fp32
and the time per document, the figures the build's accuracy gate decides on
(``expense_cli/engine/_gate.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ._options import JsonOpt, check_model
from ._output import print_json

app = typer.Typer()

EvalModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="DIR_OR_ID",
        help="A model folder or Hub id (default: EXPENSE_MODEL or impira/layoutlm-invoices).",
    ),
]
EvalRevisionOpt = Annotated[
    str | None, typer.Option("--revision", metavar="REV", help="The Hub revision of --model.")
]
EvalLangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang", metavar="LANGS", help="Tesseract language(s) (default: EXPENSE_OCR_LANG or eng)."
    ),
]


@app.command("eval")
def eval_command(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Documents, each with a sidecar <name>.json.")
    ],
    model: EvalModelOpt = None,
    revision: EvalRevisionOpt = None,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            metavar="VARIANTS",
            help="Comma-separated: torch, torch-int8, onnx, onnx-int8 (onnx needs "
            "`expense-cli export`). Default: the configured one (EXPENSE_BACKEND/QUANTIZE).",
        ),
    ] = None,
    lang: EvalLangOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Accuracy of the model on labelled documents (and of each speed option with --compare)."""
    check_model(model)
    from ..engine import EngineConfig
    from ..engine._eval import REFERENCE, VARIANTS, evaluate, find_labelled, parse_variants

    labelled = find_labelled(folder)  # bad folder or labels: one line, before the model loads
    config = EngineConfig.from_env()
    if model:
        config = config.replace(model=model, revision=revision)
    if lang:
        config = config.replace(ocr_lang=lang)
    if compare:
        variants = parse_variants(compare)
    else:
        configured = {v: k for k, v in VARIANTS.items()}[(config.backend, config.quantize)]
        variants = [configured] if configured == REFERENCE else [REFERENCE, configured]
    err = Console(stderr=True, highlight=False)
    with err.status("evaluating") as status:
        report = evaluate(
            labelled, config, variants, on_progress=lambda text: status.update(escape(text))
        )
    if json_output:
        print_json(report.to_dict())
        return
    _print_table(report)
    for name, why in report.errors.items():
        err.print(f"[yellow]skipped[/yellow] {escape(name)}: {escape(why)}")


def _print_table(report: object) -> None:
    from rich.table import Table

    from ..engine._eval import EvalReport

    assert isinstance(report, EvalReport)
    fields = sorted({f for v in report.variants for f in v.labelled})
    table = Table(title=f"{report.documents} documents", title_justify="left")
    table.add_column("field")
    for score in report.variants:
        table.add_column(score.name, justify="right")
    first = report.variants[0]
    for name in fields:
        table.add_row(
            f"{name} ({first.labelled.get(name, 0)})",
            *(f"{v.correct.get(name, 0) / v.labelled[name]:.0%}" for v in report.variants),
        )
    table.add_section()
    table.add_row(
        "accuracy",
        *("-" if v.accuracy is None else f"{v.accuracy:.1%}" for v in report.variants),
    )
    if len(report.variants) > 1:
        table.add_row("agreement", *(f"{v.agreement:.1%}" for v in report.variants))
    table.add_row("ms/document", *(f"{v.ms_per_document:.0f}" for v in report.variants))
    Console(highlight=False, soft_wrap=True).print(table)
