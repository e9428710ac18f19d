"""The pipeline wing: links through Redis Streams to posts, at least once and once only.

Face: ``Ingest`` (links in) and ``Worker`` (fetch, parse, dedupe, match, fan out), the
outbox every producer of posts uses (``Outbox`` for a fan-out within the stream cap,
``enqueue``, the ``Post`` codec), ``Sender`` (one
platform's deliveries, within its ``RateLimiter`` budgets), digests, and the consumer
base the stages share.
"""

from .consumer import StreamConsumer
from .dedupe import Deduper
from .delivery import Sender
from .digests import DigestQueue, DigestScheduler
from .history import POSTS_MAXLEN, record_post
from .ingest import Ingest, Worker, destinations_from
from .outbox import Outbox, enqueue, platform_of, post_from_json, post_to_json, stream_for
from .ratelimit import RateLimiter
from .streams import Entry, consumer_name

__all__ = [
    "POSTS_MAXLEN",
    "Deduper",
    "DigestQueue",
    "DigestScheduler",
    "Entry",
    "Ingest",
    "Outbox",
    "RateLimiter",
    "Sender",
    "StreamConsumer",
    "Worker",
    "consumer_name",
    "destinations_from",
    "enqueue",
    "platform_of",
    "post_from_json",
    "post_to_json",
    "record_post",
    "stream_for",
]
