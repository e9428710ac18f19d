"""Platform-neutral chat commands: subscribe, unsubscribe, list, mute, unmute, help.

Adapters turn a slash command or a message into a ``Request``, call ``handle`` (or one
command function), and render the ``Reply``. The text grammar, shared by Slack and the
console::

    subscribe "vladimir putin" dm digest:daily
    unsubscribe syria | unsubscribe all
    list
    mute syria 2h | unmute syria
    help

New commands (feeds, summarize) register in ``COMMANDS``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.card import Card
from bot.errors import CommandError, NewsbotError, PermissionDeniedError, TopicError
from bot.feeds import FeedManager, feed_command
from bot.redis_server import REDIS_ERRORS
from bot.subscriptions import (
    SubscriptionStore,
    TenantSettings,
    parse_topic,
    recent_matches,
    weak_topic,
)

from .contract import (
    FORMATS,
    MODES,
    Destination,
    Mode,
    Reply,
    Request,
    Subscription,
    format_of,
    pings_everyone,
    role_id,
    split_args,
)

log = logging.getLogger(__name__)

MAX_MUTE_S = 365 * 24 * 3600
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_RE = re.compile(r"(\d+)\s*([smhdw])")
_MODE_NAMES = {"instant": "instant", "hourly": "hourly digest", "daily": "daily digest"}


@dataclass(slots=True)
class CommandContext:
    """What the commands need; passed in by the entry point (and by tests)."""

    subscriptions: SubscriptionStore
    clock: Callable[[], float] = field(default=time.time)
    #: fetches and parses a link into a card (``summarize``); None where not available
    summarize: Callable[[str], Awaitable[Card]] | None = None
    #: the channels' news feeds (``feed add|remove|list``); None where not available
    feeds: FeedManager | None = None
    #: per-tenant settings (``timezone``); None where not available
    tenants: TenantSettings | None = None
    #: hands a summarised link on to the tenant's subscribers (url, tenant, channel)
    share: Callable[[str, str, str | None], Awaitable[object]] | None = None
    #: a one-time sign-in link to the web panel for the request's user (``dashboard``)
    dashboard: Callable[[Request], Awaitable[str]] | None = None


Command = Callable[[CommandContext, Request], Awaitable[Reply]]


def parse_command(text: str) -> tuple[str, tuple[str, ...]]:
    """``'mute syria 2h'`` → ``('mute', ('syria', '2h'))``; a leading ``/`` is ignored."""
    return command_of(split_args(text.strip().lstrip("/")))


def command_of(words: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The command name and its arguments; a bare link (``/news https://…``) means summarize."""
    if not words:
        return "help", ()
    if words[0].casefold().startswith(("http://", "https://")):
        return "summarize", tuple(words)  # the link keeps its own case
    return words[0].casefold(), tuple(words[1:])


def parse_duration(text: str) -> int:
    """``30m``, ``2h``, ``1d``, ``1w`` (or ``1h30m``) → seconds."""
    cleaned = text.strip().casefold()
    pos = 0
    total = 0
    for m in _DURATION_RE.finditer(cleaned):
        if cleaned[pos : m.start()].strip():
            break
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not cleaned or pos != len(cleaned) or total <= 0:
        raise CommandError("Durations look like 30m, 2h, 1d or 1w.")
    if total > MAX_MUTE_S:
        raise CommandError("You can mute for at most a year (52w).")
    return total


def topic_label(expression: str) -> str:
    """A topic inside a sentence: “syria”, but a phrase keeps its own quotes
    (``"vladimir putin"``, not “"vladimir putin"”)."""
    return expression if '"' in expression else f"“{expression}”"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _where(sub: Subscription, request: Request) -> str:
    if sub.destination.kind == "dm":
        return "your DMs"
    if sub.destination.id == request.channel:
        return "this channel"
    return f"channel {sub.destination.id}"


