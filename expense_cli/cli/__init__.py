"""The ``expense-cli`` Typer app.

Each command group lives in its own module with its own ``typer.Typer()``; they are merged here at
the top level. Known errors (:class:`~expense_cli.errors.ExpenseError`) become one line on stderr
and exit code 1; set ``EXPENSE_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Console
from typer._click import ClickException, Context  # typer vendors its own click
from typer.core import TyperGroup

from ..errors import ExpenseError
from . import ask, demo, deploy, report, serve

__all__ = ["app", "main"]

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _debug() -> bool:
    return os.environ.get("EXPENSE_DEBUG", "") not in ("", "0")


class _Group(TyperGroup):
    """Maps known exceptions to one-line errors for every command."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExpenseError as exc:
            if _debug():
                raise
            stderr.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(1) from None
        except (ClickException, typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            stderr.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(130) from None
        except Exception as exc:
            if _debug():
                raise
            stderr.print(
                f"[red]internal error:[/red] {type(exc).__name__}: {exc} "
                "(set EXPENSE_DEBUG=1 for the traceback)"
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    name="expense-cli",
    cls=_Group,
    help="Receipts and invoices to expense fields and reports (LayoutLM document QA).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for group in (ask, report, serve, deploy, demo):
    app.add_typer(group.app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="expense-cli")
