"""``.expense/config.json``: round trip, private permissions, never committed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from expense_cli.aws import DeploySettings, ProjectConfig, _config, load_config, save_config
from expense_cli.aws._config import write_private
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


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            '{"settings": {"max_instances": "4"}}',
            "settings.max_instances must be a whole number, not '4'",
        ),
        (
            '{"settings": {"max_instances": 4.5}}',
            "settings.max_instances must be a whole number, not 4.5",
        ),
        (
            '{"settings": {"min_instances": true}}',
            "settings.min_instances must be a whole number, not True",
        ),
        ('{"settings": {"name": 5}}', "settings.name must be text, not 5"),
        ('{"settings": {"region": 7}}', "settings.region must be text or null, not 7"),
        (
            '{"settings": {"serverless": "yes"}}',
            "settings.serverless must be true or false, not 'yes'",
        ),
        (
            '{"settings": {"image_uri": ["x"]}}',
            "settings.image_uri must be text or null, not ['x']",
        ),
        ('{"settings": []}', "settings must be an object, not []"),
        ('{"settings": "expense"}', "settings must be an object, not 'expense'"),
        (
            '{"outputs": [["function_url", 1]]}',
            "outputs must be an object, not [['function_url', 1]]",
        ),
        ('{"image": "expense:1"}', "image must be an object, not 'expense:1'"),
        (
            '{"auth_token": 12345678901234567890}',
            "auth_token must be text, not 12345678901234567890",
        ),
    ],
)
def test_a_hand_edited_config_of_the_wrong_types_is_reported(
    tmp_path: Path, text: str, reason: str
) -> None:
    """Seen as a user: `"max_instances": "4"` made `deploy` crash ("internal error: TypeError:
    '<' not supported ..."), `"region": 7` too, and `"serverless": "yes"` reached Terraform."""
    (tmp_path / ".expense").mkdir()
    config_file = tmp_path / ".expense" / "config.json"
    config_file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.message == (
        f"{config_file} is not a valid expense-cli config ({reason}): fix or delete it"
    )


def test_every_setting_of_the_right_type_loads(tmp_path: Path) -> None:
    """Whatever `save_config` writes (every field set, nulls included) loads back."""
    settings = DeploySettings(region="eu-west-1", serverless=True, kms_key=None, model="📄/m")
    save_config(ProjectConfig(settings=settings, auth_token=None), tmp_path)
    assert load_config(tmp_path).settings == settings


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_state_folder_is_one_clear_error(tmp_path: Path) -> None:
    state = tmp_path / ".expense"
    state.mkdir(mode=0o700)
    state.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match=r"cannot create .* \(Permission denied\): run"):
            save_config(ProjectConfig(), tmp_path)
    finally:
        state.chmod(0o700)


def test_write_private_never_follows_a_symlink_at_a_predictable_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    state = tmp_path / ".expense"
    state.mkdir(mode=0o700)
    # the names the old code used, and a few more an attacker could guess
    for name in (".config.json.tmp", ".config.json.tmp0", "config.json.tmp", ".gitignore.tmp"):
        (state / name).symlink_to(victim)
    path = save_config(ProjectConfig(auth_token="secret-token-123"), tmp_path)
    assert victim.read_text() == "keep me"
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(tmp_path).auth_token == "secret-token-123"
    leftovers = {p.name for p in state.iterdir()} - {"config.json", ".gitignore"}
    assert leftovers == {
        ".config.json.tmp",
        ".config.json.tmp0",
        "config.json.tmp",
        ".gitignore.tmp",
    }


def test_write_private_replaces_a_symlink_at_the_target_name_itself(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "secret.json"
    link.symlink_to(victim)
    write_private(link, "{}")
    assert victim.read_text() == "keep me"
    assert not link.is_symlink() and link.read_text() == "{}"
    assert stat.S_IMODE(link.stat().st_mode) == 0o600


def test_write_private_leaves_no_temp_file_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_config.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_private(tmp_path / "x.json", "{}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [0o755, 0o777, 0o750, 0o701, 0o500])
def test_an_existing_state_folder_is_tightened_to_0700(tmp_path: Path, mode: int) -> None:
    state = tmp_path / ".expense"
    state.mkdir()
    os.chmod(state, mode)
    path = save_config(ProjectConfig(auth_token="secret-token-123"), tmp_path)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((state / ".gitignore").stat().st_mode) == 0o600


def test_a_state_folder_that_is_a_symlink_or_not_ours_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    project = tmp_path / "project"
    project.mkdir()
    (project / ".expense").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="is not a folder"):
        save_config(ProjectConfig(), project)
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755 and list(elsewhere.iterdir()) == []
    if os.geteuid() == 0:  # only root can give a folder away
        other = tmp_path / "other"
        (other / ".expense").mkdir(parents=True, mode=0o755)
        os.chown(other / ".expense", 12345, 12345)
        with pytest.raises(ConfigError, match="belongs to another user"):
            save_config(ProjectConfig(), other)
