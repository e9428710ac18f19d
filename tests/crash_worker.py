"""A bot process for the crash test and the bench: workers plus a sender to a fake platform.

``python -m tests.crash_worker PLATFORM_URL`` with ``NEWSBOT_REDIS_URL`` (and any other
``NEWSBOT_*``) in the environment; prints ``ready`` once consuming; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from bot.cli.worker import serve
from bot.service import Newsbot
from bot.settings import load_settings
from tests.fakes.platform import HttpAdapter
from tests.guarded_run import install_guard


def _ready(bot: Newsbot) -> None:
    print("ready", flush=True)


def main() -> int:
    """Run until SIGTERM; like every test process, it reaches nothing outside 127.0.0.1."""
    install_guard()
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    adapter = HttpAdapter("discord", sys.argv[1])
    return asyncio.run(serve(settings, adapters=[adapter], ready=_ready))


if __name__ == "__main__":
    sys.exit(main())
