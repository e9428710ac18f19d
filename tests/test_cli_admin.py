"""The ``newsbot`` command as an admin meets it: help, version, refused values, pipes,
several pages at once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.cli.main import build_parser
from bot.cli.summarize import summarize_all
from bot.errors import NewsbotError
from bot.settings import Settings
from tests.fakes import LocalServer

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "data" / "seed_france24_putin_syria.txt"
PATIENCE_S = 30.0


def newsbot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def _subcommand_helps() -> list[tuple[str, str]]:
    parser = build_parser()
    out = [("newsbot", parser.format_help())]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append((name, sub.format_help()))
    return out


@pytest.mark.parametrize("name,text", _subcommand_helps(), ids=lambda v: str(v)[:12])
def test_help_reads_as_plain_text(name: str, text: str) -> None:
    assert "``" not in text, name


def test_help_has_examples_and_a_version() -> None:
    for name, text in _subcommand_helps():
        if name in ("newsbot", "run", "summarize", "match", "worker"):
            assert "examples:" in text, name
    res = newsbot("--version")
    assert res.returncode == 0 and res.stdout.startswith("newsbot 0.")


@pytest.mark.parametrize("args,complaint", [
    (("worker", "--workers", "0"), "at least 1"),
    (("worker", "--workers", "-3"), "at least 1"),
    (("discord", "invite", "--application-id", "-5"), "at least 1"),
    (("summarize", "--url", "notaurl", "x.html"), "not an http(s) URL"),
    (("match", "x.html", "syria", "--url", "ftp://x"), "not an http(s) URL"),
])
def test_meaningless_values_are_refused(args: tuple[str, ...], complaint: str) -> None:
    res = newsbot(*args)
    assert res.returncode == 2
    assert complaint in res.stderr
    assert "Traceback" not in res.stderr


def test_a_reader_that_stops_early_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    sources = " ".join([str(SEED)] * 40)  # far more than a pipe buffer holds
    script = (f"set -o pipefail; {sys.executable} -m bot.cli summarize --json {sources} "
              f"| head -1 > {tmp_path / 'first.json'}")
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert (tmp_path / "first.json").read_text().startswith("{")
    assert "Traceback" not in res.stderr and "BrokenPipeError" not in res.stderr
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert res.returncode == 2


class Recorder:
    """Stands in for rich's Progress: which pages are shown as loading."""

    def __init__(self) -> None:
        self.active: dict[int, str] = {}
        self.most_active = 0
        self.advanced = 0
        self._next = 0

    def add_task(self, description: str, *, total: float | None = None) -> int:
        self._next += 1
        if description.startswith("reading"):
            self.active[self._next] = description
            self.most_active = max(self.most_active, len(self.active))
        return self._next

    def advance(self, task_id: Any, advance: float = 1) -> None:
        self.advanced += 1

    def remove_task(self, task_id: Any) -> None:
        self.active.pop(task_id, None)


async def test_several_pages_load_at_once_within_the_bound_with_progress() -> None:
    html = ("<html><head><title>Story</title></head><body><article><h1>Story</h1>"
            + "<p>The council voted on the new budget for the city harbour today.</p>" * 8
            + "</article></body></html>")
    in_flight = 0
    most = 0
    bound = 3
    full = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if in_flight >= bound:
            full.set()
        # Every page waits until `bound` pages are loading at once; one at a time, each
        # would wait out the ceiling and the assertion below would fail.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(full.wait(), 5.0)
        in_flight -= 1
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", slow)
    server = await LocalServer(app).start()
    recorder = Recorder()
    try:
        urls = [server.url(f"/p{i}") for i in range(6)]
        results = await asyncio.wait_for(summarize_all(
            urls, Settings(fetch_allow_hosts=["127.0.0.1"]), progress=recorder,
            concurrency=bound), PATIENCE_S)
    finally:
        await server.stop()
    assert most == bound  # concurrent, never more than the bound
    assert not any(isinstance(r, NewsbotError) for r in results)
    assert [r.url for r in results if not isinstance(r, NewsbotError)] == urls  # in order
    # While pages loaded, the progress display named them.
    assert recorder.most_active == bound and recorder.advanced == 6
    assert recorder.active == {}
