"""``expense-cli package | build | push | plan | deploy | status | destroy``: the AWS deployment.

Settings are remembered per project directory in ``.expense/config.json`` (see
:mod:`expense_cli.aws._config`): an option given once is reused by later commands, so ``deploy``,
``status`` and ``destroy`` need no options after the first deploy. Progress goes to stderr (rich
spinners/bars with elapsed time); results (URL, table, token) go to stdout.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ..aws import (
    ApplyProgress,
    DeploySettings,
    Docker,
    ProjectConfig,
    Terraform,
    assemble_context,
    base_image_uri,
    build_handler_zip,
    ecr_logins,
    endpoint_status,
    fetch_model,
    load_config,
    make_session,
    registry_of,
    require_credentials,
    save_config,
    state_dir,
    wait_in_service,
)
from ..aws._image import ecr_region
from ..aws._session import aws_error
from ..errors import ConfigError

if TYPE_CHECKING:
    import boto3

__all__ = ["app"]

app = typer.Typer()
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Seconds between DescribeEndpoint polls, and how long to wait for InService at most.
POLL_S = 15.0
WAIT_TIMEOUT_S = 3600.0

# --- shared options -----------------------------------------------------------------------------

RegionOpt = Annotated[
    str | None,
    typer.Option("--region", help="AWS region (default: remembered, else AWS_REGION / profile)."),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", help="AWS profile from ~/.aws/config (default: AWS_PROFILE)."),
]
NameOpt = Annotated[
    str | None,
    typer.Option("--name", help="Prefix of every AWS resource name (default: expense)."),
]
InstanceTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--instance-type", help="Real-time endpoint instance type (default: ml.m5.xlarge)."
    ),
]
MinOpt = Annotated[
    int | None, typer.Option("--min-instances", min=1, help="Autoscaling minimum (default: 1).")
]
MaxOpt = Annotated[
    int | None,
    typer.Option("--max-instances", min=1, max=100, help="Autoscaling maximum (default: 4)."),
]
ServerlessOpt = Annotated[
    bool | None,
    typer.Option(
        "--serverless/--realtime",
        help="Serverless endpoint (pay per request, cold starts, 4 MB payloads) or real-time "
        "instances with autoscaling (default: real-time).",
    ),
]
MemoryOpt = Annotated[
    int | None,
    typer.Option(
        "--serverless-memory",
        help="Serverless memory in MB: 1024-6144 in steps of 1024 (default: 4096).",
    ),
]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--serverless-concurrency", min=1, max=200, help="Serverless max concurrency (default: 5)."
    ),
]
AuthOpt = Annotated[
    str | None,
    typer.Option(
        "--auth",
        help="iam: requests are SigV4-signed with your AWS credentials (default); token: public "
        "URL checked against a bearer token that is generated and shown once.",
    ),
]
ImageUriOpt = Annotated[
    str | None,
    typer.Option(
        "--image-uri",
        metavar="URI",
        help="Use this pushed model image; skips docker build/push (and the ECR repository).",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="DIR_OR_ID",
        help="Model baked into the image: a saved model directory or a Hub id "
        "(default: impira/layoutlm-invoices at its pinned revision).",
    ),
]
RevisionOpt = Annotated[
    str | None, typer.Option("--revision", metavar="REV", help="Hub revision of --model.")
]
BaseImageOpt = Annotated[
    str | None,
    typer.Option(
        "--base-image",
        metavar="URI",
        help="Base image (default: the AWS Hugging Face PyTorch inference image of the region).",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


# --- small helpers ----------------------------------------------------------------------------


def make_docker() -> Docker:
    """The docker CLI (tests replace this with one whose runner records the commands)."""
    return Docker()


def make_terraform(project: Path, env: dict[str, str]) -> Terraform:
    return Terraform(project, env=env)


def _project() -> Path:
    return Path.cwd()


def _spinner_columns() -> list[Any]:
    return [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    ]


@contextlib.contextmanager
def _step(description: str) -> Iterator[Callable[[str], None]]:
    """A spinner with elapsed time; yields ``update(text)`` to show the latest output line."""
    started = time.monotonic()
    with Progress(
        *_spinner_columns(), console=err, transient=True, disable=not err.is_terminal
    ) as progress:
        task = progress.add_task(description)

        def update(line: str) -> None:
            text = " ".join(line.split())
            if text:
                progress.update(task, description=f"{description}: [dim]{text[:90]}[/dim]")

        yield update
    err.print(f"[green]✓[/green] {description} ({time.monotonic() - started:.0f} s)")


def _apply_with_progress(
    description: str, run: Callable[[Callable[[ApplyProgress], None]], ApplyProgress]
) -> ApplyProgress:
    """A bar of resources done / planned, the one in progress, and elapsed time."""
    started = time.monotonic()
    columns = [*_spinner_columns()[:2], BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(description, total=None)
        last_done = [0]

        def update(state: ApplyProgress) -> None:
            if progress.disable and state.done > last_done[0]:
                # No live display (not a terminal, e.g. CI logs): one line per finished resource.
                last_done[0] = state.done
                err.print(f"  {state.current} ({state.done}/{state.total})", markup=False)
            progress.update(
                task,
                total=state.total,
                completed=state.done,
                description=f"{description}: [dim]{state.current[:80]}[/dim]",
            )

        final = run(update)
    err.print(
        f"[green]✓[/green] {description}: {final.done} resource change(s) "
        f"({time.monotonic() - started:.0f} s)"
    )
    return final


def _settings(config: ProjectConfig, **given: Any) -> DeploySettings:
    settings = config.settings.replace(**given)
    if settings.image_uri == "":
        settings.image_uri = None  # --image-uri "" goes back to building the image
    if settings.auth not in ("iam", "token"):
        raise ConfigError(f"--auth must be iam or token, not {settings.auth!r}")
    if settings.serverless_memory_mb not in range(1024, 6145, 1024):
        raise ConfigError("--serverless-memory must be 1024, 2048, 3072, 4096, 5120 or 6144")
    if settings.max_instances < settings.min_instances:
        raise ConfigError("--max-instances must be at least --min-instances")
    return settings


def _session(settings: DeploySettings) -> boto3.Session:
    """A session with credentials checked against STS (one clear error before any long step)."""
    session = make_session(settings.profile, settings.region)
    require_credentials(session)
    try:
        identity = session.client("sts").get_caller_identity()
    except Exception as exc:
        raise aws_error(exc, "checking your AWS credentials", session.region_name) from exc
    err.print(f"AWS account {identity.get('Account')}, region {session.region_name}")
    return session


def _tf_env(settings: DeploySettings, config: ProjectConfig) -> dict[str, str]:
    env: dict[str, str] = {}
    if settings.profile:
        env["AWS_PROFILE"] = settings.profile
    if settings.auth == "token" and config.auth_token:
        env["TF_VAR_auth_token"] = config.auth_token  # never written into the tfvars file
    return env


def _variables(settings: DeploySettings, zip_path: Path, image_tag: str | None) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "name": settings.name,
        "region": settings.region,
        "instance_type": settings.instance_type,
        "min_instances": settings.min_instances,
        "max_instances": settings.max_instances,
        "serverless": settings.serverless,
        "serverless_memory_mb": settings.serverless_memory_mb,
        "serverless_max_concurrency": settings.serverless_max_concurrency,
        "auth": settings.auth,
        "lambda_zip": str(zip_path),
        # The repository only holds images this tool pushed: destroy removes them with it.
        "force_delete_repository": True,
    }
    if settings.image_uri:
        variables["image_uri"] = settings.image_uri
        variables["create_repository"] = False
    else:
        variables["image_tag"] = image_tag or "latest"
    return variables


def _handler_zip(project: Path) -> Path:
    with _step("Packaging the Lambda handler"):
        path, _digest = build_handler_zip(state_dir(project) / "handler.zip")
    return path


def _terraform(project: Path, settings: DeploySettings, config: ProjectConfig) -> Terraform:
    return make_terraform(project, _tf_env(settings, config))


def _init(tf: Terraform) -> None:
    with _step("terraform init") as update:
        tf.init(on_line=update)


def _repository_url(tf: Terraform) -> str:
    url = tf.outputs().get("repository_url")
    if url:
        return str(url)
    for resource in tf.state_resources():
        if resource.get("type") == "aws_ecr_repository":
            for instance in resource.get("instances") or []:
                found = (instance.get("attributes") or {}).get("repository_url")
                if found:
                    return str(found)
    raise ConfigError(
        "the ECR repository was not created: run `expense-cli deploy` again, or pass --image-uri"
    )


def _image_tag(revision: str) -> str:
    short = revision.removeprefix("local-")[:12]
    return f"{short}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"


def _build(
    docker: Docker,
    session: boto3.Session | None,
    settings: DeploySettings,
    base: str,
    tag: str | None,
) -> dict[str, str]:
    """Model snapshot + context in a temp dir, base-image login, docker build; the record."""
    with tempfile.TemporaryDirectory(prefix="expense-build-") as tmp:
        context = assemble_context(Path(tmp))
        with _step(f"Fetching the model {settings.model or '(default)'}"):
            snapshot = fetch_model(context / "model", settings.model, settings.revision)
        local_tag = tag or f"{settings.name}:{_image_tag(snapshot.revision)}"
        if session is not None and ecr_region(registry_of(base)) is not None:
            with _step(f"Logging in to {registry_of(base)}"):
                ecr_logins(docker, session, [base])
        with _step(f"docker build {local_tag}") as update:
            docker.build(
                context,
                local_tag,
                base_image=base,
                model_id=snapshot.model_id,
                revision=snapshot.revision,
                on_line=update,
            )
    return {
        "tag": local_tag,
        "model_id": snapshot.model_id,
        "revision": snapshot.revision,
        "base_image": base,
    }


def _push(docker: Docker, session: boto3.Session, local_tag: str, repository: str) -> str:
    remote = f"{repository}:{local_tag.rsplit(':', 1)[-1]}"
    with _step(f"Logging in to {repository.split('/', 1)[0]}"):
        ecr_logins(docker, session, [remote])
    docker.tag(local_tag, remote)
    with _step(f"docker push {remote}") as update:
        docker.push(remote, on_line=update)
    return remote


def _cost_note(settings: DeploySettings) -> str:
    if settings.serverless:
        return (
            f"a serverless SageMaker endpoint ({settings.serverless_memory_mb} MB, up to "
            f"{settings.serverless_max_concurrency} concurrent): billed per request-second"
        )
    return (
        f"a real-time SageMaker endpoint: {settings.min_instances} to {settings.max_instances} x "
        f"{settings.instance_type}, billed per instance-hour for as long as it exists "
        "(`expense-cli destroy` stops the cost)"
    )


def _print_deployment(config: ProjectConfig, token_shown: str | None) -> None:
    outputs = config.outputs
    out.print(f"Function URL: {outputs.get('function_url')}")
    auth = outputs.get("auth") or config.settings.auth
    if auth == "token":
        out.print("Auth: token (send `Authorization: Bearer <token>`)")
        if token_shown:
            out.print(f"Token (shown once, kept in .expense/config.json, mode 0600): {token_shown}")
    else:
        out.print("Auth: iam (requests are SigV4-signed with your AWS credentials)")
    out.print("Try: expense-cli ask receipt.jpg")


# --- commands ---------------------------------------------------------------------------------


@app.command()
def package(
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Zip file or directory (default: .expense/handler.zip)."),
    ] = None,
) -> None:
    """Write the Lambda handler zip; print its path and base64 SHA-256."""
    path, digest = build_handler_zip(out_path or state_dir(_project()) / "handler.zip")
    out.print(f"{path}\nsha256 (base64): {digest}")


@app.command()
def build(
    model: ModelOpt = None,
    revision: RevisionOpt = None,
    base_image: BaseImageOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    instance_type: InstanceTypeOpt = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Local image tag (default: NAME:REVISION-TIME).")
    ] = None,
) -> None:
    """Build the model image: model snapshot + this package on the AWS Hugging Face base image."""
    project = _project()
    config = load_config(project)
    settings = _settings(
        config,
        model=model,
        revision=revision,
        region=region,
        profile=profile,
        instance_type=instance_type,
    )
    docker = make_docker()
    _ = docker.binary  # fail now, before downloading anything, when docker is missing
    session = None
    if base_image is None or ecr_region(registry_of(base_image)) is not None:
        # The AWS base images live in ECR: pulling them needs a login (and so credentials).
        session = _session(settings)
        settings.region = session.region_name
    base = base_image_uri(settings.region or "us-east-1", settings.instance_type, base_image)
    record = _build(docker, session, settings, base, tag)
    config.settings = settings
    config.image = record
    save_config(config, project)
    out.print(record["tag"])


@app.command()
def push(
    image: Annotated[
        str | None, typer.Option("--image", help="Local image (default: the last `build`).")
    ] = None,
    repository: Annotated[
        str | None,
        typer.Option("--repository", help="ECR repository URL (default: the deployment's)."),
    ] = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Push the built image to ECR (docker login with an ECR token, tag, push)."""
    project = _project()
    config = load_config(project)
    local = image or config.image.get("tag")
    if not local:
        raise ConfigError("no image to push: run `expense-cli build` first or pass --image")
    repo = repository or config.outputs.get("repository_url")
    if not repo:
        raise ConfigError(
            "no ECR repository known: run `expense-cli deploy` (it creates one) "
            "or pass --repository"
        )
    docker = make_docker()
    _ = docker.binary
    session = _session(_settings(config, region=region, profile=profile))
    remote = _push(docker, session, str(local), str(repo))
    config.image["pushed"] = remote
    save_config(config, project)
    out.print(remote)


