"""Neutral cards, posts and replies rendered as Discord embeds, buttons and text.

Pure functions (no I/O): every Discord length limit is enforced here by truncation, every
piece of text that could carry a mention is neutralised, and article text is escaped where
Discord renders markdown (title, description, field values), so a page cannot plant a
masked link (``[your bank](https://phish…)``) in a card. Callers only send.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import discord

from bot.card import Card
from bot.chat import DigestItem, Post, Reply, is_role_id

from .text import NO_MENTIONS, neutralise, plain, truncate

__all__ = [
    "NO_MENTIONS",
    "Message",
    "card_embed",
    "card_line",
    "digest_embed",
    "neutralise",
    "nonce_for",
    "ping_mentions",
    "render_post",
    "render_reply",
    "reply_card",
    "truncate",
]

# Discord's documented limits (https://discord.com/developers/docs/resources/message).
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
CONTENT_MAX = 2000
BUTTON_LABEL_MAX = 80
NONCE_MAX = 25
#: a note ("updated") beside a one-line card keeps the line readable
NOTE_BESIDE_LINE_MAX = 300


def nonce_for(key: str) -> str:
    """A Discord nonce (at most 25 characters) derived from a post's idempotency key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:NONCE_MAX]


def _http_url(url: str | None) -> str | None:
    if url and url.startswith(("https://", "http://")):
        return url
    return None


def embed_size(embed: discord.Embed) -> int:
    """The character count Discord holds against the 6000 total."""
    return len(embed)


def _fit_total(embed: discord.Embed) -> discord.Embed:
    """Shrink the description, then drop trailing fields, until the total fits."""
    excess = embed_size(embed) - EMBED_TOTAL_MAX
    if excess > 0 and embed.description:
        keep = max(len(embed.description) - excess, 0)
        embed.description = truncate(embed.description, keep) or None
    while embed_size(embed) > EMBED_TOTAL_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if embed_size(embed) > EMBED_TOTAL_MAX and embed.title:
        over = embed_size(embed) - EMBED_TOTAL_MAX
        embed.title = truncate(embed.title, len(embed.title) - over)
    return embed


def _add_field(embed: discord.Embed, name: str, value: str, *, inline: bool = False) -> None:
    if not value.strip() or len(embed.fields) >= FIELDS_MAX:
        return
    embed.add_field(
        name=truncate(name, FIELD_NAME_MAX), value=truncate(value, FIELD_VALUE_MAX), inline=inline
    )


def card_embed(
    card: Card,
    matched: tuple[str, ...] = (),
    also_reported_by: tuple[str, ...] = (),
) -> discord.Embed:
    """One embed for one card: linked headline, summary, date, figures, why it was sent."""
    link = _http_url(card.link)
    summary = card.summary or card.lead
    # The link lives in the embed's url field; the text around it is the article's own,
    # escaped wherever Discord renders markdown (the footer does not).
    embed = discord.Embed(
        title=truncate(plain(card.headline) if card.headline else link or "Untitled",
                       TITLE_MAX),
        url=link,
        description=truncate(plain(summary), DESCRIPTION_MAX) or None,
        colour=discord.Colour.blurple(),
    )
    if card.published:
        _add_field(embed, "Published", plain(card.published[:10]), inline=True)
    if card.section:
        _add_field(embed, "Section", plain(card.section), inline=True)
    if card.key_figures:
        lines = [f"**{plain(k.value)}** {plain(k.label)}".strip() for k in card.key_figures]
        _add_field(embed, "Key figures", "\n".join(lines))
    if matched:
        _add_field(embed, "Matched", plain(", ".join(matched)))
    if also_reported_by:
        _add_field(embed, "Also reported by", plain(", ".join(also_reported_by)))
    if card.paywalled:
        _add_field(embed, "Note", "This article may be behind a paywall.")
    footer = card.site or ""
    if footer:
        embed.set_footer(text=truncate(footer, FOOTER_MAX))
    image = _http_url(card.image)
    if image:
        embed.set_thumbnail(url=image)
    return _fit_total(embed)


def digest_embed(title: str | None, items: tuple[DigestItem, ...]) -> discord.Embed:
    """One embed listing a digest's headlines, each linked, with why it matched."""
    lines: list[str] = []
    used = 0
    for n, item in enumerate(items):
        headline = plain(truncate(item.headline.replace("[", "(").replace("]", ")"), 200))
        link = _http_url(item.link)
        line = f"• [{headline}]({link})" if link else f"• {headline}"
        extras = [plain(x) for x in (item.site, ", ".join(item.matched)) if x]
        if extras:
            line += " — " + " · ".join(extras)
        rest = len(items) - n - 1
        reserve = len(f"\n… and {rest} more") if rest else 0
        if used + len(line) + 1 + reserve > DESCRIPTION_MAX:
            lines.append(f"… and {len(items) - n} more")
            break
        lines.append(line)
        used += len(line) + 1
    embed = discord.Embed(
        title=truncate(title or "Your news digest", TITLE_MAX),
        description=truncate("\n".join(lines), DESCRIPTION_MAX) or "Nothing new.",
        colour=discord.Colour.blurple(),
    )
    embed.set_footer(text=f"{len(items)} article{'s' if len(items) != 1 else ''}")
    return _fit_total(embed)


