"""Settings read once per container from the environment Terraform sets.

Names (exact): ``ENDPOINT_NAME``, ``AUTH_MODE`` (``iam`` | ``token``), ``TOKEN_PARAMETER``,
``MAX_BODY_BYTES`` (6000000), ``MAX_DOCUMENT_BYTES`` (5000000), ``FETCH_TIMEOUT_S`` (10),
``ALLOW_HTTP_URLS`` (false), ``LOG_LEVEL`` (INFO). Optional: ``MAX_QUESTIONS`` (20),
``MAX_QUESTION_CHARS`` (200), ``MAX_PAYLOAD_BYTES`` (6000000, the JSON forwarded to SageMaker;
set 4000000 for serverless endpoints), ``INVOKE_READ_TIMEOUT_S`` (60, SageMaker's own cap on
an invocation; two attempts at most, so keep the function timeout above
``FETCH_TIMEOUT_S + 2 * INVOKE_READ_TIMEOUT_S`` or lower this) and
``INVOKE_CONNECT_TIMEOUT_S`` (5).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ConfigError", "Settings"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class ConfigError(ValueError):
    """The function's environment is invalid (a deployment problem, never the caller's)."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """The handler's configuration; build it with :meth:`from_env`."""

    endpoint_name: str
    auth_mode: str = "iam"
    token_parameter: str | None = None
    max_body_bytes: int = 6_000_000
    max_document_bytes: int = 5_000_000
    fetch_timeout_s: float = 10.0
    allow_http_urls: bool = False
    log_level: str = "INFO"
    max_questions: int = 20
    max_question_chars: int = 200
    max_payload_bytes: int = 6_000_000
    invoke_read_timeout_s: float = 60.0
    invoke_connect_timeout_s: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; raises :class:`ConfigError` when they are unusable."""
        env = os.environ if env is None else env
        endpoint = env.get("ENDPOINT_NAME", "").strip()
        if not endpoint:
            raise ConfigError("ENDPOINT_NAME is not set")
        mode = env.get("AUTH_MODE", "iam").strip().lower() or "iam"
        if mode not in ("iam", "token"):
            raise ConfigError(f"AUTH_MODE must be 'iam' or 'token', got {mode!r}")
        parameter = env.get("TOKEN_PARAMETER", "").strip() or None
        if mode == "token" and parameter is None:
            raise ConfigError("AUTH_MODE=token needs TOKEN_PARAMETER (an SSM parameter name)")
        level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if level not in _LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {sorted(_LEVELS)}, got {level!r}")
        return cls(
            endpoint_name=endpoint,
            auth_mode=mode,
            token_parameter=parameter,
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 6_000_000),
            max_document_bytes=_int(env, "MAX_DOCUMENT_BYTES", 5_000_000),
            fetch_timeout_s=_float(env, "FETCH_TIMEOUT_S", 10.0),
            allow_http_urls=_bool(env, "ALLOW_HTTP_URLS", False),
            log_level=level,
            max_questions=_int(env, "MAX_QUESTIONS", 20),
            max_question_chars=_int(env, "MAX_QUESTION_CHARS", 200),
            max_payload_bytes=_int(env, "MAX_PAYLOAD_BYTES", 6_000_000),
            invoke_read_timeout_s=_float(env, "INVOKE_READ_TIMEOUT_S", 60.0),
            invoke_connect_timeout_s=_float(env, "INVOKE_CONNECT_TIMEOUT_S", 5.0),
        )
