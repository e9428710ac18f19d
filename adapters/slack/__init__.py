"""The Slack adapter: slack-bolt's ``AsyncApp`` in Socket Mode or behind ``/slack/events``.

Socket Mode when ``NEWSBOT_SLACK_APP_TOKEN`` is set (no public URL needed), otherwise HTTP
mode: the bot's aiohttp server mounts ``POST /slack/events`` (``SlackAdapter.attach``) and
bolt verifies each request's signature with ``NEWSBOT_SLACK_SIGNING_SECRET``.

Posts go through a Web API client of their own that never retries: a 429 or a dropped
connection goes back to the delivery engine, which retries within the bot's rate budget
(slack_sdk's own retries would post again outside it). Each post carries its idempotency
key in its metadata; ``find_post`` looks for it in the channel's history, so that a retry
after a crash or a lost answer does not post twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat import (
    CommandHandler,
    Destination,
    DestinationGoneError,
    MessageGoneError,
    Post,
    PostError,
    RateLimitedError,
    TransientPostError,
)
from bot.errors import ConfigError
from bot.settings import Settings

from . import blocks
from .app import SlackListeners, api_error

__all__ = ["EVENTS_PATH", "SlackAdapter", "build"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
#: errors that mean "this channel or user cannot be posted to any more"
GONE_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "messages_tab_disabled",
        "restricted_action",
        "team_access_not_granted",
        "channel_is_archived",
    }
)
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
RATE_LIMIT_RETRIES = 2
SOCKET_CONNECT_TIMEOUT_S = 30.0
#: the metadata event type of the bot's posts (its payload: the post's idempotency key)
POST_EVENT = "newsbot_post"
#: history pages (of 200 messages) searched for an earlier attempt of a post
HISTORY_PAGES = 5
#: Slack's clock may differ from ours: look a little further back than the first attempt
CLOCK_MARGIN_S = 60.0
#: The largest request body ``/slack/events`` accepts. A button press in App Home carries
#: the whole view: up to 100 blocks of up to 3,000 characters (about 300 KB of text), sent
#: as a form field, whose percent-encoding can triple it.
MAX_EVENT_BODY = 1024 * 1024
#: ``X-Slack-Request-Timestamp``: Unix seconds, digits only
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header value, whatever its case and whether it is a list."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def make_client(settings: Settings, *, retries: bool = True) -> AsyncWebClient:
    """A Web API client on the configured base URL; with ``retries`` it retries connection
    errors and 429s itself (commands, App Home), without it never (posts)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = settings.slack_api_url or AsyncWebClient.BASE_URL
    if not base_url.endswith("/"):
        base_url += "/"
    handlers = [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ] if retries else []
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=handlers)


