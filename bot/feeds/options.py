"""The trailing clauses of ``feed add URL [CLAUSE ...]``: per channel options of a feed.

Grammar: after the URL come clauses, each a keyword and its value, in any order::

    feed add https://example.org/rss ping @news format compact as "World desk" avatar https://…
    feed add https://example.org/rss only "climate change" -opinion backfill 3

A clause takes a fixed number of words (``format compact``; a quoted name is one word), or
every word up to the next clause keyword (an arity of None: ``only``, whose topic expression
may be several words; a keyword inside it is quoted to stay a word of it).

To add a clause: one row in ``CLAUSES``, one field in ``FeedOptions`` and its reading in
``FeedOptions.from_clauses``; ``stored`` says which options are kept for the channel
(a backfill happens once, at ``feed add``, and is not kept).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.chat.contract import (
    FORMATS,
    Persona,
    PostFormat,
    format_of,
    role_id,
    split_args,
)
from bot.errors import CommandError, TopicError
from bot.subscriptions import parse_topic

#: clause keyword -> words it takes (None: every word up to the next keyword)
CLAUSES: dict[str, int | None] = {
    "ping": 1,
    "format": 1,
    "as": 1,
    "avatar": 1,
    "only": None,
    "backfill": 1,
}

#: most items ``backfill N`` posts at once
MAX_BACKFILL = 20

#: Discord's limit for a webhook's username
NAME_MAX = 80
AVATAR_MAX = 2048
#: words Discord refuses in a webhook's username (and ones that would look like a mention)
_BAD_NAME_PARTS = ("@", "#", ":", "```", "discord", "clyde")


def split_clauses(words: Sequence[str]) -> dict[str, str]:
    """``['ping', '@x', 'as', '"A B"']`` -> ``{'ping': '@x', 'as': '"A B"'}``."""
    found: dict[str, str] = {}
    i = 0
    while i < len(words):
        keyword = words[i].casefold()
        if keyword not in CLAUSES:
            raise CommandError(
                f"I don't know the feed option `{words[i]}`. "
                f"Options: {', '.join(f'`{k}`' for k in CLAUSES)}.")
        if keyword in found:
            raise CommandError(f"`{keyword}` is given twice.")
        arity = CLAUSES[keyword]
        j = i + 1
        if arity is None:
            while j < len(words) and words[j].casefold() not in CLAUSES:
                j += 1
        else:
            j = min(len(words), i + 1 + arity)
        value = words[i + 1 : j]
        if not value or (arity is not None and len(value) < arity):
            raise CommandError(f"`{keyword}` needs a value (`feed add URL {keyword} …`).")
        found[keyword] = " ".join(value)
        i = j
    return found


def unquote(text: str) -> str:
    """A quoted value without its quotes (``"Le Monde"`` → ``Le Monde``)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def _ping(raw: str) -> str:
    ident = role_id(raw)
    if ident is None:
        raise CommandError("`ping` needs a role or user group, e.g. `ping @news` "
                           "(never @everyone, @here or a person).")
    return ident


def _name(raw: str) -> str:
    name = unquote(raw)
    folded = name.casefold()
    if not name or len(name) > NAME_MAX or any(p in folded for p in _BAD_NAME_PARTS):
        raise CommandError(f'`as` takes a display name of 1 to {NAME_MAX} characters, e.g. '
                           '`as "World news"` (without @, #, : or the word Discord).')
    return name


def _avatar(raw: str) -> str:
    url = unquote(raw).strip("<>")
    if not url.casefold().startswith("https://") or len(url) > AVATAR_MAX or " " in url:
        raise CommandError("`avatar` takes an https:// link to an image.")
    return url


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """What a channel asked of a feed: a role to ping, a format, a persona, a topic filter,
    a first backfill."""

    #: the role (Discord) or user group (Slack) each of its posts pings
    ping: str | None = None
    #: how its cards look in this channel (None: as the channel has it)
    format: PostFormat | None = None
    #: the name and avatar its posts appear under (Discord webhooks)
    name: str | None = None
    avatar: str | None = None
    #: a topic expression (subscription grammar) the items must match ("" = every item)
    only: str = ""
    #: items posted at once when the feed is added (0: the first poll stays silent)
    backfill: int = 0

    @classmethod
    def from_clauses(cls, clauses: Mapping[str, str]) -> FeedOptions:
        """Check and read the clauses (``CommandError`` with the reason)."""
        options = cls()
        if "ping" in clauses:
            options = replace(options, ping=_ping(clauses["ping"]))
        if "format" in clauses:
            value = clauses["format"].casefold()
            if value not in FORMATS:
                raise CommandError("Formats are `full`, `compact` and `headline`.")
            options = replace(options, format=format_of(value))
        if "as" in clauses:
            options = replace(options, name=_name(clauses["as"]))
        if "avatar" in clauses:
            options = replace(options, avatar=_avatar(clauses["avatar"]))
        if "only" in clauses:
            parsed = parse_topic(clauses["only"])  # same grammar and checks as subscribe
            options = replace(options, only=parsed.text)
        if "backfill" in clauses:
            raw = clauses["backfill"]
            if not raw.isdigit() or int(raw) > MAX_BACKFILL:
                raise CommandError(
                    f"`backfill` takes a number of articles from 0 to {MAX_BACKFILL}.")
            options = replace(options, backfill=int(raw))
        return options

    @property
    def persona(self) -> Persona | None:
        """The display name and avatar posts of this feed appear under (None: the bot's)."""
        return Persona(self.name, self.avatar) if self.name else None

    def stored(self) -> dict[str, Any]:
        """The options kept for the channel (JSON-ready; empty: none)."""
        return {k: v for k, v in (("ping", self.ping), ("format", self.format),
                                  ("name", self.name), ("avatar", self.avatar),
                                  ("only", self.only)) if v}

    @classmethod
    def from_stored(cls, raw: str | None) -> FeedOptions:
        """Inverse of ``stored`` (JSON text; unknown or bad fields are ignored)."""
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        ping, fmt, name, avatar, only = (
            data.get(k) for k in ("ping", "format", "name", "avatar", "only"))
        return cls(
            ping=ping if isinstance(ping, str) and role_id(ping) == ping else None,
            format=format_of(fmt) if fmt in FORMATS else None,
            name=name[:NAME_MAX] if isinstance(name, str) and name else None,
            avatar=avatar if isinstance(avatar, str) and avatar else None,
            only=only if isinstance(only, str) else "",
        )

    def describe(self) -> str:
        """The kept options as in the command (``ping 42 format compact``), for ``feed list``."""
        parts: list[str] = []
        if self.ping:
            parts.append(f"ping {self.ping}")
        if self.format:
            parts.append(f"format {self.format}")
        if self.name:
            parts.append(f'as "{self.name}"')
        if self.avatar:
            parts.append(f"avatar {self.avatar}")
        if self.only:
            parts.append(f"only {self.only}")
        return " ".join(parts)


def parse_feed_add(words: Sequence[str]) -> tuple[str, FeedOptions]:
    """``feed add`` words (one word may hold them all) -> URL, options."""
    flat = split_args(" ".join(words))
    if not flat:
        raise CommandError("Use `feed add URL` (then options: `ping @role`, `format compact`, "
                           '`as "Name"`, `avatar URL`, `only TOPIC`, `backfill N`).')
    url = flat[0].strip("<>").partition("|")[0]  # Slack sends links as <url|label>
    try:
        return url, FeedOptions.from_clauses(split_clauses(flat[1:]))
    except TopicError as exc:
        raise CommandError(f"The `only` filter: {exc.user_message}") from None
