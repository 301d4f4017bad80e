"""The ``expense-cli`` Typer app.

Each command group lives in its own module with its own ``typer.Typer()``; they are merged here at
the top level. Known errors (:class:`~expense_cli.contract.ContractError`, the base of
:mod:`expense_cli.errors`) become one line on stderr
and exit code 1; set ``EXPENSE_DEBUG=1`` to get the traceback instead. A missing optional package
becomes one line naming the extra that provides it (``expense_cli/cli/_extras.py``).

Importing this package must stay cheap: the command modules import torch, transformers, boto3,
starlette, … inside the commands that need them, never at module level
(``tests/cli/test_imports.py`` checks it; ``bench/bench_cli.py`` measures ``--help``).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer._click import ClickException, Command, Context  # typer vendors its own click
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from ..contract import ContractError
from . import ask, demo, deploy, eval, export, report, serve
from ._extras import missing_module_hint
from ._options import plain_help

__all__ = ["app", "main"]

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _debug() -> bool:
    return os.environ.get("EXPENSE_DEBUG", "") not in ("", "0")


def _fail(message: str, label: str = "error:") -> typer.Exit:
    """Print ``label message`` on one line (the message is text, never rich markup)."""
    stderr.print(f"[red]{label}[/red] {escape(message)}")
    return typer.Exit(1)


def _usage(exc: UsageError) -> typer.Exit:
    """A usage error (unknown option, missing argument, bad value) as one line + exit 1, like
    every other error; the command's --help is named instead of printed."""
    where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
    return _fail(exc.format_message().rstrip(".") + where)


class _Group(TyperGroup):
    """Maps known exceptions to one-line errors for every command."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        plain_help(self, ctx)
        try:
            return super().parse_args(ctx, args)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            raise _usage(exc) from None

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            plain_help(command, ctx)
        return name, command, rest

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ContractError as exc:
            if _debug():
                raise
            raise _fail(exc.message) from None
        except UsageError as exc:
            raise _usage(exc) from None
        except (ClickException, typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            stderr.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(130) from None
        except ModuleNotFoundError as exc:
            if _debug():
                raise
            hint = missing_module_hint(exc)
            raise (_fail(hint) if hint else _internal(exc)) from None
        except Exception as exc:
            if _debug():
                raise
            raise _internal(exc) from None


def _internal(exc: BaseException) -> typer.Exit:
    return _fail(
        f"{type(exc).__name__}: {exc} (set EXPENSE_DEBUG=1 for the traceback)", "internal error:"
    )


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"expense-cli {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="expense-cli",
    cls=_Group,
    help="Receipts and invoices to expense fields and reports (LayoutLM document QA).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Receipts and invoices to expense fields and reports (LayoutLM document QA)."""


for group in (ask, report, serve, deploy, demo, eval, export):
    app.add_typer(group.app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="expense-cli")
