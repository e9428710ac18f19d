"""Discord adapter (discord.py 2.x), enabled when ``NEWSBOT_DISCORD_TOKEN`` is set.

``DiscordAdapter(settings, core)`` implements ``bot.adapter.Adapter``: ``/news`` commands,
"Summarize link", persistent buttons, and ``post()`` for cards, digests and notes.

``NEWSBOT_DISCORD_API_BASE`` (e.g. ``http://proxy:8080/api/v10``) and
``NEWSBOT_DISCORD_GATEWAY_URL`` set discord.py's ``Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``. Those are class attributes, so they are
process-wide: every discord.py client in the process uses them once ``start()`` ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.background import cancel_and_wait
from bot.chat import (
    CommandHandler,
    Destination,
    DestinationGoneError,
    MessageGoneError,
    Post,
    PostError,
    RateLimitedError,
    TransientPostError,
    note_post_failure,
)
from bot.errors import ConfigError
from bot.settings import Settings

from .client import NewsClient, ShardedNewsClient, WatchFilter
from .render import nonce_for, render_post
from .views import subscription_view

__all__ = ["DiscordAdapter", "configure_endpoints"]

log = logging.getLogger(__name__)

#: Discord allows 3 s to answer an interaction; slower commands are deferred after this
DEFER_AFTER_S = 2.0
#: a 429 asking to wait longer than this is handed back as RateLimitedError
MAX_RATELIMIT_WAIT_S = 30.0
#: the name of the one webhook the bot makes (and reuses) per channel for feed personas
WEBHOOK_NAME = "newsbot"
#: a channel where the bot may not manage webhooks is asked again after this long
NO_WEBHOOK_RECHECK_S = 600.0


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at the configured REST base and gateway (process-wide)."""
    if settings.discord_api_base:
        Route.BASE = settings.discord_api_base.rstrip("/")
        log.info("discord REST base set to %s", Route.BASE)
    if settings.discord_gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
        log.info("discord gateway set to %s", settings.discord_gateway_url)


def _error_text(exc: discord.HTTPException) -> str:
    return f"HTTP {exc.status} (code {exc.code}): {exc.text[:200]}"