@app.command()
def plan(
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    name: NameOpt = None,
    instance_type: InstanceTypeOpt = None,
    min_instances: MinOpt = None,
    max_instances: MaxOpt = None,
    serverless: ServerlessOpt = None,
    serverless_memory: MemoryOpt = None,
    serverless_concurrency: ConcurrencyOpt = None,
    auth: AuthOpt = None,
    image_uri: ImageUriOpt = None,
) -> None:
    """Show what `deploy` would change (terraform plan), without changing anything."""
    project = _project()
    config = load_config(project)
    settings = _settings(
        config,
        region=region,
        profile=profile,
        name=name,
        instance_type=instance_type,
        min_instances=min_instances,
        max_instances=max_instances,
        serverless=serverless,
        serverless_memory_mb=serverless_memory,
        serverless_max_concurrency=serverless_concurrency,
        auth=auth,
        image_uri=image_uri,
    )
    if settings.auth == "token" and not config.auth_token:
        config.auth_token = secrets.token_urlsafe(32)  # placeholder for the plan, not saved
    tf = _terraform(project, settings, config)
    session = _session(settings)
    settings.region = session.region_name
    zip_path = _handler_zip(project)
    tag = config.image.get("pushed", ":latest").rsplit(":", 1)[-1]
    tf.write_vars(_variables(settings, zip_path, tag))
    _init(tf)
    result = tf.plan()
    for line in result.lines:
        out.print(line, markup=False)


