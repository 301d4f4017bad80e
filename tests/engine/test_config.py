from __future__ import annotations

import pytest

from expense_cli.engine import EngineConfig, Limits
from expense_cli.errors import ConfigError


def test_defaults_without_environment() -> None:
    config = EngineConfig.from_env({})
    assert config == EngineConfig()
    assert config.limits == Limits()


def test_environment_overrides() -> None:
    config = EngineConfig.from_env(
        {
            "EXPENSE_MODEL": "/opt/expense/model",
            "EXPENSE_MAX_PAGES": "3",
            "EXPENSE_OCR_PSM": "6",
            "EXPENSE_QUANTIZE": "true",
            "EXPENSE_DAY_FIRST": "0",
            "EXPENSE_THREADS": "4",
        }
    )
    assert config.model == "/opt/expense/model"
    assert config.limits.max_pages == 3
    assert (config.ocr_psm, config.quantize, config.day_first, config.threads) == (
        6,
        True,
        False,
        4,
    )


def test_bad_number_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="EXPENSE_MAX_PAGES must be an integer, got 'many'"):
        EngineConfig.from_env({"EXPENSE_MAX_PAGES": "many"})


@pytest.mark.parametrize(
    ("env", "device", "fp16"),
    [
        ({}, "auto", False),
        ({"EXPENSE_DEVICE": "cuda", "EXPENSE_FP16": "1"}, "cuda", True),
        ({"EXPENSE_DEVICE": " CPU ", "EXPENSE_FP16": "off"}, "cpu", False),
        ({"EXPENSE_DEVICE": "", "EXPENSE_FP16": "yes"}, "auto", True),
    ],
)
def test_device_and_fp16_from_the_environment(env: dict[str, str], device: str, fp16: bool) -> None:
    config = EngineConfig.from_env(env)
    assert (config.device, config.fp16) == (device, fp16)


@pytest.mark.parametrize("device", ["gpu", "cuda:1", "mps", "🖥️"])
def test_unknown_device_is_a_config_error(device: str) -> None:
    with pytest.raises(ConfigError, match="EXPENSE_DEVICE must be one of auto, cpu, cuda"):
        EngineConfig.from_env({"EXPENSE_DEVICE": device})
