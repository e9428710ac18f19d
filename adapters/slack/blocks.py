"""Pure rendering of neutral cards, posts and replies as Slack Block Kit.

Everything here is a function of its arguments (no I/O), so it is unit-tested directly.
All text that came from an article or a user is escaped (``&``, ``<``, ``>``) so that
``<!channel>`` or ``<@U123>`` in a page pings nobody, and every Slack limit is enforced:
at most 50 blocks, 3000 characters per text object, 150 for a header, 10 fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.card import Card
from bot.chat import DigestItem, Post, Reply, Subscription, SubscriptionRef, is_role_id

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_CONTEXT_ELEMENTS = 10
MAX_HOME_BLOCKS = 100
#: buttons rows under one card; more subscriptions than this share the "list" command
MAX_SUBSCRIPTION_ROWS = 5

ACTION_UNSUBSCRIBE = "newsbot_unsub"
ACTION_MUTE = "newsbot_mute"

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
_ELLIPSIS = "…"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences in any text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping (slash command text arrives escaped)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    cut = _PARTIAL_ENTITY.sub("", cut).rstrip()
    return cut + _ELLIPSIS


def safe(text: str, limit: int = MAX_TEXT) -> str:
    """Escaped and cut to ``limit``."""
    return truncate(escape(text), limit)


def _link(url: str, label: str) -> str:
    """A mrkdwn link: ``<``, ``>``, ``|`` percent-encoded and ``&`` escaped in the URL."""
    clean_url = url.replace(">", "%3E").replace("<", "%3C").replace("|", "%7C")
    clean_url = clean_url.replace(" ", "%20").replace("&", "&amp;")
    return f"<{clean_url}|{escape(label.replace('|', '/'))}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, MAX_TEXT)}


def _plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    # Slack decodes the three entities in plain_text too: escape it like mrkdwn
    return {"type": "plain_text", "text": safe(text, limit) or " ", "emoji": True}


def _date(card: Card) -> str | None:
    """The publication date as ``11 Dec 2017`` (the core gives ISO dates)."""
    value = card.published or card.updated
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return f"{parsed.day} {parsed.strftime('%b %Y')}"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def card_fallback(card: Card) -> str:
    """The plain notification text for a card: headline and site."""
    head = card.headline or card.link or "News"
    text = f"{head} ({card.site})" if card.site else head
    return safe(text, MAX_TEXT)


def card_blocks(card: Card, *, matched: Sequence[str] = ()) -> list[Block]:
    """The summary card: header, source line, summary, key figures and matched terms."""
    blocks: list[Block] = []
    headline = card.headline or card.link or "Untitled"
    blocks.append({"type": "header", "text": _plain(headline, MAX_HEADER)})
    source: list[str] = []
    link = card.link
    if link:
        source.append(_link(link, f"Read on {card.site}" if card.site else "Read the article"))
    elif card.site:
        source.append(escape(card.site))
    date = _date(card)
    if date:
        source.append(escape(date))
    if card.section:
        source.append(escape(card.section))
    if card.authors:
        source.append(escape(", ".join(card.authors)))
    if card.paywalled:
        source.append("paywalled")
    if source:
        blocks.append({"type": "context", "elements": [_mrkdwn(" · ".join(source))]})
    if card.summary:
        blocks.append({"type": "section", "text": _mrkdwn(safe(card.summary))})
    if card.key_figures:
        fields = [
            _mrkdwn(truncate(f"*{escape(k.value)}*\n{escape(k.label)}", MAX_FIELD_TEXT))
            for k in card.key_figures[:MAX_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    if matched:
        blocks.append(
            {"type": "context", "elements": [_mrkdwn(safe("matched: " + ", ".join(matched)))]}
        )
    return blocks


def card_line_blocks(card: Card, fmt: str) -> list[Block]:
    """A card as one line: ``headline`` (linked) or ``compact`` (headline, site, date)."""
    headline = card.headline or card.link or "Untitled"
    # The label is cut before it is escaped and linked: the line always fits one text.
    label = truncate(headline, 1000)
    head = _link(card.link, label) if card.link else escape(label)
    parts = [f"*{head}*" if fmt == "compact" else head]
    if fmt == "compact":
        parts.extend(escape(truncate(x, 200)) for x in (card.site, _date(card)) if x)
    return [{"type": "section", "text": _mrkdwn(" · ".join(parts))}]


def ping_text(pings: Sequence[str]) -> str:
    """The user group mentions a pinging post starts with (ids only: nothing else pings)."""
    groups = [g for g in dict.fromkeys(pings) if is_role_id(g) and g.startswith("S")]
    return " ".join(f"<!subteam^{g}>" for g in groups)


def subscription_actions(subscriptions: Iterable[SubscriptionRef]) -> list[Block]:
    """One actions row per subscription: "Unsubscribe <topic>" and "Mute 24 h"."""
    rows: list[Block] = []
    for ref in list(subscriptions)[:MAX_SUBSCRIPTION_ROWS]:
        rows.append(
            {
                "type": "actions",
                "block_id": f"newsbot_sub_{ref.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_UNSUBSCRIBE,
                        "text": _plain(f"Unsubscribe {ref.expression}", MAX_BUTTON_TEXT),
                        "value": ref.id,
                    },
                    {
                        "type": "button",
                        "action_id": ACTION_MUTE,
                        "text": _plain("Mute 24 h", MAX_BUTTON_TEXT),
                        "value": ref.id,
                    },
                ],
            }
        )
    return rows


def digest_blocks(title: str | None, items: Sequence[DigestItem]) -> list[Block]:
    """A digest as one message: a header and the headlines, packed into few sections."""
    blocks: list[Block] = [
        {"type": "header", "text": _plain(title or "Your news digest", MAX_HEADER)}
    ]
    chunk: list[str] = []
    size = 0
    for item in items:
        head = _link(item.link, item.headline) if item.link else escape(item.headline)
        extra = [escape(item.site)] if item.site else []
        if item.matched:
            extra.append("matched: " + escape(", ".join(item.matched)))
        line = truncate("• " + head + (" — " + " · ".join(extra) if extra else ""), 1000)
        if chunk and size + len(line) + 1 > MAX_TEXT:
            blocks.append({"type": "section", "text": _mrkdwn("\n".join(chunk))})
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append({"type": "section", "text": _mrkdwn("\n".join(chunk))})
    return limit_blocks(blocks)


def digest_fallback(title: str | None, items: Sequence[DigestItem]) -> str:
    """Notification text for a digest."""
    n = len(items)
    return safe(f"{title or 'Your news digest'}: {n} {'story' if n == 1 else 'stories'}")


def limit_blocks(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """At most ``limit`` blocks; when cutting, keep the trailing actions rows if possible."""
    if len(blocks) <= limit:
        return blocks
    tail = [b for b in blocks[-MAX_SUBSCRIPTION_ROWS:] if b.get("type") == "actions"]
    head = [b for b in blocks if b not in tail]
    keep = max(limit - len(tail) - 1, 0)
    note = {"type": "context", "elements": [_mrkdwn("… more left out (Slack's limit).")]}
    return [*head[:keep], note, *tail][:limit]


#: the marker of a post edited because its article changed
UPDATED = ":pencil2: Updated"


def post_message(post: Post) -> tuple[str, list[Block]]:
    """A neutral ``Post`` as ``(fallback text, blocks)`` for ``chat.postMessage``."""
    blocks: list[Block] = []
    texts: list[str] = []
    ping = ping_text(post.pings)
    if ping:
        blocks.append({"type": "section", "text": _mrkdwn(ping)})
        texts.append(ping)
    if post.note:
        blocks.append({"type": "section", "text": _mrkdwn(safe(post.note))})
        texts.append(safe(post.note))
    if post.card is not None:
        if post.revision:
            blocks.append({"type": "context", "elements": [_mrkdwn(UPDATED)]})
            texts.append(UPDATED)
        if post.format in ("compact", "headline"):
            blocks.extend(card_line_blocks(post.card, post.format))
        else:
            blocks.extend(card_blocks(post.card, matched=post.matched))
        texts.append(card_fallback(post.card))
    if post.digest:
        blocks.extend(digest_blocks(post.digest_title, post.digest))
        texts.append(digest_fallback(post.digest_title, post.digest))
    if post.also_reported_by:
        also = "also reported by " + ", ".join(post.also_reported_by)
        blocks.append({"type": "context", "elements": [_mrkdwn(safe(also))]})
    blocks.extend(subscription_actions(post.subscriptions))
    text = truncate(" — ".join(texts), MAX_TEXT) or "News"
    return text, limit_blocks(blocks)


def reply_message(reply: Reply) -> tuple[str, list[Block]]:
    """A command reply (and its card, for ``summarize``) as ``(text, blocks)``."""
    card = reply.card
    text = safe(reply.text) if reply.text else ""
    blocks: list[Block] = []
    # a card's reply text is usually its headline, which the card's header already shows
    if text and (card is None or reply.text.strip() not in (card.headline, card.link)):
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    if card is not None:
        blocks.extend(card_blocks(card))
        text = text or card_fallback(card)
    return text or "Done.", limit_blocks(blocks)


def unfurl(card: Card) -> dict[str, Any]:
    """One ``chat.unfurl`` entry for a link: the card's blocks."""
    return {"blocks": limit_blocks(card_blocks(card))}


