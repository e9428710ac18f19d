"""The last day's cards, in short: a topic that matches none of them says so at subscribe.

Each new article's card is kept in short (headline, summary, lead, topics, section and
language: what the matcher weighs most) in one capped stream. ``recent_matches`` runs a
topic against the newest of them that are under a day old, with the matcher's own rules
(body mentions past the lead are not kept, so this is a hint, never a refusal).
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis

from bot import keys
from bot.card import Card

from .matcher import MatchIndex

__all__ = ["RECENT_S", "recent_matches", "record_recent"]

RECENT_S = 24 * 3600
READ = 500  # the newest cards a check reads (a match stops it at once)
_LEAD_CHARS = 1500


async def record_recent(redis: aioredis.Redis, card: Card, now: float | None = None) -> None:
    """Keep ``card`` in short among the recent cards (the stream is capped)."""
    short = {
        "headline": card.headline,
        "summary": card.summary,
        "lead": card.lead[:_LEAD_CHARS],
        "topics": list(card.topics),
        "section": card.section,
        "language": card.language,
    }
    fields = {"at": repr(time.time() if now is None else now), "card": json.dumps(short)}
    await redis.xadd(
        keys.RECENT_CARDS, fields,  # type: ignore[arg-type]
        maxlen=keys.RECENT_CARDS_MAXLEN, approximate=True,
    )


async def recent_matches(
    redis: aioredis.Redis, expression: str, now: float | None = None
) -> tuple[int, int]:
    """(recent cards read, how many match ``expression``): 0 matched means none of the
    last day's; reading stops at the first match."""
    now = time.time() if now is None else now
    probe = MatchIndex()
    probe.add_raw("probe/1", "", "probe\x00dm:probe", expression)
    read = matched = 0
    rows: Any = await redis.xrevrange(keys.RECENT_CARDS, count=READ) or []
    for _, fields in rows:
        try:
            at = float(fields["at"])
            short = json.loads(fields["card"])
        except (KeyError, ValueError):
            continue
        if at < now - RECENT_S or at > now + 3600:
            continue
        read += 1
        card = Card(
            headline=str(short.get("headline") or ""),
            body=str(short.get("lead") or ""),
            summary=str(short.get("summary") or ""),
            topics=tuple(str(t) for t in short.get("topics") or ()),
            section=short.get("section"),
            language=short.get("language"),
        )
        if len(probe.match(card)):
            matched += 1
            break
    return read, matched