class SlackAdapter:
    """Slack as the core sees it: posts cards and digests, runs ``/news`` commands."""

    platform = "slack"

    def __init__(self, settings: Settings, core: CommandHandler) -> None:
        if settings.slack_bot_token is None:
            raise ConfigError("the Slack adapter needs NEWSBOT_SLACK_BOT_TOKEN")
        self.settings = settings
        self.core = core
        self.socket_mode = settings.slack_app_token is not None
        if not self.socket_mode and settings.slack_signing_secret is None:
            raise ConfigError(
                "Slack HTTP mode needs NEWSBOT_SLACK_SIGNING_SECRET "
                "(or set NEWSBOT_SLACK_APP_TOKEN for Socket Mode)"
            )
        self.client = make_client(settings)
        # Posting: every retry goes back through the bot's rate budget instead.
        self.poster = make_client(settings, retries=False)
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            name="newsbot",
            logger=logging.getLogger("adapters.slack.bolt"),
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else None,
            # Socket Mode payloads come over an authenticated websocket, unsigned
            request_verification_enabled=not self.socket_mode,
            process_before_response=False,
        )
        self.listeners = SlackListeners(core, self.client, frozenset(settings.slack_managers))
        self.listeners.register(self.app)
        self._socket: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None
        self._started = False
        self._dm_channels: dict[str, str] = {}
        self.team_id: str | None = None
        self.bot_user_id: str | None = None

    # --- lifecycle --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Started, and in Socket Mode with a live websocket."""
        if not self._started:
            return False
        if self._socket is None:
            return True
        session = self._socket.client.current_session
        return session is not None and not session.closed

    async def start(self) -> None:
        """Check the token with ``auth.test``; in Socket Mode, open the websocket."""
        if self._session is None or self._session.closed:
            # one pooled session for every Web API call (slack_sdk opens one per call without)
            self._session = aiohttp.ClientSession()
            self.client.session = self._session
            self.poster.session = self._session
        try:
            await self._connect()
        except BaseException:
            await self.close()
            raise
        self._started = True
        mode = "Socket Mode" if self.socket_mode else f"HTTP mode on {EVENTS_PATH}"
        log.info("Slack adapter running for team %s in %s", self.team_id, mode)

    async def _connect(self) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            error = api_error(exc)
            raise ConfigError(f"Slack refused NEWSBOT_SLACK_BOT_TOKEN: {error}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Slack Web API: {type(exc).__name__}") from None
        self.team_id = auth.get("team_id")
        self.bot_user_id = auth.get("user_id")
        if self.socket_mode:
            await self._open_socket()

    async def _open_socket(self) -> None:
        token = self.settings.slack_app_token
        assert token is not None
        app_token = token.get_secret_value()
        # slack_sdk retries apps.connections.open forever: ask once ourselves so that a bad
        # app token is one clear startup error, then hand it the URL we were given
        try:
            opened = await self.client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            error = api_error(exc)
            raise ConfigError(f"Slack refused NEWSBOT_SLACK_APP_TOKEN: {error}") from None
        self._socket = AsyncSocketModeHandler(self.app, app_token, web_client=self.client)
        self._socket.client.wss_uri = opened.get("url")
        try:
            await asyncio.wait_for(
                self._socket.connect_async(),  # type: ignore[no-untyped-call]
                SOCKET_CONNECT_TIMEOUT_S,
            )
        except TimeoutError:
            raise ConfigError("cannot open the Slack Socket Mode websocket") from None

    async def close(self) -> None:
        """Close the websocket (Socket Mode) and the Web API session."""
        self._started = False
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._session is not None:
            self.client.session = None
            self.poster.session = None
            await self._session.close()
            self._session = None

    # --- HTTP mode --------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """``POST /slack/events`` for the bot's aiohttp server (HTTP mode)."""
        return [web.post(EVENTS_PATH, self.handle_http)]

    def attach(self, app: web.Application) -> None:
        """Mount the Slack routes on ``app`` (nothing in Socket Mode)."""
        if not self.socket_mode:
            app.add_routes(self.routes())

    async def handle_http(self, request: web.Request) -> web.Response:
        """Hand one Slack HTTP request to bolt (which verifies its signature)."""
        stamp = request.headers.get("X-Slack-Request-Timestamp")
        if stamp is not None and not _TIMESTAMP.fullmatch(stamp):
            # bolt would raise on int(); the request is unsigned noise, not worth a traceback
            return web.json_response(
                {"error": "X-Slack-Request-Timestamp must be Unix seconds"}, status=400)
        if request.content_length is not None and request.content_length > MAX_EVENT_BODY:
            return web.json_response({"error": "body too large"}, status=413)
        # The bot's server keeps small bodies elsewhere; Slack's payloads may be larger.
        bolt_request = await to_bolt_request(request.clone(client_max_size=MAX_EVENT_BODY))
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    # --- posting ----------------------------------------------------------------------

    async def post(self, post: Post) -> str:
        """Post a card, digest or note; return the message ``ts``."""
        channel = await self._channel_for(post.destination)
        text, message_blocks = blocks.post_message(post)
        try:
            resp = await self.poster.chat_postMessage(
                channel=channel,
                text=text,
                blocks=message_blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": POST_EVENT, "event_payload": {"key": post.key}},
            )
        except SlackApiError as exc:
            raise self._post_error(exc, post.destination) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientPostError(f"Slack unreachable: {type(exc).__name__}") from None
        return str(resp.get("ts") or "")

    async def edit(self, post: Post, message_id: str) -> None:
        """Replace the message ``ts`` with ``post`` as rendered now (``chat.update``)."""
        channel = await self._channel_for(post.destination)
        text, message_blocks = blocks.post_message(post)
        try:
            await self.poster.chat_update(channel=channel, ts=message_id, text=text,
                                          blocks=message_blocks)
        except SlackApiError as exc:
            if api_error(exc) in ("message_not_found", "cant_update_message",
                                  "edit_window_closed"):
                raise MessageGoneError(f"Slack: {api_error(exc)}") from None
            failure = self._post_error(exc, post.destination)
            if isinstance(failure, DestinationGoneError):
                raise MessageGoneError(failure.reason) from None
            raise failure from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientPostError(f"Slack unreachable: {type(exc).__name__}") from None

    async def find_post(self, post: Post, since: float) -> str | None:
        """The ``ts`` of the bot's message carrying ``post``'s key, posted since ``since``."""
        channel = await self._channel_for(post.destination)
        cursor: str | None = None
        for _page in range(HISTORY_PAGES):
            try:
                resp = await self.poster.conversations_history(
                    channel=channel, oldest=f"{since - CLOCK_MARGIN_S:.6f}", inclusive=True,
                    include_all_metadata=True, limit=200, cursor=cursor,
                )
            except SlackApiError as exc:
                failure = self._post_error(exc, post.destination)
                if isinstance(failure, RateLimitedError):
                    raise failure from None
                # not_in_channel here means "cannot read it" (chat:write.public), not gone
                error = exc.response.get("error")
                raise PostError(f"cannot read the history of {channel}: {error}") from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientPostError(f"Slack unreachable: {type(exc).__name__}") from None
            for message in resp.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == POST_EVENT and payload.get("key") == post.key:
                    return str(message.get("ts") or "")
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        raise PostError(f"more than {HISTORY_PAGES * 200} messages in {channel} to look through")

    async def _channel_for(self, destination: Destination) -> str:
        """The channel id to post to; a DM is opened with ``conversations.open``."""
        if destination.kind == "channel":
            return destination.id
        cached = self._dm_channels.get(destination.id)
        if cached is not None:
            return cached
        try:
            resp = await self.poster.conversations_open(users=destination.id)
        except SlackApiError as exc:
            raise self._post_error(exc, destination) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientPostError(f"Slack unreachable: {type(exc).__name__}") from None
        channel = str((resp.get("channel") or {}).get("id") or "")
        if not channel:
            raise TransientPostError("conversations.open returned no channel")
        if len(self._dm_channels) > 100_000:
            self._dm_channels.clear()
        self._dm_channels[destination.id] = channel
        return channel

    @staticmethod
    def _post_error(exc: SlackApiError, destination: Destination) -> PostError:
        """Translate a Web API failure into the delivery engine's error types."""
        response = exc.response
        error = api_error(exc)
        status = int(getattr(response, "status_code", 200) or 200)
        if status == 429 or error == "ratelimited":
            raw = _header(getattr(response, "headers", None), "retry-after")
            try:
                retry_after = float(raw) if raw is not None else 1.0
            except ValueError:
                retry_after = 1.0
            log.warning("Slack rate-limited a post to %s; retry in %ss", destination, retry_after)
            return RateLimitedError(retry_after)
        if error in GONE_ERRORS:
            log.info("Slack destination %s is gone: %s", destination, error)
            return DestinationGoneError(destination, error)
        if status >= 500 or error in TRANSIENT_ERRORS:
            return TransientPostError(f"Slack error {status}: {error}")
        log.warning("Slack refused a post to %s: %s", destination, error)
        return PostError(f"Slack refused the post: {error}")


def build(settings: Settings, core: CommandHandler) -> SlackAdapter | None:
    """The Slack adapter when ``NEWSBOT_SLACK_BOT_TOKEN`` is set, else None."""
    if settings.slack_bot_token is None:
        return None
    return SlackAdapter(settings, core)
