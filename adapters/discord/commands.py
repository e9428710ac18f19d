"""The ``/news`` command group and the "Summarize link" message command.

Every subcommand is a thin translation onto the core's text grammar (``subscribe TOPIC
dm digest:daily``, ``feed add URL`` ...), so a core command works here as soon as the
core has it. Names and descriptions are ``locale_str``s, translated by ``NewsTranslator``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice, locale_str

from .interact import FAILED, answer, request_for, run_core, send
from .text import truncate

log = logging.getLogger(__name__)

_ = locale_str
AUTOCOMPLETE_MAX = 25
_URL_RE = re.compile(r"https?://[^\s<>|\"]+", re.IGNORECASE)
_TRAILING = ".,;:!?)'\"]>*_~"

#: name/description translations; a missing entry falls back to English
TRANSLATIONS: dict[discord.Locale, dict[str, str]] = {
    discord.Locale.french: {
        "news": "actus",
        "News subscriptions and article summaries": "Abonnements et résumés d'articles",
        "subscribe": "abonner",
        "Get news about a topic here or in your DMs": "Recevoir l'actualité d'un sujet",
        "unsubscribe": "desabonner",
        "list": "liste",
        "mute": "sourdine",
        "unmute": "reactiver",
        "summarize": "resumer",
        "feed": "flux",
        "topic": "sujet",
        "duration": "duree",
        "Summarize link": "Résumer le lien",
    },
    discord.Locale.german: {
        "news": "nachrichten",
        "subscribe": "abonnieren",
        "unsubscribe": "abbestellen",
        "list": "liste",
        "mute": "stummschalten",
        "unmute": "laut",
        "summarize": "zusammenfassen",
        "topic": "thema",
        "duration": "dauer",
        "Summarize link": "Link zusammenfassen",
    },
}


class NewsTranslator(app_commands.Translator):
    """Looks command names and descriptions up in ``TRANSLATIONS``."""

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The translation of ``string`` for ``locale``, or None to keep the English."""
        return TRANSLATIONS.get(locale, {}).get(string.message)


FORMAT_CHOICES = [
    Choice(name=_("full card"), value="full"),
    Choice(name=_("compact: one line"), value="compact"),
    Choice(name=_("headline only"), value="headline"),
]


def role_mention(role: discord.Role) -> str:
    """A role as the core's grammar takes it; @everyone becomes a word the core refuses."""
    return "@everyone" if role.is_default() else f"<@&{role.id}>"


def first_url(message: discord.Message) -> str | None:
    """The first http(s) link in a message's text, else in its embeds."""
    found = _URL_RE.search(message.content or "")
    if found:
        return found.group(0).rstrip(_TRAILING) or None
    for embed in message.embeds:
        if embed.url:
            return embed.url
    return None


async def own_topics(
    interaction: discord.Interaction[Any], current: str
) -> list[Choice[str]]:
    """Autocomplete: "all" plus the user's own subscriptions (value ``#id``)."""
    reply = await run_core(interaction, request_for(interaction, ("list",)))
    user = str(interaction.user.id)
    needle = current.strip().casefold()
    choices: list[Choice[str]] = []
    if "all".startswith(needle):
        choices.append(Choice(name="all", value="all"))
    for sub in reply.subscriptions:
        if sub.owner == user and needle in sub.expression.casefold():
            choices.append(Choice(name=truncate(f"{sub.expression} (#{sub.id})", 100),
                                  value=f"#{sub.id}"))
    return choices[:AUTOCOMPLETE_MAX]


