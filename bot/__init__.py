"""newsbot core: links become summary cards, matched against topic subscriptions.

This package never imports a chat platform library; adapters live in ``adapters/``. Its
wings (``article``, ``language``, ``subscriptions``, ``pipeline``, ``feeds``, ``chat``,
``cli``) each show a small face in their ``__init__``. ``from bot import parse_article``
works, but loads the extraction libraries only when it is used, so ``import bot.keys``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .card import Card, KeyFigure
from .errors import NewsbotError

if TYPE_CHECKING:
    from .article import parse_article

__all__ = ["Card", "KeyFigure", "NewsbotError", "parse_article"]


def __getattr__(name: str) -> Any:
    """``parse_article`` on first use (it pulls in trafilatura and lxml)."""
    if name == "parse_article":
        from .article import parse_article

        return parse_article
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
