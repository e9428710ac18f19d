"""What a page says about itself: JSON-LD, Open Graph, meta tags, title and h1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

from .text import decode_entities

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
_AUTHOR_META = ("author", "article:author", "article:author_name", "parsely-author",
                "sailthru.author", "dc.creator", "byl", "twitter:creator", "citation_author",
                "og:article:author")
_WS = re.compile(r"\s+")


def squash(text: str | None) -> str:
    """Collapse whitespace (NBSP included) and decode entities left in the text."""
    return _WS.sub(" ", decode_entities(text or "").replace("\xa0", " ")).strip()


@dataclass
class Heading:
    """A visible <h1>: its text, the text without a kicker or badge, and where it sits."""

    text: str
    # The h1's main part when it is built of separate pieces (a kicker span, then the
    # headline span): what a reader takes for the headline proper.
    main: str | None = None
    in_chrome: bool = False  # inside header/nav/footer/aside: a logo or a site title
    line: int = 0


@dataclass
class PageMeta:
    """The metadata candidates found in a page, before any choice is made."""

    title_tag: str | None = None
    og_title: str | None = None
    ld_headline: str | None = None
    h1s: list[str] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    twitter_title: str | None = None
    site_name: str | None = None
    published: str | None = None
    updated: str | None = None
    # Every publication-date value the page states, best source first.
    published_all: list[str] = field(default_factory=list)
    # The same values with where each came from ("json-ld", "meta:article:published_time",
    # "itemprop", "json-ld teaser"...), for choosing by agreement and explaining the choice.
    date_sources: list[tuple[str, str]] = field(default_factory=list)
    # Organisations named as the author (an agency such as AFP or dpa may be the author).
    org_authors: list[str] = field(default_factory=list)
    author_source: str | None = None
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    locale: str | None = None  # "en-us", "de-ch": the page's language and country
    canonical: str | None = None
    og_url: str | None = None
    image: str | None = None
    description: str | None = None
    keywords: list[str] = field(default_factory=list)
    accessible_for_free: bool | None = None
    ld_types: set[str] = field(default_factory=set)
    ld_body: str | None = None


def _walk_ld(node: Any, nested: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every JSON-LD object, and whether it sits in a list of other pages (a teaser)."""
    if isinstance(node, list):
        for item in node:
            yield from _walk_ld(item, nested)
    elif isinstance(node, dict):
        yield node, nested
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if key in node and isinstance(node[key], list | dict):
                yield from _walk_ld(node[key], nested)
        for key in ("itemListElement", "hasPart", "relatedLink", "associatedArticle", "item"):
            if key in node and isinstance(node[key], list | dict):
                yield from _walk_ld(node[key], True)


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


def _names(value: Any, orgs: list[str] | None = None) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            if _types(item) & {"organization", "newsmediaorganization"}:
                name = _text(item.get("name"))
                if orgs is not None and name:
                    orgs.append(name)
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


def _url_key(value: str | None) -> str:
    """A URL without scheme, www., query, fragment and trailing slash, for comparing."""
    if not value:
        return ""
    value = re.sub(r"^[a-z]+://(www\.)?", "", value.strip().lower())
    return re.split(r"[?#]", value)[0].rstrip("/")


def _title_key(value: str | None) -> str:
    return re.sub(r"\W+", " ", (value or "").lower()).strip()


def _ld_urls(item: dict[str, Any]) -> set[str]:
    urls = {item.get("url"), item.get("@id")}
    main = item.get("mainEntityOfPage")
    if isinstance(main, dict):
        urls |= {main.get("@id"), main.get("url")}
    elif isinstance(main, str):
        urls.add(main)
    return {_url_key(u) for u in urls if isinstance(u, str) and u}


def _own_item(items: list[tuple[dict[str, Any], bool]], page_urls: set[str],
              titles: list[str]) -> dict[str, Any] | None:
    """The article item that describes this page, not a teaser for another one."""
    best: dict[str, Any] | None = None
    best_rank = -1
    keys = [k for k in (_title_key(t) for t in titles) if len(k) > 10]
    for item, nested in items:
        types = _types(item)
        rank = 2 if item.get("headline") else 1
        rank += 1 if types & {"newsarticle", "reportagenewsarticle", "liveblogposting",
                              "analysisnewsarticle", "opinionnewsarticle"} else 0
        if _ld_urls(item) & page_urls:
            rank += 8  # it says it is this page
        headline = _title_key(_text(item.get("headline")) or _text(item.get("name")))
        if headline and any(headline in k or k in headline for k in keys):
            rank += 4  # its headline is the one the page shows
        if nested:
            rank -= 6  # an entry in a list of other stories
        if rank > best_rank:
            best, best_rank = item, rank
    return best