def describe(sub: Subscription, request: Request, now: float) -> str:
    """One line about a subscription, for ``list`` and confirmations."""
    parts = [f"#{sub.id} {topic_label(sub.expression)} → {_where(sub, request)}",
             _MODE_NAMES[sub.mode]]
    if sub.ping:
        parts.append(f"pings {sub.ping}")
    if sub.disabled:
        parts.append("paused: the channel is gone")
    elif sub.muted_until is not None and sub.is_muted(now):
        parts.append(f"muted until {_when(sub.muted_until)}")
    return " · ".join(parts)


def ping_role(request: Request, text: str) -> str:
    """The role id of a ``ping`` option, refused unless a manager sets a real role."""
    ident = role_id(text)
    if ident is None or pings_everyone(request.tenant, ident):
        raise CommandError("`ping` needs a role or user group, e.g. `ping @news` "
                           "(never @everyone, @here or a person).")
    if not request.can_manage:
        raise PermissionDeniedError("Only managers can make posts ping a role.")
    return ident


async def subscribe(ctx: CommandContext, request: Request) -> Reply:
    """``subscribe TOPIC [dm] [digest:hourly|daily] [ping @role]``: here or in your DMs."""
    words = list(request.args)
    to_dm = request.channel is None
    mode: Mode = "instant"
    ping: str | None = None
    # Options come after the topic; only trailing words are read as options, so a topic
    # may itself contain "dm" or "here" ("subscribe dm deal" follows the "dm deal").
    while len(words) > 1:
        low = words[-1].casefold()
        if (len(words) > 2 and words[-2].casefold() == "ping" and ping is None
                and (words[-1].startswith(("@", "<")) or role_id(words[-1]))):
            # "ping @role" (a topic may end in "ping pong": a role is @-typed or an id)
            ping = words[-1]
            words.pop()
        elif low == "dm":
            to_dm = True
        elif low in ("here", "channel"):
            to_dm = False
        elif low.startswith(("digest:", "mode:")):
            value = low.partition(":")[2]
            if value not in MODES:
                raise CommandError("Choose digest:hourly, digest:daily or digest:instant.")
            mode = value
        else:
            break
        words.pop()
    expression = " ".join(words)
    weak = weak_topic(parse_topic(expression))  # a bad topic is the first thing to tell
    if weak is not None:
        raise TopicError(weak, expression)
    if not to_dm and request.channel is None:
        raise CommandError("There is no channel here: add `dm` to get the news in your DMs.")
    if ping is not None:
        if to_dm:
            raise CommandError("A ping is for a channel's posts, not for your DMs.")
        ping = ping_role(request, ping)
    if to_dm:
        destination = Destination(request.tenant, "dm", request.user)
    else:
        if not request.can_manage:
            raise PermissionDeniedError(
                "Only people who can manage this channel can subscribe it. "
                "Add `dm` to get this topic in your DMs instead."
            )
        destination = Destination(request.tenant, "channel", str(request.channel))
    sub = await ctx.subscriptions.add(
        request.tenant, request.user, destination, expression, mode, now=ctx.clock(),
        ping=ping,
    )
    where = "your DMs" if to_dm else "this channel"
    how = "as they come" if mode == "instant" else f"in a {_MODE_NAMES[mode]}"
    pinging = f", pinging {sub.ping}" if sub.ping else ""
    return Reply(
        f"Subscribed: news about {topic_label(sub.expression)} will go to {where} {how}"
        f"{pinging} (#{sub.id}).{await _nothing_lately(ctx, sub.expression)}",
        subscriptions=(sub,),
    )


async def _nothing_lately(ctx: CommandContext, expression: str) -> str:
    """A note when none of the last day's articles matches the topic (else "")."""
    try:
        read, matched = await recent_matches(ctx.subscriptions.redis, expression, ctx.clock())
    except REDIS_ERRORS as exc:  # a hint only: never fail the subscribe for it
        log.warning("recent-articles check skipped: %s", exc)
        return ""
    if not read or matched:
        return ""
    return (
        f" None of the last day's {read} articles matched it: check the spelling, or try "
        "a broader word."
    )


