"""Pure article parsing: page content in, summary card out, no I/O."""

from __future__ import annotations

from .card import Card


def parse_article(content: str | bytes, url: str | None = None) -> Card:
    """Turn an HTML page, or a page's plain text, into a summary card."""
    raise NotImplementedError