def ld_scripts(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """The page's JSON-LD scripts, in page order."""
    # lxml's tag filter runs in C: several times faster than the XPath
    # //script[contains(@type, "ld+json")] it replaces.
    return [s for s in tree.iter("script") if "ld+json" in (s.get("type") or "")]


def _apply_ld(meta: PageMeta, scripts: list[lxml_html.HtmlElement],
              page_urls: set[str]) -> None:
    items: list[tuple[dict[str, Any], bool]] = []
    publisher_name: str | None = None
    for script in scripts:
        data = _load_json(script.text or "")
        if data is None:
            continue
        for item, nested in _walk_ld(data):
            types = _types(item)
            if types & _ARTICLE_TYPES:
                items.append((item, nested))
            elif types & {"organization", "newsmediaorganization", "website"}:
                publisher_name = publisher_name or _text(item.get("name"))
    best = _own_item(items, page_urls, [t for t in (meta.og_title, meta.title_tag,
                                                    *meta.h1s) if t])
    if best is None:
        if publisher_name:
            meta.site_name = meta.site_name or publisher_name
        return
    meta.ld_types = _types(best)
    meta.ld_headline = _text(best.get("headline")) or _text(best.get("name"))
    meta.published = _text(best.get("datePublished")) or _text(best.get("dateCreated"))
    if "liveblogposting" in meta.ld_types:
        # A live blog's datePublished is often its latest update; when it started is the
        # publication date a reader sees at the top.
        starts = [_text(best.get("coverageStartTime"))]
        updates = best.get("liveBlogUpdate")
        if isinstance(updates, list | dict):
            starts += [_text(u.get("datePublished")) for u, _ in _walk_ld(updates)
                       if u is not updates]
        firsts = sorted(s for s in starts if s and s[:4].isdigit())
        if firsts:
            meta.date_sources.append(("json-ld live blog start", firsts[0]))
    if meta.published:
        meta.date_sources.append(("json-ld", meta.published))
    for item, _ in items:
        other = _text(item.get("datePublished"))
        if item is not best and other:
            meta.date_sources.append(("json-ld teaser", other))
    meta.updated = _text(best.get("dateModified"))
    section = best.get("articleSection")
    meta.section = _text(section)
    meta.authors = _names(best.get("author"), meta.org_authors)
    if meta.authors or meta.org_authors:
        meta.author_source = "json-ld"
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
        meta.ld_body = decode_entities(body)


_KICKER_CLASS = re.compile(
    r"kicker|overline|topline|dachzeile|spitzmarke|eyebrow|flag|roofline|label|rubri|"
    r"category|tag|pretitle|supertitle|surtitre|antetitulo|catchline|intro", re.I)
_TITLE_CLASS = re.compile(r"title|headline|hed\b|titel|titre|titulo", re.I)
_CHROME = frozenset(("nav", "footer", "aside"))


def _heading(h1: lxml_html.HtmlElement) -> Heading | None:
    pieces: list[tuple[str, str]] = []  # (text, class) of each visible part
    if h1.text and h1.text.strip():
        pieces.append((h1.text, ""))
    for child in h1:
        if not isinstance(child.tag, str) or child.tag in ("script", "style", "noscript"):
            continue
        if child.tag == "br":
            pieces.append(("\n", ""))
        else:
            text = child.text_content()
            if text.strip():
                pieces.append((text, f"{child.tag} {child.get('class') or ''}"))
        if child.tail and child.tail.strip():
            pieces.append((child.tail, ""))
    if not pieces:
        return None
    # Parts that the markup sets apart (block elements, a <br>) read as separate lines.
    text = squash(h1.text_content())
    main: str | None = None
    classed = [p for p in pieces if p[1] and p[0] != "\n"]
    if len(classed) >= 2 or (len(pieces) >= 2 and any(p[0] == "\n" for p in pieces)):
        parts = [(squash(t), c) for t, c in pieces if t != "\n" and squash(t)]
        # "article-title__kicker": the kicker word decides, whatever block it belongs to.
        kickers = [t for t, c in parts if _KICKER_CLASS.search(c)]
        titles = [t for t, c in parts if _TITLE_CLASS.search(c) and t not in kickers]
        if kickers and len(kickers) < len(parts):
            main = " ".join(t for t, _ in parts if t not in kickers)
        elif titles and len(titles) < len(parts):
            main = " ".join(titles)
        text = " ".join(t for t, _ in parts)
    chrome = False
    for anc in h1.iterancestors():
        tag = anc.tag if isinstance(anc.tag, str) else ""
        if tag in ("article", "main"):
            break
        if tag in _CHROME or "logo" in (anc.get("class") or "").lower():
            chrome = True
            break
    if "logo" in (h1.get("class") or "").lower():
        chrome = True
    return Heading(text=text, main=main if main and main != text else None, in_chrome=chrome,
                   line=h1.sourceline or 0)


def _itemprop_date(found: list[tuple[int, str]],
                   headings: list[Heading]) -> list[tuple[str, str]]:
    """The article's own microdata date: the only one, or the first below the headline.

    Several ``itemprop=datePublished`` elements are a list of stories (a sidebar, a
    "more news" box); only the one that follows the page's headline is the article's.
    """
    if len(found) <= 1:
        return [("itemprop", v) for _, v in found]
    lines = [h.line for h in headings if not h.in_chrome and h.line]
    if not lines:
        return []
    below = [(line, v) for line, v in found if 0 <= line - lines[0] <= 60]
    return [("itemprop", below[0][1])] if below else []


def read_meta(tree: lxml_html.HtmlElement, url: str | None = None) -> PageMeta:
    """Collect every metadata candidate from a parsed page."""
    meta = PageMeta()
    tags: dict[str, str] = {}
    # One scan of the page (lxml's tag filter runs in C) for every element read below, in
    # page order; each list is what its own search over the page would have found.
    found: dict[str, list[lxml_html.HtmlElement]] = {
        "meta": [], "title": [], "h1": [], "link": [], "script": []}
    for el in tree.iter("meta", "title", "h1", "link", "script"):
        found[el.tag].append(el)
    for el in found["meta"]:
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        value = el.get("content")
        if key and value and key not in tags:
            tags[key] = squash(value)
    itemprop_dates: list[tuple[int, str]] = []
    # One scan for the microdata read below (dates and authors), in page order.
    itemprops = tree.xpath("//*[@itemprop]")
    # itemprop dates often sit on <time datetime=...> rather than <meta>.
    for el in itemprops:
        if el.get("itemprop") not in ("datePublished", "dateModified"):
            continue
        key = el.get("itemprop").lower()
        value = el.get("datetime") or el.get("content") or squash(el.text_content())
        if value and key == "datepublished" and el.tag != "meta":
            itemprop_dates.append((el.sourceline or 0, value))
        elif value and key not in tags:
            tags[key] = value

    def first(keys: tuple[str, ...]) -> str | None:
        for key in keys:
            if tags.get(key):
                return tags[key]
        return None

    meta.og_title = tags.get("og:title")
    meta.twitter_title = tags.get("twitter:title")
    title = next((el for el in found["title"] if el is not tree), None)  # .//title
    if title is not None:
        meta.title_tag = squash(title.text_content()) or None
    for h1 in found["h1"]:
        heading = _heading(h1)
        if heading is not None:
            meta.headings.append(heading)
        if len(meta.headings) >= 5:
            break
    meta.h1s = [h.text for h in meta.headings]
    meta.og_url = tags.get("og:url")
    for link in found["link"]:
        if link.get("rel") == "canonical" and link.get("href") is not None:
            meta.canonical = link.get("href")
            break
    page_urls = {_url_key(u) for u in (url, meta.canonical, meta.og_url) if u}
    _apply_ld(meta, [s for s in found["script"] if "ld+json" in (s.get("type") or "")],
              page_urls)
    meta.og_title = meta.og_title or meta.twitter_title
    meta_dates = [(f"meta:{k}", tags[k]) for k in _PUBLISHED_META if tags.get(k)]
    # The JSON-LD teasers go last: they are other stories' dates.
    own = [d for d in meta.date_sources if d[0] != "json-ld teaser"]
    teasers = [d for d in meta.date_sources if d[0] == "json-ld teaser"]
    meta.date_sources = own + meta_dates + _itemprop_date(itemprop_dates, meta.headings) + teasers
    meta.published_all = [v for k, v in meta.date_sources if k != "json-ld teaser"]
    meta.published = meta.published or first(_PUBLISHED_META)
    meta.updated = meta.updated or first(_UPDATED_META)
    meta.section = meta.section or first(_SECTION_META)
    meta.site_name = tags.get("og:site_name") or meta.site_name or first(_SITE_META)
    if meta.site_name and meta.site_name.startswith("@"):
        meta.site_name = None
    if not meta.authors:
        for key in _AUTHOR_META:
            author = tags.get(key)
            if author and not author.startswith(("http", "@")):
                meta.authors = [a.strip() for a in re.split(r"\s*(?:,|;|\band\b|&)\s*", author)
                                if a.strip()]
                meta.author_source = f"meta:{key}"
                break
    if not meta.authors:
        # Microdata: <span itemprop="author"><span itemprop="name">A. Writer</span></span>.
        for el in [el for el in itemprops if el.get("itemprop") == "author"][:6]:
            names = el.xpath('.//*[@itemprop="name"]')
            text = squash((names[0] if names else el).get("content") or (
                names[0] if names else el).text_content())
            if text and len(text) < 200 and text not in meta.authors:
                meta.authors.append(text)
                meta.author_source = "itemprop"
    meta.image = meta.image or tags.get("og:image") or tags.get("twitter:image")
    meta.description = meta.description or tags.get("og:description") or tags.get("description")
    if not meta.keywords:
        kw = tags.get("news_keywords") or tags.get("keywords") or ""
        meta.keywords = [k.strip() for k in kw.split(",") if k.strip()][:20]
    html_el = tree if tree.tag == "html" else tree.getroottree().getroot()
    lang = (html_el.get("lang") or html_el.get("xml:lang") or tags.get("og:locale")
            or tags.get("content-language") or tags.get("language") or meta.language)
    if lang:
        meta.locale = lang.strip().lower().replace("_", "-")
        code = re.split(r"[-_]", lang.strip().lower())[0]
        meta.language = code if re.fullmatch(r"[a-z]{2,3}", code) else None
    return meta
