"""Every Redis key name and prefix newsbot uses, in one place.

Per-tenant keys carry a hash tag ``{t:<tenant>}`` so that all of one tenant's keys
share a Redis Cluster slot and multi-key writes (Lua, MULTI) stay atomic there.
Cross-tenant keys (the tenant registry, the change stream) cannot share that slot,
so they are written separately, after the tenant-local atomic write.
"""

from __future__ import annotations

from binascii import crc_hqx
from functools import lru_cache

HASH_SLOTS = 16384


def key_slot(key: str) -> int:
    """The Redis Cluster slot of ``key``: CRC16 (XMODEM) of its hash tag, or of it whole."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc_hqx(key.encode(), 0) % HASH_SLOTS

PREFIX = "newsbot"

# Global (cross-tenant) keys.
TENANTS = f"{PREFIX}:tenants"
"""Set of every tenant id that has (or had) subscriptions; lets loaders avoid SCAN."""

SCHEMA_KEY = f"{PREFIX}:schema"
"""The version of this key layout the store was written in (``bot/upkeep/schema.py``)."""

SUB_CHANGES = f"{PREFIX}:subs:changes"
"""Stream of subscription changes (``tenant``, ``id``) that matchers follow."""

SUB_CHANGES_MAXLEN = 100_000
"""Approximate cap on the change stream; a reader that falls behind reloads fully."""

RECENT_CARDS = f"{PREFIX}:recent:cards"
"""Stream of the newest cards in short (headline, summary, lead, topics): does a new
topic match anything lately? (``bot/subscriptions/recent.py``)"""

RECENT_CARDS_MAXLEN = 2_000
"""Approximate cap on the recent cards (the subscribe-time check reads the newest 500)."""


def tenant_tag(tenant: str) -> str:
    """The hash-tagged prefix shared by all of one tenant's keys."""
    return f"{PREFIX}:{{t:{tenant}}}"


def sub_key(tenant: str, sub_id: str) -> str:
    """Hash holding one subscription's fields."""
    return f"{tenant_tag(tenant)}:sub:{sub_id}"


def sub_key_prefix(tenant: str) -> str:
    """Prefix of the subscription hashes of a tenant (Lua builds keys from it)."""
    return f"{tenant_tag(tenant)}:sub:"


def user_key(tenant: str, user: str) -> str:
    """Set of the subscription ids a user owns."""
    return f"{tenant_tag(tenant)}:user:{user}"


def dest_key(tenant: str, destination: str) -> str:
    """Set of the subscription ids delivering to one destination (channel or DM)."""
    return f"{tenant_tag(tenant)}:dest:{destination}"


def tenant_subs_key(tenant: str) -> str:
    """Set of every subscription id of a tenant (the per-tenant index)."""
    return f"{tenant_tag(tenant)}:subs"


PINGS_FIELD = "pings"
"""Field of ``tenant_settings_key`` set once any of the tenant's subscriptions pings a role:
the fan-out looks up subscriptions' pings only in tenants that have it."""


def tenant_managers_key(tenant: str) -> str:
    """Set of the role (Discord) or user group (Slack) ids whose members manage the tenant."""
    return f"{tenant_tag(tenant)}:managers"


def channel_formats_key(tenant: str) -> str:
    """Hash ``destination -> format`` (compact, headline) of the tenant's channels."""
    return f"{tenant_tag(tenant)}:formats"


def tenant_seq_key(tenant: str) -> str:
    """Counter that hands out subscription ids within a tenant."""
    return f"{tenant_tag(tenant)}:seq"


def tenant_version_key(tenant: str) -> str:
    """Counter bumped by every subscription write of the tenant, inside the same script.

    The change stream is written just after; a process that dies in between is caught up
    by readers comparing this counter with the last version they applied.
    """
    return f"{tenant_tag(tenant)}:ver"


def tenant_settings_key(tenant: str) -> str:
    """Hash of a tenant's own settings (its time zone for daily digests)."""
    return f"{tenant_tag(tenant)}:settings"


# --- pipeline (ingest -> workers -> per-platform delivery -> senders) -----------------

# Shares the feeds' hash tag: the feed poll commit marks items seen and queues them here
# in one atomic script, which Redis Cluster allows only within one slot.
INGEST_STREAM = f"{PREFIX}:{{fd}}:ingest"
"""Stream of links to fetch, parse, dedupe and match (one consumer group of workers)."""

INGEST_GROUP = "workers"
"""Consumer group of the pipeline workers on the ingest stream."""

