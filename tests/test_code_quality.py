"""The project's own gates: ruff and mypy --strict stay clean (configured in pyproject.toml)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
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


def test_the_gates_cover_tests_bench_and_docs() -> None:
    """``mypy`` with no arguments checks every tree, with the pydantic plugin; ruff skips none."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    trees = {"bot", "adapters", "tests", "bench", "docs"}
    assert trees <= set(config["mypy"]["files"])
    assert config["mypy"]["strict"] is True
    assert "pydantic.mypy" in config["mypy"]["plugins"]
    assert config["pydantic-mypy"]["init_forbid_extra"] is True
    excluded = config["ruff"].get("exclude", []) + config["ruff"].get("extend-exclude", [])
    assert not trees & {str(p).strip("/") for p in excluded}


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


# --- the shape of the core: wings, faces, layers ------------------------------------------

WINGS = ("article", "chat", "cli", "feeds", "language", "pipeline", "subscriptions", "upkeep")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Modules of bot/ and adapters/ that a file imports (outside ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if _exists(sub) else base)
    return {m for m in found if m.split(".")[0] in ("bot", "adapters")}


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    return {
        _module_name(path): _imports(path)
        for top in ("bot", "adapters")
        for path in (ROOT / top).rglob("*.py")
    }


def test_no_import_circles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt):], nxt])
            elif nxt in graph and not state.get(nxt):
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node)
    assert not circles, circles


def test_wings_are_reached_through_their_faces() -> None:
    """Another wing's modules are not imported directly; only the chat contract may be."""
    offenders = []
    for module, imports in _graph().items():
        parts = module.split(".")
        mine = parts[1] if parts[0] == "bot" and len(parts) > 1 else None
        for target in imports:
            t = target.split(".")
            if (t[0] == "bot" and len(t) > 2 and t[1] in WINGS and t[1] != mine
                    and target != "bot.chat.contract"):
                offenders.append(f"{module} -> {target}")
    assert not offenders, offenders


def test_layers() -> None:
    graph = _graph()
    assert graph["bot.chat.contract"] <= {"bot.card", "bot.errors"}
    for module, imports in graph.items():
        if module.startswith("bot.") and not module.startswith("bot.cli"):
            assert not any(i.startswith("adapters") for i in imports), module
    top = [p for p in (ROOT / "bot").glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= 12, sorted(p.name for p in top)


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("bot.keys", ("trafilatura", "lxml", "redis", "aiohttp")),
        ("bot", ("trafilatura", "lxml")),
        ("bot.article", ("redis", "aiohttp", "discord", "slack_sdk")),
        ("bot.chat", ("redis", "trafilatura", "discord", "slack_sdk")),
        ("bot.cli", ("trafilatura", "discord", "slack_sdk")),
    ],
)
def test_imports_stay_cheap(module: str, absent: tuple[str, ...]) -> None:
    """Importing a wing loads only what it needs (``newsbot worker --help`` stays fast)."""
    code = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    loaded = set(ast.literal_eval(res.stdout.strip()))
    assert not loaded & set(absent), sorted(loaded & set(absent))
