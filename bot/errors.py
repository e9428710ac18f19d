"""One exception root for everything newsbot raises on purpose.

Every subclass carries the data that explains it and a short ``user_message``
that a chat user can read; adapters show that message and nothing else.
"""

from __future__ import annotations

from typing import Any


class NewsbotError(Exception):
    """Root of every error newsbot raises deliberately."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def user_message(self) -> str:
        """A one-line explanation fit to show the person who caused it."""
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole, whatever a subclass's __init__ takes: a ParseError raised in a
        # parse worker process arrives in the bot as itself, with its data.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[NewsbotError], args: tuple[Any, ...],
             state: dict[str, Any]) -> NewsbotError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(NewsbotError):
    """A setting has a bad value; the bot cannot start."""


class ParseError(NewsbotError):
    """The content could not be read as an article."""


class NotAnArticleError(ParseError):
    """The page is readable but is no article: a cookie wall, consent, login or error page.

    ``kind`` says which ("consent", "login" or "error"); such a page never becomes a card.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class ParseTimeoutError(ParseError):
    """Reading the page took longer than the parse deadline; its worker was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"That page is too complex to read in {seconds:g} s.")
        self.seconds = seconds


class ParseMemoryError(ParseError):
    """Reading the page needed more memory than a parse worker may use."""

    def __init__(self, limit_mb: int) -> None:
        super().__init__(f"That page is too complex to read within {limit_mb} MB of memory.")
        self.limit_mb = limit_mb


# --- fetching -------------------------------------------------------------------------


class FetchError(NewsbotError):
    """Fetching a URL failed; ``url`` is what was asked for."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class InvalidURLError(FetchError):
    """The text given is not an http(s) URL we can fetch."""


class BlockedAddressError(FetchError):
    """The URL resolves to a private, loopback or otherwise forbidden address."""

    def __init__(self, url: str, host: str, address: str) -> None:
        super().__init__(
            f"I won't fetch {host}: it points to a private or local address.", url
        )
        self.host = host
        self.address = address


class FetchTimeoutError(FetchError):
    """The server took too long to answer."""

    def __init__(self, url: str, seconds: float) -> None:
        super().__init__(f"That page took longer than {seconds:g} s to answer.", url)
        self.seconds = seconds


class TooLargeError(FetchError):
    """The body (after decompression) exceeded the size cap."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(
            f"That page is larger than {limit / 1_000_000:g} MB, too big to read.", url
        )
        self.limit = limit


class TooManyRedirectsError(FetchError):
    """Redirect loop or chain longer than allowed."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(f"That link redirects more than {limit} times (a loop?).", url)
        self.limit = limit


class UnsupportedContentError(FetchError):
    """The server sent something that is not a web page (PDF, image, ...)."""

    def __init__(self, url: str, content_type: str) -> None:
        shown = content_type or "unknown type"
        super().__init__(f"That link is not a web page ({shown}).", url)
        self.content_type = content_type


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"The site answered with an error (HTTP {status}).", url)
        self.status = status


class ConnectError(FetchError):
    """The host could not be resolved or reached."""


class ContentDecodeError(FetchError):
    """The body used an unknown or broken content encoding (compression)."""

    def __init__(self, url: str, encoding: str) -> None:
        super().__init__("I couldn't unpack that page (broken or unknown compression).", url)
        self.encoding = encoding


# --- subscriptions and commands --------------------------------------------------------


class TopicError(NewsbotError):
    """A topic expression is invalid; ``expression`` is what the user typed."""

    def __init__(self, message: str, expression: str) -> None:
        super().__init__(message)
        self.expression = expression


class LimitError(NewsbotError):
    """A per-user or per-channel cap was reached."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class PermissionDeniedError(NewsbotError):
    """The user may not do this here (for example manage a channel's subscriptions)."""


class CommandError(NewsbotError):
    """A command could not be understood or carried out."""


class StoreError(NewsbotError):
    """Redis could not be reached or answered unexpectedly."""


# --- feeds ----------------------------------------------------------------------------


class FeedError(NewsbotError):
    """A feed could not be read or found; ``url`` is the feed (or page) asked for."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class NoFeedFoundError(FeedError):
    """A web page was given instead of a feed, and it links to no RSS or Atom feed."""

    def __init__(self, url: str) -> None:
        super().__init__(
            "That page is not a feed and links to no RSS or Atom feed. "
            "Give me the feed's own link.",
            url,
        )


class BacklogFullError(NewsbotError):
    """The ingest backlog is at its cap; new links are refused until it drains."""

    def __init__(self, limit: int) -> None:
        super().__init__("The bot is busy with other links: please try again in a minute.")
        self.limit = limit


class InvalidTenantError(NewsbotError):
    """A tenant id that is not ``platform:id`` (``discord:123``, ``slack:T0TEAM``)."""

    def __init__(self, tenant: str) -> None:
        super().__init__(
            "\"tenant\" must look like platform:id (for example discord:123 or slack:T0123)."
        )
        self.tenant = tenant
