"""Interactions in, neutral requests out; replies back in time for Discord's 3 s deadline.

Tenants: a guild is ``discord:<guild_id>``; everything outside a guild (DMs with the bot)
is the one tenant ``discord:dm`` (Discord user ids are global, so owners never collide).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol, cast

import discord

from bot.chat import CommandHandler, Reply, Request

from .render import render_reply
from .text import NO_MENTIONS

log = logging.getLogger(__name__)

DM_TENANT = "discord:dm"
FAILED = "Something went wrong on my side; please try again in a minute."


class Wired(Protocol):
    """What interaction handlers need from the client (see ``client.NewsClient``)."""

    core: CommandHandler
    defer_after: float


def wiring(interaction: discord.Interaction[Any]) -> Wired:
    """The core and timing settings of the client that received ``interaction``."""
    return cast(Wired, interaction.client)


def tenant_for(guild_id: int | None) -> str:
    """``discord:<guild_id>``, or ``discord:dm`` outside a guild."""
    return f"discord:{guild_id}" if guild_id else DM_TENANT


def role_ids(interaction: discord.Interaction[Any]) -> tuple[str, ...]:
    """The ids of the user's roles, as the interaction carries them (a managers role grants
    rights in the core), whether or not the guild's roles are cached."""
    user = interaction.user
    if not isinstance(user, discord.Member):
        return ()
    return tuple(str(r) for r in user._roles)


def request_for(
    interaction: discord.Interaction[Any], args: Sequence[str], *, tenant: str | None = None
) -> Request:
    """The neutral request for a command and its options, from the user behind ``interaction``.

    Slash options arrive already structured, so they become ``Request.args`` as they are
    (a topic "music dm" stays one argument) and never go back through the text grammar.
    """
    in_guild = interaction.guild_id is not None
    return Request(
        tenant=tenant or tenant_for(interaction.guild_id),
        user=str(interaction.user.id),
        channel=str(interaction.channel_id) if in_guild and interaction.channel_id else None,
        can_manage=in_guild and interaction.permissions.manage_channels,
        args=tuple(args),
        roles=role_ids(interaction) if in_guild else (),
    )


async def run_core(interaction: discord.Interaction[Any], request: Request) -> Reply:
    """Ask the core, turning an unexpected failure into a polite reply (and a log line)."""
    try:
        return await wiring(interaction).core.handle(request)
    except Exception:
        log.exception("command failed for interaction %s", interaction.id)
        return Reply(FAILED, ok=False)


async def send(
    interaction: discord.Interaction[Any],
    *,
    content: str | None,
    embed: discord.Embed | None,
    ephemeral: bool,
) -> None:
    """Answer the interaction: the initial response, or a follow-up once deferred."""
    extra: dict[str, Any] = {}
    if embed is not None:
        extra["embed"] = embed
    if interaction.response.is_done():
        await interaction.followup.send(
            content or "", ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra
        )
    else:
        await interaction.response.send_message(
            content, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra
        )


async def answer(
    interaction: discord.Interaction[Any],
    args: Sequence[str],
    *,
    ephemeral: bool | None = None,
    tenant: str | None = None,
) -> Reply:
    """Run the command ``args`` through the core and answer; defer first if it takes too long.

    ``ephemeral=None`` lets the reply decide; a deferral must choose before the reply is
    known, so it is private unless ``ephemeral=False`` was asked for.
    """
    request = request_for(interaction, args, tenant=tenant)
    task = asyncio.ensure_future(run_core(interaction, request))
    done, _ = await asyncio.wait({task}, timeout=wiring(interaction).defer_after)
    if not done and not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral is not False, thinking=True)
        log.debug("deferred interaction %s", interaction.id)
    reply = await task
    message = render_reply(reply)
    private = reply.ephemeral if ephemeral is None else ephemeral
    if not reply.ok and not interaction.response.is_done():
        private = True  # a refusal is for the person who asked, even with public:true
    await send(interaction, content=message.content, embed=message.embed, ephemeral=private)
    return reply
