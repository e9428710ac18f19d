"""Text helpers shared by the Discord modules: truncation, mentions and markdown."""

from __future__ import annotations

import re

import discord

ELLIPSIS = "…"
#: every post and reply goes out with this: an article saying "@everyone" pings nobody
NO_MENTIONS = discord.AllowedMentions.none()

_MENTION_RE = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def neutralise(text: str) -> str:
    """Break ``@everyone``, ``@here`` and ``<@id>`` so they read the same but never ping."""

    def fix(m: re.Match[str]) -> str:
        if m.group(1):
            return "@\u200b" + m.group(1)
        return f"<{m.group(2)}\u200b{m.group(3)}>"

    return _MENTION_RE.sub(fix, text)


def plain(text: str) -> str:
    """Article text made inert in markdown: ``[x](https://…)`` shows as typed, never as a
    masked link, and ``*``, ``_``, ``#``… show as themselves. Bare URLs stay clickable."""
    return discord.utils.escape_markdown(text)
