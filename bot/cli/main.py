"""newsbot: news links become summary cards, posted to topic subscribers.

Settings come from NEWSBOT_* environment variables or a .env file (see .env.example);
a bad one stops the command with one line and exit status 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.errors import NewsbotError
from bot.settings import Settings, load_settings

from .args import positive_int
from .logs import configure_logging, quiet_libraries

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand module registers its own subparser."""
    from bot.cli import backup, match, run, summarize, worker

    parser = argparse.ArgumentParser(
        prog="newsbot", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  newsbot run                                  # the bot (console without tokens)\n"
               "  newsbot summarize https://example.com/story  # one summary card\n"
               "  newsbot summarize --json a.html b.html       # JSON lines\n"
               "  newsbot match page.html syria '\"vladimir putin\"'\n"
               "  newsbot worker --workers 4                   # more pipeline workers\n"
               "  newsbot backup newsbot.backup                # subscriptions, feeds, state\n"
               "\n'newsbot COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.add_parser(sub)
    summarize.add_parser(sub)
    match.add_parser(sub)
    worker.add_parser(sub)
    backup.add_parser(sub)
    _add_discord_parser(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _add_discord_parser(subparsers: Any) -> None:
    """newsbot discord invite; the adapter is imported only when the command runs."""
    parser = subparsers.add_parser("discord", help="Discord helpers",
                                   description="Discord helpers.")
    commands = parser.add_subparsers(dest="discord_command", required=True)
    invite = commands.add_parser(
        "invite", help="print the OAuth2 URL that adds the bot with the permissions it needs",
        description="Print the OAuth2 URL that adds the bot with the permissions it needs.",
        epilog="example: newsbot discord invite --application-id 123456789012345678",
    )
    invite.add_argument("--application-id", type=positive_int, default=None, metavar="ID",
                        help="the application id (default: read from NEWSBOT_DISCORD_TOKEN)")
    invite.set_defaults(func=_discord_invite)


def _discord_invite(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord.invite import run

    return run(args.application_id, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsbot`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings)
        if getattr(args, "one_shot", False):
            quiet_libraries()
        result: int = args.func(args, settings)
        return result
    except NewsbotError as exc:
        print(f"newsbot: {exc.user_message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``newsbot summarize --json ... | head -1``): say so once.
        # Python would report the pipe again when flushing stdout at exit: point it at
        # /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("newsbot: the output was closed before everything was written",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