async def _channel_matches(
    ctx: CommandContext, request: Request, target: str
) -> list[Subscription]:
    """Channel subscriptions a manager may act on, matching ``target``."""
    if request.channel is None or not request.can_manage:
        return []
    store = ctx.subscriptions
    channel = Destination(request.tenant, "channel", request.channel)
    found: list[Subscription] = []
    for owner in {s.owner for s in await store.list_for_destination(channel)}:
        found.extend(await store.find(request.tenant, owner, target, channel))
    return found


async def unsubscribe(ctx: CommandContext, request: Request) -> Reply:
    """``unsubscribe TOPIC`` (or ``#id``), or ``unsubscribe all`` (all of yours)."""
    store = ctx.subscriptions
    target = " ".join(request.args).strip()
    if not target:
        raise CommandError(
            "Say what to unsubscribe from: `unsubscribe syria` or `unsubscribe all`."
        )
    if target.casefold() == "all":
        removed = await store.remove_all(request.tenant, request.user)
        if not removed:
            return Reply("You had no subscriptions.")
        n = len(removed)
        return Reply(f"Removed all your subscriptions ({n}).", subscriptions=tuple(removed))
    removed = await store.remove(request.tenant, request.user, target)
    if not removed:
        found = await _channel_matches(ctx, request, target)
        await store.remove_ids(request.tenant, [s.id for s in found])
        removed = found
    if not removed:
        return Reply(
            f"You have no subscription to {topic_label(target)}. `list` shows yours.", ok=False
        )
    names = ", ".join(f"{topic_label(s.expression)} ({_where(s, request)})" for s in removed)
    return Reply(f"Unsubscribed from {names}.", subscriptions=tuple(removed))


async def list_subscriptions(ctx: CommandContext, request: Request) -> Reply:
    """``list``: your subscriptions, and this channel's."""
    store = ctx.subscriptions
    now = ctx.clock()
    mine = await store.list_for_user(request.tenant, request.user)
    lines: list[str] = []
    if mine:
        lines.append("Your subscriptions:")
        lines.extend("• " + describe(s, request, now) for s in mine)
    others: list[Subscription] = []
    if request.channel is not None:
        channel = Destination(request.tenant, "channel", request.channel)
        others = [
            s for s in await store.list_for_destination(channel) if s.owner != request.user
        ]
        if others:
            lines.append("Also delivered to this channel:")
            lines.extend("• " + describe(s, request, now) for s in others)
    if not lines:
        return Reply(
            'No subscriptions yet. Try `subscribe syria` or `subscribe "climate change" dm`.'
        )
    return Reply("\n".join(lines), subscriptions=tuple(mine + others))


async def mute(ctx: CommandContext, request: Request) -> Reply:
    """``mute TOPIC DURATION`` (``all`` mutes every subscription of yours)."""
    if len(request.args) < 2:
        raise CommandError("Use `mute TOPIC DURATION`, e.g. `mute syria 2h`.")
    seconds = parse_duration(request.args[-1])
    target = " ".join(request.args[:-1])
    until = ctx.clock() + seconds
    store = ctx.subscriptions
    if target.casefold() == "all":
        subs = await store.list_for_user(request.tenant, request.user)
        muted: list[Subscription] = []
        for sub in subs:
            muted.extend(await store.mute(request.tenant, request.user, sub.id, until))
    else:
        muted = await store.mute(request.tenant, request.user, target, until)
    if not muted:
        return Reply(f"You have no subscription to {topic_label(target)}. `list` shows yours.",
                     ok=False)
    names = ", ".join(topic_label(s.expression) for s in muted)
    return Reply(f"Muted {names} until {_when(until)}.", subscriptions=tuple(muted))


async def unmute(ctx: CommandContext, request: Request) -> Reply:
    """``unmute TOPIC`` (or ``unmute all``)."""
    target = " ".join(request.args).strip()
    if not target:
        raise CommandError("Say what to unmute: `unmute syria` or `unmute all`.")
    store = ctx.subscriptions
    if target.casefold() == "all":
        subs = await store.list_for_user(request.tenant, request.user)
        done: list[Subscription] = []
        for sub in subs:
            if sub.muted_until is not None:
                done.extend(await store.unmute(request.tenant, request.user, sub.id))
    else:
        done = await store.unmute(request.tenant, request.user, target)
    if not done:
        return Reply(f"Nothing to unmute for {topic_label(target)}.", ok=False)
    names = ", ".join(topic_label(s.expression) for s in done)
    return Reply(f"Unmuted {names}.", subscriptions=tuple(done))