DELIVERY_GROUP = "senders"
"""Consumer group of a platform's senders on its delivery stream."""

DEAD_LETTER_STREAM = f"{PREFIX}:deadletter"
"""Stream of deliveries (and links) that failed past the last retry, with the reason."""


def delivery_stream(platform: str, shard: int = 0, shards: int = 1) -> str:
    """Stream ``shard`` of ``shards`` carrying serialised posts to one platform's senders.

    One shard keeps the historical name ``newsbot:deliveries:<platform>``. With N shards,
    shard k is ``newsbot:{dl:<platform>:<j>}:deliveries`` where the hash tag's ``j`` is
    the first whose slot lies in the k-th N-th of the slot space: on a cluster whose
    slots are split evenly (``redis-cli --cluster create``, the test cluster), N shards
    over N primaries put one shard on each primary, 2N shards two on each.
    """
    if shards <= 1:
        return f"{PREFIX}:deliveries:{platform}"
    return f"{PREFIX}:{{{_shard_tag(platform, shard, shards)}}}:deliveries"


@lru_cache(maxsize=256)
def _shard_tag(platform: str, shard: int, shards: int) -> str:
    low = shard * HASH_SLOTS // shards
    high = (shard + 1) * HASH_SLOTS // shards
    j = 0
    while True:
        tag = f"dl:{platform}:{j}"
        if low <= key_slot(tag) < high:
            return tag
        j += 1


def is_delivery_stream(name: str) -> bool:
    """Whether ``name`` is a delivery stream (of any platform, shard or shard count)."""
    return name.startswith(f"{PREFIX}:deliveries:") or (
        name.startswith(f"{PREFIX}:{{dl:") and name.endswith("}:deliveries"))


def delivery_streams(platform: str, shards: int = 1) -> list[str]:
    """Every delivery stream of a platform (its senders read them all)."""
    return [delivery_stream(platform, k, shards) for k in range(max(1, shards))]


def stream_tagged(stream: str, name: str) -> str:
    """A key in the same hash slot as ``stream`` (an idempotency marker beside it).

    A key without braces hashes whole, so ``{<stream>}`` names its slot; a sharded
    stream's own tag is reused.
    """
    start = stream.find("{")
    end = stream.find("}", start + 1)
    tag = stream[start + 1:end] if start >= 0 and end > start + 1 else stream
    return f"{PREFIX}:{{{tag}}}:{name}"


def replicated_marker_key(key: str) -> str:
    """A small key beside ``key`` (same slot), written and then waited on (``WAIT``) to
    know this process's earlier writes to that server reached a replica."""
    return stream_tagged(key, "replicated")


def posted_key(idempotency_key: str) -> str:
    """Claim/done marker of one (article, destination) post: ``SET NX`` before posting."""
    return f"{PREFIX}:posted:{idempotency_key}"


def post_attempt_key(idempotency_key: str) -> str:
    """When a post was first tried, for platforms without idempotency keys (Slack): a
    retry after a crash or a lost answer looks for the post before making it again."""
    return f"{PREFIX}:attempt:{idempotency_key}"


def card_key(article_id: str) -> str:
    """One article's card (JSON, without its body) that its deliveries refer to."""
    return f"{PREFIX}:card:{article_id}"


# Dedupe keys share one hash tag: the Lua lookup reads URL keys and band sets together.
DEDUPE_TAG = f"{PREFIX}:{{dd}}"


def dedupe_url_key(canonical: str) -> str:
    """Article id of a canonical URL key (tracking, AMP, mobile variants folded)."""
    return f"{DEDUPE_TAG}:url:{canonical}"


def dedupe_band_key(band: int, value: int) -> str:
    """Set of ``id:hi:lo:ts`` articles whose SimHash has ``value`` in 16-bit ``band``."""
    return f"{DEDUPE_TAG}:band:{band}:{value:04x}"


def article_version_key(article_id: str) -> str:
    """The article's version last posted (JSON: number, headline, summary), to tell a
    re-submission that changed materially (its posts are edited) from one that did not."""
    return f"{PREFIX}:version:{article_id}"


def article_posts_key(article_id: str) -> str:
    """Hash ``destination -> {message id, post}`` of an article's posts, to edit them."""
    return f"{PREFIX}:messages:{article_id}"


def article_sources_key(article_id: str) -> str:
    """Set of sites that reported an article after the first one ("also reported by")."""
    return f"{PREFIX}:sources:{article_id}"


def digest_key(tenant: str, sub_id: str) -> str:
    """List of cards (JSON) waiting for a subscription's hourly or daily digest."""
    return f"{tenant_tag(tenant)}:digest:{sub_id}"


