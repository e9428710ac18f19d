"""The console adapter and ``newsbot run`` without chat tokens: a terminal as one channel."""

from __future__ import annotations

import fcntl
import io
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.chat import Request
from bot.feeds.poller import FeedPoller
from bot.service import Newsbot
from tests.fakes import Feed, FeedServer, article_html, story
from tests.pipeline_helpers import drained, pipeline_settings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "data" / "seed_france24_putin_syria.txt"
HEADLINE = "Putin orders partial withdrawal of Russian troops in Syria"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update({"NEWSBOT_DATA_DIR": str(tmp_path / "data"), "NEWSBOT_HTTP_PORT": "0",
                "COLUMNS": "100"})
    return env


def _run(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run"],
        input=script, capture_output=True, text=True, timeout=90, env=_env(tmp_path), cwd=ROOT,
    )


def test_piped_commands_are_answered_in_order_and_the_run_ends_with_0(tmp_path: Path) -> None:
    res = _run(tmp_path, f"/news subscribe syria\n/news list\n/news summarize {SEED}\n"
                         "/news subscribe \"unclosed\n/news unsubscribe syria\n")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    order = [out.index(s) for s in (
        "Subscribed", "Your subscriptions", HEADLINE, "A quote is not closed", "Unsubscribed")]
    assert order == sorted(order)
    assert "aircraft being withdrawn" in out
    assert "Traceback" not in res.stderr
    # The embedded Valkey server was started under the data dir, and stopped.
    assert "embedded Valkey stopped" in res.stderr


def test_subscriptions_survive_a_restart_of_the_console_bot(tmp_path: Path) -> None:
    first = _run(tmp_path, '/news subscribe "vladimir putin" digest:daily\n')
    assert first.returncode == 0, first.stderr
    second = _run(tmp_path, "/news list\n")
    assert "vladimir putin" in second.stdout
    assert "daily digest" in second.stdout


def test_sigterm_stops_cleanly_within_five_seconds(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(tmp_path), cwd=ROOT,
    )
    try:
        assert proc.stdin is not None and proc.stderr is not None
        # Wait until it runs (the log line), with input still open.
        deadline = time.monotonic() + 30
        seen = ""
        while "newsbot running" not in seen:
            assert time.monotonic() < deadline, seen
            seen += proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        # The input stays open, as a terminal nobody types in: the bot must not wait for
        # it (it would wait forever; the ceiling is generous for a loaded machine).
        proc.wait(timeout=60)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "embedded Valkey stopped" in err


def test_a_bad_setting_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"NEWSBOT_REDIS_URL": "localhost:6379"}
    res = subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run"],
        input="", capture_output=True, text=True, timeout=30, env=env, cwd=ROOT,
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "NEWSBOT_REDIS_URL" in res.stderr


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = await FeedServer().start()
    yield server
    await server.stop()


async def test_a_feed_item_appears_in_the_console_as_a_post(
        redis: aioredis.Redis, feeds: FeedServer) -> None:
    """A page served on 127.0.0.1 and added as a feed: a matching new item is posted."""
    feed = Feed("Local news", "rss")
    feed.entries.append(feeds.entry("/a1", 1, time.time() - 3600))
    feeds.feeds["/feed.xml"] = feed
    out = io.StringIO()
    settings = pipeline_settings()
    bot = Newsbot(settings, redis=redis, http=False, block_ms=100)
    console = ConsoleAdapter(settings, bot, stdin=io.StringIO(""),
                             console=Console(file=out, width=100), interactive=False)
    bot.register_adapter(console)
    async with bot:
        now = [time.time()]
        poller = FeedPoller(bot.feed_store, bot.fetcher, bot.ingest, settings,
                            clock=lambda: now[0])
        reply = await console.execute(f"/news feed add {feeds.url('/feed.xml')}")
        assert reply.ok, reply.text
        await console.execute("/news subscribe syria")
        feed.entries.insert(0, feeds.entry("/a2", 2, time.time()))
        now[0] += 3600
        await poller.poll_due()
        await drained(redis, ("console",))
    text = out.getvalue()
    assert "News about Syria 2" in text
    assert "News about Syria 1" not in text  # the first poll only records what is there
    # The feed's channel and the subscription are the same channel: one post.
    assert text.count("[bot → #terminal] new article") == 1


async def test_an_updated_article_is_shown_again_marked_updated(
        redis: aioredis.Redis, feeds: FeedServer) -> None:
    """The console cannot change what it printed: an edit prints the card again."""
    out = io.StringIO()
    settings = pipeline_settings()
    bot = Newsbot(settings, redis=redis, http=False, block_ms=100)
    console = ConsoleAdapter(settings, bot, stdin=io.StringIO(""),
                             console=Console(file=out, width=100), interactive=False)
    bot.register_adapter(console)
    url = feeds.article("/s1", 1)
    async with bot:
        await console.execute("/news subscribe syria")
        await bot.ingest.submit(url)
        await drained(redis, ("console",))
        feeds.pages["/s1"] = article_html("Syria ceasefire collapses overnight", story(1, "Syria"))
        await bot.ingest.submit(url)
        await drained(redis, ("console",))
    text = out.getvalue()
    assert text.count("[bot → #terminal] new article") == 1
    assert text.count("[bot → #terminal] updated article") == 1
    assert "Syria ceasefire collapses overnight" in text


