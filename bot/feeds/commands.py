"""The ``feed`` chat command: ``feed add URL``, ``feed remove URL``, ``feed list``.

Adding a feed reads it at once: that validates the link (a web page is resolved to the
feed it announces) and is the feed's first poll, so what is already there is recorded as
seen and nothing is posted, unless ``backfill N`` asks for the latest N items (posted to
that channel only, through its ``only`` filter). Adding a feed that was disabled turns it
back on.
"""

from __future__ import annotations

import builtins
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import keys
from bot.chat.contract import Destination, Reply, Request, pings_everyone
from bot.errors import CommandError, LimitError, PermissionDeniedError

from .options import FeedOptions, parse_feed_add
from .parse import FeedItem, cache_max_age
from .poller import FeedDocument, FeedPoller, body_hash, polled_items, read_feed
from .store import FeedRecord, FeedStore, destination_member, feed_id_for, normalise_feed_url

log = logging.getLogger(__name__)

USAGE = ("Use `feed add URL` (then optionally `ping @role`, `format compact`, "
         "`as \"Name\"`, `avatar URL`, `only TOPIC`, `backfill N`), `feed remove URL` "
         "or `feed list`.")
#: items read for a filtered backfill (the filter is decided on each item's card)
BACKFILL_SCAN = 50
#: how long a backfill's count of posts is kept
BACKFILL_TTL_S = 3600


@dataclass(frozen=True, slots=True)
class FeedPreview:
    """A feed read but not added: what adding it would post from."""

    url: str
    title: str
    items: tuple[FeedItem, ...]


@dataclass(frozen=True, slots=True)
class FeedAdded:
    """What ``FeedManager.add`` did: ``added``, ``joined``, ``enabled`` or ``already``."""

    status: str
    record: FeedRecord
    items: int = 0
    discovered: bool = False
    #: items queued for a backfill (with a filter: candidates, of which N are posted)
    backfilled: int = 0


