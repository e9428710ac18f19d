"""The trailing clauses of ``feed add URL …``: how a channel wants one feed's posts.

``feed add URL ping @news format compact as "Le Monde" avatar https://…/logo.png``

A clause is a keyword and the words up to the next keyword. Each keyword has one reader in
``CLAUSES`` that checks its words and returns the options with that clause applied, so a
new clause is one more reader and one more field, beside the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.chat.contract import FORMATS, Persona, PostFormat, format_of, role_id
from bot.errors import CommandError

#: Discord's limit for a webhook's username
NAME_MAX = 80
AVATAR_MAX = 2048
#: words Discord refuses in a webhook's username (and ones that would look like a mention)
_BAD_NAME_PARTS = ("@", "#", ":", "```", "discord", "clyde")


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """One channel's options for one feed; None means "as the channel has it"."""

    ping: str | None = None
    format: PostFormat | None = None
    name: str | None = None
    avatar: str | None = None

    @property
    def empty(self) -> bool:
        """Whether no option is set."""
        return not any(asdict(self).values())

    @property
    def persona(self) -> Persona | None:
        """The display name and avatar posts of this feed appear under (None: the bot's)."""
        return Persona(self.name, self.avatar) if self.name else None

    def to_json(self) -> str:
        """Stored form: only the options set."""
        return json.dumps({k: v for k, v in asdict(self).items() if v},
                          separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> FeedOptions:
        """Inverse of ``to_json``; anything unreadable is no options."""
        try:
            data: Any = json.loads(text) if text else {}
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        ping = data.get("ping")
        fmt = data.get("format")
        return cls(
            ping=str(ping) if ping and role_id(str(ping)) == str(ping) else None,
            format=format_of(fmt) if fmt in FORMATS else None,
            name=str(data["name"])[:NAME_MAX] if data.get("name") else None,
            avatar=str(data["avatar"]) if data.get("avatar") else None,
        )

    def describe(self) -> str:
        """The options as a person types them (for ``feed list``), or ""."""
        parts: list[str] = []
        if self.ping:
            parts.append(f"ping {self.ping}")
        if self.format:
            parts.append(f"format {self.format}")
        if self.name:
            parts.append(f'as "{self.name}"')
        if self.avatar:
            parts.append(f"avatar {self.avatar}")
        return " ".join(parts)


def _one(keyword: str, words: Sequence[str]) -> str:
    if len(words) != 1:
        raise CommandError(f"`{keyword}` takes one value, e.g. {EXAMPLES[keyword]}.")
    return words[0]


def _ping(options: FeedOptions, words: Sequence[str]) -> FeedOptions:
    ident = role_id(_one("ping", words))
    if ident is None:
        raise CommandError("`ping` needs a role or user group, e.g. `ping @news` "
                           "(never @everyone, @here or a person).")
    return replace(options, ping=ident)


def _format(options: FeedOptions, words: Sequence[str]) -> FeedOptions:
    value = _one("format", words).casefold()
    if value not in FORMATS:
        raise CommandError("Formats are `full`, `compact` and `headline`.")
    return replace(options, format=format_of(value))


def unquote(text: str) -> str:
    """A quoted value without its quotes (``"Le Monde"`` → ``Le Monde``)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def _name(options: FeedOptions, words: Sequence[str]) -> FeedOptions:
    name = unquote(" ".join(words))
    folded = name.casefold()
    if not name or len(name) > NAME_MAX or any(p in folded for p in _BAD_NAME_PARTS):
        raise CommandError(f'`as` takes a display name of 1 to {NAME_MAX} characters, e.g. '
                           '`as "World news"` (without @, #, : or the word Discord).')
    return replace(options, name=name)


def _avatar(options: FeedOptions, words: Sequence[str]) -> FeedOptions:
    url = unquote(_one("avatar", words)).strip("<>")
    if not url.casefold().startswith("https://") or len(url) > AVATAR_MAX or " " in url:
        raise CommandError("`avatar` takes an https:// link to an image.")
    return replace(options, avatar=url)


Clause = Callable[[FeedOptions, Sequence[str]], FeedOptions]

#: keyword → reader of its words; a new clause of ``feed add`` is one more entry
CLAUSES: dict[str, Clause] = {
    "ping": _ping,
    "format": _format,
    "as": _name,
    "avatar": _avatar,
}

EXAMPLES: dict[str, str] = {
    "ping": "`ping @news`",
    "format": "`format compact`",
    "as": '`as "World news"`',
    "avatar": "`avatar https://example.org/logo.png`",
}


def split_clauses(
    words: Sequence[str], keywords: Mapping[str, object]
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """``[url, "ping", "@x", "format", "compact"]`` → ``([url], [("ping", ["@x"]), …])``.

    The words before the first keyword are the head; each keyword takes the words up to
    the next one. A keyword given twice is refused.
    """
    head: list[str] = []
    clauses: list[tuple[str, list[str]]] = []
    for word in words:
        low = word.casefold()
        if low in keywords:
            if any(name == low for name, _ in clauses):
                raise CommandError(f"`{low}` is given twice.")
            clauses.append((low, []))
        elif clauses:
            clauses[-1][1].append(word)
        else:
            head.append(word)
    return head, clauses


def parse_feed_add(words: Sequence[str]) -> tuple[str, FeedOptions]:
    """The URL and the options of ``feed add URL [clauses…]`` (the words after ``add``)."""
    head, clauses = split_clauses(words, CLAUSES)
    if len(head) != 1:
        raise CommandError("Use `feed add URL`, optionally followed by "
                           + ", ".join(EXAMPLES.values()) + ".")
    options = FeedOptions()
    for keyword, values in clauses:
        options = CLAUSES[keyword](options, values)
    return head[0], options
