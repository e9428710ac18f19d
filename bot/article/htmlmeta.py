"""What a page says about itself: JSON-LD, Open Graph, meta tags, title and h1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

_ARTICLE_TYPES = {
    "newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "blogposting",
    "liveblogposting", "techarticle", "scholarlyarticle", "report", "socialmediaposting",
    "askpublicnewsarticle", "satiricalarticle",
}
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "article:published",
    "datepublished", "pubdate", "publishdate", "publish-date", "publish_date",
    "publication_date", "date", "dc.date.issued", "dc.date", "dcterms.created",
    "dcterms.date", "dc.date.created", "sailthru.date", "parsely-pub-date", "article.published",
    "og:published_time", "published_time", "release_date", "originalpublicationdate",
    "cxenseparse:recs:publishtime", "date_published", "article_date_original",
    "citation_publication_date", "pub_date", "displaydate", "dc.created",
)
_UPDATED_META = (
    "article:modified_time", "og:updated_time", "datemodified", "lastmod", "last-modified",
    "dcterms.modified", "dc.date.modified", "article:modified", "modified_time",
    "og:article:modified_time", "revised",
)
_SECTION_META = ("article:section", "og:article:section", "section", "parsely-section",
                 "article.section", "cxenseparse:section", "sailthru.section", "category")
_SITE_META = ("og:site_name", "application-name", "publisher", "twitter:site:name",
              "cxenseparse:site", "apple-mobile-web-app-title", "dc.publisher")
_AUTHOR_META = ("author", "article:author", "parsely-author", "sailthru.author",
                "dc.creator", "byl", "twitter:creator", "citation_author", "og:article:author")
_WS = re.compile(r"\s+")


def squash(text: str | None) -> str:
    """Collapse whitespace, NBSP included."""
    return _WS.sub(" ", (text or "").replace("\xa0", " ")).strip()


@dataclass
class PageMeta:
    """The metadata candidates found in a page, before any choice is made."""

    title_tag: str | None = None
    og_title: str | None = None
    ld_headline: str | None = None
    h1s: list[str] = field(default_factory=list)
    site_name: str | None = None
    published: str | None = None
    updated: str | None = None
    # Every publication-date value the page states, best source first.
    published_all: list[str] = field(default_factory=list)
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    canonical: str | None = None
    og_url: str | None = None
    image: str | None = None
    description: str | None = None
    keywords: list[str] = field(default_factory=list)
    accessible_for_free: bool | None = None
    ld_types: set[str] = field(default_factory=set)
    ld_body: str | None = None


def _walk_ld(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk_ld(item)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if key in node and isinstance(node[key], list | dict):
                yield from _walk_ld(node[key])


def _types(item: dict[str, Any]) -> set[str]:
    raw = item.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {str(v).lower() for v in values if v}


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return squash(value) or None
    if isinstance(value, list) and value:
        return _text(value[0])
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@value") or value.get("url"))
    return None


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            if "organization" in _types(item):
                continue
            name = _text(item.get("name"))
        elif isinstance(item, str):
            name = squash(item)
        else:
            name = None
        if name and not name.startswith("http"):
            out.append(name)
    return out


def _load_json(raw: str) -> Any:
    raw = raw.strip()
    raw = re.sub(r"^\s*(//)?\s*<!\[CDATA\[|(//)?\s*\]\]>\s*$", "", raw)
    try:
        return json.loads(raw)
    except ValueError:
        # Common breakage: raw newlines or tabs inside strings, trailing commas.
        fixed = re.sub(r",\s*([}\]])", r"\1", raw.replace("\n", " ").replace("\t", " "))
        try:
            return json.loads(fixed)
        except ValueError:
            return None


def _apply_ld(meta: PageMeta, tree: lxml_html.HtmlElement) -> None:
    best: dict[str, Any] | None = None
    best_rank = -1
    publisher_name: str | None = None
    for script in tree.xpath('//script[contains(@type, "ld+json")]'):
        data = _load_json(script.text or "")
        if data is None:
            continue
        for item in _walk_ld(data):
            types = _types(item)
            if types & _ARTICLE_TYPES:
                rank = 2 if item.get("headline") else 1
                rank += 1 if types & {"newsarticle", "reportagenewsarticle", "liveblogposting",
                                      "analysisnewsarticle", "opinionnewsarticle"} else 0
                if rank > best_rank:
                    best, best_rank = item, rank
            elif types & {"organization", "newsmediaorganization", "website"}:
                publisher_name = publisher_name or _text(item.get("name"))
    if best is None:
        if publisher_name:
            meta.site_name = meta.site_name or publisher_name
        return
    meta.ld_types = _types(best)
    meta.ld_headline = _text(best.get("headline")) or _text(best.get("name"))
    meta.published = _text(best.get("datePublished")) or _text(best.get("dateCreated"))
    meta.updated = _text(best.get("dateModified"))
    section = best.get("articleSection")
    meta.section = _text(section)
    meta.authors = _names(best.get("author"))
    pub = best.get("publisher")
    meta.site_name = _text(pub) or publisher_name
    meta.image = _text(best.get("image")) or _text(best.get("thumbnailUrl"))
    meta.description = _text(best.get("description"))
    meta.language = _text(best.get("inLanguage"))
    keywords = best.get("keywords")
    if isinstance(keywords, str):
        meta.keywords = [k.strip() for k in keywords.split(",") if k.strip()]
    elif isinstance(keywords, list):
        meta.keywords = [squash(str(k)) for k in keywords if k]
    free = best.get("isAccessibleForFree")
    if isinstance(free, bool):
        meta.accessible_for_free = free
    elif isinstance(free, str):
        meta.accessible_for_free = free.strip().lower() not in ("false", "0", "no")
    body = best.get("articleBody")
    if isinstance(body, str) and len(body) > 200:
        meta.ld_body = body


def read_meta(tree: lxml_html.HtmlElement) -> PageMeta:
    """Collect every metadata candidate from a parsed page."""
    meta = PageMeta()
    _apply_ld(meta, tree)
    tags: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        value = el.get("content")
        if key and value and key not in tags:
            tags[key] = squash(value)
    # itemprop dates often sit on <time datetime=...> rather than <meta>.
    for el in tree.xpath('//*[@itemprop="datePublished" or @itemprop="dateModified"]'):
        key = el.get("itemprop").lower()
        value = el.get("datetime") or el.get("content") or squash(el.text_content())
        if value and key not in tags:
            tags[key] = value

    def first(keys: tuple[str, ...]) -> str | None:
        for key in keys:
            if tags.get(key):
                return tags[key]
        return None

    meta.og_title = tags.get("og:title") or tags.get("twitter:title")
    meta.published_all = [v for v in (meta.published, *(tags.get(k) for k in _PUBLISHED_META))
                          if v]
    meta.published = meta.published or first(_PUBLISHED_META)
    meta.updated = meta.updated or first(_UPDATED_META)
    meta.section = meta.section or first(_SECTION_META)
    meta.site_name = tags.get("og:site_name") or meta.site_name or first(_SITE_META)
    if meta.site_name and meta.site_name.startswith("@"):
        meta.site_name = None
    if not meta.authors:
        author = first(_AUTHOR_META)
        if author and not author.startswith(("http", "@")):
            meta.authors = [a.strip() for a in re.split(r"\s*(?:,|;|\band\b|&)\s*", author)
                            if a.strip()]
    meta.image = meta.image or tags.get("og:image") or tags.get("twitter:image")
    meta.description = meta.description or tags.get("og:description") or tags.get("description")
    if not meta.keywords:
        kw = tags.get("news_keywords") or tags.get("keywords") or ""
        meta.keywords = [k.strip() for k in kw.split(",") if k.strip()][:20]
    meta.og_url = tags.get("og:url")
    for link in tree.xpath('//link[@rel="canonical"][@href]'):
        meta.canonical = link.get("href")
        break
    title = tree.find(".//title")
    if title is not None:
        meta.title_tag = squash(title.text_content()) or None
    meta.h1s = [t for t in (squash(h.text_content()) for h in tree.iter("h1")) if t][:5]
    html_el = tree if tree.tag == "html" else tree.getroottree().getroot()
    lang = (html_el.get("lang") or html_el.get("xml:lang") or tags.get("og:locale")
            or tags.get("content-language") or tags.get("language") or meta.language)
    if lang:
        code = re.split(r"[-_]", lang.strip().lower())[0]
        meta.language = code if re.fullmatch(r"[a-z]{2,3}", code) else None
    return meta
