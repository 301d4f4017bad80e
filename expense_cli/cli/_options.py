"""Options shared by ``ask`` and ``report``, and the one place that picks their target.

--local [--model DIR_OR_HUB_ID [--revision REV]]   the engine in this process
--server URL                                       a running ``expense-cli serve``
(neither)                                          the deployed function URL
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument, TyperOption

from ..errors import BadRequest, ConfigError

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "JsonOpt",
    "LangOpt",
    "LocalOpt",
    "ModelOpt",
    "QuestionOpt",
    "RevisionOpt",
    "ServerOpt",
    "check_model",
    "plain_help",
    "resolve_target",
]

LocalOpt = Annotated[
    bool, typer.Option("--local", help="Run the model in this process (no server, no AWS).")
]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Send documents to a running `expense-cli serve`, e.g. http://127.0.0.1:8080.",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="DIR_OR_ID",
        help="With --local: a model directory or Hub id (default: impira/layoutlm-invoices).",
    ),
]
RevisionOpt = Annotated[
    str | None,
    typer.Option("--revision", metavar="REV", help="With --local --model: the Hub revision."),
]
QuestionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--question",
        "-q",
        metavar="TEXT",
        help="A question (or a field name such as `total`); repeat for more. "
        "Default: every expense field.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the raw JSON result.")]
LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="LANGS",
        help="With --local: tesseract language(s), e.g. deu or deu+eng "
        "(default: EXPENSE_OCR_LANG or eng).",
    ),
]

# A Hub id: "name" or "owner/name" (letters, digits, - _ .), not starting with "." or "-".
_HUB_ID = re.compile(r"[A-Za-z0-9_][\w.-]*(/[A-Za-z0-9_][\w.-]*)?")


def check_model(model: str | None) -> None:
    """A ``--model`` that is neither a directory nor a possible Hub id is a one-line error here,
    not Hugging Face's "Repo id must be in the form ..." after the slow imports."""
    if model is None:
        return
    path = Path(model).expanduser()
    if path.is_dir():
        return
    if path.exists():
        raise BadRequest(f"--model {model} is a file: give the model's folder")
    if not _HUB_ID.fullmatch(model) or model.startswith(("~", ".")):
        raise BadRequest(f"--model {model}: no such folder (and not a Hub id like owner/name)")


def resolve_target(
    local: bool,
    server: str | None,
    model: str | None,
    revision: str | None,
    lang: str | None = None,
) -> Target:
    """``--local`` → :class:`LocalTarget`, ``--server`` → :class:`ServerTarget`, else the deployed
    function URL (``expense_cli.aws.remote_target()``, which raises ConfigError if none)."""
    from ..targets import LocalTarget, ServerTarget

    if local and server:
        raise BadRequest("choose one of --local and --server")
    if (model or revision) and not local:
        raise BadRequest("--model and --revision apply to --local only")
    if lang and not local:
        raise BadRequest(
            "--lang applies to --local only (a server reads with its own languages: "
            "`expense-cli serve --lang`, or EXPENSE_OCR_LANG where it runs)"
        )
    if revision and not model:
        raise BadRequest("--revision needs --model")
    if local:
        if lang:
            from ..engine._ocr import check_languages

            check_languages(lang)
            return LocalTarget(model, revision, ocr_lang=lang)
        return LocalTarget(model, revision)
    if server is not None:
        if not server.startswith(("http://", "https://")):
            raise BadRequest(f"--server must be an http(s) URL, got {server!r}")
        return ServerTarget(server)
    try:
        from ..aws import remote_target
    except ImportError as exc:
        raise ConfigError(
            f"cannot use the deployed endpoint ({exc}); install expense-cli[deploy], "
            "or pass --local or --server URL"
        ) from None
    return remote_target()


class _PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the argument's name says it


_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH"}


class _PlainOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.metavar is not None:
            return self.metavar
        if self.is_flag:
            return None  # a flag takes no value
        name = self.bare_type()
        return _TYPE_NAMES.get(name, name.upper()) + ("..." if self.nargs != 1 else "")


def plain_help(command: Any, ctx: Any) -> None:
    """Help without typer's type labels for flags and arguments (``<bool>``, ``<str>``): called
    by the app's group (``expense_cli/cli/__init__.py``) for every command it runs or helps."""
    for param in command.get_params(ctx):
        if type(param) is TyperArgument:
            param.__class__ = _PlainArgument
        elif type(param) is TyperOption:
            param.__class__ = _PlainOption