@app.command()
def deploy(
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    name: NameOpt = None,
    instance_type: InstanceTypeOpt = None,
    min_instances: MinOpt = None,
    max_instances: MaxOpt = None,
    serverless: ServerlessOpt = None,
    serverless_memory: MemoryOpt = None,
    serverless_concurrency: ConcurrencyOpt = None,
    auth: AuthOpt = None,
    image_uri: ImageUriOpt = None,
    model: ModelOpt = None,
    revision: RevisionOpt = None,
    base_image: BaseImageOpt = None,
    rotate_token: Annotated[
        bool, typer.Option("--rotate-token", help="Token auth: generate a new token.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until the endpoint is InService.")
    ] = True,
    yes: YesOpt = False,
) -> None:
    """Build + push the model image, apply the Terraform stack, wait, print the function URL."""
    project = _project()
    config = load_config(project)
    settings = _settings(
        config,
        region=region,
        profile=profile,
        name=name,
        instance_type=instance_type,
        min_instances=min_instances,
        max_instances=max_instances,
        serverless=serverless,
        serverless_memory_mb=serverless_memory,
        serverless_max_concurrency=serverless_concurrency,
        auth=auth,
        image_uri=image_uri,
        model=model,
        revision=revision,
    )
    build_image = not settings.image_uri
    docker = make_docker() if build_image else None
    if docker is not None:
        _ = docker.binary  # "docker not found: ... or pass --image-uri" before anything else
    new_token = None
    if settings.auth == "token" and (rotate_token or not config.auth_token):
        new_token = config.auth_token = secrets.token_urlsafe(32)
    elif settings.auth != "token":
        config.auth_token = None
    tf = _terraform(project, settings, config)  # "terraform not found" before AWS is asked
    session = _session(settings)
    settings.region = session.region_name
    if not yes:
        typer.confirm(
            f"Deploy {settings.name!r} to {settings.region}? This creates {_cost_note(settings)}.",
            abort=True,
            err=True,
        )
    config.settings = settings
    save_config(config, project)  # remember the settings (and a new token) even if apply fails
    zip_path = _handler_zip(project)
    tag = None
    tf.write_vars(_variables(settings, zip_path, None))
    _init(tf)
    if docker is not None:
        _apply_with_progress(
            "terraform apply (ECR repository)",
            lambda update: tf.apply(targets=["module.ecr_image"], progress=update),
        )
        repository = _repository_url(tf)
        base = base_image_uri(str(settings.region), settings.instance_type, base_image)
        config.image = _build(docker, session, settings, base, None)
        config.image["pushed"] = _push(docker, session, config.image["tag"], repository)
        save_config(config, project)
        tag = config.image["pushed"].rsplit(":", 1)[-1]
        tf.write_vars(_variables(settings, zip_path, tag))
    _apply_with_progress("terraform apply", lambda update: tf.apply(progress=update))
    config.outputs = tf.outputs()
    save_config(config, project)
    endpoint = config.outputs.get("endpoint_name")
    if wait and endpoint:
        with _step(f"Waiting for endpoint {endpoint}") as update:
            wait_in_service(
                session,
                str(endpoint),
                poll_s=POLL_S,
                timeout_s=WAIT_TIMEOUT_S,
                on_status=lambda state: update(state),
            )
    _print_deployment(config, new_token)