#: the marker of a post edited because its article changed
UPDATED = "✏️ Updated"


@dataclass(frozen=True, slots=True)
class Message:
    """What to send: content and/or one embed (the adapter adds the post's buttons), and
    the only mentions it may ping (none, or the roles a manager chose)."""

    content: str | None = None
    embed: discord.Embed | None = None
    allowed: discord.AllowedMentions = NO_MENTIONS


def ping_mentions(pings: tuple[str, ...]) -> tuple[str, discord.AllowedMentions]:
    """The role mentions that start a pinging post, and the allowed mentions naming exactly
    those roles (never everyone, never users): article text can ping nobody."""
    roles = [r for r in dict.fromkeys(pings) if is_role_id(r) and r.isdigit()]
    if not roles:
        return "", NO_MENTIONS
    allowed = discord.AllowedMentions(
        everyone=False, users=False, replied_user=False,
        roles=[discord.Object(id=int(r)) for r in roles],
    )
    return " ".join(f"<@&{r}>" for r in roles), allowed


def _md_label(text: str) -> str:
    """Text inside a masked link's brackets: markdown escaped, brackets made round."""
    return plain(neutralise(text.replace("[", "(").replace("]", ")")))


def card_line(card: Card, fmt: str, limit: int = CONTENT_MAX) -> str:
    """A card as one line of message content: ``headline`` (linked) or ``compact``
    (headline, site, date, link), never longer than ``limit`` characters."""
    link = _http_url(card.link)
    if link and len(link) > limit // 2:
        link = None  # a link is shown whole or not at all
    headline = card.headline or link or "Untitled"
    if fmt == "headline" and link:
        label = truncate(_md_label(headline), limit - len(link) - 6)
        return f"[{label}](<{link}>)"
    # <link> keeps Discord from unfurling a preview under a one-line post.
    tail = f" <{link}>" if link and fmt == "compact" else ""
    meta = [_md_label(x) for x in (card.site, (card.published or "")[:10]) if x]
    extra = truncate(" · " + " · ".join(meta), limit // 4) if meta and fmt == "compact" else ""
    room = limit - len(tail) - len(extra) - 4
    return f"**{truncate(_md_label(headline), max(room, 1))}**{extra}{tail}"


def content_text(text: str) -> str:
    """Message content, mentions neutralised and cut to Discord's 2000 characters."""
    return truncate(neutralise(text), CONTENT_MAX)


def _join(*parts: str | None) -> str | None:
    text = "\n".join(p for p in parts if p)
    return truncate(text, CONTENT_MAX) if text else None


def render_post(post: Post) -> Message:
    """A neutral post as a Discord message (card embed or line, digest embed or a note),
    in the post's format, starting with the roles it pings (the only mentions allowed)."""
    note = content_text(post.note) if post.note else None
    ping, allowed = ping_mentions(post.pings)
    if post.card is not None:
        if post.format in ("compact", "headline"):
            note = truncate(note, NOTE_BESIDE_LINE_MAX) if note else None
            room = CONTENT_MAX - len(ping) - len(note or "") - 2
            line = card_line(post.card, post.format, room)
            return Message(_join(ping, note, line), None, allowed)
        embed = card_embed(post.card, post.matched, post.also_reported_by)
        if post.revision:
            note = content_text(f"{UPDATED} {note}" if note else UPDATED)
        return Message(_join(ping, note), embed, allowed)
    if post.digest:
        return Message(_join(ping, note), digest_embed(post.digest_title, post.digest), allowed)
    return Message(_join(ping, note) or "\u200b", None, allowed)


def reply_card(reply: Reply) -> Card | None:
    """The card a reply carries (``summarize``), if any."""
    return reply.card


def render_reply(reply: Reply) -> Message:
    """A command reply: its text, plus the card's embed when it carries one."""
    card = reply.card
    embed = card_embed(card) if card is not None else None
    text = content_text(reply.text) if reply.text else None
    if card is not None and reply.text in (card.headline, card.link, card.url):
        text = None  # the embed already says it
    if embed is None and not text:
        text = "Done."
    return Message(text, embed)
