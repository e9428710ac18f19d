"""The project's own gates: ruff and mypy --strict stay clean (configured in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return [found]


def test_ruff_is_clean() -> None:
    res = subprocess.run([*_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict_is_clean() -> None:
    res = subprocess.run([*_tool("mypy")], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr


def test_core_never_imports_a_platform_library() -> None:
    """bot/ never imports discord or slack; only the entry point (bot/cli/) may load adapters."""
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        banned = ["discord", "slack_bolt", "slack_sdk"]
        if path.parent.name != "cli":
            banned.append("adapters")
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from") and (
                words[1].split(".")[0] in banned
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not offenders, offenders
