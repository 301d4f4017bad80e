"""Deploying to the user's AWS account and asking the deployed function URL.

* :class:`Terraform` — init/plan/apply/destroy/output on a private copy of the stack.
* :class:`Docker`, :func:`base_image_uri`, :func:`fetch_model`, :func:`assemble_context`,
  :func:`ecr_login` — the model image (build context, docker build, ECR login, push).
* :func:`wait_in_service`, :func:`endpoint_status` — the SageMaker endpoint.
* :class:`FunctionUrlTarget`, :func:`remote_target` — the deployed URL as an ``ask`` target.
* :class:`AsyncEndpointTarget`, :func:`async_target` — an asynchronous endpoint (S3 in and out).
* :func:`load_config`, :func:`save_config` — ``.expense/config.json`` of a project directory.
* :func:`build_handler_zip` — the Lambda handler zip.
"""

from __future__ import annotations

from ._async import AsyncEndpointTarget, AsyncQueue, async_target
from ._config import DeploySettings, ProjectConfig, load_config, save_config, state_dir
from ._endpoint import EndpointStatus, endpoint_status, wait_in_service
from ._image import (
    BuiltImage,
    Docker,
    ModelSnapshot,
    assemble_context,
    base_image_uri,
    ecr_login,
    ecr_logins,
    fetch_model,
    find_source_root,
    registry_of,
)
from ._package import build_handler_zip
from ._runner import Completed, Runner, SubprocessRunner
from ._session import make_session, require_credentials
from ._target import (
    MAX_UPLOAD_BYTES,
    FunctionUrlTarget,
    remote_target,
    shrink_document,
    sign_request,
)
from ._terraform import ApplyProgress, Terraform, TerraformError, find_terraform_source

__all__ = [
    "MAX_UPLOAD_BYTES",
    "ApplyProgress",
    "AsyncEndpointTarget",
    "AsyncQueue",
    "BuiltImage",
    "Completed",
    "DeploySettings",
    "Docker",
    "EndpointStatus",
    "FunctionUrlTarget",
    "ModelSnapshot",
    "ProjectConfig",
    "Runner",
    "SubprocessRunner",
    "Terraform",
    "TerraformError",
    "assemble_context",
    "async_target",
    "base_image_uri",
    "build_handler_zip",
    "ecr_login",
    "ecr_logins",
    "endpoint_status",
    "fetch_model",
    "find_source_root",
    "find_terraform_source",
    "load_config",
    "make_session",
    "registry_of",
    "remote_target",
    "require_credentials",
    "save_config",
    "shrink_document",
    "sign_request",
    "state_dir",
    "wait_in_service",
]
