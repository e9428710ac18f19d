"""The discord.py client: persistent buttons, the command tree and (optionally) link reading."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.chat import CommandHandler, Request

from .commands import build_tree, first_url, sync_commands
from .interact import tenant_for
from .render import NO_MENTIONS, card_embed, reply_card
from .views import MuteButton, UnsubscribeButton

log = logging.getLogger(__name__)

# The bot never joins voice channels: discord.py's two start-up warnings about voice
# libraries it lacks (PyNaCl, davey) would only alarm admins. Every other warning stays.
for _flag in ("warn_nacl", "warn_dave"):
    if hasattr(discord.VoiceClient, _flag):
        setattr(discord.VoiceClient, _flag, False)

#: is this channel watched for pasted links? (guild channel id → yes/no)
WatchFilter = Callable[[str, str], Awaitable[bool]]


class NewsClient(discord.Client):
    """A ``discord.Client`` wired to the core; ``ShardedNewsClient`` is the sharded twin."""

    def __init__(
        self,
        *,
        core: CommandHandler,
        defer_after: float,
        dev_guild: int | None,
        read_messages: bool,
        watch: WatchFilter | None = None,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        if read_messages:
            # Privileged: must also be switched on in the developer portal.
            intents.guild_messages = True
            intents.message_content = True
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS, **options)
        self.core = core
        self.defer_after = defer_after
        self.dev_guild = dev_guild
        self.read_messages = read_messages
        self.watch = watch
        self.tree = build_tree(self)

    async def setup_hook(self) -> None:
        """Register the persistent buttons and sync the commands (runs inside login)."""
        self.add_dynamic_items(UnsubscribeButton, MuteButton)
        await sync_commands(self.tree, self.dev_guild)

    async def on_ready(self) -> None:
        """Log who we are once the gateway says READY."""
        log.info("discord connected as %s in %d guilds", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        """With ``NEWSBOT_DISCORD_READ_MESSAGES``: summarise links posted in watched channels."""
        if not self.read_messages or message.author.bot or message.guild is None:
            return
        url = first_url(message)
        if url is None:
            return
        tenant = tenant_for(message.guild.id)
        channel = str(message.channel.id)
        if self.watch is not None and not await self.watch(tenant, channel):
            return
        request = Request(tenant, str(message.author.id), channel, False, text=f"summarize {url}")
        try:
            reply = await self.core.handle(request)
        except Exception:
            log.exception("summarising a posted link failed")
            return
        card = reply_card(reply)
        if card is None:
            # Stay quiet in the channel: a link we cannot read is not worth a message.
            log.info("no card for a link posted in %s: %s", channel, reply.text[:100])
            return
        try:
            await message.reply(embed=card_embed(card), allowed_mentions=NO_MENTIONS,
                                mention_author=False)
        except discord.HTTPException as exc:
            log.warning("could not post a summary in %s: HTTP %s", channel, exc.status)


class ShardedNewsClient(NewsClient, discord.AutoShardedClient):
    """``NewsClient`` on ``AutoShardedClient`` (``NEWSBOT_DISCORD_SHARDS``)."""
