"""Persistent buttons under each post: "Unsubscribe <topic>" and "Mute 24 h".

They are ``DynamicItem``s: everything they need (tenant scope and subscription id) is in
the ``custom_id`` (``newsbot:unsub:<guild_id|dm>:<sub_id>``, ``newsbot:mute:...``), so
they keep working after a restart without any stored view state.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.chat import SubscriptionRef

from .interact import DM_TENANT, answer, send, tenant_for
from .text import truncate

log = logging.getLogger(__name__)

_SCOPE = r"(?P<scope>dm|\d+)"
_ID = r"(?P<id>[A-Za-z0-9_-]{1,40})"
UNSUB_TEMPLATE = re.compile(rf"newsbot:unsub:{_SCOPE}:{_ID}")
MUTE_TEMPLATE = re.compile(rf"newsbot:mute:{_SCOPE}:{_ID}")
MUTE_FOR = "24h"
#: at most this many subscriptions get buttons (two each; a message holds 25 buttons)
BUTTON_SUBS_MAX = 10


def scope_of(tenant: str) -> str:
    """``discord:123`` → ``123``; ``discord:dm`` → ``dm``."""
    return "dm" if tenant == DM_TENANT else tenant.partition(":")[2]


def tenant_of(scope: str) -> str:
    """Inverse of ``scope_of``."""
    return DM_TENANT if scope == "dm" else tenant_for(int(scope))


async def _press(
    interaction: discord.Interaction[Any], tenant: str, args: tuple[str, ...]
) -> None:
    """Run a button's command for whoever pressed it, in the subscription's tenant."""
    if interaction.guild_id is not None and tenant != tenant_for(interaction.guild_id):
        await send(
            interaction, content="That button belongs to another server.", embed=None,
            ephemeral=True,
        )
        return
    await answer(interaction, args, ephemeral=True, tenant=tenant)


class _SubscriptionButton:
    """What both buttons share: state from the custom_id, a core command when pressed."""

    #: the core command; ``{id}`` stands for ``#<subscription id>``
    command: tuple[str, ...]
    tenant: str
    sub_id: str

    def _init_state(self, tenant: str, sub_id: str) -> None:
        self.tenant = tenant
        self.sub_id = sub_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> Any:
        """Rebuild the button from its custom_id when pressed (also after a restart)."""
        return cls(tenant_of(match["scope"]), match["id"])  # type: ignore[call-arg]

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Run the button's command for the presser (the core checks they may)."""
        args = tuple(f"#{self.sub_id}" if word == "{id}" else word for word in self.command)
        await _press(interaction, self.tenant, args)


class UnsubscribeButton(
    _SubscriptionButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=UNSUB_TEMPLATE,
):
    """Removes the subscription."""

    command = ("unsubscribe", "{id}")

    def __init__(self, tenant: str, sub_id: str, expression: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=truncate(f"Unsubscribe {expression}".strip(), 80),
                style=discord.ButtonStyle.secondary,
                custom_id=f"newsbot:unsub:{scope_of(tenant)}:{sub_id}",
            )
        )
        self._init_state(tenant, sub_id)


class MuteButton(
    _SubscriptionButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=MUTE_TEMPLATE,
):
    """Mutes the subscription for 24 hours."""

    command = ("mute", "{id}", MUTE_FOR)

    def __init__(self, tenant: str, sub_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Mute 24 h",
                style=discord.ButtonStyle.secondary,
                custom_id=f"newsbot:mute:{scope_of(tenant)}:{sub_id}",
            )
        )
        self._init_state(tenant, sub_id)


def subscription_view(tenant: str, subs: tuple[SubscriptionRef, ...]) -> discord.ui.View | None:
    """Persistent "Unsubscribe <topic>" and "Mute 24 h" buttons for the subs behind a post."""
    if not subs:
        return None
    view = discord.ui.View(timeout=None)
    for sub in subs[:BUTTON_SUBS_MAX]:
        view.add_item(UnsubscribeButton(tenant, sub.id, sub.expression))
        view.add_item(MuteButton(tenant, sub.id))
    return view
