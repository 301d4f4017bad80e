"""Printing a deployment: the function URL and auth after ``deploy``, the ``status`` table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from .progress import out

if TYPE_CHECKING:
    from ...aws import EndpointStatus, ProjectConfig

__all__ = ["page_line", "print_async", "print_deployment", "status_table"]


def page_line(url: object, auth: str) -> str:
    """Where the web page of a deployment is, for ``deploy`` and ``status``."""
    if auth == "token":
        return f"Web page: {url} (it asks for the token once per tab)"
    return (
        "Web page: run `expense-cli serve --deployment` and open http://127.0.0.1:8080/ "
        "(a browser cannot sign IAM requests; the local page signs them for you)"
    )


def print_async(outputs: dict[str, object]) -> bool:
    """An asynchronous deployment (``deploy --async``) has no function URL: where its documents
    go instead, and how to send them. False for other deployments."""
    queue = outputs.get("async_input_path")
    if not queue:
        return False
    out.print(f"Asynchronous endpoint: {outputs.get('endpoint_name')}", markup=False)
    out.print(f"Documents queue in: {queue} (results: outputs/, failures/)", markup=False)
    out.print("Try: expense-cli report FOLDER --out report.xlsx")
    return True


def print_deployment(config: ProjectConfig, token_shown: str | None) -> None:
    """The function URL, how to authenticate, and a new token (shown this once)."""
    outputs = config.outputs
    if print_async(outputs):
        return
    out.print(f"Function URL: {outputs.get('function_url')}", markup=False)
    auth = outputs.get("auth") or config.settings.auth
    if auth == "token":
        out.print("Auth: token (send `Authorization: Bearer <token>`)")
        if token_shown:
            out.print(
                f"Token (shown once, kept in .expense/config.json, mode 0600): {token_shown}",
                markup=False,
            )
    else:
        out.print("Auth: iam (requests are SigV4-signed with your AWS credentials)")
    out.print(page_line(outputs.get("function_url"), auth), markup=False)
    out.print("Try: expense-cli ask receipt.jpg")


def status_table(name: str, region: str, auth: str, endpoint: str, state: EndpointStatus) -> Table:
    """One row per fact: region, auth, endpoint state, capacity, autoscaling, concurrency."""
    table = Table(
        title=Text(f"expense deployment {name!r}"), title_justify="left", show_header=False
    )
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")

    def row(what: str, value: object, style: str = "") -> None:
        table.add_row(what, Text(str(value), style=style))

    row("region", region)
    row("auth", auth)
    row("endpoint", endpoint)
    row("state", state.state, "green" if state.state == "InService" else "yellow")
    if state.failure_reason:
        row("failure", state.failure_reason)
    if state.serverless:
        memory = state.serverless.get("MemorySizeInMB")
        concurrency = state.serverless.get("MaxConcurrency")
        row("serverless", f"{memory} MB, max concurrency {concurrency}")
    else:
        row("instance type", state.instance_type)
        row("instances", f"{state.instances} (desired {state.desired_instances})")
        scaling = state.scaling
        if scaling:
            row(
                "autoscaling",
                f"{scaling.get('min')}-{scaling.get('max')} instances, target "
                f"{scaling.get('target')} {scaling.get('metric', '')}, cooldown in "
                f"{scaling.get('scale_in_cooldown')} s / out {scaling.get('scale_out_cooldown')} s",
            )
        else:
            row("autoscaling", "none")
    if state.reserved_concurrency is not None:
        row("function concurrency", f"{state.reserved_concurrency} reserved")
    return table
