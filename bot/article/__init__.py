"""The article wing: a page's content becomes a summary card, with no I/O.

Face: ``parse_article(content, url) -> Card``, and ``explain_article`` for the same card
with the account of how each field was chosen. Everything else here (metadata, dates,
plain-text pages, summaries, subjects, key figures) is their machinery.
"""

from .parse import explain_article, parse_article

__all__ = ["explain_article", "parse_article"]
