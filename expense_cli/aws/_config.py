"""The deployment remembered per project directory: ``.expense/config.json``.

Layout of the state directory (created 0700, with a ``.gitignore`` of ``*`` so it is never
committed by accident)::

    .expense/
      config.json            settings + Terraform outputs (+ the bearer token in token mode), 0600
      handler.zip            the Lambda handler zip Terraform uploads
      terraform/
        module/              a fresh copy of the Terraform stack (the source tree is never written)
        data/                TF_DATA_DIR: providers and modules
        terraform.tfstate    the local state (backend "local", 0600), unless --state-bucket
        expense.tfvars.json  the variables of the last plan/apply, 0600
        *.log                terraform's full output of the last init/plan/apply/destroy
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import atomic_write
from ..errors import ConfigError

__all__ = [
    "CONFIG_DIR",
    "CONFIG_FILE",
    "DeploySettings",
    "ProjectConfig",
    "ensure_state_dir",
    "load_config",
    "save_config",
    "state_dir",
    "write_private",
]

CONFIG_DIR = ".expense"
CONFIG_FILE = "config.json"
_VERSION = 1


@dataclass
class DeploySettings:
    """What ``expense-cli deploy`` was asked for; each field becomes a Terraform variable."""

    name: str = "expense"
    region: str | None = None
    profile: str | None = None
    instance_type: str = "ml.m5.xlarge"
    min_instances: int = 1
    max_instances: int = 4
    serverless: bool = False
    serverless_memory_mb: int = 4096
    serverless_max_concurrency: int = 5
    # Asynchronous inference (``deploy --async``; README "Real-time, serverless or asynchronous"):
    # requests queue in S3, the endpoint scales between 0 and max_instances.
    async_inference: bool = False
    async_max_mb: int = 200  # per document: the container's EXPENSE_MAX_BYTES (AWS: 1 GB)
    async_max_pages: int = 500  # per document: EXPENSE_MAX_PAGES
    async_timeout_s: int = 3600  # processing one document: EXPENSE_REQUEST_TIMEOUT (AWS: 3600)
    async_queue_hours: int = 6  # a request may wait this long in the queue (AWS: 6)
    async_concurrent_per_instance: int = 4  # invocations one instance works on at once
    auth: str = "iam"
    image_uri: str | None = None
    model: str | None = None
    revision: str | None = None
    # Security and shared state (``deploy --immutable-tags --kms-key --state-bucket``, issue 17):
    # a KMS key ARN for every use, or one per use (the per-use one wins); "" clears a value.
    immutable_tags: bool = False
    kms_key: str | None = None
    endpoint_kms_key: str | None = None
    log_kms_key: str | None = None
    token_kms_key: str | None = None
    ecr_kms_key: str | None = None
    state_bucket: str | None = None  # S3 backend (expense_cli/aws/_terraform.py S3Backend)
    state_key: str | None = None
    state_lock_table: str | None = None  # DynamoDB locking instead of the S3 lock file

    def replace(self, **changes: Any) -> DeploySettings:
        """A copy with the given fields changed; ``None`` values are ignored (not passed)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **given)


@dataclass
class ProjectConfig:
    """Everything ``.expense/config.json`` holds."""

    settings: DeploySettings = field(default_factory=DeploySettings)
    outputs: dict[str, Any] = field(default_factory=dict)  # terraform output values, if deployed
    auth_token: str | None = None
    image: dict[str, str] = field(default_factory=dict)  # last build: local tag, model, revision

    @property
    def deployed(self) -> bool:
        return bool(self.outputs.get("function_url") or self.outputs.get("async_input_path"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "settings": dataclasses.asdict(self.settings),
            "outputs": self.outputs,
            "auth_token": self.auth_token,
            "image": self.image,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProjectConfig:
        """Raises ValueError naming the first value of the wrong type (a hand-edited file)."""
        raw = _mapping(data, "settings")
        given = {f.name: raw[f.name] for f in dataclasses.fields(DeploySettings) if f.name in raw}
        for name, value in given.items():
            _check_type(name, value)
        token = data.get("auth_token")
        if token is not None and not isinstance(token, str):
            raise ValueError(f"auth_token must be text, not {token!r}")
        return cls(
            settings=DeploySettings(**given),
            outputs=dict(_mapping(data, "outputs")),
            auth_token=token,
            image={str(k): str(v) for k, v in _mapping(data, "image").items()},
        )


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object, not {value!r}"[:200])
    return value


_DEFAULTS = DeploySettings()


def _check_type(name: str, value: Any) -> None:
    """A remembered setting has the type of its default (text where the default is None)."""
    default = getattr(_DEFAULTS, name)
    if default is None:
        ok, kind = value is None or isinstance(value, str), "text or null"
    elif isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    else:
        ok, kind = isinstance(value, str), "text"
    if not ok:
        raise ValueError(f"settings.{name} must be {kind}, not {value!r}"[:200])


def state_dir(project_dir: Path | None = None) -> Path:
    """``<project>/.expense`` (not created)."""
    return (project_dir or Path.cwd()) / CONFIG_DIR


def ensure_state_dir(project_dir: Path | None) -> Path:
    """``.expense`` as a 0700 folder of ours: created so, or tightened when an older version (or
    a umask) left it group/world readable. A symlink or someone else's folder is refused, and a
    folder that cannot be written is one clear error (``deploy`` checks it before anything)."""
    root = state_dir(project_dir)
    try:
        root.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass  # checked below
    except OSError as exc:
        raise _unwritable(root, exc) from exc
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{root} is not a folder (a symlink?): move it away and try again")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise ConfigError(f"{root} belongs to another user: move it away and try again")
    if not os.access(root, os.W_OK | os.X_OK):
        raise _unwritable(root, PermissionError(13, "Permission denied"))
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(root, 0o700)
    ignore = root / ".gitignore"
    if not ignore.exists():
        write_private(
            ignore, "# expense-cli state: credentials and Terraform state, never commit\n*\n"
        )
    return root


def _unwritable(root: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot create {root} ({exc.strerror or exc}): run expense-cli in a folder you can "
        "write to (it keeps the deployment's settings and Terraform state there)"
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (0600), replacing it atomically.

    The temp file has an unpredictable name and is created with O_EXCL (``tempfile.mkstemp``,
    in ``expense_cli/_files.py``), so a symlink planted in the folder is never followed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"), mode=0o600)


def load_config(project_dir: Path | None = None) -> ProjectConfig:
    """The project's config, or an empty one when there is none yet."""
    path = state_dir(project_dir) / CONFIG_FILE
    if not path.exists():
        return ProjectConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return ProjectConfig.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a valid expense-cli config ({exc}): fix or delete it"
        ) from exc


def save_config(config: ProjectConfig, project_dir: Path | None = None) -> Path:
    """Write the config (0600, inside a 0700 ``.expense`` directory) and return its path."""
    path = ensure_state_dir(project_dir) / CONFIG_FILE
    write_private(path, json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
    return path
