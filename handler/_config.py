"""Settings read once per container from the environment Terraform sets.

Names (exact): ``ENDPOINT_NAME``, ``AUTH_MODE`` (``iam`` | ``token``), ``TOKEN_PARAMETER``,
``MAX_BODY_BYTES`` (6000000), ``MAX_DOCUMENT_BYTES`` (4400000), ``FETCH_TIMEOUT_S`` (10),
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

from expense_cli.contract import (
    ENDPOINT_MAX_PAYLOAD,
    FUNCTION_URL_MAX_BODY,
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    SettingError,
    document_limit,
    env_bool,
    env_float,
    env_int,
)

__all__ = ["ConfigError", "Settings"]

ConfigError = SettingError  # the function's environment is invalid (a deployment problem)
_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


@dataclass(frozen=True)
class Settings:
    """The handler's configuration; build it with :meth:`from_env`."""

    endpoint_name: str
    auth_mode: str = "iam"
    token_parameter: str | None = None
    max_body_bytes: int = FUNCTION_URL_MAX_BODY
    max_document_bytes: int = document_limit(ENDPOINT_MAX_PAYLOAD)
    fetch_timeout_s: float = 10.0
    allow_http_urls: bool = False
    log_level: str = "INFO"
    max_questions: int = MAX_QUESTIONS
    max_question_chars: int = MAX_QUESTION_CHARS
    max_payload_bytes: int = ENDPOINT_MAX_PAYLOAD
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
        base = cls(endpoint)
        return cls(
            endpoint_name=endpoint,
            auth_mode=mode,
            token_parameter=parameter,
            max_body_bytes=env_int(env, "MAX_BODY_BYTES", base.max_body_bytes, minimum=1),
            max_document_bytes=env_int(
                env, "MAX_DOCUMENT_BYTES", base.max_document_bytes, minimum=1
            ),
            fetch_timeout_s=env_float(env, "FETCH_TIMEOUT_S", base.fetch_timeout_s),
            allow_http_urls=bool(env_bool(env, "ALLOW_HTTP_URLS", base.allow_http_urls)),
            log_level=level,
            max_questions=env_int(env, "MAX_QUESTIONS", base.max_questions, minimum=1),
            max_question_chars=env_int(
                env, "MAX_QUESTION_CHARS", base.max_question_chars, minimum=1
            ),
            max_payload_bytes=env_int(env, "MAX_PAYLOAD_BYTES", base.max_payload_bytes, minimum=1),
            invoke_read_timeout_s=env_float(
                env, "INVOKE_READ_TIMEOUT_S", base.invoke_read_timeout_s
            ),
            invoke_connect_timeout_s=env_float(
                env, "INVOKE_CONNECT_TIMEOUT_S", base.invoke_connect_timeout_s
            ),
        )
