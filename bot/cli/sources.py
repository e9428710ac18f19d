"""Where a page comes from on the command line: a URL, a local file or standard input."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from bot.errors import CommandError
from bot.fetch import Fetcher

LOCAL_SUFFIXES = (".html", ".htm", ".txt", ".xhtml")


@dataclass(frozen=True, slots=True)
class Source:
    """A page's content and the URL it came from, when known."""

    content: str | bytes
    url: str | None


def is_url(source: str) -> bool:
    """True for an http(s) link (anything else is taken as a local path)."""
    return source.startswith(("http://", "https://"))


def read_local(source: str) -> Source:
    """Read ``-`` (stdin) or a local file; a clear error when it can't be read."""
    if source == "-":
        return Source(sys.stdin.buffer.read(), None)
    try:
        with open(source, "rb") as handle:
            return Source(handle.read(), None)
    except OSError as exc:
        raise CommandError(f"Can't read {source}: {exc.strerror or exc}") from None


async def read_source(source: str, fetcher: Fetcher | None) -> Source:
    """The page for ``source``: fetched when it is a URL and a fetcher is given, else read."""
    if is_url(source):
        if fetcher is None:
            raise CommandError("Fetching links is not possible here.")
        page = await fetcher.fetch(source)
        return Source(page.text, page.url)
    return read_local(source)