@app.command()
def status() -> None:
    """The deployment of this directory: endpoint state, instances, autoscaling, URL, auth."""
    project = _project()
    config = load_config(project)
    if not config.deployed:
        raise ConfigError(f"no deployment found in {project}: run `expense-cli deploy`")
    outputs = config.outputs
    settings = config.settings.replace(region=outputs.get("region"))
    session = make_session(settings.profile, settings.region)
    require_credentials(session)
    endpoint = str(outputs.get("endpoint_name") or f"{settings.name}")
    with _step(f"Reading endpoint {endpoint}"):
        state = endpoint_status(session, endpoint, outputs.get("function_name"))
    table = Table(
        title=f"expense deployment {settings.name!r}", title_justify="left", show_header=False
    )
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("region", str(session.region_name))
    table.add_row("auth", str(outputs.get("auth") or settings.auth))
    table.add_row("endpoint", endpoint)
    colour = "green" if state.state == "InService" else "yellow"
    table.add_row("state", f"[{colour}]{state.state}[/{colour}]")
    if state.failure_reason:
        table.add_row("failure", state.failure_reason)
    if state.serverless:
        memory = state.serverless.get("MemorySizeInMB")
        concurrency = state.serverless.get("MaxConcurrency")
        table.add_row("serverless", f"{memory} MB, max concurrency {concurrency}")
    else:
        table.add_row("instance type", str(state.instance_type))
        table.add_row("instances", f"{state.instances} (desired {state.desired_instances})")
        scaling = state.scaling
        if scaling:
            table.add_row(
                "autoscaling",
                f"{scaling.get('min')}-{scaling.get('max')} instances, target "
                f"{scaling.get('target')} {scaling.get('metric', '')}, cooldown in "
                f"{scaling.get('scale_in_cooldown')} s / out {scaling.get('scale_out_cooldown')} s",
            )
        else:
            table.add_row("autoscaling", "none")
    if state.reserved_concurrency is not None:
        table.add_row("function concurrency", f"{state.reserved_concurrency} reserved")
    out.print(table)
    out.print(f"Function URL: {outputs.get('function_url')}")


