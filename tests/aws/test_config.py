"""``.expense/config.json``: round trip, private permissions, never committed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from expense_cli.aws import DeploySettings, ProjectConfig, load_config, save_config
from expense_cli.errors import ConfigError


def test_round_trip_and_permissions(tmp_path: Path) -> None:
    config = ProjectConfig(
        settings=DeploySettings(name="demo", region="eu-west-1", auth="token", min_instances=2),
        outputs={"function_url": "https://u.on.aws/"},
        auth_token="very-secret-token-123",
        image={"tag": "demo:abc"},
    )
    path = save_config(config, tmp_path)
    assert path == tmp_path / ".expense" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert (path.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    loaded = load_config(tmp_path)
    assert loaded == config
    assert loaded.deployed


def test_missing_config_is_empty(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == ProjectConfig()
    assert not config.deployed
    assert not (tmp_path / ".expense").exists()


def test_replace_ignores_options_not_given() -> None:
    settings = DeploySettings(region="eu-west-1", max_instances=8)
    changed = settings.replace(region=None, max_instances=2, serverless=False)
    assert (changed.region, changed.max_instances, changed.serverless) == ("eu-west-1", 2, False)


def test_unknown_keys_are_ignored_and_broken_files_reported(tmp_path: Path) -> None:
    (tmp_path / ".expense").mkdir()
    config_file = tmp_path / ".expense" / "config.json"
    config_file.write_text('{"settings": {"name": "x", "future_option": 1}}')
    assert load_config(tmp_path).settings.name == "x"
    config_file.write_text("[1, 2")
    with pytest.raises(ConfigError, match=r"not a valid expense-cli config .* fix or delete it"):
        load_config(tmp_path)
