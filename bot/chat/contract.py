"""What the core expects of a chat platform adapter, and the neutral things it hands over.

The core never imports a platform library. It holds adapters by composition, through
this protocol: an adapter turns a ``Post`` into a Discord embed, Slack blocks or console
text, and reports failures with the ``PostError`` subclasses below so the delivery engine
can tell "try again later" from "this destination is gone".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol, cast, runtime_checkable

from aiohttp import web

from bot.card import Card
from bot.errors import NewsbotError, StoreError

Mode = Literal["instant", "hourly", "daily"]
MODES: tuple[Mode, ...] = ("instant", "hourly", "daily")
DestinationKind = Literal["channel", "dm"]
#: how a card is shown: the whole card, one line (headline, site, date, link), or the headline
PostFormat = Literal["full", "compact", "headline"]
FORMATS: tuple[PostFormat, ...] = ("full", "compact", "headline")

#: a role (Discord, digits) or user group (Slack, ``S…``) id as the core stores it
_ROLE_ID = re.compile(r"\d{1,32}|S[A-Z0-9]{2,31}")
#: the ways a role is typed: Discord ``<@&123>``, Slack ``<!subteam^S123|@news>``, a bare id
_ROLE_MENTION = re.compile(r"<@&(\d{1,32})>|<!subteam\^(S[A-Z0-9]{2,31})(?:\|[^>]*)?>")


def role_id(text: str) -> str | None:
    """The id of the role or user group ``text`` names (a mention or a bare id), else None.

    ``@everyone``, ``@here``, ``<!channel>`` and user mentions are no role: None.
    """
    text = text.strip()
    m = _ROLE_MENTION.fullmatch(text)
    if m:
        return m.group(1) or m.group(2)
    return text if _ROLE_ID.fullmatch(text) else None


def pings_everyone(tenant: str, role: str) -> bool:
    """Whether ``role`` is the tenant's everyone role (on Discord its id is the guild's)."""
    return role == tenant.partition(":")[2]


def is_role_id(value: str) -> bool:
    """Whether ``value`` is safe to put into a platform's mention markup (ids only)."""
    return bool(_ROLE_ID.fullmatch(value))


def format_of(value: str | None) -> PostFormat:
    """A stored format name, ``full`` for anything unknown."""
    for name in FORMATS:
        if value == name:
            return name
    return "full"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where matches go: a channel of the tenant, or a user's DMs."""

    tenant: str
    kind: DestinationKind
    id: str

    @property
    def key(self) -> str:
        """The tenant-local string form (``channel:C1``, ``dm:U1``) used in Redis."""
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, tenant: str, key: str) -> Destination:
        """Inverse of ``key``."""
        kind, _, ident = key.partition(":")
        if kind not in ("channel", "dm") or not ident:
            raise StoreError(f"Bad destination {key!r} in tenant {tenant}.")
        return cls(tenant, cast(DestinationKind, kind), ident)

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form (the delivery engine passes it through Redis)."""
        return {"tenant": self.tenant, "kind": self.kind, "id": self.id}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Destination:
        """Inverse of ``to_dict``."""
        return cls.parse(data["tenant"], f"{data['kind']}:{data['id']}")

    def __str__(self) -> str:
        return f"{self.tenant}/{self.key}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription; times are Unix seconds."""

    id: str
    tenant: str
    owner: str
    destination: Destination
    expression: str
    mode: Mode = "instant"
    muted_until: float | None = None
    created_at: float = 0.0
    disabled: bool = False
    #: the role (Discord) or user group (Slack) each post of it pings; set by managers only
    ping: str | None = None

    def is_muted(self, now: float) -> bool:
        """Whether the subscription is muted at ``now``."""
        return self.muted_until is not None and now < self.muted_until

    def to_fields(self) -> dict[str, str]:
        """The Redis hash fields."""
        fields = {
            "id": self.id,
            "tenant": self.tenant,
            "owner": self.owner,
            "dest": self.destination.key,
            "expr": self.expression,
            "mode": self.mode,
            "created_at": repr(self.created_at),
        }
        if self.muted_until is not None:
            fields["muted_until"] = repr(self.muted_until)
        if self.disabled:
            fields["disabled"] = "1"
        if self.ping:
            fields["ping"] = self.ping
        return fields

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Subscription:
        """Rebuild from a Redis hash."""
        tenant = fields["tenant"]
        muted = fields.get("muted_until")
        mode = fields.get("mode", "instant")
        return cls(
            id=fields["id"],
            tenant=tenant,
            owner=fields["owner"],
            destination=Destination.parse(tenant, fields["dest"]),
            expression=fields["expr"],
            mode=mode if mode in MODES else "instant",
            muted_until=float(muted) if muted else None,
            created_at=float(fields.get("created_at") or 0.0),
            disabled=fields.get("disabled") == "1",
            ping=fields.get("ping") or None,
        )



