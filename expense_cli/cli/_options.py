"""Options shared by ``ask`` and ``report``, and the one place that picks their target.

--local [--model DIR_OR_HUB_ID [--revision REV]]   the engine in this process
--server URL                                       a running ``expense-cli serve``
(neither)                                          the deployed function URL
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import BadRequest, ConfigError

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "JsonOpt",
    "LocalOpt",
    "ModelOpt",
    "QuestionOpt",
    "RevisionOpt",
    "ServerOpt",
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


def resolve_target(
    local: bool, server: str | None, model: str | None, revision: str | None
) -> Target:
    """``--local`` → :class:`LocalTarget`, ``--server`` → :class:`ServerTarget`, else the deployed
    function URL (``expense_cli.aws.remote_target()``, which raises ConfigError if none)."""
    from ..targets import LocalTarget, ServerTarget

    if local and server:
        raise BadRequest("choose one of --local and --server")
    if (model or revision) and not local:
        raise BadRequest("--model and --revision apply to --local only")
    if revision and not model:
        raise BadRequest("--revision needs --model")
    if local:
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
