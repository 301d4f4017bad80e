"""Settings from the container environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from expense_cli.errors import ConfigError
from expense_cli.serving import Settings

NOWHERE = Path("/nonexistent/opt/ml/model")


def test_defaults_follow_the_sagemaker_contract() -> None:
    settings = Settings.from_env({}, sagemaker_model_dir=NOWHERE)
    assert settings.port == 8080
    assert settings.host == "127.0.0.1"
    assert settings.engine.model == "impira/layoutlm-invoices"
    assert not settings.micro_batching  # measured slower on CPU: opt in with EXPENSE_MAX_BATCH
    assert settings.batch_wait_ms <= 10


def test_sagemaker_port_wins_over_ours() -> None:
    env = {"SAGEMAKER_BIND_TO_PORT": "9001", "EXPENSE_PORT": "9002"}
    assert Settings.from_env(env, sagemaker_model_dir=NOWHERE).port == 9001
    assert Settings.from_env({"EXPENSE_PORT": "9002"}, sagemaker_model_dir=NOWHERE).port == 9002


def test_every_variable_is_read() -> None:
    env = {
        "EXPENSE_HOST": "0.0.0.0",
        "EXPENSE_SERVER_THREADS": "3",
        "EXPENSE_MAX_CONCURRENCY": "5",
        "EXPENSE_MAX_QUEUE": "7",
        "EXPENSE_BATCH_WAIT_MS": "2.5",
        "EXPENSE_MAX_BATCH": "1",
        "EXPENSE_REQUEST_TIMEOUT": "12",
        "EXPENSE_MAX_BODY_BYTES": "1000",
        "EXPENSE_LOG_LEVEL": "DEBUG",
        "EXPENSE_MODEL": "/models/x",
    }
    s = Settings.from_env(env, sagemaker_model_dir=NOWHERE)
    assert (s.host, s.threads, s.max_concurrency, s.max_queue) == ("0.0.0.0", 3, 5, 7)
    assert (s.batch_wait_ms, s.max_batch, s.request_timeout_s) == (2.5, 1, 12.0)
    assert (s.body_limit, s.log_level, s.engine.model) == (1000, "debug", "/models/x")
    assert not s.micro_batching


def test_sagemaker_timeout_is_the_fallback() -> None:
    env = {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "30"}
    assert Settings.from_env(env, sagemaker_model_dir=NOWHERE).request_timeout_s == 30.0


def test_opt_ml_model_is_used_when_it_holds_a_checkpoint(tmp_path: Path) -> None:
    env = {"EXPENSE_MODEL": "/elsewhere"}
    assert Settings.from_env(env, sagemaker_model_dir=tmp_path).engine.model == "/elsewhere"
    (tmp_path / "config.json").write_text("{}")
    engine = Settings.from_env(env, sagemaker_model_dir=tmp_path).engine
    assert (engine.model, engine.revision) == (str(tmp_path), None)


def test_body_limit_fits_the_document_limit_as_base64() -> None:
    settings = Settings.from_env({"EXPENSE_MAX_BYTES": "3000000"}, sagemaker_model_dir=NOWHERE)
    assert 4_000_000 < settings.body_limit < 4_100_000


@pytest.mark.parametrize(
    "env",
    [
        {"EXPENSE_PORT": "http"},
        {"EXPENSE_PORT": "70000"},
        {"EXPENSE_MAX_BATCH": "0"},
        {"EXPENSE_SERVER_THREADS": "0"},
        {"EXPENSE_BATCH_WAIT_MS": "-1"},
        {"EXPENSE_REQUEST_TIMEOUT": "0"},
    ],
)
def test_bad_values_are_config_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env, sagemaker_model_dir=NOWHERE)
