"""Reading news feeds: RSS 2.0, RSS 1.0 (RDF) and Atom into ``FeedItem``s, and discovery.

Pure functions, no I/O: ``parse_feed`` turns a fetched document into a ``ParsedFeed``
(feedparser does the reading), ``discover_feed`` finds the feed a web page announces with
``<link rel="alternate" type="application/rss+xml">``. Each item has the keys the poller
remembers it by: its GUID and its canonical link, so an item is new only when neither
was seen before, whatever its date says.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html

from bot.errors import FeedError
from bot.urls import canonical_key, clean_url

log = logging.getLogger(__name__)

#: ``type`` values of ``<link rel=alternate>`` that announce a feed, best first
FEED_LINK_TYPES: tuple[str, ...] = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
)
_PARSED_TYPES = FEED_LINK_TYPES[:3]
_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*(\d+)", re.I)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-store|no-cache)\b", re.I)
MAX_TITLE = 300


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed: its identity, its link (what gets fetched and carded)."""

    guid: str
    link: str | None
    title: str
    published: float | None = None

    @property
    def seen_keys(self) -> tuple[str, ...]:
        """The keys this item is remembered by: ``g:<guid>`` and ``l:<canonical link>``."""
        out = [f"g:{self.guid}"]
        if self.link:
            out.append(f"l:{canonical_key(self.link)}")
        return tuple(out)

    @property
    def version_key(self) -> str:
        """``v:<hash>`` of the item's GUID and title: a new one means the item was edited."""
        title = " ".join(self.title.casefold().split())
        digest = hashlib.blake2b(f"{self.guid}\x1f{title}".encode(), digest_size=8)
        return f"v:{digest.hexdigest()}"


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document: its title, its ``ttl`` (minutes, RSS 2.0) and its items."""

    title: str
    items: tuple[FeedItem, ...]
    ttl_min: int | None = None
    version: str = ""


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _guid(entry: Any, link: str | None, title: str) -> str:
    guid = _text(entry.get("id") or entry.get("guid"))
    if guid:
        return guid[:500]
    if link:
        return link[:500]
    # No id and no link: the title (and date) are all that identify it.
    basis = f"{title}\x1f{entry.get('published') or entry.get('updated') or ''}"
    return "h:" + hashlib.blake2b(basis.encode("utf-8"), digest_size=12).hexdigest()


def _when(entry: Any) -> float | None:
    import calendar

    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            try:
                return float(calendar.timegm(value))
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _link(entry: Any, base: str) -> str | None:
    candidates: list[str] = []
    for link in entry.get("links") or ():
        rel = link.get("rel", "alternate")
        if rel == "alternate" and link.get("href"):
            candidates.append(str(link["href"]))
    if entry.get("link"):
        candidates.insert(0, str(entry["link"]))
    guid = entry.get("id")
    if entry.get("guidislink") and guid:
        candidates.append(str(guid))
    for raw in candidates:
        url = clean_url(raw, base)
        if url is not None:
            return url
    return None


def parse_feed(body: bytes, url: str = "") -> ParsedFeed:
    """Read an RSS 2.0, RSS 1.0 or Atom document; a clear ``FeedError`` if it is none."""
    parsed: Any = feedparser.parse(
        body, response_headers={"content-location": url} if url else None,
        sanitize_html=False, resolve_relative_uris=False,
    )
    entries = parsed.get("entries") or []
    version = str(parsed.get("version") or "")
    broken = bool(parsed.get("bozo")) and not any(_link(e, url) for e in entries)
    if broken or (not version and not entries):
        if parsed.get("bozo"):
            log.debug("feed %s unreadable: %s", url, parsed.get("bozo_exception"))
            raise FeedError("That feed is broken: it is not well-formed RSS or Atom XML.", url)
        raise FeedError("That is not an RSS or Atom feed.", url)
    feed = parsed.get("feed") or {}
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in entries:
        title = _text(entry.get("title"))[:MAX_TITLE]
        link = _link(entry, url)
        guid = _guid(entry, link, title)
        if guid in seen:
            continue
        seen.add(guid)
        items.append(FeedItem(guid, link, title, _when(entry)))
    ttl: int | None = None
    raw_ttl = _text(feed.get("ttl"))
    if raw_ttl.isdigit():
        ttl = int(raw_ttl)
    return ParsedFeed(_text(feed.get("title"))[:MAX_TITLE], tuple(items), ttl, version)


def cache_max_age(cache_control: str | None) -> int | None:
    """Seconds a ``Cache-Control`` header lets the answer be reused (None if it says not)."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    found = _MAX_AGE.search(cache_control)
    return int(found.group(1)) if found else None


def looks_like_html(body: bytes, content_type: str) -> bool:
    """Whether a document is a web page rather than a feed."""
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def discover_feed(html: str, base_url: str) -> str | None:
    """The feed a page announces (``<link rel=alternate type=…rss+xml|atom+xml>``), or None."""
    if not html.strip():
        return None
    try:
        doc = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None
    base = base_url
    for node in doc.iter("base"):
        href = node.get("href")
        if href:
            base = urljoin(base_url, href.strip())
            break
    found: dict[str, str] = {}
    for node in doc.iter("link", "a"):
        rels = (node.get("rel") or "").lower().split()
        kind = (node.get("type") or "").strip().lower()
        href = (node.get("href") or "").strip()
        if "alternate" not in rels or kind not in _PARSED_TYPES or not href:
            continue
        url = clean_url(href, base)
        if url is not None:
            found.setdefault(kind, url)
    for kind in _PARSED_TYPES:
        if kind in found:
            return found[kind]
    return None