def home_view(subscriptions: Sequence[Subscription], now: float) -> dict[str, Any]:
    """The App Home tab: the user's subscriptions, each with remove and mute buttons."""
    blocks: list[Block] = [{"type": "header", "text": _plain("Your news subscriptions")}]
    if not subscriptions:
        blocks.append(
            {
                "type": "section",
                "text": _mrkdwn(
                    "No subscriptions yet. Try `/news subscribe syria` in a channel or "
                    '`/news subscribe "climate change" dm`.'
                ),
            }
        )
    # two blocks per subscription, a header and a footer: stay inside the 100-block view
    room = (MAX_HOME_BLOCKS - 3) // 2
    for sub in subscriptions[:room]:
        where = "your DMs" if sub.destination.kind == "dm" else f"<#{sub.destination.id}>"
        state = {"instant": "as they come", "hourly": "hourly digest", "daily": "daily digest"}
        parts = [f"*{escape(sub.expression)}* → {where}", state.get(sub.mode, sub.mode)]
        if sub.disabled:
            parts.append("paused: the channel is gone")
        elif sub.is_muted(now) and sub.muted_until is not None:
            parts.append(f"muted until {_when(sub.muted_until)}")
        blocks.append(
            {
                "type": "section",
                "block_id": f"newsbot_home_{sub.id}",
                "text": _mrkdwn(truncate(f"#{sub.id} " + " · ".join(parts), MAX_TEXT)),
            }
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"newsbot_sub_{sub.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_UNSUBSCRIBE,
                        "text": _plain("Remove", MAX_BUTTON_TEXT),
                        "style": "danger",
                        "value": sub.id,
                    },
                    {
                        "type": "button",
                        "action_id": ACTION_MUTE,
                        "text": _plain("Mute 24 h", MAX_BUTTON_TEXT),
                        "value": sub.id,
                    },
                ],
            }
        )
    if len(subscriptions) > room:
        more = f"… and {len(subscriptions) - room} more: `/news list` shows them all."
        blocks.append({"type": "context", "elements": [_mrkdwn(more)]})
    blocks.append(
        {"type": "context", "elements": [_mrkdwn("`/news help` explains topics and commands.")]}
    )
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}
