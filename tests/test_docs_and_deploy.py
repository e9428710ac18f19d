"""The README, .env.example, CI script and compose file agree with the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _env_names() -> set[str]:
    return {f"NEWSBOT_{name.upper()}" for name in Settings.model_fields}


def test_readme_settings_table_lists_every_setting() -> None:
    table = set(re.findall(r"^\| `(NEWSBOT_[A-Z0-9_]+)` \|", README, re.M))
    assert table == _env_names()


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^# (NEWSBOT_[A-Z0-9_]+)=", text, re.M))
    assert listed == _env_names()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    run_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert "newsbot run" in run_cmd
    assert "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci


def _compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True,
                                 timeout=30).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_file_is_valid(tmp_path: Path) -> None:
    compose = _compose()
    if compose is None:
        pytest.skip("no docker compose client on this machine")
    project = tmp_path / "p"
    project.mkdir()
    for name in ("docker-compose.yml", "Dockerfile", ".env.example"):
        shutil.copy(ROOT / name, project / name)
    (project / ".env").write_text("NEWSBOT_INGEST_TOKEN=x\n")
    res = subprocess.run([*compose, "config"], cwd=project, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    for service in ("redis", "bot", "worker"):
        assert re.search(rf"^\s+{service}:", res.stdout, re.M), service
    assert "appendonly" in res.stdout
    assert "service_healthy" in res.stdout


def test_dockerfile_runs_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
