"""What the core expects of a chat platform adapter, and the neutral things it hands over.

The core never imports a platform library. It holds adapters by composition, through
this protocol: an adapter turns a ``Post`` into a Discord embed, Slack blocks or console
text, and reports failures with the ``PostError`` subclasses below so the delivery engine
can tell "try again later" from "this destination is gone".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aiohttp import web

from .card import Card
from .commands import Reply, Request
from .errors import NewsbotError
from .subscriptions import Destination


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


class PostError(NewsbotError):
    """A post could not be delivered."""


class RateLimitedError(PostError):
    """The platform said slow down; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientPostError(PostError):
    """A 5xx, a timeout or a dropped connection: retry with backoff."""


class DestinationGoneError(PostError):
    """The channel was deleted, the bot removed or DMs closed: stop posting there."""

    def __init__(self, destination: Destination, reason: str) -> None:
        super().__init__(f"{destination} can no longer be reached: {reason}")
        self.destination = destination
        self.reason = reason


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
