"""The feeds wing: RSS and Atom feeds polled politely and turned into links for the pipeline.

Face: ``FeedManager`` and ``feed_command`` (the ``feed`` chat command), ``FeedPoller`` (the
background polling), ``FeedStore`` (feed state in Redis), and ``FeedOptions`` with
``parse_feed_add`` (the ``feed add URL`` clauses: ``ping``, ``format``, ``as``, ``avatar``,
``only``, ``backfill``).
"""

from .commands import FeedAdded, FeedManager, FeedPreview, describe_feed, feed_command
from .options import CLAUSES, FeedOptions, parse_feed_add
from .parse import FeedItem
from .poller import FeedPoller, PollStats
from .store import FeedRecord, FeedStore, feed_id_for, normalise_feed_url

__all__ = [
    "CLAUSES",
    "FeedAdded",
    "FeedItem",
    "FeedManager",
    "FeedOptions",
    "FeedPoller",
    "FeedPreview",
    "FeedRecord",
    "FeedStore",
    "PollStats",
    "describe_feed",
    "feed_command",
    "feed_id_for",
    "normalise_feed_url",
    "parse_feed_add",
]
