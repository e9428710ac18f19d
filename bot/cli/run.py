"""newsbot run: everything the environment enables, in one asyncio process.

The HTTP server (ingest, health, metrics, Slack's HTTP mode), the pipeline workers, the
feed poller, the digest scheduler, and an adapter for each platform whose token is set:
Discord (NEWSBOT_DISCORD_TOKEN), Slack (NEWSBOT_SLACK_BOT_TOKEN). With neither, the
console adapter turns this terminal (or a pipe of commands) into one channel; with
neither and no input at all (a container: stdin is /dev/null), or with --no-console,
the bot runs headless (HTTP API, feeds, workers) and says once which tokens to set.
SIGTERM or SIGINT shuts down cleanly: work in progress finishes or is left pending for
another process, the embedded Valkey server stops.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import stat
import sys
from typing import TYPE_CHECKING, Any

from bot.chat import Adapter
from bot.redis_server import describe_data
from bot.service import Newsbot
from bot.settings import Settings

from .args import STOP_SIGNALS, subcommand

if TYPE_CHECKING:
    from adapters.console import ConsoleAdapter

log = logging.getLogger(__name__)

#: SIGTERM ends the process within 5 s: work in progress gets this long to finish (the
#: rest is left pending for another process); the remainder of the 5 s is for
#: disconnecting the platforms and stopping the embedded Valkey.
SHUTDOWN_GRACE_S = 3.0


def add_parser(subparsers: Any) -> None:
    """Register the ``run`` subcommand."""
    parser = subcommand(
        subparsers, "run", __doc__, help="run the bot (console when no chat token is set)",
        examples=["newsbot run                          # console, or the platforms in .env",
                  "printf '/news list\\n' | newsbot run  # commands from a pipe",
                  "newsbot run --no-console             # headless: HTTP API, feeds, workers"],
    )
    parser.add_argument(
        "--console", action=argparse.BooleanOptionalAction, default=None,
        help="the console adapter when no chat token is set (default: unless stdin is "
             "/dev/null or closed, as in a container)")
    parser.set_defaults(func=run)


def chat_adapters(settings: Settings, core: Newsbot) -> list[Adapter]:
    """The adapters the settings enable; platform libraries are imported only if needed."""
    adapters: list[Adapter] = []
    if settings.discord_token is not None:
        from adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(settings, core))
    if settings.slack_bot_token is not None:
        from adapters.slack import SlackAdapter

        adapters.append(SlackAdapter(settings, core))
    return adapters


HEADLESS_HINT = (
    "no chat platform token is set: running headless (HTTP API, feeds, workers). "
    "To chat, set NEWSBOT_DISCORD_TOKEN, or NEWSBOT_SLACK_BOT_TOKEN with "
    "NEWSBOT_SLACK_APP_TOKEN (Socket Mode) or NEWSBOT_SLACK_SIGNING_SECRET (HTTP mode); "
    "NEWSBOT_INGEST_TOKEN turns on POST /v1/links"
)


def stdin_is_absent() -> bool:
    """True when there is no input to read: stdin closed, or the null device (a container
    started without ``-i``, a service manager)."""
    if sys.stdin is None or sys.stdin.closed:
        return True
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
        if not stat.S_ISCHR(mode) or sys.stdin.isatty():
            return False
        return os.fstat(sys.stdin.fileno()).st_rdev == os.stat(os.devnull).st_rdev
    except (OSError, ValueError):
        return True


async def serve(settings: Settings, *, console_wanted: bool | None = None) -> int:
    """Run until a signal, or until the console's input ends."""
    bot = Newsbot(settings)
    adapters = chat_adapters(settings, bot)
    console: ConsoleAdapter | None = None
    headless = not adapters and (
        console_wanted is False or (console_wanted is None and stdin_is_absent()))
    if headless:
        log.warning(HEADLESS_HINT)
    elif not adapters:
        from adapters.console import ConsoleAdapter

        console = ConsoleAdapter(settings, bot, history=settings.data_dir / "console_history")
        adapters.append(console)
        if console.interactive:
            # Log lines would interleave with the conversation; warnings still show.
            root = logging.getLogger()
            root.setLevel(max(root.level, logging.WARNING))
    for adapter in adapters:
        bot.register_adapter(adapter)
    log.info("%s", describe_data(settings))

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await bot.start()  # closes what it opened if it fails
        try:
            names = ", ".join(a.platform for a in adapters) or "headless"
            where = f" on {bot.http.url}" if bot.http is not None else ""
            log.info("newsbot running: %s; HTTP%s", names, where)
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
            if console is not None:
                waiters.append(asyncio.ensure_future(console.run_input()))
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in done:
                task.result()  # an error in the console loop is not swallowed
            log.info("stopping: finishing the work in progress")
        finally:
            await bot.close(grace_s=SHUTDOWN_GRACE_S)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry of ``newsbot run``."""
    return asyncio.run(serve(settings, console_wanted=args.console))