@dataclass(frozen=True, slots=True)
class Request:
    """A command as any platform delivers it; ``channel`` is None in a DM or console."""

    tenant: str
    user: str
    channel: str | None
    can_manage: bool
    args: tuple[str, ...] = ()
    text: str = ""
    #: the user's role ids (Discord) or user group ids (Slack): a managers role grants rights
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer; ``ephemeral`` replies are shown only to the person who asked."""

    text: str
    ephemeral: bool = True
    ok: bool = True
    subscriptions: tuple[Subscription, ...] = ()
    card: Card | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionRef:
    """A subscription behind a post, for "Unsubscribe <topic>" and "Mute 24 h" buttons."""

    id: str
    expression: str
    owner: str


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One line of a digest: a headline, its link and why it matched."""

    headline: str
    link: str | None
    site: str | None
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Persona:
    """The name (and avatar) a feed's posts appear under, where the platform allows it."""

    name: str
    avatar: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """One message for one destination: a card (with why it was sent), a digest or a note.

    ``key`` is the idempotency key (article + destination); an adapter may pass it to the
    platform as a nonce so that even a retried HTTP request is not posted twice.
    """

    destination: Destination
    key: str
    card: Card | None = None
    matched: tuple[str, ...] = ()
    subscriptions: tuple[SubscriptionRef, ...] = ()
    digest: tuple[DigestItem, ...] = ()
    digest_title: str | None = None
    note: str | None = None
    also_reported_by: tuple[str, ...] = ()
    #: when the link came in, advanced by its fetch time (Unix s): the time of the post
    #: minus this is the latency the bot itself adds (metrics and benches; not rendered)
    ready_at: float | None = None
    #: the best matching subscription's score (why it was sent; shown in the panel)
    score: float = 0.0
    #: roles or user groups this post pings (ids, set by managers): nothing else is pinged
    pings: tuple[str, ...] = ()
    #: how the card is shown (``full``, ``compact``, ``headline``)
    format: PostFormat = "full"
    #: a feed's own display name and avatar (Discord webhooks); None: the bot's own
    persona: Persona | None = None
    #: an edit, not a post: the platform message id (from ``post``) to edit in place
    edit_of: str | None = None
    #: the article's version: above 0 the card changed since first posted ("updated")
    revision: int = 0


class PostError(NewsbotError):
    """A post could not be delivered."""


class RateLimitedError(PostError):
    """The platform said slow down; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientPostError(PostError):
    """A 5xx, a timeout or a dropped connection: retry with backoff."""


class MessageGoneError(PostError):
    """The message to edit is no longer there (deleted, or past the platform's reach)."""


class DestinationGoneError(PostError):
    """The channel was deleted, the bot removed or DMs closed: stop posting there."""

    def __init__(self, destination: Destination, reason: str) -> None:
        super().__init__(f"{destination} can no longer be reached: {reason}")
        self.destination = destination
        self.reason = reason


_failures: ContextVar[list[str] | None] = ContextVar("newsbot_post_failures", default=None)


def note_post_failure(cause: str) -> None:
    """Record a failure seen during ``Adapter.post`` that the platform's library retried
    by itself (an HTTP 500 discord.py answers with a retry): if the post then times out,
    its dead letter names this cause instead of only "timeout"."""
    noted = _failures.get()
    if noted is not None:
        noted.append(cause)


@contextmanager
def post_failures() -> Iterator[list[str]]:
    """Collect what ``note_post_failure`` records in this task while the block runs."""
    token = _failures.set([])
    try:
        noted = _failures.get()
        assert noted is not None
        yield noted
    finally:
        _failures.reset(token)


class CommandHandler(Protocol):
    """The core as an adapter sees it: neutral requests in, neutral replies out.

    Every ``/news`` subcommand, button press ("unsubscribe #12", "mute #12 24h") and
    link summary ("summarize URL": the reply carries the card) goes through here.
    """

    async def handle(self, request: Request) -> Reply:
        """Run one command for one user and return what to answer."""
        ...


@runtime_checkable
class HttpMountable(Protocol):
    """An adapter that serves routes on the bot's HTTP server (Slack's HTTP mode)."""

    def attach(self, app: web.Application) -> None:
        """Add the adapter's routes; called before the server starts."""
        ...


@runtime_checkable
class Adapter(Protocol):
    """A chat platform as the core sees it."""

    #: the tenant prefix this adapter serves: "discord", "slack" or "console"
    platform: str

    @property
    def connected(self) -> bool:
        """Whether the adapter is connected and able to post (for /healthz)."""
        ...

    async def start(self) -> None:
        """Connect and begin handling the platform's events; returns once running."""
        ...

    async def close(self) -> None:
        """Disconnect cleanly."""
        ...

    async def post(self, post: Post) -> str:
        """Deliver ``post`` and return the platform's message id; raise a PostError."""
        ...

    async def edit(self, post: Post, message_id: str) -> None:
        """Replace the message ``message_id`` (returned by ``post`` to the same destination)
        with ``post`` as rendered now; editing twice is harmless. Raise a PostError
        (``MessageGoneError`` if the message is gone)."""
        ...


@runtime_checkable
class PostFinder(Protocol):
    """An adapter that can look for a post it may already have made.

    For platforms that take no idempotency key (Slack): after a crash or a lost answer the
    delivery engine asks before posting again, so a post is made once per destination.
    """

    async def find_post(self, post: Post, since: float) -> str | None:
        """The message id of ``post`` if the platform shows it, posted at or after
        ``since`` (Unix s); None if it does not. Raise a PostError if it cannot tell."""
        ...


def split_args(text: str) -> list[str]:
    """Split on spaces outside double quotes, keeping the quotes (they mean phrases)."""
    text = text.replace("“", '"').replace("”", '"')
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch.isspace() and not quoted:
            if current:
                out.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        out.append("".join(current))
    return out
