"""A local feed server for the feed tests.

Serves RSS 2.0, Atom and RSS 1.0 documents built from ``Feed`` objects, with ETag and
Last-Modified validators (a matching ``If-None-Match`` gets a 304), plain pages and
article pages, counts requests per path and can be told to fail a path with a status.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web

from .base import LocalServer
from .pages import article_html, story


@dataclass
class Entry:
    """One feed item."""

    guid: str
    title: str
    link: str
    published: float
    summary: str = ""


@dataclass
class Feed:
    """A feed document in one of three formats: ``rss``, ``atom`` or ``rdf``."""

    title: str
    kind: str = "rss"
    entries: list[Entry] = field(default_factory=list)
    ttl_min: int | None = None
    modified: float = 1_700_000_000.0

    def render(self, self_url: str) -> bytes:
        """The XML document."""
        e = html.escape
        if self.kind == "atom":
            items = "".join(
                f"<entry><id>{e(x.guid)}</id><title>{e(x.title)}</title>"
                f'<link rel="alternate" href="{e(x.link)}"/>'
                f"<updated>{_iso(x.published)}</updated><summary>{e(x.summary)}</summary></entry>"
                for x in self.entries
            )
            doc = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                   f"<title>{e(self.title)}</title><id>{e(self_url)}</id>"
                   f"<updated>{_iso(self.modified)}</updated>{items}</feed>")
        elif self.kind == "rdf":
            seq = "".join(f'<rdf:li rdf:resource="{e(x.link)}"/>' for x in self.entries)
            items = "".join(
                f'<item rdf:about="{e(x.link)}"><title>{e(x.title)}</title>'
                f"<link>{e(x.link)}</link><dc:date>{_iso(x.published)}</dc:date>"
                f"<description>{e(x.summary)}</description></item>"
                for x in self.entries
            )
            doc = ('<?xml version="1.0" encoding="utf-8"?>'
                   '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                   'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                   f'<channel rdf:about="{e(self_url)}"><title>{e(self.title)}</title>'
                   f"<link>{e(self_url)}</link><description>d</description>"
                   f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>{items}</rdf:RDF>")
        else:
            ttl = f"<ttl>{self.ttl_min}</ttl>" if self.ttl_min else ""
            items = "".join(
                f"<item><title>{e(x.title)}</title><link>{e(x.link)}</link>"
                f'<guid isPermaLink="false">{e(x.guid)}</guid>'
                f"<pubDate>{formatdate(x.published, usegmt=True)}</pubDate>"
                f"<description>{e(x.summary)}</description></item>"
                for x in self.entries
            )
            doc = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                   f"<title>{e(self.title)}</title><link>{e(self_url)}</link>"
                   f"<description>d</description>{ttl}{items}</channel></rss>")
        return doc.encode("utf-8")

    @property
    def content_type(self) -> str:
        """The media type the server sends."""
        return {"atom": "application/atom+xml", "rdf": "application/rdf+xml"}.get(
            self.kind, "application/rss+xml")


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedServer(LocalServer):
    """Feeds, pages and articles on 127.0.0.1, with validators and request counts."""

    def __init__(self, *, validators: bool = True) -> None:
        super().__init__()
        self.feeds: dict[str, Feed] = {}
        self.raw: dict[str, tuple[bytes, str]] = {}
        self.pages: dict[str, str] = {}
        self.fail: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self.not_modified = 0
        self.validators = validators
        self.cache_control: str | None = None
        self.app.router.add_get("/{tail:.*}", self._handle)

    def article(self, path: str, seed: int, topic: str = "Syria") -> str:
        """Serve an article page about ``topic`` at ``path``; its URL."""
        self.pages[path] = article_html(f"News about {topic} {seed}", story(seed, topic))
        return self.url(path)

    def entry(self, path: str, seed: int, published: float, topic: str = "Syria",
              guid: str | None = None) -> Entry:
        """A feed entry whose article page (about ``topic``) is served at ``path``."""
        link = self.article(path, seed, topic)
        return Entry(guid or f"urn:item:{seed}", f"News about {topic} {seed}", link, published)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path in self.fail:
            return web.Response(status=self.fail[path], text="down")
        if path in self.pages:
            return web.Response(text=self.pages[path], content_type="text/html")
        if path in self.feeds:
            feed = self.feeds[path]
            body, media = feed.render(self.url(path)), feed.content_type
        elif path in self.raw:
            body, media = self.raw[path]
        else:
            return web.Response(status=404, text="not found")
        headers: dict[str, str] = {}
        if self.cache_control:
            headers["Cache-Control"] = self.cache_control
        if self.validators:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = formatdate(1_700_000_000, usegmt=True)
            if request.headers.get("If-None-Match") == etag:
                self.not_modified += 1
                return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={**headers, "Content-Type": media})
