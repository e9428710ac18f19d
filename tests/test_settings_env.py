"""Settings as an admin writes them: empty values, bad lists, where the data lives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, default_data_dir, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NEWSBOT_"):
            monkeypatch.delenv(name)


def test_empty_values_in_env_file_mean_unset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uncommenting every line of .env.example gives ``NAME=``: that is "unset"."""
    _clean_env(monkeypatch)
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    uncommented = "\n".join(
        line[2:] if line.startswith("# NEWSBOT_") else line for line in example.splitlines())
    env = tmp_path / ".env"
    env.write_text(uncommented.replace("=", "=", 1), encoding="utf-8")
    # Every line blanked, as a person who uncomments and fills in nothing leaves them.
    env.write_text("\n".join(
        line.split("=", 1)[0] + "=" if line.startswith("NEWSBOT_") else line
        for line in uncommented.splitlines()), encoding="utf-8")
    settings = Settings(_env_file=env)
    assert settings.discord_shards is None
    assert settings.discord_token is None
    assert settings.slack_bot_token is None
    assert settings.workers == 2


def test_empty_environment_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("NEWSBOT_DISCORD_SHARDS", "")
    monkeypatch.setenv("NEWSBOT_DISCORD_TOKEN", "")
    monkeypatch.setenv("NEWSBOT_SLACK_BOT_TOKEN", "")
    settings = load_settings(_env_file=None)
    assert settings.discord_shards is None
    assert settings.discord_token is None
    assert settings.slack_bot_token is None


def test_a_broken_json_list_says_how_to_write_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("NEWSBOT_FETCH_ALLOW_HOSTS", "[bad")
    with pytest.raises(ConfigError, match=r"NEWSBOT_FETCH_ALLOW_HOSTS: not a JSON list.*a,b"):
        load_settings(_env_file=None)


def test_a_data_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(blocker)
    res = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert "NEWSBOT_DATA_DIR" in res.stderr and "not a directory" in res.stderr


def test_the_default_data_dir_does_not_depend_on_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    here = load_settings(_env_file=None).data_dir
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    there = load_settings(_env_file=None).data_dir
    assert here == there == default_data_dir()
    assert here.is_absolute()
    assert tmp_path not in here.parents


def test_a_relative_data_dir_is_made_absolute_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_DATA_DIR", "mydata")
    assert load_settings(_env_file=None).data_dir == tmp_path / "mydata"