def ratelimit_key(platform: str, scope: str) -> str:
    """Sliding-window log of one rate budget; one hash tag per platform (atomic check)."""
    return f"{PREFIX}:{{rl:{platform}}}:{scope}"


# --- feeds (one hash tag: the poll commit reads and writes several feed keys at once) --

FEED_TAG = f"{PREFIX}:{{fd}}"

FEED_SCHEDULE = f"{FEED_TAG}:schedule"
"""Sorted set ``feed id -> next poll time`` (Unix s) of every enabled feed."""


def feed_key(feed_id: str) -> str:
    """Hash of one feed: url, title, etag, last_modified, interval, failures, disabled ..."""
    return f"{FEED_TAG}:feed:{feed_id}"


def feed_channels_key(feed_id: str) -> str:
    """Set of the destinations (JSON) that added a feed."""
    return f"{FEED_TAG}:chans:{feed_id}"


def feed_options_key(feed_id: str) -> str:
    """Hash ``destination (JSON) -> options (JSON)``: each channel's ping, format, persona
    and ``only`` filter."""
    return f"{FEED_TAG}:opts:{feed_id}"


def feed_seen_key(feed_id: str) -> str:
    """Sorted set of a feed's seen item keys (``g:`` GUID, ``l:`` canonical link) by age."""
    return f"{FEED_TAG}:seen:{feed_id}"


def feed_lease_key(feed_id: str) -> str:
    """Lease (``SET NX PX``) of the process polling a feed right now."""
    return f"{FEED_TAG}:lease:{feed_id}"


def feed_backfill_key(token: str) -> str:
    """Count of the posts a ``feed add URL backfill N`` may still make (``DECR`` per post)."""
    return f"{PREFIX}:backfill:{token}"


def channel_feeds_key(tenant: str, destination: str) -> str:
    """Set of the feed ids a channel has added."""
    return f"{FEED_TAG}:dest:{tenant}:{destination}"


# --- digests ---------------------------------------------------------------------------


def digest_pending_key(mode: str) -> str:
    """Set of ``tenant\\x1fsubscription id`` whose digest list (hourly/daily) has items."""
    return f"{PREFIX}:digests:pending:{mode}"


def digest_queued_key(stream: str, destination: str, mode: str, period: str) -> str:
    """Marker, in the delivery stream's slot, that a digest post was queued (step 2)."""
    return stream_tagged(stream, f"digest-queued:{mode}:{period}:{destination}")


def digest_outbox_key(tenant: str) -> str:
    """Hash of digest posts taken but not yet queued (queued-marker -> staged JSON)."""
    return f"{tenant_tag(tenant)}:digest-outbox"


def digest_taken_key(tenant: str, destination: str, mode: str, period: str) -> str:
    """Marker, in the tenant's slot, that a digest's lines were taken off (step 1)."""
    return f"{tenant_tag(tenant)}:digest-taken:{mode}:{period}:{destination}"


# --- web control panel ------------------------------------------------------------------


def panel_login_key(token_hash: str) -> str:
    """One-time sign-in link (by the hash of its token): the grant, ``SET NX EX``, ``GETDEL``."""
    return f"{PREFIX}:panel:login:{token_hash}"


def panel_session_key(nonce: str) -> str:
    """A panel session that is still open (signing out deletes it before its 12 h are up)."""
    return f"{PREFIX}:panel:session:{nonce}"


def dead_letter_retried_key(entry_id: str) -> str:
    """Marker that a dead letter was requeued from the panel (``SET NX``: once only)."""
    return f"{PREFIX}:deadletter:retried:{entry_id}"


def tenant_posts_stream(tenant: str) -> str:
    """Stream of a tenant's recent posts (destination, headline, matched, score)."""
    return f"{tenant_tag(tenant)}:posts"


def tenant_post_counts_key(tenant: str, hour: int) -> str:
    """Hash ``destination -> posts`` of one tenant in one hour (Unix hour number)."""
    return f"{tenant_tag(tenant)}:postcount:{hour}"


def tenant_feed_channels_key(tenant: str) -> str:
    """Set of a tenant's channels (destination keys) that have added feeds."""
    return f"{FEED_TAG}:tdests:{tenant}"


def channel_paused_feeds_key(tenant: str, destination: str) -> str:
    """Hash ``feed URL -> title`` of the feeds a channel has paused."""
    return f"{FEED_TAG}:paused:{tenant}:{destination}"
