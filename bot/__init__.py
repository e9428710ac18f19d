"""newsbot core: links become summary cards, matched against topic subscriptions.

This package never imports a chat platform library; adapters live in ``adapters/``.
"""

from .article import parse_article
from .card import Card, KeyFigure
from .errors import NewsbotError

__all__ = ["Card", "KeyFigure", "NewsbotError", "parse_article"]
