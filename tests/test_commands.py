"""Platform-neutral commands against the real store."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.chat.commands import (
    CommandContext,
    handle,
    parse_command,
    parse_duration,
)
from bot.chat.contract import Reply, Request, split_args
from bot.errors import CommandError
from bot.subscriptions import SubscriptionStore

T = "slack:T0123"
NOW = 1_800_000_000.0


def ctx_for(redis: aioredis.Redis, **limits: int) -> CommandContext:
    return CommandContext(SubscriptionStore(redis, **limits), clock=lambda: NOW)


async def run(
    ctx: CommandContext,
    text: str,
    *,
    user: str = "U1",
    channel: str | None = "C1",
    manage: bool = False,
    tenant: str = T,
) -> Reply:
    return await handle(ctx, Request(tenant, user, channel, manage, text=text))


def test_parse_command_keeps_phrases() -> None:
    assert parse_command('/subscribe "vladimir putin" dm digest:daily') == (
        "subscribe",
        ('"vladimir putin"', "dm", "digest:daily"),
    )
    assert parse_command("unsubscribe all") == ("unsubscribe", ("all",))
    assert parse_command("  ") == ("help", ())
    assert split_args("mute “climate change” 2h") == ["mute", '"climate change"', "2h"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "0m", "-1h", "2h foo", "53w"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(CommandError):
        parse_duration(text)


async def test_subscribe_dm_list_unsubscribe(redis: aioredis.Redis) -> None:
    ctx = ctx_for(redis)
    reply = await run(ctx, 'subscribe "vladimir putin" dm digest:daily')
    assert reply.ok and "your DMs" in reply.text and "daily digest" in reply.text
    (sub,) = reply.subscriptions
    assert sub.destination.kind == "dm" and sub.destination.id == "U1"
    assert sub.mode == "daily" and sub.expression == '"vladimir putin"'
    listed = await run(ctx, "list")
    assert "\"vladimir putin\" → your DMs · daily digest" in listed.text
    assert "“\"" not in listed.text  # a phrase keeps its own quotes, no “\"…\"”
    reply = await run(ctx, 'unsubscribe "Vladimir Putin"')
    assert reply.ok and "Unsubscribed" in reply.text
    assert "No subscriptions yet" in (await run(ctx, "list")).text


async def test_channel_subscription_needs_manage_permission(redis: aioredis.Redis) -> None:
    ctx = ctx_for(redis)
    refused = await run(ctx, "subscribe syria", manage=False)
    assert not refused.ok
    assert "manage this channel" in refused.text and "dm" in refused.text
    ok = await run(ctx, "subscribe syria", manage=True)
    assert ok.ok and "this channel" in ok.text
    assert ok.subscriptions[0].destination.kind == "channel"
    # anyone may subscribe their own DMs, in a channel or not
    assert (await run(ctx, "subscribe syria dm", manage=False)).ok
    assert (await run(ctx, "subscribe iran", channel=None, user="U9")).ok


async def test_manager_can_remove_a_channel_subscription_of_someone_else(
    redis: aioredis.Redis,
) -> None:
    ctx = ctx_for(redis)
    await run(ctx, "subscribe syria", manage=True, user="U1")
    listed = await run(ctx, "list", user="U2")
    assert "Also delivered to this channel" in listed.text
    assert not (await run(ctx, "unsubscribe syria", user="U2", manage=False)).ok
    assert (await run(ctx, "unsubscribe syria", user="U2", manage=True)).ok
    assert (await run(ctx, "list", user="U1")).subscriptions == ()


async def test_unsubscribe_all_and_unknown(redis: aioredis.Redis) -> None:
    ctx = ctx_for(redis)
    for topic in ("syria", "iran", "iraq"):
        await run(ctx, f"subscribe {topic} dm")
    missing = await run(ctx, "unsubscribe venezuela")
    assert not missing.ok and "no subscription" in missing.text
    reply = await run(ctx, "unsubscribe all")
    assert "(3)" in reply.text
    assert (await run(ctx, "unsubscribe all")).text == "You had no subscriptions."


async def test_validation_and_caps_are_friendly_replies(redis: aioredis.Redis) -> None:
    ctx = ctx_for(redis, max_per_user=2)
    assert "not only exclusions" in (await run(ctx, "subscribe -sports dm")).text
    assert "100 characters" in (await run(ctx, "subscribe " + "x" * 120 + " dm")).text
    assert "quote is not closed" in (await run(ctx, 'subscribe "putin dm')).text
    assert "digest:hourly" in (await run(ctx, "subscribe syria dm digest:weekly")).text
    await run(ctx, "subscribe a1 dm")
    await run(ctx, "subscribe b2 dm")
    capped = await run(ctx, "subscribe c3 dm")
    assert not capped.ok and "2 subscriptions" in capped.text
    assert "Already subscribed" in (await run(ctx, "subscribe a1 dm")).text


async def test_mute_and_unmute(redis: aioredis.Redis) -> None:
    ctx = ctx_for(redis)
    await run(ctx, "subscribe syria dm")
    reply = await run(ctx, "mute syria 2h")
    assert reply.ok and "until" in reply.text
    assert reply.subscriptions[0].muted_until == NOW + 7200
    assert "muted until" in (await run(ctx, "list")).text
    assert not (await run(ctx, "mute syria soon")).ok
    assert not (await run(ctx, "mute venezuela 2h")).ok
    assert (await run(ctx, "unmute syria")).ok
    assert "muted" not in (await run(ctx, "list")).text
    await run(ctx, "subscribe iran dm")
    assert "“syria”, “iran”" in (await run(ctx, "mute all 1d")).text
    assert (await run(ctx, "unmute all")).ok


async def test_tenants_do_not_see_each_other(redis: aioredis.Redis) -> None:
    ctx = ctx_for(redis)
    await run(ctx, "subscribe syria", manage=True, tenant="discord:1")
    other = await run(ctx, "list", tenant="discord:2")
    assert "No subscriptions yet" in other.text
    assert not (await run(ctx, "unsubscribe syria", tenant="discord:2", manage=True)).ok


async def test_help_and_unknown_command(redis: aioredis.Redis) -> None:
    ctx = ctx_for(redis)
    assert "OR" in (await run(ctx, "help")).text
    unknown = await run(ctx, "frobnicate")
    assert not unknown.ok and "help" in unknown.text


async def test_option_words_inside_a_topic_stay_in_the_topic(redis: aioredis.Redis) -> None:
    """Only trailing words are options: "dm" and "here" may be part of what to follow."""
    from bot.chat.commands import CommandContext, handle
    from bot.chat.contract import Request
    from bot.subscriptions import SubscriptionStore

    ctx = CommandContext(SubscriptionStore(redis))
    reply = await handle(ctx, Request("console:t", "u1", "c1", True, text="subscribe dm deal"))
    assert reply.ok and reply.subscriptions[0].expression == "dm deal"
    assert reply.subscriptions[0].destination.kind == "channel"
    reply = await handle(ctx, Request("console:t", "u1", "c1", True,
                                      text='subscribe "vladimir putin" dm digest:daily'))
    sub = reply.subscriptions[0]
    assert (sub.expression, sub.destination.kind, sub.mode) == ('"vladimir putin"', "dm", "daily")
