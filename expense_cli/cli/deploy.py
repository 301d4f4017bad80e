"""``expense-cli package | build | push | plan | deploy | status | destroy``: the AWS deployment.

Settings are remembered per project directory in ``.expense/config.json`` (see
``expense_cli/aws/_config.py``): an option given once is reused by later commands, so ``deploy``,
``status`` and ``destroy`` need no options after the first deploy. Progress goes to stderr (rich
spinners/bars with elapsed time); results (URL, table, token) go to stdout.

This module holds the commands only; their parts are in ``expense_cli/cli/_deploy/`` (options,
progress, settings → tfvars, the AWS session, state reading, build/push, printing). Every command
but ``package`` needs the ``deploy`` extra (boto3) and says so in one line when it is missing.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from ..aws import (
    DeploySettings,
    Docker,
    ProjectConfig,
    Terraform,
    base_image_uri,
    build_handler_zip,
    endpoint_status,
    load_config,
    make_session,
    registry_of,
    require_credentials,
    save_config,
    state_dir,
    wait_in_service,
)
from ..aws._config import ensure_state_dir
from ..aws._image import ecr_region
from ..aws._preflight import check_names, check_quotas, docker_ready
from ..aws._pricing import estimate_cost
from ..aws._terraform import S3Backend
from ..errors import ConfigError
from ._deploy.images import build_image, login_to_deployment_registry, push_image
from ._deploy.options import (
    AsyncMaxMbOpt,
    AsyncMaxPagesOpt,
    AsyncOpt,
    AsyncTimeoutOpt,
    AuthOpt,
    BaseImageOpt,
    ConcurrencyOpt,
    ImageUriOpt,
    InstanceTypeOpt,
    MaxOpt,
    MemoryOpt,
    MinOpt,
    ModelOpt,
    NameOpt,
    ProfileOpt,
    RegionOpt,
    RevisionOpt,
    ServerlessOpt,
    YesOpt,
)
from ._deploy.partial import partial_deployment
from ._deploy.progress import apply_with_progress, err, out, step
from ._deploy.security import (
    EcrKmsOpt,
    EndpointKmsOpt,
    ImmutableTagsOpt,
    KmsOpt,
    LogKmsOpt,
    StateBucketOpt,
    StateKeyOpt,
    StateLockTableOpt,
    TokenKmsOpt,
    s3_backend,
    security_settings,
)
from ._deploy.session import checked_session
from ._deploy.show import page_line, print_async, print_deployment, status_table
from ._deploy.state import pushed_tag, repository_url, same_account, same_region
from ._deploy.tfvars import cost_note, merged_settings, terraform_env, terraform_variables
from ._extras import require_extra

__all__ = ["app"]

app = typer.Typer()

# Seconds between DescribeEndpoint polls, and how long to wait for InService at most.
POLL_S = 15.0
WAIT_TIMEOUT_S = 3600.0
# How long one terraform apply/destroy may run (an endpoint takes 5-15 minutes to create).
APPLY_TIMEOUT_S = 5400.0


# --- what the commands run (tests replace these) ----------------------------------------------


def make_docker() -> Docker:
    """The docker CLI (tests replace this with one whose runner records the commands)."""
    return Docker()


def make_terraform(
    project: Path, env: dict[str, str], backend: S3Backend | None = None
) -> Terraform:
    return Terraform(project, env=env, backend=backend)


def _project() -> Path:
    return Path.cwd()


def _terraform(project: Path, settings: DeploySettings, config: ProjectConfig) -> Terraform:
    backend = s3_backend(settings)
    if backend is None:
        return make_terraform(project, terraform_env(settings, config))
    return make_terraform(project, terraform_env(settings, config), backend)


def _handler_zip(project: Path) -> Path:
    with step("Packaging the Lambda handler"):
        path, _digest = build_handler_zip(state_dir(project) / "handler.zip")
    return path


def _init(tf: Terraform) -> None:
    with step("terraform init") as update:
        tf.init(on_line=update)


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
    out.print(f"{path}\nsha256 (base64): {digest}", markup=False)


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
    require_extra("deploy", "build")
    project = _project()
    config = load_config(project)
    settings = merged_settings(
        config,
        model=model,
        revision=revision,
        region=region,
        profile=profile,
        instance_type=instance_type,
    )
    ensure_state_dir(project)  # the build is remembered there: a read-only folder fails now
    docker = make_docker()
    _ = docker.binary  # fail now, before downloading anything, when docker is missing
    session = None
    if base_image is None or ecr_region(registry_of(base_image)) is not None:
        # The AWS base images live in ECR: pulling them needs a login (and so credentials).
        session = checked_session(settings)
        settings.region = session.region_name
    base = base_image_uri(settings.region or "us-east-1", settings.instance_type, base_image)
    record = build_image(docker, session, settings, base, tag)
    config.settings = settings
    config.image = record
    save_config(config, project)
    out.print(record["tag"], markup=False)


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
    require_extra("deploy", "push")
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
    session = checked_session(merged_settings(config, region=region, profile=profile))
    remote = push_image(docker, session, str(local), str(repo))
    config.image["pushed"] = remote
    save_config(config, project)
    out.print(remote, markup=False)


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
    async_inference: AsyncOpt = None,
    async_max_mb: AsyncMaxMbOpt = None,
    async_max_pages: AsyncMaxPagesOpt = None,
    async_timeout: AsyncTimeoutOpt = None,
    auth: AuthOpt = None,
    image_uri: ImageUriOpt = None,
    immutable_tags: ImmutableTagsOpt = None,
    kms_key: KmsOpt = None,
    endpoint_kms_key: EndpointKmsOpt = None,
    log_kms_key: LogKmsOpt = None,
    token_kms_key: TokenKmsOpt = None,
    ecr_kms_key: EcrKmsOpt = None,
    state_bucket: StateBucketOpt = None,
    state_key: StateKeyOpt = None,
    state_lock_table: StateLockTableOpt = None,
) -> None:
    """Show what `deploy` would change (terraform plan), without changing anything."""
    require_extra("deploy", "plan")
    project = _project()
    config = load_config(project)
    settings = merged_settings(
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
        async_inference=async_inference,
        async_max_mb=async_max_mb,
        async_max_pages=async_max_pages,
        async_timeout_s=async_timeout,
        auth=auth,
        image_uri=image_uri,
        **security_settings(
            immutable_tags=immutable_tags,
            kms_key=kms_key,
            endpoint_kms_key=endpoint_kms_key,
            log_kms_key=log_kms_key,
            token_kms_key=token_kms_key,
            ecr_kms_key=ecr_kms_key,
            state_bucket=state_bucket,
            state_key=state_key,
            state_lock_table=state_lock_table,
        ),
    )
    ensure_state_dir(project)  # the handler zip and Terraform's files go there
    if settings.auth == "token" and not config.auth_token:
        config.auth_token = secrets.token_urlsafe(32)  # placeholder for the plan, not saved
    tf = _terraform(project, settings, config)
    same_region(config, region, tf)
    session = checked_session(settings)
    same_account(config, session)
    settings.region = session.region_name
    zip_path = _handler_zip(project)
    tf.write_vars(terraform_variables(settings, zip_path, pushed_tag(config)))
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
    async_inference: AsyncOpt = None,
    async_max_mb: AsyncMaxMbOpt = None,
    async_max_pages: AsyncMaxPagesOpt = None,
    async_timeout: AsyncTimeoutOpt = None,
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
    immutable_tags: ImmutableTagsOpt = None,
    kms_key: KmsOpt = None,
    endpoint_kms_key: EndpointKmsOpt = None,
    log_kms_key: LogKmsOpt = None,
    token_kms_key: TokenKmsOpt = None,
    ecr_kms_key: EcrKmsOpt = None,
    state_bucket: StateBucketOpt = None,
    state_key: StateKeyOpt = None,
    state_lock_table: StateLockTableOpt = None,
) -> None:
    """Build + push the model image, apply the Terraform stack, wait, print the function URL.

    Everything that can fail early is checked before anything is created: the settings, Docker
    answers, AWS credentials and region (STS), on a first deploy that no resource has its names,
    the quotas that can be read; then the estimated monthly cost is shown; after the
    confirmation the model is fetched and the image built, and the registry logged in to, before
    the ECR repository exists. Ctrl-C lets Terraform stop cleanly (twice: kills it)."""
    require_extra("deploy", "deploy")
    project = _project()
    config = load_config(project)
    settings = merged_settings(
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
        async_inference=async_inference,
        async_max_mb=async_max_mb,
        async_max_pages=async_max_pages,
        async_timeout_s=async_timeout,
        auth=auth,
        image_uri=image_uri,
        model=model,
        revision=revision,
        **security_settings(
            immutable_tags=immutable_tags,
            kms_key=kms_key,
            endpoint_kms_key=endpoint_kms_key,
            log_kms_key=log_kms_key,
            token_kms_key=token_kms_key,
            ecr_kms_key=ecr_kms_key,
            state_bucket=state_bucket,
            state_key=state_key,
            state_lock_table=state_lock_table,
        ),
    )
    ensure_state_dir(project)  # settings and state are kept there: a read-only folder fails now
    docker = None if settings.image_uri else make_docker()
    if docker is not None:
        docker_ready(docker)  # "docker not found" / "`docker info` failed" before anything else
    new_token = None
    if settings.auth == "token" and (rotate_token or not config.auth_token):
        new_token = config.auth_token = secrets.token_urlsafe(32)
    elif settings.auth != "token":
        config.auth_token = None
    tf = _terraform(project, settings, config)  # "terraform not found" before AWS is asked
    same_region(config, region, tf)
    session = checked_session(settings)
    same_account(config, session)
    settings.region = session.region_name
    if tf.backend is None and not tf.has_state():  # a first deploy: are its names free?
        with step(f"Checking that the name {settings.name!r} is free"):
            check_names(session, settings)
    with step("Checking quotas"):
        checks = check_quotas(
            session, settings, function_exists=bool(config.outputs.get("function_name"))
        )
    for check in checks:
        err.print(f"  {check.line}", markup=False)
    with step("Estimating the cost (AWS Price List API)"):
        estimate = estimate_cost(session, settings)
    err.print(estimate.text, markup=False)
    if not yes:
        typer.confirm(
            f"Deploy {settings.name!r} to {settings.region}? This creates {cost_note(settings)}.",
            abort=True,
            err=True,
        )
    config.settings = settings
    save_config(config, project)  # remember the settings (and a new token) even if apply fails
    if docker is not None:
        # The model, the base image and both registry logins before anything exists in AWS.
        base = base_image_uri(str(settings.region), settings.instance_type, base_image)
        config.image = build_image(docker, session, settings, base, None)
        save_config(config, project)
        login_to_deployment_registry(docker, session)
    zip_path = _handler_zip(project)
    tf.write_vars(terraform_variables(settings, zip_path, None))
    _init(tf)
    if docker is not None:
        apply_with_progress(
            "terraform apply (ECR repository)",
            lambda update: tf.apply(
                targets=["module.ecr_image"], progress=update, timeout_s=APPLY_TIMEOUT_S
            ),
        )
        repository = repository_url(tf)
        config.image["pushed"] = push_image(
            docker, session, config.image["tag"], repository, login=False
        )
        save_config(config, project)
        tf.write_vars(terraform_variables(settings, zip_path, pushed_tag(config)))
    apply_with_progress(
        "terraform apply",
        lambda update: tf.apply(progress=update, timeout_s=APPLY_TIMEOUT_S),
    )
    config.outputs = tf.outputs()
    save_config(config, project)
    endpoint = config.outputs.get("endpoint_name")
    if wait and endpoint:
        with step(f"Waiting for endpoint {endpoint}") as update:
            wait_in_service(
                session,
                str(endpoint),
                poll_s=POLL_S,
                timeout_s=WAIT_TIMEOUT_S,
                on_status=lambda state: update(state),
            )
    print_deployment(config, new_token)


@app.command()
def status() -> None:
    """The deployment of this directory: endpoint state, instances, autoscaling, URL, auth."""
    require_extra("deploy", "status")
    project = _project()
    config = load_config(project)
    if not config.deployed:
        partial_deployment(project, config, _terraform, _init)  # raises: what is left, what to do
        raise ConfigError(f"no deployment found in {project}: run `expense-cli deploy`")
    outputs = config.outputs
    settings = config.settings.replace(region=outputs.get("region"))
    session = make_session(settings.profile, settings.region)
    require_credentials(session)
    endpoint = str(outputs.get("endpoint_name") or f"{settings.name}")
    with step(f"Reading endpoint {endpoint}"):
        state = endpoint_status(session, endpoint, outputs.get("function_name"))
    auth = str(outputs.get("auth") or settings.auth)
    out.print(status_table(settings.name, str(session.region_name), auth, endpoint, state))
    settings.instance_type = state.instance_type or settings.instance_type
    now = state.instances if state.instances is not None else settings.min_instances
    settings.serverless = bool(state.serverless)
    with step("Estimating the cost (AWS Price List API)"):
        estimate = estimate_cost(session, settings, instances=(now, now))
    out.print(estimate.text.replace("Estimated cost:", "Estimated cost now:", 1), markup=False)
    if print_async(outputs):
        return
    out.print(f"Function URL: {outputs.get('function_url')}", markup=False)
    out.print(page_line(outputs.get("function_url"), auth), markup=False)


@app.command()
def destroy(
    yes: YesOpt = False,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Delete everything `deploy` created (endpoint, function URL, ECR repository and images)."""
    require_extra("deploy", "destroy")
    project = _project()
    config = load_config(project)
    settings = merged_settings(config, region=region, profile=profile)
    settings = settings.replace(region=config.outputs.get("region"))
    tf = _terraform(project, settings, config)
    if tf.backend is not None:
        _init(tf)  # the shared state is read through the backend
    if not tf.has_state():
        raise ConfigError(f"no deployment found in {project}: nothing to destroy")
    # elsewhere Terraform would find nothing, "destroy" nothing and forget it all
    same_region(config, settings.region, tf, destroying=True)
    session = checked_session(settings)
    same_account(config, session)  # else Terraform finds nothing, "destroys" it and forgets it
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
    tf.write_vars(terraform_variables(settings, zip_path, pushed_tag(config)))
    _init(tf)
    apply_with_progress(
        "terraform destroy", lambda update: tf.destroy(progress=update, timeout_s=APPLY_TIMEOUT_S)
    )
    config.outputs = {}
    config.auth_token = None
    config.image.pop("pushed", None)
    save_config(config, project)
    out.print(f"Destroyed {settings.name!r} in {settings.region}.", markup=False)
