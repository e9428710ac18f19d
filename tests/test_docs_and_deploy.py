"""The README, .env.example, CI script and compose file agree with the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

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


# --- static checks of the deployment files (no Docker engine needed) -------------------

def _compose_file() -> dict[str, Any]:
    """docker-compose.yml with ``${VAR:-default}`` read as its default, as a fresh .env has."""
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_compose_publishes_the_http_port_on_loopback_only() -> None:
    services = _compose_file()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_compose_builds_every_newsbot_service_and_checks_its_health() -> None:
    services = _compose_file()["services"]
    for name in ("bot", "worker"):
        service = services[name]
        assert "build" in service, name  # `docker compose pull` has nothing to pull
        assert service.get("pull_policy") == "build", name
        assert "healthcheck" in service, name
    # The worker's health check reads /healthz, so the worker serves it.
    assert "--http" in services["worker"]["command"]


def test_compose_scaling_is_not_undone_by_a_plain_up() -> None:
    worker = _compose_file()["services"]["worker"]
    # A fixed replica count (0) is what every plain `up` reset the workers to; a profile
    # and a count from .env stay as the admin set them.
    assert worker.get("profiles") == ["workers"]
    replicas = worker.get("deploy", {}).get("replicas")
    assert replicas is not None and int(replicas) >= 1
    raw = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${WORKER_REPLICAS:-" in raw
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "# COMPOSE_PROFILES=workers" in example and "# WORKER_REPLICAS=" in example


def test_the_container_never_waits_for_a_console_and_keeps_its_data() -> None:
    services = _compose_file()["services"]
    assert "--no-console" in services["bot"]["command"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r'^VOLUME \["?/data"?\]', dockerfile, re.M)
    assert re.search(r'^CMD \["newsbot", "run", "--no-console"\]', dockerfile, re.M)


def test_dockerignore_keeps_tokens_data_and_virtualenvs_out_of_the_image() -> None:
    lines = {line.strip().lstrip("/") for line in
             (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    for name in (".env", ".venv", "data", ".git", "**/__pycache__", ".mypy_cache",
                 ".pytest_cache", ".ruff_cache"):
        assert name in lines, name


def _requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower().replace("_", "-").replace(
        ".", "-")


def test_the_image_installs_pinned_versions_of_every_dependency() -> None:
    lock: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"not pinned: {line}"
            lock[_requirement_name(name)] = version
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for spec in declared["project"]["dependencies"]:
        assert _requirement_name(spec) in lock, f"{spec} is not in requirements.lock"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    install_lock = dockerfile.index("-r requirements.lock")
    install_project = dockerfile.index("pip install --no-deps .")
    assert install_lock < install_project  # the project adds no unpinned package


def test_ci_also_runs_the_suite_on_the_newest_supported_python() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    classifiers = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
    versions = [c.rsplit(" ", 1)[1] for c in classifiers if c.startswith("Programming Language")]
    newest = max(versions, key=lambda v: tuple(map(int, v.split("."))))
    assert f"NEWEST={newest}" in ci
    assert "NOTICE" in ci  # a machine without it says so instead of failing


def test_find_python_prints_nothing_when_the_version_is_missing(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYENV_ROOT": str(tmp_path), "HOME": str(tmp_path)}
    res = subprocess.run(["bash", str(ROOT / ".ci" / "find-python"), "3.99"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 and res.stdout == ""
    # A pyenv-style install is found, and checked by asking the interpreter itself.
    fake = tmp_path / "versions" / "3.99.1" / "bin"
    fake.mkdir(parents=True)
    (fake / "python3").write_text("#!/bin/sh\necho 3.99\n")
    (fake / "python3").chmod(0o755)
    res = subprocess.run(["bash", str(ROOT / ".ci" / "find-python"), "3.99"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert res.stdout.strip() == str(fake / "python3")


def _merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """What ``docker compose -f base -f overlay`` makes of two files: maps merged key by key,
    anything else replaced (enough for the keys these files use)."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def test_the_cluster_overlay_runs_the_bot_on_a_joined_cluster() -> None:
    """docker-compose.cluster.yml, read as compose would merge it (no Docker engine here)."""
    overlay = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text(encoding="utf-8"))
    services = _merged(_compose_file(), overlay)["services"]
    nodes = sorted(name for name in services if re.fullmatch(r"redis-\d+", name))
    assert len(nodes) >= 3  # a cluster needs three primaries
    for name in nodes:
        command = " ".join(services[name]["command"])
        assert "--cluster-enabled yes" in command and "--appendonly yes" in command, name
        assert "healthcheck" in services[name], name
        assert any(str(v).startswith(f"{name}:") for v in services[name]["volumes"]), name
    init = services["cluster-init"]
    assert {n: c["condition"] for n, c in init["depends_on"].items()} == {
        n: "service_healthy" for n in nodes}
    joined = " ".join(init["command"])
    assert "--cluster create" in joined and all(f"{n}" in joined for n in nodes)
    assert init["restart"] == "no"
    for name in ("bot", "worker"):
        env = services[name]["environment"]
        url = env["NEWSBOT_REDIS_URL"]
        assert url.startswith("redis+cluster://") and url.split("//")[1].split(":")[0] in nodes
        # Deliveries spread over every primary (shard k in the k-th N-th of the slots).
        assert int(env["NEWSBOT_DELIVERY_SHARDS"]) % len(nodes) == 0, name
        condition = services[name]["depends_on"]["cluster-init"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["worker"]["profiles"] == ["workers"]  # still scaled by the profile
    assert set(nodes) <= set(overlay["volumes"])
    # The README's command starts the workers it scales (they sit in a profile).
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in re.findall(r"^docker compose .*docker-compose\.cluster\.yml.*$", readme, re.M):
        assert "--scale worker" not in line or "--profile workers" in line, line
