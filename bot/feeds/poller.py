"""Polite feed polling shared by every bot process.

``FeedPoller.poll_due`` claims the feeds whose time has come (the schedule ZSET, a lease
per feed so each is polled by one process at a time), fetches each once however many
channels use it, with ``If-None-Match`` / ``If-Modified-Since``, and commits the result:
new items (by GUID and canonical link, never by date) go to the ingest stream marked with
the feed's channels; the next poll is the feed's interval (default 10 min, at least 1,
longer if its ``ttl`` or ``Cache-Control`` asks) with jitter; a failure backs off
exponentially and after a day of failures the feed is disabled and its channels are told.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.background import cancel_and_wait
from bot.chat.contract import Post
from bot.errors import FeedError, FetchError, NoFeedFoundError
from bot.fetch import FEED_TYPES, HTML_TYPES, Fetcher, Page
from bot.pipeline import Ingest, enqueue
from bot.redis_server import REDIS_ERRORS
from bot.settings import Settings

from .parse import ParsedFeed, cache_max_age, discover_feed, looks_like_html, parse_feed
from .store import FeedRecord, FeedStore, PolledItem

log = logging.getLogger(__name__)

#: what a feed URL may answer with (pages are accepted so that discovery can run)
FEED_ACCEPT: frozenset[str] = FEED_TYPES | HTML_TYPES
MIN_INTERVAL_S = 60
JITTER = 0.1


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """A feed fetched and read: the feed's own URL (after discovery), the page, the feed."""

    url: str
    page: Page
    feed: ParsedFeed


async def read_feed(fetcher: Fetcher, url: str, *, discover: bool = True) -> FeedDocument:
    """Fetch and parse a feed; a web page is resolved through its announced feed link."""
    page = await fetcher.fetch(url, accept=FEED_ACCEPT)
    if looks_like_html(page.body, page.content_type):
        if not discover:
            raise FeedError("That link now answers with a web page, not a feed.", url)
        found = discover_feed(page.text, page.url)
        if found is None:
            raise NoFeedFoundError(url)
        log.debug("feed discovered on a page")
        page = await fetcher.fetch(found, accept=FEED_ACCEPT)
        if looks_like_html(page.body, page.content_type):
            raise FeedError("The feed that page announces is a web page, not a feed.", found)
        url = found
    feed = await asyncio.to_thread(parse_feed, page.body, page.url)
    return FeedDocument(url, page, feed)


def body_hash(body: bytes) -> str:
    """A short hash of a document, to skip re-reading a feed that did not change."""
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def polled_items(feed: ParsedFeed) -> list[PolledItem]:
    """The feed's items oldest first (by date when given, else document order reversed)."""
    ordered = list(reversed(feed.items))
    ordered.sort(key=lambda i: i.published if i.published is not None else float("-inf"))
    return [PolledItem(i.link or "", i.seen_keys, i.version_key) for i in ordered]


@dataclass(slots=True)
class PollStats:
    """What one ``poll_due`` round did."""

    polled: int = 0
    not_modified: int = 0
    unchanged: int = 0
    new_items: int = 0
    edited_items: int = 0
    failed: int = 0
    disabled: int = 0
    lost: int = 0
    feeds: list[str] = field(default_factory=list)


