"""The article wing: a page's content becomes a summary card, with no I/O.

Face: ``parse_article(content, url) -> Card``. Everything else here (metadata, dates,
plain-text pages, summaries, subjects, key figures) is its machinery.
"""

from .parse import parse_article

__all__ = ["parse_article"]
