"""A card as a person wants to read it in a terminal (rich), shared by the CLI and console."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.card import Card


def card_line(card: Card, fmt: str) -> Text:
    """A card as one line: ``headline`` only, or ``compact`` (headline, site, date, link)."""
    line = Text(card.headline or card.link or "(no headline)", style="bold")
    if card.link:
        line.stylize(f"link {card.link}")
    if fmt == "compact":
        for part in (card.site, (card.published or "")[:10] or None):
            if part:
                line.append(" · " + part, style="dim")
        if card.link:
            line.append(" " + card.link, style="blue underline")
    return line


def render_post_card(card: Card, fmt: str, matched: tuple[str, ...] = ()) -> RenderableType:
    """A card in a post's format: the framed card (``full``) or one line."""
    if fmt in ("compact", "headline"):
        return card_line(card, fmt)
    return render_card(card, matched)


def render_card(card: Card, matched: tuple[str, ...] = ()) -> RenderableType:
    """A framed card: headline, source line, summary, key figures, topics and link."""
    parts: list[RenderableType] = []
    title = Text(card.headline or "(no headline)", style="bold")
    if card.link:
        title.stylize(f"link {card.link}")
    parts.append(title)
    meta = " · ".join(
        x for x in (card.site, card.section, (card.published or "")[:10] or None,
                    ", ".join(card.authors) or None) if x
    )
    if meta:
        parts.append(Text(meta, style="dim"))
    if card.paywalled:
        parts.append(Text("Paywalled: only a teaser was readable.", style="yellow"))
    if card.summary:
        parts.append(Text(""))
        parts.append(Text(card.summary))
    if card.key_figures:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", justify="right")
        table.add_column()
        for fig in card.key_figures:
            table.add_row(escape(fig.value), escape(fig.label))
        parts.extend([Text(""), table])
    if card.topics:
        parts.append(Text(""))
        parts.append(Text("Topics: " + ", ".join(card.topics), style="green"))
    if matched:
        parts.append(Text("Matched: " + ", ".join(matched), style="magenta"))
    if card.link:
        parts.append(Text(card.link, style="blue underline"))
    return Panel(Group(*parts), expand=False, width=100)