class FeedManager:
    """Adds, removes and lists a channel's feeds (the command's domain logic)."""

    def __init__(
        self,
        store: FeedStore,
        poller: FeedPoller,
        *,
        max_per_channel: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.poller = poller
        self.max_per_channel = max_per_channel
        self.clock = clock

    async def add(self, destination: Destination, url: str,
                  options: FeedOptions | None = None) -> FeedAdded:
        """Add a feed to a channel; a new (or disabled) feed is read and its items recorded.

        ``options`` (ping, format, persona) replace the channel's options for the feed;
        None keeps the ones it has.
        """
        typed = normalise_feed_url(url)
        backfill = options
        if options is not None and not options.stored():
            options = None  # only a backfill: the channel's kept options stay as they are
        record = await self.store.get(feed_id_for(typed))
        if record is not None and not record.disabled:
            return await self._join(destination, record, options=options, backfill=backfill)
        doc = await read_feed(self.poller.fetcher, typed)
        feed_url = normalise_feed_url(doc.url)
        feed_id = feed_id_for(feed_url)
        if feed_url != typed:
            record = await self.store.get(feed_id)
            if record is not None and not record.disabled:
                return await self._join(destination, record, discovered=True, options=options,
                                        backfill=backfill)
        now = self.clock()
        ttl_s = (doc.feed.ttl_min or 0) * 60
        interval = self.poller.interval_for(ttl_s, cache_max_age(doc.page.headers.get(
            "cache-control")))
        next_at = now + self.poller.jittered(interval)
        fields: dict[str, str | int | float] = {
            "url": feed_url,
            "title": doc.feed.title,
            "source": typed if typed != feed_url else "",
            "etag": doc.page.headers.get("etag", ""),
            "last_modified": doc.page.headers.get("last-modified", ""),
            "body_hash": body_hash(doc.page.body),
            "ttl_s": ttl_s,
            "interval_s": interval,
            "next_poll_at": next_at,
            "created_at": now,
            "last_ok_at": now,
            "added_by": str(destination),
            "vk": 1,  # its items' version keys are recorded: an edited item is recognised
        }
        seen = [key for item in doc.feed.items for key in (*item.seen_keys, item.version_key)]
        status = await self.store.add(
            feed_id, destination, fields, seen, next_poll_at=next_at,
            max_per_channel=self.max_per_channel, options=options,
        )
        self._check(status)
        stored = await self.store.get(feed_id)
        assert stored is not None
        was_disabled = record is not None and bool(record.disabled)
        log.info("feed %s added for %s (%d items recorded)", feed_id, destination, len(seen))
        backfilled = await self._backfill(destination, stored, backfill, doc)
        return FeedAdded("enabled" if was_disabled else "added", stored,
                         len(doc.feed.items), feed_url != typed, backfilled)

    async def _join(
        self, destination: Destination, record: FeedRecord, *, discovered: bool = False,
        options: FeedOptions | None = None, backfill: FeedOptions | None = None,
    ) -> FeedAdded:
        status = await self.store.add(
            record.id, destination, {}, [], next_poll_at=record.next_poll_at,
            max_per_channel=self.max_per_channel, options=options,
        )
        self._check(status)
        backfilled = await self._backfill(destination, record, backfill)
        return FeedAdded("already" if status == "already" else "joined", record,
                         discovered=discovered, backfilled=backfilled)

    async def _backfill(self, destination: Destination, record: FeedRecord,
                        options: FeedOptions | None, doc: FeedDocument | None = None) -> int:
        """Queue the latest items for this channel only: exactly ``backfill`` of them, or
        with a filter, the latest candidates, of which the first ``backfill`` to match
        are posted (a count in Redis that the pipeline takes one from per post)."""
        if options is None or options.backfill <= 0:
            return 0
        if doc is None:
            doc = await read_feed(self.poller.fetcher, record.url)
        newest = [i for i in reversed(polled_items(doc.feed)) if i.url]
        if options.only:
            chosen = newest[:BACKFILL_SCAN]  # newest first: the budget goes to the latest
        else:
            chosen = list(reversed(newest[: options.backfill]))  # in the feed's order
        if not chosen:
            return 0
        token = uuid.uuid4().hex
        await self.store.redis.set(keys.feed_backfill_key(token), options.backfill,
                                   ex=BACKFILL_TTL_S)
        member = destination_member(destination)
        extra = {"feed": record.id, "channels": json.dumps([member]), "backfill": token}
        if options.only:
            extra["options"] = json.dumps({member: json.dumps({"only": options.only})})
        for item in chosen:
            await self.poller.ingest.submit(item.url, None, "feed", extra=extra)
        log.info("feed %s: %d items queued to backfill %s", record.id, len(chosen),
                 destination)
        return len(chosen)

    def _check(self, status: str) -> None:
        if status == "limit":
            raise LimitError(
                f"This channel already has {self.max_per_channel} feeds, the most allowed: "
                "remove one first.",
                self.max_per_channel,
            )

    async def find(self, destination: Destination, url: str) -> FeedRecord | None:
        """The channel's feed that ``url`` names (the feed's URL or the page it came from)."""
        wanted = normalise_feed_url(url)
        for record in await self.store.for_channel(destination):
            if wanted in (record.url, record.source):
                return record
        return None

    async def remove(self, destination: Destination, url: str) -> FeedRecord | None:
        """Stop posting a feed in a channel; the feed record goes with its last channel."""
        record = await self.find(destination, url)
        if record is None:
            return None
        await self.store.remove(record.id, destination)
        log.info("feed %s removed from %s", record.id, destination)
        return record

    async def list(self, destination: Destination) -> list[FeedRecord]:
        """The channel's feeds."""
        return await self.store.for_channel(destination)

    async def options(self, destination: Destination, record: FeedRecord) -> FeedOptions:
        """The channel's options of a feed (ping, format, persona)."""
        return FeedOptions.from_stored(await self.store.options(record.id, destination))

    async def preview(self, url: str) -> FeedPreview:
        """Read a feed without adding it: its own URL, title and latest items."""
        doc = await read_feed(self.poller.fetcher, normalise_feed_url(url))
        return FeedPreview(normalise_feed_url(doc.url), doc.feed.title, doc.feed.items)

    async def pause(self, destination: Destination, url: str) -> FeedRecord | None:
        """Stop posting a feed in a channel but keep it listed there, to ``resume`` later."""
        record = await self.find(destination, url)
        if record is None:
            return None
        await self.store.pause(destination, record)
        await self.store.remove(record.id, destination, keep_options=True)
        log.info("feed %s paused in %s", record.id, destination)
        return record

    async def resume(self, destination: Destination, url: str) -> FeedAdded | None:
        """Post a paused feed again (read afresh: what came meanwhile is not posted)."""
        wanted = normalise_feed_url(url)
        if wanted not in await self.store.paused(destination):
            return None
        done = await self.add(destination, wanted)
        await self.store.unpause(destination, wanted)
        return done

    async def paused(self, destination: Destination) -> dict[str, str]:
        """A channel's paused feeds: URL -> title."""
        return await self.store.paused(destination)

    async def forget_paused(self, destination: Destination, url: str) -> bool:
        """Remove a paused feed from a channel for good."""
        url = normalise_feed_url(url)
        await self.store.drop_options(feed_id_for(url), destination)
        return await self.store.unpause(destination, url)

    async def channels(self, tenant: str) -> builtins.list[Destination]:
        """The tenant's channels that have feeds (posting or paused)."""
        return await self.store.tenant_channels(tenant)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def describe_feed(record: FeedRecord, options: FeedOptions | None = None) -> str:
    """One line about a feed for ``feed list``: title, URL, the channel's options, state."""
    name = f"“{record.title}” {record.url}" if record.title else record.url
    if options is not None and options.describe():
        name += f" · {options.describe()}"
    if record.disabled:
        return f"{name} · disabled: {record.disabled} (`feed add` turns it on again)"
    if record.failures:
        since = _when(record.first_failure_at) if record.first_failure_at else "recently"
        return (f"{name} · backing off: {record.failures} failed tries since {since} "
                f"({record.last_error}); next try {_when(record.next_poll_at)}")
    return f"{name} · ok"


def _channel(request: Request, *, manage: bool) -> Destination:
    if request.channel is None:
        raise CommandError("Feeds are posted in channels: run this in the channel.")
    if manage and not request.can_manage:
        raise PermissionDeniedError(
            "Only people who can manage this channel can change its feeds.")
    return Destination(request.tenant, "channel", str(request.channel))


async def feed_command(manager: FeedManager | None, request: Request) -> Reply:
    """``feed add URL`` | ``feed remove URL`` | ``feed list``."""
    if manager is None:
        raise CommandError("Feeds are not available here.")
    action = request.args[0].casefold() if request.args else "list"
    rest = request.args[1:]
    if action in ("list", "ls"):
        channel = _channel(request, manage=False)
        records = await manager.list(channel)
        if not records:
            return Reply("This channel has no feeds. `feed add URL` adds one.")
        lines = ["Feeds posted in this channel:"]
        for record in records:
            lines.append("• " + describe_feed(record, await manager.options(channel, record)))
        return Reply("\n".join(lines))
    if action not in ("add", "remove", "rm", "delete") or not rest or (
            action != "add" and len(rest) != 1):
        raise CommandError(USAGE)
    channel = _channel(request, manage=True)
    typed, options = parse_feed_add(rest) if action == "add" else (rest[0], FeedOptions())
    url = typed.strip("<>").partition("|")[0]  # Slack sends links as <url|label>
    if options.ping is not None and pings_everyone(request.tenant, options.ping):
        raise CommandError("A feed can ping a role, never everyone.")
    if action == "add":
        given = options != FeedOptions()
        done = await manager.add(channel, url, options if given else None)
        record = done.record
        name = f"“{record.title}” ({record.url})" if record.title else record.url
        found = " (found on that page)" if done.discovered else ""
        back = ""
        if done.backfilled:
            back = (f" Posting its latest {options.backfill} matching articles now."
                    if options.only else
                    f" Posting its latest {min(options.backfill, done.backfilled)} "
                    "articles now.")
        if done.status == "already":
            if given:
                return Reply(f"Updated this channel's options for the feed {name}: "
                             f"{options.describe() or 'none'}.{back}", ephemeral=False)
            return Reply(f"This channel already has the feed {name}.")
        if done.status == "enabled":
            text = f"Turned the feed {name}{found} back on: new articles will be posted here."
        elif done.status == "joined":
            text = f"Added the feed {name}{found}: new articles will be posted here."
        else:
            current = ("Its current article is" if done.items == 1
                       else f"Its {done.items} current articles are")
            text = (f"Added the feed {name}{found}: new articles will be posted here. "
                    f"{current} not posted." if done.items and not done.backfilled else
                    f"Added the feed {name}{found}: new articles will be posted here.")
        if options.only:
            text += f" Only articles matching {options.only} are posted."
        if given and options.describe() != (f"only {options.only}" if options.only else ""):
            text += f" Options: {options.describe()}."
        return Reply(text + back, ephemeral=False)
    removed = await manager.remove(channel, url)
    if removed is None:
        return Reply("This channel has no such feed. `feed list` shows its feeds.", ok=False)
    return Reply(f"Removed the feed {removed.url} from this channel.", ephemeral=False)