HELP = """\
Topics work like a web search: `russia syria` needs both words, `"vladimir putin"` is a \
phrase, `assad OR erdogan` either one, `-sports` or `NOT sports` leaves a word out, \
`~climate` also follows close terms (English; `list` shows them).
• `subscribe TOPIC` – news about TOPIC in this channel (needs manage rights); add `dm` \
for your DMs, `digest:hourly` or `digest:daily` for a digest, `ping @role` to ping a role \
(managers only)
• `unsubscribe TOPIC`, `unsubscribe #ID` (the number `list` shows) or `unsubscribe all`
• `list` – your subscriptions and this channel's
• `mute TOPIC 2h` (30m, 1d, 1w …) and `unmute TOPIC`
• `summarize URL` (or just the link) – the article's summary card
• `feed add URL`, `feed remove URL`, `feed list` – news feeds posted in this channel \
(add and remove need manage rights); after `feed add URL`: `ping @role`, \
`format compact`, `as "Name"`, `avatar URL`, `only TOPIC` (only matching articles), \
`backfill 3` (its latest 3 at once)
• `format full|compact|headline` – how cards look in this channel (needs manage rights)
• `managers add @role`, `managers remove @role`, `managers list` – a role whose members \
manage too (admins only)
• `timezone Europe/Paris` – the time zone of daily digests here (needs manage rights)
• `dashboard` – a private sign-in link to the web panel (needs manage rights)"""


async def timezone_command(ctx: CommandContext, request: Request) -> Reply:
    """``timezone [ZONE]``: the time zone of this workspace's daily digests."""
    if ctx.tenants is None:
        raise CommandError("Time zones can't be set here.")
    if not request.args:
        current = await ctx.tenants.timezone(request.tenant)
        return Reply(f"Daily digests here follow the time zone {current}. "
                     "`timezone Europe/Paris` changes it (needs manage rights).")
    if not request.can_manage:
        raise PermissionDeniedError("Only people who manage channels can change the time zone.")
    name = await ctx.tenants.set_timezone(request.tenant, " ".join(request.args))
    return Reply(f"Daily digests here now follow the time zone {name}.")


async def format_command(ctx: CommandContext, request: Request) -> Reply:
    """``format [full|compact|headline]``: how cards are shown in this channel."""
    if ctx.tenants is None:
        raise CommandError("Formats can't be set here.")
    if request.channel is None:
        raise CommandError("Formats are per channel: run this in the channel.")
    if not request.args:
        current = await ctx.tenants.channel_format(request.tenant, request.channel)
        return Reply(f"Cards here are shown `{current}`. `format compact` (one line) or "
                     "`format headline` changes it (needs manage rights).")
    value = request.args[0].casefold()
    if len(request.args) != 1 or value not in FORMATS:
        raise CommandError("Formats are `full`, `compact` and `headline`.")
    if not request.can_manage:
        raise PermissionDeniedError("Only people who can manage this channel can change "
                                    "how its cards look.")
    await ctx.tenants.set_channel_format(request.tenant, request.channel, format_of(value))
    return Reply(f"Cards in this channel are now shown `{value}`.", ephemeral=False)


