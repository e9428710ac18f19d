"""Argument types shared by the subcommands: refused values get argparse's one-line error."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

#: signals that stop the bot cleanly (SIGHUP: the terminal it ran in was closed)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--workers 0`` would run nothing, silently)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def http_url(text: str) -> str:
    """An absolute http(s) URL with a host."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL (e.g. https://example.com/news/story)")
    return text.strip()


def plain(doc: str | None) -> str:
    """A module docstring as help text: the reStructuredText literal marks removed."""
    return (doc or "").replace("``", "")


def subcommand(
    subparsers: Any, name: str, doc: str | None, *, help: str, examples: Sequence[str] = ()
) -> argparse.ArgumentParser:
    """Add a subcommand whose description is ``doc`` as written (line breaks kept) and
    whose epilog lists ``examples``."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) if examples else None
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, description=plain(doc), epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser
