"""The article wing: a page's content becomes a summary card, with no I/O.

Face: ``parse_article(content, url) -> Card``, ``explain_article`` for the same card with
the account of how each field was chosen, and ``ParsePool``, which runs them in worker
processes within a deadline and a memory cap (how the bot and the CLI read every page).
Everything else here (metadata, dates, plain-text pages, summaries, subjects, key
figures) is their machinery. ``parse_article`` and ``explain_article`` are loaded on
first use: a process that only uses the pool never imports trafilatura or lxml itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .pool import ParsePool, default_workers

if TYPE_CHECKING:
    from .parse import explain_article, parse_article

__all__ = ["ParsePool", "default_workers", "explain_article", "parse_article"]


def __getattr__(name: str) -> Any:
    """``parse_article`` and ``explain_article`` on first use (trafilatura, lxml)."""
    if name in ("parse_article", "explain_article"):
        from . import parse

        return getattr(parse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