@app.command()
def destroy(
    yes: YesOpt = False,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Delete everything `deploy` created (endpoint, function URL, ECR repository and images)."""
    project = _project()
    config = load_config(project)
    settings = _settings(config, region=region, profile=profile)
    settings = settings.replace(region=config.outputs.get("region"))
    tf = _terraform(project, settings, config)
    if not tf.has_state():
        raise ConfigError(f"no deployment found in {project}: nothing to destroy")
    session = _session(settings)
    settings.region = session.region_name
    if not yes:
        typer.confirm(
            f"Destroy {settings.name!r} in {settings.region} (endpoint, function URL, ECR "
            "repository and its images)?",
            abort=True,
            err=True,
        )
    if settings.auth == "token" and not config.auth_token:
        config.auth_token = secrets.token_urlsafe(32)  # required by the stack's validation only
        tf = _terraform(project, settings, config)
    zip_path = _handler_zip(project)
    tag = config.image.get("pushed", ":latest").rsplit(":", 1)[-1]
    tf.write_vars(_variables(settings, zip_path, tag))
    _init(tf)
    _apply_with_progress("terraform destroy", lambda update: tf.destroy(progress=update))
    config.outputs = {}
    config.auth_token = None
    config.image.pop("pushed", None)
    save_config(config, project)
    out.print(f"Destroyed {settings.name!r} in {settings.region}.")