def build_tree(client: discord.Client) -> app_commands.CommandTree[Any]:
    """The command tree: ``/news …`` and the "Summarize link" message command."""
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    news = app_commands.Group(
        name=_("news"), description=_("News subscriptions and article summaries")
    )
    feed = app_commands.Group(
        name=_("feed"),
        description=_("News feeds posted in this channel (needs Manage Channels)"),
        parent=news,
    )

    @news.command(name=_("subscribe"), description=_("Get news about a topic here or in your DMs"))
    @app_commands.rename(topic=_("topic"), dm=_("dm"), digest=_("digest"), ping=_("ping"))
    @app_commands.describe(
        topic=_('Words (all must match), "a phrase", a OR b, -leave_out'),
        dm=_("Send it to your DMs instead of this channel"),
        digest=_("As it comes (default), or collected in an hourly or daily digest"),
        ping=_("A role to ping with each post (managers only)"),
    )
    @app_commands.choices(
        digest=[
            Choice(name=_("as it comes"), value="instant"),
            Choice(name=_("hourly digest"), value="hourly"),
            Choice(name=_("daily digest"), value="daily"),
        ]
    )
    async def subscribe(
        interaction: discord.Interaction[Any], topic: str, dm: bool = False,
        digest: str = "instant", ping: discord.Role | None = None,
    ) -> None:
        args = ["subscribe", topic, "dm" if dm else "here", f"digest:{digest}"]
        if ping is not None:
            args += ["ping", role_mention(ping)]
        await answer(interaction, args)

    @news.command(name=_("unsubscribe"), description=_("Stop news about a topic (or all)"))
    @app_commands.rename(topic=_("topic"))
    @app_commands.describe(topic=_("One of your subscriptions, or all"))
    @app_commands.autocomplete(topic=own_topics)
    async def unsubscribe(interaction: discord.Interaction[Any], topic: str) -> None:
        await answer(interaction, ("unsubscribe", topic))

    @news.command(name=_("list"), description=_("Your subscriptions and this channel's"))
    async def list_(interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, ("list",))

    @news.command(name=_("mute"), description=_("Pause a subscription for a while"))
    @app_commands.rename(topic=_("topic"), duration=_("duration"))
    @app_commands.describe(
        topic=_("One of your subscriptions, or all"),
        duration=_("How long: 30m, 2h, 1d, 1w"),
    )
    @app_commands.autocomplete(topic=own_topics)
    async def mute(interaction: discord.Interaction[Any], topic: str, duration: str) -> None:
        await answer(interaction, ("mute", topic, duration))

    @news.command(name=_("unmute"), description=_("Resume a muted subscription"))
    @app_commands.rename(topic=_("topic"))
    @app_commands.describe(topic=_("One of your subscriptions, or all"))
    @app_commands.autocomplete(topic=own_topics)
    async def unmute(interaction: discord.Interaction[Any], topic: str) -> None:
        await answer(interaction, ("unmute", topic))

    @news.command(name=_("timezone"), description=_("Time zone of this server's daily digests"))
    @app_commands.rename(zone=_("zone"))
    @app_commands.describe(zone=_("A zone name like Europe/Paris (empty: show the current one)"))
    async def timezone(interaction: discord.Interaction[Any], zone: str = "") -> None:
        await answer(interaction, ("timezone", zone.strip()) if zone.strip() else ("timezone",))

    @news.command(name=_("dashboard"),
                  description=_("A private sign-in link to the web control panel"))
    async def dashboard(interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, ("dashboard",), ephemeral=True)

    @news.command(name=_("summarize"), description=_("Summarise an article from its link"))
    @app_commands.rename(url=_("url"), public=_("public"))
    @app_commands.describe(
        url=_("The article's link (http or https)"),
        public=_("Share the summary with the channel (default: only you see it)"),
    )
    async def summarize(
        interaction: discord.Interaction[Any], url: str, public: bool = False
    ) -> None:
        await answer(interaction, ("summarize", url.strip()), ephemeral=not public)

    # The core decides who manages (admins, and members of a managers role): no
    # permission check of discord.py's here.
    @feed.command(name=_("add"), description=_("Post a news feed's articles in this channel"))
    @app_commands.rename(url=_("url"), ping=_("ping"), format=_("format"), name=_("name"),
                         avatar=_("avatar"), only=_("only"), backfill=_("backfill"))
    @app_commands.describe(
        url=_("The RSS or Atom feed's link"),
        ping=_("A role to ping with each of its posts"),
        format=_("How its cards look here (default: as the channel has it)"),
        name=_("The name its posts appear under (needs Manage Webhooks)"),
        avatar=_("An https link to the image its posts appear with"),
        only=_('Post only the articles matching this topic ("a phrase", -leave_out)'),
        backfill=_("Post its latest N articles now (default 0)"),
    )
    @app_commands.choices(format=FORMAT_CHOICES)
    async def feed_add(
        interaction: discord.Interaction[Any], url: str, ping: discord.Role | None = None,
        format: str = "", name: str = "", avatar: str = "", only: str = "",
        backfill: app_commands.Range[int, 0, 20] = 0,
    ) -> None:
        args = ["feed", "add", url.strip()]
        if ping is not None:
            args += ["ping", role_mention(ping)]
        if format:
            args += ["format", format]
        if name.strip():
            # Quoted like a typed name, so the grammar reads it as one value.
            args += ["as", '"' + name.strip().replace('"', "'") + '"']
        if avatar.strip():
            args += ["avatar", avatar.strip()]
        if only.strip():
            args += ["only", only.strip()]
        if backfill:
            args += ["backfill", str(backfill)]
        await answer(interaction, args)

    @feed.command(name=_("remove"), description=_("Stop posting a news feed in this channel"))
    @app_commands.rename(url=_("url"))
    @app_commands.describe(url=_("The feed's link, as listed by /news feed list"))
    async def feed_remove(interaction: discord.Interaction[Any], url: str) -> None:
        await answer(interaction, ("feed", "remove", url.strip()))

    @feed.command(name=_("list"), description=_("The news feeds posted in this channel"))
    async def feed_list(interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, ("feed", "list"))

    @news.command(name=_("format"), description=_("How cards look in this channel"))
    @app_commands.rename(format=_("format"))
    @app_commands.describe(format=_("full card, compact (one line) or headline only"))
    @app_commands.choices(format=FORMAT_CHOICES)
    async def format_(interaction: discord.Interaction[Any], format: str = "") -> None:
        await answer(interaction, ("format", format) if format else ("format",))

    managers = app_commands.Group(
        name=_("managers"),
        description=_("Roles whose members manage the bot here, besides admins"),
        parent=news,
    )

    @managers.command(name=_("add"), description=_("Let a role's members manage the bot"))
    @app_commands.rename(role=_("role"))
    async def managers_add(interaction: discord.Interaction[Any], role: discord.Role) -> None:
        await answer(interaction, ("managers", "add", role_mention(role)))

    @managers.command(name=_("remove"), description=_("Stop a role's members managing"))
    @app_commands.rename(role=_("role"))
    async def managers_remove(
        interaction: discord.Interaction[Any], role: discord.Role
    ) -> None:
        await answer(interaction, ("managers", "remove", role_mention(role)))

    @managers.command(name=_("list"), description=_("The roles that manage the bot here"))
    async def managers_list(interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, ("managers", "list"))

    @app_commands.context_menu(name=_("Summarize link"))
    async def summarize_link(
        interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        # The resolved message carries its content even without the Message Content
        # intent: a message command is an explicit request from the user.
        url = first_url(message)
        if url is None:
            await send(interaction, content="That message has no link to summarise.",
                       embed=None, ephemeral=True)
            return
        await answer(interaction, ("summarize", url), ephemeral=True)

    @tree.error
    async def on_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            text = "You need the Manage Channels permission in this channel to do that."
        elif isinstance(error, app_commands.CheckFailure):
            text = "You can't use that command here."
        else:
            log.error("app command failed: %s", type(error).__name__, exc_info=error)
            text = FAILED
        try:
            await send(interaction, content=text, embed=None, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not report an error to the user: %s", exc.status)

    tree.add_command(news)
    tree.add_command(summarize_link)
    return tree


async def sync_commands(tree: app_commands.CommandTree[Any], dev_guild: int | None) -> int:
    """Register the commands: to ``dev_guild`` (instant) when set, else globally."""
    await tree.set_translator(NewsTranslator())
    if dev_guild is not None:
        guild = discord.Object(id=dev_guild)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        log.info("synced %d commands to guild %s", len(synced), dev_guild)
    else:
        synced = await tree.sync()
        log.info("synced %d global commands", len(synced))
    return len(synced)