async def managers_command(ctx: CommandContext, request: Request) -> Reply:
    """``managers add @role`` | ``managers remove @role`` | ``managers list``."""
    if ctx.tenants is None:
        raise CommandError("Managers can't be set here.")
    action = request.args[0].casefold() if request.args else "list"
    if action in ("list", "ls"):
        roles = await ctx.tenants.manager_roles(request.tenant)
        if not roles:
            return Reply("Only admins manage here. `managers add @role` lets a role's "
                         "members manage too.")
        return Reply("Besides admins, members of these roles manage here: "
                     + ", ".join(roles) + ".")
    if action not in ("add", "remove", "rm") or len(request.args) != 2:
        raise CommandError("Use `managers add @role`, `managers remove @role` or "
                           "`managers list`.")
    # The platform's own admins only (``handle`` does not widen this command's right):
    # a managers role cannot hand manage rights on by itself.
    if not request.can_manage:
        raise PermissionDeniedError("Only admins can change who manages here.")
    role = role_id(request.args[1])
    if role is None or pings_everyone(request.tenant, role):
        raise CommandError("Name a role or user group, e.g. `managers add @editors`.")
    if action == "add":
        added = await ctx.tenants.add_manager_role(request.tenant, role)
        return Reply(f"Members of {role} now manage here." if added
                     else f"Members of {role} already manage here.")
    removed = await ctx.tenants.remove_manager_role(request.tenant, role)
    return Reply(f"Members of {role} no longer manage here." if removed
                 else f"{role} was not a managers role.", ok=removed)


async def help_command(ctx: CommandContext, request: Request) -> Reply:
    """``help``: the grammar and the commands."""
    return Reply(HELP)


async def summarize(ctx: CommandContext, request: Request) -> Reply:
    """``summarize URL`` (or just ``URL``): the link's summary card."""
    if not request.args:
        raise CommandError("Give me a link: `summarize https://…`.")
    if ctx.summarize is None:
        raise CommandError("Summaries are not available here.")
    card = await ctx.summarize(request.args[0])
    if ctx.share is not None:
        # A link pasted in chat is news for the workspace's subscribers too.
        try:
            await ctx.share(request.args[0], request.tenant, request.channel)
        except NewsbotError as exc:
            log.info("summarized link not shared: %s", type(exc).__name__)
    return Reply(card.headline or (card.link or request.args[0]), ephemeral=False, card=card)


async def dashboard(ctx: CommandContext, request: Request) -> Reply:
    """``dashboard``: a private one-time link to the web panel (managers only)."""
    if ctx.dashboard is None:
        raise CommandError("The web panel is not available here.")
    if not request.can_manage:
        raise PermissionDeniedError("Only people who can manage channels can open the panel.")
    link = await ctx.dashboard(request)
    return Reply("Your sign-in link to the web panel (works once, for 10 minutes; "
                 f"do not share it): {link}", ephemeral=True)


async def feed(ctx: CommandContext, request: Request) -> Reply:
    """``feed add URL`` | ``feed remove URL`` | ``feed list``: this channel's news feeds."""
    return await feed_command(ctx.feeds, request)


COMMANDS: dict[str, Command] = {
    "subscribe": subscribe,
    "sub": subscribe,
    "unsubscribe": unsubscribe,
    "unsub": unsubscribe,
    "list": list_subscriptions,
    "mute": mute,
    "unmute": unmute,
    "timezone": timezone_command,
    "help": help_command,
    "summarize": summarize,
    "summary": summarize,
    "feed": feed,
    "feeds": feed,
    "dashboard": dashboard,
    "panel": dashboard,
    "format": format_command,
    "managers": managers_command,
}

#: commands that take the platform's own admin right only, never a managers role's
_ADMIN_ONLY = frozenset({"managers"})


async def can_manage(ctx: CommandContext, request: Request) -> bool:
    """The platform's admins, and members of the tenant's managers roles, manage."""
    if request.can_manage:
        return True
    if not request.roles or request.channel is None or ctx.tenants is None:
        return False
    return await ctx.tenants.is_manager(request.tenant, request.roles)


async def handle(ctx: CommandContext, request: Request) -> Reply:
    """Run the command in ``request.text`` (or, if no text, ``args``); errors → a reply."""
    name, args = parse_command(request.text) if request.text else command_of(request.args)
    command = COMMANDS.get(name)
    if command is None:
        return Reply(f"I don't know `{name}`. " + "Try `help`.", ok=False)
    try:
        manage = request.can_manage if name in _ADMIN_ONLY else await can_manage(ctx, request)
        inner = Request(
            request.tenant, request.user, request.channel, manage, args, request.text,
            request.roles,
        )
        return await command(ctx, inner)
    except NewsbotError as exc:
        log.info("command %s refused: %s", name, type(exc).__name__)
        return Reply(exc.user_message, ok=False)