class FeedPoller:
    """Polls due feeds; run one per process (they share the work through leases)."""

    def __init__(
        self,
        store: FeedStore,
        fetcher: Fetcher,
        ingest: Ingest,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.ingest = ingest
        self.clock = clock
        self.rng = rng or random.Random()
        self.interval_s = max(MIN_INTERVAL_S, settings.feed_interval_s)
        self.max_interval_s = max(self.interval_s, settings.feed_max_interval_s)
        self.disable_after_s = settings.feed_disable_after_s
        self.concurrency = settings.feed_concurrency
        self.lease_ms = int((settings.fetch_timeout * 2 + 30) * 1000)
        self.shards = settings.delivery_shards
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    # --- scheduling -------------------------------------------------------------------

    def interval_for(self, ttl_s: int, max_age_s: int | None) -> int:
        """The wait between polls: the setting, or the feed's ttl/max-age when longer."""
        wanted = max(self.interval_s, ttl_s, max_age_s or 0)
        return max(MIN_INTERVAL_S, min(wanted, self.max_interval_s))

    def jittered(self, seconds: float) -> float:
        """``seconds`` ± 10 %, never under a minute."""
        return max(float(MIN_INTERVAL_S), seconds * self.rng.uniform(1 - JITTER, 1 + JITTER))

    def backoff_for(self, interval_s: int, failures: int) -> float:
        """Wait after the ``failures``-th failure in a row: the interval doubled each time."""
        return min(float(self.max_interval_s), interval_s * 2.0 ** min(failures, 16))

    # --- polling ----------------------------------------------------------------------

    async def poll_due(self, now: float | None = None) -> PollStats:
        """Claim every feed due now (that no other process holds) and poll it."""
        stats = PollStats()
        token = uuid.uuid4().hex
        sem = asyncio.Semaphore(self.concurrency)
        when = self.clock() if now is None else now
        pending: set[asyncio.Task[None]] = set()
        if await self.ingest.full():
            # Backpressure: feeds wait (still due) rather than queue links past the cap.
            log.info("the link backlog is full: feeds are polled once it drains")
            return stats

        async def one(feed_id: str) -> None:
            async with sem:
                await self.poll_one(feed_id, token, stats)

        while True:
            room = self.concurrency * 2 - len(pending)
            claimed = await self.store.claim_due(when, room, token, self.lease_ms) if room else []
            for feed_id in claimed:
                stats.feeds.append(feed_id)
                pending.add(asyncio.create_task(one(feed_id)))
            if not pending:
                break
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("feed poll failed: %r", task.exception())
        return stats

    async def poll_one(self, feed_id: str, token: str, stats: PollStats) -> None:
        """Poll one claimed feed and commit the outcome (the lease is released by it)."""
        record = await self.store.get(feed_id)
        if record is None or record.disabled:
            await self.store.release(feed_id, token)
            return
        stats.polled += 1
        headers: dict[str, str] = {}
        if record.etag:
            headers["If-None-Match"] = record.etag
        if record.last_modified:
            headers["If-Modified-Since"] = record.last_modified
        started = self.clock()
        try:
            page = await self.fetcher.fetch(record.url, accept=FEED_ACCEPT, headers=headers)
            if page.status == 304:
                stats.not_modified += 1
                await self._ok(record, token, page, None, [], stats)
                return
            digest = body_hash(page.body)
            if digest == record.body_hash:
                stats.unchanged += 1
                await self._ok(record, token, page, None, [], stats, digest=digest)
                return
            if looks_like_html(page.body, page.content_type):
                raise FeedError("The feed now answers with a web page, not a feed.", record.url)
            feed = await asyncio.to_thread(parse_feed, page.body, page.url)
        except (FetchError, FeedError) as exc:
            await self._failed(record, token, exc.user_message, started, stats)
            return
        except REDIS_ERRORS:
            await self._safe_release(feed_id, token)
            raise
        except Exception as exc:
            log.exception("feed %s: unexpected error", feed_id)
            await self._failed(record, token, f"error: {type(exc).__name__}", started, stats)
            return
        await self._ok(record, token, page, feed, polled_items(feed), stats, digest=digest)

    async def _safe_release(self, feed_id: str, token: str) -> None:
        with contextlib.suppress(*REDIS_ERRORS):
            await self.store.release(feed_id, token)

    async def _ok(
        self,
        record: FeedRecord,
        token: str,
        page: Page,
        feed: ParsedFeed | None,
        items: Sequence[PolledItem],
        stats: PollStats,
        *,
        digest: str | None = None,
    ) -> None:
        now = self.clock()
        ttl_s = record.ttl_s
        fields: dict[str, str | int | float] = {
            "failures": 0, "first_failure_at": "", "last_error": "", "last_ok_at": now,
        }
        if feed is not None:
            ttl_s = (feed.ttl_min or 0) * 60
            fields["ttl_s"] = ttl_s
            if feed.title:
                fields["title"] = feed.title
        if page.status != 304:
            fields["etag"] = page.headers.get("etag", "")
            fields["last_modified"] = page.headers.get("last-modified", "")
        if digest is not None:
            fields["body_hash"] = digest
        interval = self.interval_for(ttl_s, cache_max_age(page.headers.get("cache-control")))
        next_at = now + self.jittered(interval)
        fields["interval_s"] = interval
        fields["next_poll_at"] = next_at
        done = await self.store.commit(
            record.id, token, fields=fields, next_poll_at=next_at, items=items, t_in=now)
        if done.lost:
            stats.lost += 1
            log.warning("feed %s: lease lost while polling; result dropped", record.id)
            return
        if done.new or done.edited:
            stats.new_items += done.new
            stats.edited_items += done.edited
            self.ingest.metrics.links_in.labels(origin="feed").inc(done.new + done.edited)
            log.info("feed %s: %d new items, %d edited", record.id, done.new, done.edited)

    async def _failed(
        self, record: FeedRecord, token: str, reason: str, now: float, stats: PollStats
    ) -> None:
        stats.failed += 1
        failures = record.failures + 1
        first = record.first_failure_at or now
        fields: dict[str, str | int | float] = {
            "failures": failures, "first_failure_at": first, "last_error": reason[:300],
        }
        interval = record.interval_s or self.interval_s
        disable = now - first >= self.disable_after_s
        next_at: float | None = None
        if disable:
            fields["disabled"] = f"failing for {self._span(now - first)}: {reason}"[:300]
            fields["next_poll_at"] = ""
        else:
            next_at = now + self.jittered(self.backoff_for(interval, failures))
            fields["next_poll_at"] = next_at
        result = await self.store.commit(record.id, token, fields=fields, next_poll_at=next_at)
        if result.lost or result.gone:
            stats.lost += 1
            return
        log.info("feed %s failed (%d in a row): %s", record.id, failures, reason)
        if disable:
            stats.disabled += 1
            await self._tell_disabled(record, first, reason)

    @staticmethod
    def _span(seconds: float) -> str:
        hours = seconds / 3600
        return f"{hours:.0f} hours" if hours >= 2 else f"{seconds / 60:.0f} minutes"

    async def _tell_disabled(self, record: FeedRecord, first: float, reason: str) -> None:
        """Tell every channel that added the feed that it is off, and how to turn it on."""
        channels = await self.store.channels(record.id)
        name = f"“{record.title}” ({record.url})" if record.title else record.url
        note = (
            f"I stopped checking the feed {name}: it has failed for over "
            f"{self._span(self.disable_after_s)} ({reason}). "
            f"`feed add {record.url}` turns it on again."
        )
        log.warning("feed %s disabled after failing since %.0f", record.id, first)
        pipe = self.store.redis.pipeline(transaction=False)
        for channel in channels:
            post = Post(destination=channel, key=f"feed-off:{record.id}:{first:.0f}:{channel}",
                        note=note)
            enqueue(pipe, post, shards=self.shards)
        if channels:
            await pipe.execute()

    # --- background loop --------------------------------------------------------------

    async def start(self) -> None:
        """Poll in the background until ``stop``."""
        self._task = asyncio.create_task(self.run(), name="feed-poller")

    async def stop(self) -> None:
        """Stop polling (a poll in progress is abandoned; its lease lapses)."""
        await cancel_and_wait(self._task)
        self._task = None

    def wake(self) -> None:
        """Look at the schedule now (a feed was added)."""
        self._wake.set()

    async def run(self, max_sleep_s: float = 5.0) -> None:
        """Poll due feeds, then sleep until the next is due (re-reading the schedule often)."""
        while True:
            try:
                await self.poll_due()
                due = await self.store.next_due()
                wait = max_sleep_s if due is None else due - self.clock()
                wait = min(max_sleep_s, max(0.2, wait))
            except REDIS_ERRORS as exc:
                log.warning("feed poller: Redis error, retrying in 1 s: %s", exc)
                wait = 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