def failure_trace() -> aiohttp.TraceConfig:
    """Notes each 5xx answer and failed request discord.py sees, so that a post it keeps
    retrying until the delivery deadline is dead-lettered with the real cause."""
    trace = aiohttp.TraceConfig()

    async def on_end(_session: aiohttp.ClientSession, _ctx: Any,
                     params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status >= 500:
            note_post_failure(f"Discord answered HTTP {params.response.status}")

    async def on_exception(_session: aiohttp.ClientSession, _ctx: Any,
                           params: aiohttp.TraceRequestExceptionParams) -> None:
        note_post_failure(f"cannot reach Discord: {type(params.exception).__name__}")

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace


class DiscordAdapter:
    """The Discord side of newsbot; the core holds it through ``bot.adapter.Adapter``."""

    platform = "discord"

    def __init__(
        self,
        settings: Settings,
        core: CommandHandler,
        *,
        defer_after: float = DEFER_AFTER_S,
        ready_timeout: float = 60.0,
        watch: WatchFilter | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.core = core
        self.defer_after = defer_after
        self.ready_timeout = ready_timeout
        self.watch = watch
        self.client_options = dict(client_options or {})
        self._client: NewsClient | None = None
        self._runner: asyncio.Task[None] | None = None
        # channel id -> its webhook, or when to ask again where the bot lacks Manage Webhooks
        self._webhooks: dict[int, discord.Webhook | float] = {}

    @property
    def client(self) -> NewsClient:
        """The running discord.py client (after ``start()``)."""
        if self._client is None:
            raise RuntimeError("DiscordAdapter.start() has not been called")
        return self._client

    @property
    def connected(self) -> bool:
        """Logged in, READY and not closed."""
        client = self._client
        return client is not None and client.is_ready() and not client.is_closed()

    def _make_client(self) -> NewsClient:
        options: dict[str, Any] = {"max_ratelimit_timeout": MAX_RATELIMIT_WAIT_S,
                                   "http_trace": failure_trace()}
        options.update(self.client_options)
        common: dict[str, Any] = {
            "core": self.core,
            "defer_after": self.defer_after,
            "dev_guild": self.settings.discord_dev_guild,
            "read_messages": self.settings.discord_read_messages,
            "watch": self.watch,
        }
        if self.settings.discord_shards:
            return ShardedNewsClient(
                shard_count=self.settings.discord_shards, **common, **options
            )
        return NewsClient(**common, **options)

    async def start(self) -> None:
        """Log in, sync the commands, connect the gateway; returns once READY."""
        if self._client is not None:
            return
        token = self.settings.discord_token
        if token is None or not token.get_secret_value().strip():
            raise ConfigError("NEWSBOT_DISCORD_TOKEN is not set")
        configure_endpoints(self.settings)
        client = self._make_client()
        self._client = client
        try:
            await client.login(token.get_secret_value())
        except discord.LoginFailure:
            await self.close()
            raise ConfigError("Discord refused NEWSBOT_DISCORD_TOKEN (login failed)") from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            await self.close()
            raise ConfigError(f"cannot reach Discord to log in: {type(exc).__name__}") from None
        runner = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        self._runner = runner
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, runner}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready in done:
            return
        ready.cancel()
        problem = "no READY from the gateway in time"
        if runner in done and runner.exception() is not None:
            failure = runner.exception()
            if isinstance(failure, discord.PrivilegedIntentsRequired):
                problem = (
                    "NEWSBOT_DISCORD_READ_MESSAGES needs the Message Content intent, "
                    "enabled in the developer portal"
                )
            else:
                problem = f"gateway connection failed ({type(failure).__name__})"
        await self.close()
        raise ConfigError(f"Discord: {problem}")

    async def close(self) -> None:
        """Disconnect the gateway and the HTTP session."""
        client, runner = self._client, self._runner
        self._client = self._runner = None
        if client is not None:
            await client.close()
        if runner is not None:
            with contextlib.suppress(Exception):
                await cancel_and_wait(runner)

    async def _messageable(self, destination: Destination) -> discord.abc.Messageable:
        client = self.client
        try:
            ident = int(destination.id)
        except ValueError:
            raise DestinationGoneError(destination, "not a Discord id") from None
        if destination.kind == "dm":
            return await client.create_dm(discord.Object(id=ident))
        return client.get_partial_messageable(ident)

    async def post(self, post: Post) -> str:
        """Send one card, digest or note; map Discord's failures onto ``PostError``s."""
        message = render_post(post)
        dest = post.destination
        extra: dict[str, Any] = {}
        if message.embed is not None:
            extra["embed"] = message.embed
        view = subscription_view(dest.tenant, post.subscriptions)
        if view is not None:
            extra["view"] = view
        try:
            hook = None
            if post.persona is not None and dest.kind == "channel":
                hook = await self._webhook(dest)
            sent: discord.Message
            if hook is not None and post.persona is not None:
                # A feed's own name and avatar: through the channel's webhook (no nonce
                # there; the delivery engine's claim still makes the post once).
                try:
                    sent = await hook.send(
                        message.content or discord.utils.MISSING,
                        username=post.persona.name,
                        avatar_url=post.persona.avatar or discord.utils.MISSING,
                        allowed_mentions=message.allowed,
                        wait=True,
                        **extra,
                    )
                except discord.NotFound:
                    # Somebody deleted the webhook, not the channel: make a new one next time.
                    self._webhooks.pop(int(dest.id), None)
                    raise TransientPostError("the channel's webhook is gone") from None
            else:
                channel = await self._messageable(dest)
                sent = await channel.send(
                    message.content,
                    nonce=nonce_for(post.key),
                    allowed_mentions=message.allowed,
                    **extra,
                )
        except discord.RateLimited as exc:
            raise RateLimitedError(exc.retry_after) from None
        except (discord.Forbidden, discord.NotFound) as exc:
            # 50001 Missing Access, 50013 Missing Permissions, 50007 DMs closed,
            # 10003 Unknown Channel, 10013 Unknown User: retrying cannot help.
            log.info("discord destination %s gone: HTTP %s code %s", dest, exc.status, exc.code)
            raise DestinationGoneError(dest, _error_text(exc)) from None
        except discord.DiscordServerError as exc:
            raise TransientPostError(f"Discord answered HTTP {exc.status}") from None
        except discord.HTTPException as exc:
            if exc.status == 429:
                retry = exc.response.headers.get("Retry-After") or "60"
                raise RateLimitedError(float(retry)) from None
            raise PostError(f"Discord refused the message: {_error_text(exc)}") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientPostError(f"cannot reach Discord: {type(exc).__name__}") from None
        return str(sent.id)

    async def _webhook(self, destination: Destination) -> discord.Webhook | None:
        """The channel's newsbot webhook (found or made once), or None where the bot may
        not manage webhooks: then the post goes out as a normal message."""
        try:
            channel_id = int(destination.id)
        except ValueError:
            return None
        known = self._webhooks.get(channel_id)
        if isinstance(known, discord.Webhook):
            return known
        loop = asyncio.get_running_loop()
        if known is not None and known > loop.time():
            return None
        client = self.client
        try:
            hooks = await client.http.channel_webhooks(channel_id)
            mine = next((h for h in hooks if h.get("token") and str(h.get("application_id"))
                         == str(client.application_id)), None)
            if mine is None:
                mine = await client.http.create_webhook(channel_id, name=WEBHOOK_NAME)
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 429:
                raise  # Discord's trouble, not the channel's: the post is retried
            # 403 without Manage Webhooks, 400 in a thread (webhooks live on its parent)...
            log.info("no webhook in %s (HTTP %s code %s): posting as the bot",
                     destination, exc.status, exc.code)
            self._webhooks[channel_id] = loop.time() + NO_WEBHOOK_RECHECK_S
            return None
        hook = discord.Webhook.from_state(mine, client._connection)
        self._webhooks[channel_id] = hook
        return hook
    async def edit(self, post: Post, message_id: str) -> None:
        """Edit a message this adapter posted (PATCH), rendered from ``post`` as now."""
        message = render_post(post)
        dest = post.destination
        view = subscription_view(dest.tenant, post.subscriptions)
        try:
            hook = None
            if post.persona is not None and dest.kind == "channel":
                hook = await self._webhook(dest)
            if hook is not None:
                # A feed's persona posted it through the channel's webhook: Discord lets
                # only that webhook edit it (the bot's PATCH would be a 403).
                await hook.edit_message(
                    int(message_id), content=message.content, embed=message.embed,
                    allowed_mentions=message.allowed, view=view,
                )
                return
            channel = await self._messageable(dest)
            if not isinstance(channel, discord.PartialMessageable | discord.DMChannel):
                raise PostError(f"cannot edit messages in {dest}")
            await channel.get_partial_message(int(message_id)).edit(
                content=message.content, embed=message.embed, view=view,
                allowed_mentions=message.allowed,
            )
        except ValueError:
            raise MessageGoneError(f"not a Discord message id: {message_id!r}") from None
        except discord.RateLimited as exc:
            raise RateLimitedError(exc.retry_after) from None
        except (discord.Forbidden, discord.NotFound) as exc:
            # 10008 Unknown Message (deleted), or the channel is out of reach: no edit.
            raise MessageGoneError(_error_text(exc)) from None
        except discord.DiscordServerError as exc:
            raise TransientPostError(f"Discord answered HTTP {exc.status}") from None
        except discord.HTTPException as exc:
            if exc.status == 429:
                retry = exc.response.headers.get("Retry-After") or "60"
                raise RateLimitedError(float(retry)) from None
            raise PostError(f"Discord refused the edit: {_error_text(exc)}") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientPostError(f"cannot reach Discord: {type(exc).__name__}") from None
