"""newsbot worker: run only pipeline workers (fetch, parse, dedupe, match) until stopped.

SIGTERM or SIGINT stops reading, lets the links in progress finish for a few seconds and
leaves the rest pending for another worker; the process exits 0 without a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bot.chat import Adapter
from bot.redis_server import describe_data
from bot.service import Newsbot
from bot.settings import Settings

from .args import STOP_SIGNALS, positive_int, subcommand

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Register the ``worker`` subcommand."""
    parser = subcommand(
        subparsers, "worker", __doc__, help="run pipeline workers until SIGTERM/SIGINT",
        examples=["newsbot worker                 # NEWSBOT_WORKERS consumers",
                  "newsbot worker --workers 4 --http"],
    )
    parser.add_argument(
        "--workers", type=positive_int, default=None, metavar="N",
        help="worker consumers, at least 1 (default: NEWSBOT_WORKERS)"
    )
    parser.add_argument(
        "--http", action="store_true",
        help="also serve /healthz and /metrics (NEWSBOT_HTTP_HOST:NEWSBOT_HTTP_PORT), "
             "e.g. for a container health check"
    )
    parser.set_defaults(func=run)


async def serve(
    settings: Settings,
    *,
    workers: int | None = None,
    adapters: Sequence[Adapter] = (),
    http: bool = False,
    ready: Callable[[Newsbot], None] | None = None,
) -> int:
    """Run the bot's pipeline (and senders for ``adapters``) until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        bot = Newsbot(settings, workers=workers, http=http)
        log.info("%s", describe_data(settings))
        for adapter in adapters:
            bot.register_adapter(adapter)
        async with bot:
            count = len(bot.workers)
            log.info("pipeline running: %d worker%s, senders for %s%s", count,
                     "" if count == 1 else "s", ", ".join(bot.senders) or "no platform",
                     f"; HTTP on {bot.http.url}" if bot.http is not None else "")
            if ready is not None:
                ready(bot)
            await stop.wait()
            log.info("stopping: finishing the work in progress")
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry of ``newsbot worker``."""
    return asyncio.run(serve(settings, workers=args.workers, http=args.http))