async def test_dashboard_in_the_console_prints_a_sign_in_link(
        redis: aioredis.Redis, tmp_path: Path) -> None:
    out = io.StringIO()
    settings = pipeline_settings(data_dir=tmp_path, public_url="https://news.example.org/")
    bot = Newsbot(settings, redis=redis, block_ms=100)
    console = ConsoleAdapter(settings, bot, stdin=io.StringIO(""),
                             console=Console(file=out, width=300), interactive=False)
    bot.register_adapter(console)
    async with bot:
        reply = await console.execute("/news dashboard")
    assert reply.ok and reply.ephemeral
    assert re.search(r"https://news\.example\.org/admin/login\?t=[\w-]{40,}", out.getvalue())


async def test_dashboard_without_the_http_server_says_so(redis: aioredis.Redis) -> None:
    bot = Newsbot(pipeline_settings(), redis=redis, http=False, block_ms=100)
    async with bot:
        reply = await bot.handle(Request("console:local", "you", "terminal", True,
                                         text="dashboard"))
    assert not reply.ok and "not available" in reply.text


# --- on a terminal: prompt_toolkit -----------------------------------------------------


class Terminal:
    """``newsbot run`` on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, tmp_path: Path, **env_extra: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        # 40 rows of 120 columns, so no line of the test wraps
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = _env(tmp_path) | {"TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1",
                                "COLUMNS": "100", "LINES": "40"} | env_extra
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], stdin=slave, stdout=slave,
            stderr=slave, env=env, cwd=ROOT, start_new_session=True)
        os.close(slave)
        self.raw = ""

    @property
    def screen(self) -> str:
        """What was written, without the terminal's control sequences."""
        return re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[=>])", "", self.raw)

    def read_until(self, text: str, after: int = 0) -> None:
        """Collect output until ``text`` shows (past position ``after``)."""
        import select

        deadline = time.monotonic() + 60
        while text not in self.screen[after:]:
            assert time.monotonic() < deadline, f"no {text!r} in {self.screen[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.raw += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break

    def type(self, keys: str) -> int:
        mark = len(self.screen)
        os.write(self.master, keys.encode())
        return mark

    def close(self) -> None:
        # SIGTERM first: a SIGKILLed bot would leave its embedded Valkey running.
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        os.close(self.master)


def test_the_terminal_prompt_edits_recalls_and_lists_quit(tmp_path: Path) -> None:
    term = Terminal(tmp_path)
    try:
        term.read_until("news>")
        assert f"data in {tmp_path / 'data'}" in term.screen
        mark = term.type("subscribe syriaa\x7f dm\r")  # a typo fixed with backspace
        term.read_until("Subscribed: news about “syria”", mark)
        mark = term.type("help\r")
        term.read_until("quit", mark)
        assert "unsubscribe #ID" in term.screen[mark:]
        # Keys typed before the prompt is back are echoed by the terminal itself: wait.
        term.read_until("news>", term.screen.index("quit", mark))
        # Up twice recalls the subscribe line from history; edit it into an unsubscribe.
        mark = term.type("\x1b[A\x1b[A")
        term.read_until("subscribe syria dm", mark)
        mark = term.type("\x01un\x05\x7f\x7f\x7f\r")  # Ctrl-A: "un" first; Ctrl-E: drop " dm"
        term.read_until("Unsubscribed", mark)
        assert "^[[A" not in term.screen
        term.type("quit\r")
        assert term.proc.wait(timeout=60) == 0
    finally:
        term.close()
    # The history is kept in the data dir for the next session.
    assert "subscribe syria dm" in (tmp_path / "data" / "console_history").read_text()


def test_a_post_arriving_while_the_prompt_waits_is_printed_above_it(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.fakes import article_html, story

    page = article_html("Syria talks resume", story(5, "Syria")).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    term = Terminal(tmp_path, NEWSBOT_FETCH_ALLOW_HOSTS="127.0.0.1")
    try:
        term.read_until("news>")
        mark = term.type("subscribe syria dm\r")
        term.read_until("Subscribed", mark)
        term.read_until("news>", term.screen.index("Subscribed", mark))
        mark = term.type(f"summarize http://127.0.0.1:{server.server_port}/a1\r")
        # The card answers at once; the post to the DM subscriber comes later, from the
        # pipeline, while the prompt waits: it is printed above a prompt drawn again.
        term.read_until("new article (matched: syria)", mark)
        post = term.screen.index("new article (matched: syria)", mark)
        term.read_until("news>", post)
        term.type("quit\r")
        assert term.proc.wait(timeout=60) == 0
    finally:
        term.close()
        server.shutdown()


def test_sigterm_at_the_terminal_prompt_stops_the_bot(tmp_path: Path) -> None:
    term = Terminal(tmp_path)
    try:
        term.read_until("news>")
        term.proc.send_signal(signal.SIGTERM)
        assert term.proc.wait(timeout=60) == 0
        term.read_until("")  # drain
    finally:
        term.close()
    assert "Traceback" not in term.screen
