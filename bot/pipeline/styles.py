"""How each channel wants its posts: the format, the roles to ping and a feed's persona.

Applied to a fan-out's posts just before they are queued, in one Redis round trip (two
where a tenant's subscriptions ping): the
channel's format (``format compact``), the pings of the subscriptions that matched
(``subscribe TOPIC ping @role``) and, for a feed's channels, that channel's options for the
feed (``feed add URL ping @role format compact as "Name" avatar URL``), which come first.
DMs are left as they are: a ping or a persona means nothing there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import redis.asyncio as aioredis

from bot import keys
from bot.chat.contract import (
    FORMATS,
    Destination,
    Persona,
    Post,
    PostFormat,
    format_of,
    is_role_id,
)


@dataclass(frozen=True, slots=True)
class FeedStyle:
    """A channel's options for a feed, as the posts need them."""

    ping: str | None = None
    format: PostFormat | None = None
    persona: Persona | None = None


def feed_style(raw: str | None) -> FeedStyle:
    """The options JSON that ``bot.feeds.options.FeedOptions.stored`` gave (as JSON)."""
    try:
        data: Any = json.loads(raw) if raw else {}
    except ValueError:
        return FeedStyle()
    if not isinstance(data, dict):
        return FeedStyle()
    ping = str(data.get("ping") or "")
    fmt = data.get("format")
    name = str(data.get("name") or "")
    avatar = str(data.get("avatar") or "")
    return FeedStyle(
        ping=ping if is_role_id(ping) else None,
        format=format_of(fmt) if fmt in FORMATS else None,
        persona=Persona(name, avatar or None) if name else None,
    )


def _member(destination: Destination) -> str:
    # The feed store's set member for a channel (stable JSON, as ``destination_member``).
    return json.dumps(destination.to_dict(), sort_keys=True, separators=(",", ":"))


class PostStyles:
    """Looks up and applies formats, pings and personas for a fan-out's posts."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def apply(self, posts: Sequence[Post], feed: str | None = None) -> list[Post]:
        """``posts`` with each channel's format, pings and (a feed's) persona set.

        One round trip: per tenant, its channels' formats (one ``HMGET``) and whether any
        of its subscriptions pings; a second only for tenants where one does (the pings of
        the subscriptions behind these posts).
        """
        channels = [p for p in posts if p.destination.kind == "channel"]
        if not channels:
            return list(posts)
        by_tenant: dict[str, list[Post]] = {}
        for post in channels:
            by_tenant.setdefault(post.destination.tenant, []).append(post)
        pipe = self.redis.pipeline(transaction=False)
        for tenant, group in by_tenant.items():
            pipe.hmget(keys.channel_formats_key(tenant), [p.destination.key for p in group])
            pipe.hget(keys.tenant_settings_key(tenant), keys.PINGS_FIELD)
        if feed:
            pipe.hmget(keys.feed_options_key(feed), [_member(p.destination) for p in channels])
        answers: list[Any] = await pipe.execute()
        formats: dict[int, PostFormat] = {}
        pinging: list[Post] = []
        for n, group in enumerate(by_tenant.values()):
            for post, value in zip(group, answers[2 * n], strict=True):
                formats[id(post)] = format_of(_text(value))
            if answers[2 * n + 1]:
                pinging.extend(p for p in group if p.subscriptions)
        styles = ([feed_style(_text(v)) for v in answers[-1]] if feed
                  else [FeedStyle()] * len(channels))
        sub_pings: dict[int, list[str]] = {}
        if pinging:
            pipe = self.redis.pipeline(transaction=False)
            for post in pinging:
                for ref in post.subscriptions:
                    pipe.hget(keys.sub_key(post.destination.tenant, ref.id), "ping")
            found = iter(await pipe.execute())
            for post in pinging:
                sub_pings[id(post)] = [t for _ in post.subscriptions
                                       if (t := _text(next(found))) and is_role_id(t)]
        styled: dict[int, Post] = {}
        for post, style in zip(channels, styles, strict=True):
            pings = dict.fromkeys(sub_pings.get(id(post), ()))
            if style.ping:
                pings[style.ping] = None
            styled[id(post)] = replace(post, format=style.format or formats[id(post)],
                                       pings=tuple(pings), persona=style.persona)
        return [styled.get(id(p), p) for p in posts]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
