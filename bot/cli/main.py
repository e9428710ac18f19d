"""The ``newsbot`` command: builds the settings once, then dispatches to a subcommand."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from bot.errors import NewsbotError
from bot.settings import Settings, load_settings

from .logs import configure_logging

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand module registers its own subparser."""
    from bot.cli import match, run, summarize, worker

    parser = argparse.ArgumentParser(prog="newsbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run.add_parser(sub)
    summarize.add_parser(sub)
    match.add_parser(sub)
    worker.add_parser(sub)
    _add_discord_parser(sub)
    return parser


def _add_discord_parser(subparsers: Any) -> None:
    """``newsbot discord invite``; the adapter is imported only when the command runs."""
    parser = subparsers.add_parser("discord", help="Discord helpers")
    commands = parser.add_subparsers(dest="discord_command", required=True)
    invite = commands.add_parser(
        "invite", help="print the OAuth2 URL that adds the bot with the permissions it needs"
    )
    invite.add_argument("--application-id", type=int, default=None,
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
        result: int = args.func(args, settings)
        return result
    except NewsbotError as exc:
        print(f"newsbot: {exc.user_message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
