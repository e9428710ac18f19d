"""Pure article parsing: page content in, summary card out, no I/O.

HTML pages: metadata from JSON-LD / Open Graph / meta tags, the body from trafilatura
(then cleared of furniture lines), dates from metadata, then the page's own date lines,
the URL and finally htmldate. Plain-text pages (a page's text with its clutter) go
through ``textpage``, which finds the article run, its headline, section and dates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import charset_normalizer
import htmldate
from lxml import etree
from lxml import html as lxml_html

from bot.card import Card
from bot.errors import ParseError
from bot.language import detect_language
from bot.urls import clean_url, registered_domain

from .authors import HINT as AUTHOR_HINT
from .authors import byline_names, choose_authors
from .body import Body, better, clean_blocks, contains_start, extract_blocks, looks_wrong
from .dates import dateline, find_dates, month_first, url_date
from .figures import key_figures
from .headline import SEPARATORS as _SEPARATORS
from .headline import choose_headline, key, site_tokens, strip_site
from .htmlmeta import PageMeta, read_meta, squash
from .notarticle import check_article
from .published import choose_published
from .subjects import publisher_tags, subjects
from .summary import standfirst_of, summarise
from .text import decode_entities, looks_like_prose, normalise_space, word_count
from .textpage import BYLINE as _BYLINE
from .textpage import read_text_page

log = logging.getLogger(__name__)

__all__ = ["explain_article", "parse_article", "strip_site"]

_HTML_SNIFF = re.compile(
    r"<(!doctype\s+html|html|head|body|meta|div|p|article|title|style|script|span|h1|link)\b",
    re.I,
)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_PAYWALL = re.compile(
    r"(subscribe to (continue|read)|to continue reading|subscribers only|for subscribers|"
    r"already a subscriber|sign in to (continue|read)|create a free account to|"
    r"this (article|content) is (only )?(available|reserved) (to|for) (subscribers|members)|"
    r"réservé aux abonnés|article réservé|abonnez-vous|jetzt abonnieren|weiterlesen mit|"
    r"nur für abonnenten|exclusivo para suscriptores|suscríbete para|"
    r"we use cookies|accept (all )?cookies|cookie (settings|preferences|consent)|"
    r"your privacy choices|consent to (the use of )?cookies|we value your privacy|"
    r"such as cookies|accept and continue|partners store and/or access|"
    r"before you continue|cookie policy)",
    re.I,
)
# Class names (as parts of the class attribute, case as written) of kickers, category
# labels and breadcrumbs, and the tags that are never one (a whole part of the page).
_SECTION_CLASSES = ("kicker", "section", "category", "cat-links", "rubri", "breadcrumb",
                    "eyebrow", "overline")
_NOT_SECTION_TAGS = frozenset(("section", "body", "article", "main"))
# Class names (as whole words between separators) of page parts that are never the story.
_PRUNE_WORDS = (
    "donate donation newsletter promo share sharing social caption legende legend credit "
    "credits advert advertisement ad ads sponsor sponsored subscribe paywall outbrain "
    "taboola partage related recirc"
).split()
_PRUNE_CLASS = re.compile(r"(?:^|[\s_-])(?:" + "|".join(_PRUNE_WORDS) + r")(?:$|[\s_-])", re.I)
_BLOCK_TAGS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol br tr td th section article header footer nav aside "
    "figure figcaption blockquote pre time dd dt table main form address".split()
)
_SKIP_TAGS = frozenset("script style noscript template svg iframe head".split())
# Inline tags trafilatura unwraps (or turns into refs it unwraps later): see _unwrap_crowds.
_CROWD_TAGS = frozenset(
    "a abbr acronym b bdi bdo big cite code data del dfn em font i ins kbd mark q s samp "
    "small span strike strong sub sup tt u var".split()
)
# More inline children than this in one element is no paragraph a person wrote (the most
# on 213 real pages is 52), and is read as plain text; see _unwrap_crowds.
_CROWD = 1000
_CROWDED = etree.XPath(f"//*[*[{_CROWD + 1}]]")  # count(*) > _CROWD, without counting
_COUNT_INLINE = etree.XPath(
    "count(*[" + " or ".join(f"self::{tag}" for tag in sorted(_CROWD_TAGS)) + "])")


def parse_article(content: str | bytes, url: str | None = None) -> Card:
    """Turn an HTML page, or a page's plain text, into a summary card.

    Raises ParseError when the content holds no readable article (empty, binary junk,
    an error page).
    """
    return explain_article(content, url)[0]


def explain_article(content: str | bytes,
                    url: str | None = None) -> tuple[Card, dict[str, Any]]:
    """The card and the account of how each field was chosen (candidates, winner, path)."""
    why: dict[str, Any] = {}
    try:
        text = _decode(content)
        if _HTML_SNIFF.search(text[:65536]):
            return _from_html(text, url, why), why
        return _from_text(text, url, why), why
    except ParseError:
        raise
    except (ValueError, TypeError, etree.LxmlError, RecursionError, LookupError) as exc:
        # Broken markup reaches lxml/trafilatura internals in odd ways; the user only
        # needs to know the page could not be read.
        log.debug("parse failed for %s: %r", url, exc)
        raise ParseError("I couldn't read an article on that page.") from exc


# --- decoding ------------------------------------------------------------------------


def _decode(content: str | bytes) -> str:
    text = content if isinstance(content, str) else _decode_bytes(content)
    text = _BAD_CHARS.sub("", text)
    if not text.strip():
        raise ParseError("That page is empty.")
    return text


def _decode_bytes(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    m = _META_CHARSET.search(data[:4096])
    if m:
        try:
            return data.decode(m.group(1).decode("ascii").lower(), errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is not None:
        return data.decode(best.encoding, errors="replace")
    return data.decode("latin-1")


# --- HTML ----------------------------------------------------------------------------


def _visible_lines(tree: lxml_html.HtmlElement) -> list[str]:
    """The page's visible text, one line per block element."""
    parts: list[str] = []
    body = tree.find(".//body")
    # One flat walk (lxml's iterwalk) rather than a Python call per element: a skipped
    # element and a comment keep only their tail, a block element stands on its own lines.
    walker = etree.iterwalk(body if body is not None else tree,
                            events=("start", "end", "comment", "pi"))
    for event, el in walker:
        tag = el.tag
        if event == "start":
            if tag in _SKIP_TAGS:
                walker.skip_subtree()  # its end event still comes, for the tail
                continue
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if el.text:
                parts.append(el.text)
            continue
        if event == "end" and tag in _BLOCK_TAGS:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)
    return [line for line in normalise_space("".join(parts)).split("\n") if line]


def _site_name(meta: PageMeta, url: str | None) -> str | None:
    if meta.site_name and len(meta.site_name) < 60 and not meta.site_name.startswith("http"):
        return meta.site_name
    # "Headline | Harbour Gazette": the title's last part, when it is name-like.
    if meta.title_tag:
        parts = _SEPARATORS.split(squash(meta.title_tag))
        tail = parts[-1] if len(parts) > 1 else ""
        if tail and 1 <= len(tail.split()) <= 5 and not _CJK.search(tail) and not any(
                tail.lower() in h.lower() for h in meta.h1s) and tail[:1].isupper():
            return tail
    return registered_domain(url) if url else None


def _near(lines: list[str], headline: str | None, after: int, before: int = 0) -> list[str]:
    """The visible lines around the headline (the top of the page without one)."""
    start = 0
    if headline:
        low = headline.lower()
        for i, line in enumerate(lines):
            if line.lower() == low:
                start = i
                break
    return lines[max(0, start - before) : start + after]


def _section(meta: PageMeta, tree: lxml_html.HtmlElement) -> str | None:
    value = meta.section
    if value and not value.startswith("http") and len(value) <= 50:
        return value
    # No metadata: a kicker, category label or breadcrumb just above (or beside) the
    # headline; a "section" further down the page is a footer's or a sidebar's.
    h1 = tree.find(".//h1")
    if h1 is None or h1.sourceline is None:
        return None
    limit = h1.sourceline + 5
    # One walk, the cheap line test first (an XPath of eight contains() per element cost
    # more than the rest of this function); distinct class names are tested once.
    seen: dict[str, bool] = {}
    for el in tree.iter(etree.Element):
        line = el.sourceline
        cls = el.get("class") if line is not None and line <= limit else None
        if not cls:
            continue
        named = seen.get(cls)
        if named is None:
            named = seen[cls] = any(word in cls for word in _SECTION_CLASSES)
        if not named or el.tag in _NOT_SECTION_TAGS:
            continue
        if any(_is_boilerplate_container(a) for a in el.iterancestors()):
            continue
        links = [squash(a.text_content()) for a in el.iter("a")]
        text = links[-1] if links else squash(el.text_content())
        if text and 1 <= len(text.split()) <= 4 and not re.search(r"\d", text) and (
                text.lower() not in ("home", "accueil", "startseite", "inicio", "news")):
            return text
    return None


def _is_boilerplate_container(el: lxml_html.HtmlElement) -> bool:
    return el.tag in ("footer", "aside") or (el.tag in ("nav", "header") and "breadcrumb"
                                              not in (el.get("class") or "").lower())


def _holds_byline(el: Any) -> bool:
    cls = el.get("class") or ""
    return (el.get("itemprop") == "author" or el.get("rel") == "author" or "byline" in cls
            or "vcard" in cls)


_INLINE_TAGS = frozenset("a span em strong b i u small sup sub abbr cite mark font q time".split())
_PROSE_PARENTS = frozenset("p li dd blockquote td h2 h3 h4".split())


def _in_running_text(el: lxml_html.HtmlElement) -> bool:
    """True for an inline element inside a sentence: a link in a paragraph, not a box."""
    if el.tag not in _INLINE_TAGS:
        return False
    parent = el.getparent()
    if parent is None:
        return False
    return parent.tag in _PROSE_PARENTS or bool(
        (parent.text and parent.text.strip()) or (el.tail and el.tail.strip()))


@dataclass
class _Walk:
    """What one walk over the page found besides what it pruned."""

    bylines: list[Any] = field(default_factory=list)  # byline-search candidates
    pruned_chars: int = 0
    link_paragraphs: set[str] = field(default_factory=set)  # "<p><a>Teaser</a></p>"


def _prune(tree: lxml_html.HtmlElement) -> _Walk:
    """Remove captions, credits, share bars, promos and donation boxes in place; note the
    elements trafilatura's byline search would look at and the paragraphs that are one
    link (a teaser for another story)."""
    # A plain walk with one regex per attribute: measured faster than XPath (string
    # functions or EXSLT regex) on real pages. A page repeats its class names, so each
    # distinct one is matched once (the memos live for this call only).
    doomed = []
    walk = _Walk()
    bylines = walk.bylines
    pruned: dict[str, bool] = {}
    hinted: dict[str, bool] = {}
    for el in tree.iter(etree.Element):  # elements only: no comments, PIs or entities
        tag = el.tag
        if tag == "p" and len(el) == 1 and el[0].tag == "a" and not (
                el.text or "").strip() and not (el[0].tail or "").strip():
            walk.link_paragraphs.add(key(el[0].text_content()))
        cls = el.get("class")
        if cls:
            prune = pruned.get(cls)
            if prune is None:
                prune = pruned[cls] = bool(_PRUNE_CLASS.search(cls))
            hint = hinted.get(cls)
            if hint is None:
                hint = hinted[cls] = bool(AUTHOR_HINT.search(cls))
        else:
            prune = hint = False
        if (tag == "figcaption" or prune) and tag not in ("html", "body"):
            doomed.append(el)
        # Candidates for the byline search; its tiers sort them out later, if needed.
        if hint or el.get("itemprop") or el.get("rel") or tag == "author":
            bylines.append(el)
            continue
        ident = el.get("id")
        if ident:
            found = hinted.get(ident)
            if found is None:
                found = hinted[ident] = bool(AUTHOR_HINT.search(ident))
            if found:
                bylines.append(el)
    if not doomed:
        return walk
    # A box named "credit-bar" that holds the byline keeps it for the author search.
    keep = {a for el in bylines if _holds_byline(el) for a in (el, *el.iterancestors())}
    dropped = 0
    for el in doomed:
        # A wrapper named "share-…" around the whole story is not a share bar, and a
        # link named "related-link" inside a sentence is part of the sentence.
        if el.tag in ("html", "body", "main", "article") or el in keep or _in_running_text(
                el) or len(el.xpath(".//p")) > 2:
            continue
        size = len(el.text_content())
        if size < 800:
            el.drop_tree()
            dropped += size
    root = tree.getroottree().getroot()
    walk.bylines = [el for el in bylines if el.getroottree().getroot() is root]
    walk.pruned_chars = dropped
    return walk


def _unwrap_crowds(tree: lxml_html.HtmlElement) -> None:
    """Turn the inline children of an element with thousands of them into plain text.

    trafilatura unwraps inline tags itself, after which lxml keeps the text as one piece
    per former tag, and every read of ``.text`` joins those pieces again: quadratic (one
    paragraph of 500,000 ``<b>`` took minutes and 1 GB). Here each run of text becomes
    one piece, in one pass.
    """
    for el in _CROWDED(tree):
        inline = int(_COUNT_INLINE(el))
        if inline <= _CROWD:
            continue
        if inline == len(el):
            # Only inline children (the usual shape): the element becomes its own text.
            text, attrib = el.xpath("string()"), dict(el.attrib)
            el.clear(keep_tail=True)
            el.attrib.update(attrib)
            el.text = text or None
        else:
            _flatten_inline_children(el)


def _flatten_inline_children(el: lxml_html.HtmlElement) -> None:
    runs: list[list[str]] = [[]]  # the text before the first kept child, then after each
    kept: list[etree._Element] = []
    for node in el.xpath("node()"):  # text pieces and child nodes, in document order
        if isinstance(node, str):
            runs[-1].append(node)
        elif isinstance(node.tag, str) and node.tag in _CROWD_TAGS:
            runs[-1].append(node.text_content())
        else:
            kept.append(node)
            runs.append([])
    for child in list(el):
        el.remove(child)
    el.text = "".join(runs[0]) or None
    for child, run in zip(kept, runs[1:], strict=True):
        el.append(child)
        child.tail = "".join(run) or None


def _headline_index(lines: list[str], names: list[str],
                    key_of: Callable[[int], str]) -> int | None:
    keys = [k for k in (key(n) for n in names if n) if k]
    prefix: int | None = None
    for i in range(len(lines)):
        k = key_of(i)
        if k and k in keys:
            return i
        if prefix is None and len(k) > 20 and any(h.startswith(k) for h in keys):
            prefix = i  # a shortened copy ("Brothel catering to…" in a sticky bar)
    return prefix


def _date_window(lines: list[str], names: list[str], lead: str | None) -> str:
    """The visible lines where a reader finds the article's dates: below the headline down
    to the lead, nearest first above the lead, then just above the headline."""
    keys: list[str] = []  # key() of the first lines, each worked out once

    def key_of(i: int) -> str:
        while len(keys) <= i:
            keys.append(key(lines[len(keys)]))
        return keys[i]

    at = _headline_index(lines, names, key_of)
    lead_at: int | None = None
    if lead:
        start = " ".join(key(lead).split()[:8])
        lead_at = next((i for i in range(len(lines))
                        if start and key_of(i).startswith(start)), None)
    picked: list[str] = []
    if at is not None:
        # Below the headline first (down to the lead when it follows closely: what comes
        # after a short article is a sidebar's); above it sit header clocks.
        end = lead_at + 1 if lead_at is not None and at < lead_at < at + 25 else at + 25
        picked += lines[at:end]
    if lead_at is not None:
        # Nearest the lead first: a date line right above it is its dateline.
        picked += lines[max(0, lead_at - 12): lead_at + 1][::-1]
    if at is not None:
        picked += lines[max(0, at - 5): at]
    if not picked:
        picked = lines[:25]
    return "\n".join(picked)


def _is_paywalled(meta: PageMeta, body: str, get_lines: Callable[[], list[str]]) -> bool:
    if meta.accessible_for_free is False:
        return True
    if word_count(body) < 150:
        return bool(_PAYWALL.search("\n".join(get_lines())[:20000]))
    return False


_PARSER = lxml_html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
# Every element an HtmlElement, its class chosen in C: lxml.html's own lookup calls Python
# for each element proxy made (to give <form>, <input>, <select>, <textarea> and <label>
# their form classes, which neither this package nor trafilatura nor htmldate use), and
# the extractors make several hundred thousand proxies on a page of news.
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment,
    pi=lxml_html.HtmlProcessingInstruction, entity=lxml_html.HtmlEntity))


def _page_lead(meta: PageMeta,
               tree: lxml_html.HtmlElement) -> tuple[str | None, str | None]:
    """The lead as the page's metadata gives it, and the page paragraph that holds it.

    The JSON-LD body's first paragraph; else the paragraph of the page that begins with
    the words of the page's description (publishers often reuse the lead as such).
    """
    first: str | None = None
    if meta.ld_body:
        first = next((p for p in meta.ld_body.split("\n") if word_count(p) >= 8), None)
    if first is None and meta.description and word_count(meta.description) >= 10:
        first = meta.description
    if first is None:
        return None, None
    start = " ".join(key(first).split()[:8])
    first_word = start.split(" ")[0] if start else ""
    for p in tree.iter("p"):
        text = p.text_content()
        # The cheap test first: most paragraphs do not even hold the first word.
        if first_word in text.casefold() and word_count(text) >= 12 and key(
                text).startswith(start):
            return first, " ".join(text.split())
    return (first, None) if meta.ld_body else (None, None)


def _read_body(tree: lxml_html.HtmlElement, url: str | None, meta: PageMeta,
               headline: str | None, month_first_page: bool,
               page_lead: tuple[str | None, str | None],
               unpruned: Callable[[], lxml_html.HtmlElement] | None, pruned_chars: int,
               teasers: set[str]) -> Body:
    """The fast reading, re-read by the slower paths when it looks wrong.

    ``page_lead`` is the lead the metadata quotes and the page paragraph (before pruning)
    that holds it; ``unpruned`` re-reads the page without our pruning, for when that pruning
    removed the article itself (a story wrapped in a box named "paywall").
    """
    def finder(text: str) -> list[tuple[int, date]]:
        return find_dates(text, month_first=month_first_page)

    names = [n for n in (headline, meta.og_title, *meta.h1s) if n and word_count(n) <= 30]
    body = clean_blocks(extract_blocks(tree, url, fast=True), names, finder, teasers)
    lead, lead_paragraph = page_lead
    page_has_lead = lead_paragraph is not None
    # What the page says the article holds: its JSON-LD articleBody. (Its paragraphs
    # count no sure length: comments and teasers are paragraphs too.)
    expected = word_count(meta.ld_body) if meta.ld_body else 0
    reason = looks_wrong(body, expected_words=expected, lead=lead, page_has_lead=page_has_lead)
    body.tried["fast"] = body.words
    if reason is None:
        return body
    if reason == "no lead" and lead_paragraph:
        body.reason = reason  # the page paragraph itself is at hand: no re-reading needed
    else:
        body = _reread(body, reason, tree, url, unpruned, pruned_chars, names, finder, teasers,
                       expected, lead, page_has_lead)
    if lead and lead_paragraph and not contains_start(body.paragraphs, lead):
        # No reading has the lead the metadata quotes and the page shows (a standfirst
        # above the story's box): it goes first.
        body.paragraphs.insert(0, lead_paragraph)
        body.lead_from = "the page paragraph the metadata quotes"
    return body


def _reread(body: Body, reason: str, tree: lxml_html.HtmlElement, url: str | None,
            unpruned: Callable[[], lxml_html.HtmlElement] | None, pruned_chars: int,
            names: list[str],
            finder: Callable[[str], list[tuple[int, date]]], teasers: set[str],
            expected: int, lead: str | None, page_has_lead: bool) -> Body:
    """The best of the slower readings, for the reason the fast one was doubted."""
    body.reason = reason
    # Our pruning undone first (cheap), then trafilatura's full cascade (its readability
    # and jusText comparisons), then its recall mode unless the page is simply short.
    paths: list[tuple[str, bool, bool]] = [("unpruned", True, False)] if unpruned and (
        reason != "short body" or pruned_chars >= 2 * len(" ".join(body.paragraphs))) else []
    paths.append(("slow", False, False))
    if reason != "short body":
        paths.append(("recall", True, True))
    for path, fast, recall in paths:
        source = unpruned() if path == "unpruned" and unpruned else tree
        other = clean_blocks(extract_blocks(source, url, fast=fast, recall=recall), names,
                             finder, teasers)
        body.tried[path] = other.words
        if reason == "no lead" and lead and not contains_start(other.paragraphs, lead):
            continue
        if better(body, other, reason) and not (expected and other.words > 1.5 * expected):
            other.path, other.reason, other.tried = path, reason, body.tried
            body = other
            if looks_wrong(body, expected_words=expected, lead=lead,
                           page_has_lead=page_has_lead) is None:
                break
    return body


def _htmldate(tree: lxml_html.HtmlElement, url: str | None, latest: date) -> str | None:
    # htmldate's fast mode; its extensive search loads dateparser's every locale (seconds)
    # and found nothing here that the date lines do not.
    found = htmldate.find_date(tree, url=url, original_date=True, extensive_search=False,
                               max_date=latest.isoformat())
    if found == _today().isoformat():
        found = None  # a header clock or a "today" widget, never a guess we make
    return found


def _from_html(text: str, url: str | None, why: dict[str, Any]) -> Card:
    text = _XML_DECL.sub("", text, count=1)
    try:
        # Comments go at parse time: a "<!-- -->" inside a sentence would otherwise end
        # the paragraph there for the extractor.
        tree = lxml_html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError("I couldn't read an article on that page.") from exc
    _unwrap_crowds(tree)
    meta = read_meta(tree, url)
    section = _section(meta, tree)
    site = _site_name(meta, url)
    tokens = site_tokens(site, url)
    choice = choose_headline(meta, site, url)
    headline = choice.value
    why["headline"] = choice.explain()
    us_dates = month_first(meta.locale, url)
    # The dates are read before pruning: a <time> in a box named "share-bar" still counts.
    lines_cache: list[list[str]] = []

    def get_lines() -> list[str]:
        if not lines_cache:
            lines_cache.append(_visible_lines(tree))
        return lines_cache[0]

    page_lead = _page_lead(meta, tree)
    walk = _prune(tree)

    def unpruned() -> lxml_html.HtmlElement:
        return lxml_html.document_fromstring(text, parser=_PARSER)

    body = _read_body(tree, url, meta, headline, us_dates, page_lead,
                      unpruned if walk.pruned_chars > 200 else None, walk.pruned_chars,
                      walk.link_paragraphs)
    paragraphs = body.paragraphs
    if word_count(" ".join(paragraphs)) < 40:
        # trafilatura found nothing usable: read the visible text like a text page.
        found = read_text_page("\n".join(get_lines()), hard_wrapped=False)
        if word_count(" ".join(found.paragraphs)) > word_count(" ".join(paragraphs)):
            paragraphs = found.paragraphs
            body.path = "visible text"
            headline = headline or found.headline
    if not paragraphs and meta.ld_body:
        paragraphs = [p.strip() for p in meta.ld_body.split("\n") if p.strip()]
        body.path = "json-ld articleBody"
    body.paragraphs = paragraphs
    why["body"] = body.explain()
    body_text = "\n\n".join(paragraphs)
    # Cookie walls, consent, login and error pages are refused, with what they are.
    check_article(headline, [meta.title_tag or "", *meta.h1s], paragraphs,
                  any(el.get("type") == "password" for el in tree.iter("input")))
    paywalled = _is_paywalled(meta, body_text, get_lines)
    if not paywalled and (not headline or word_count(body_text) < 25):
        raise ParseError("I couldn't find an article on that page.")

    def bylines() -> list[str]:
        found = body.bylines or [ln for ln in _near(get_lines(), headline, 12)
                                 if _BYLINE.match(ln)]
        return [n for line in found[:1] for n in byline_names(line)]

    authors = choose_authors(meta.authors, meta.author_source, meta.org_authors, bylines,
                             walk.bylines, tokens, site)
    why["authors"] = authors.explain()
    latest = _latest_allowed()
    lead = next((p for p in paragraphs if looks_like_prose(p)), None)
    names = [n for n in (headline, *meta.h1s) if n]

    # The date choice may ask more than once: each answer is worked out once per page.
    seen_dates: dict[bool, tuple[date | None, date | None]] = {}

    def shown(update_counts: bool) -> tuple[date | None, date | None]:
        # The page's own date lines near the headline and the lead: what a reader sees.
        if update_counts not in seen_dates:
            seen_dates[update_counts] = dateline(
                _date_window(get_lines(), names, lead), latest,
                update_counts=update_counts, today=_today(), month_first=us_dates)
        return seen_dates[update_counts]

    in_title = find_dates(meta.title_tag or "", latest, month_first=us_dates)
    dates = choose_published(meta, url_date(url, latest), shown,
                             lambda: _htmldate(tree, url, latest), latest,
                             title_date=in_title[0][1] if len(in_title) == 1 else None)
    why["published"] = dates.explain()
    canonical = clean_url(meta.canonical or meta.og_url or "", base=url) or (
        clean_url(url) if url else None)
    image = None
    if meta.image:
        from urllib.parse import urljoin

        image = urljoin(url or "", meta.image) if url else meta.image
        if not image.startswith(("http://", "https://")):
            image = None
    return _card(
        url=url, canonical=canonical, headline=headline or "", body=body_text,
        published=dates.published, updated=dates.updated, site=site, section=section,
        authors=authors.names, language=meta.language, image=image,
        paywalled=paywalled, keywords=publisher_tags(tree, meta),
        standfirst=meta.description,
    )


# --- plain text ----------------------------------------------------------------------


def _from_text(text: str, url: str | None, why: dict[str, Any]) -> Card:
    found = read_text_page(decode_entities(text))
    body = "\n\n".join(found.paragraphs)
    if not found.paragraphs or word_count(body) < 25:
        raise ParseError("I couldn't find an article in that text.")
    check_article(found.headline, [], found.paragraphs)
    latest = _latest_allowed()
    pub, upd = dateline("\n".join(found.date_lines), latest, today=_today())
    published = pub.isoformat() if pub else None
    source = "shown"
    if published is None:
        from_url = url_date(url, latest)
        published = from_url.isoformat() if from_url else None
        source = "url"
    headline = found.headline or found.paragraphs[0][:120]
    why["headline"] = {"value": headline, "won": "text: the title-like line above the article"}
    why["published"] = {"value": published, "won": source if published else "none",
                        "candidates": found.date_lines[:6]}
    why["authors"] = {"value": found.authors, "won": "byline" if found.authors else "none"}
    why["body"] = {"path": "text page", "paragraphs": len(found.paragraphs),
                   "first_paragraph": found.paragraphs[0][:200]}
    return _card(
        url=url, canonical=clean_url(url) if url else None, headline=headline, body=body,
        published=published, updated=upd.isoformat() if upd else None,
        site=registered_domain(url) if url else None, section=found.section,
        authors=tuple(found.authors), language=None, image=None,
        paywalled=bool(_PAYWALL.search(body)) and word_count(body) < 150, keywords=([], []),
    )


# --- shared ----------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


def _latest_allowed() -> date:
    # A page cannot be published after tomorrow (time zones); anything later is noise.
    return (datetime.now(UTC) + timedelta(days=1)).date()


def _card(*, url: str | None, canonical: str | None, headline: str, body: str,
          published: str | None, updated: str | None, site: str | None,
          section: str | None, authors: tuple[str, ...], language: str | None,
          image: str | None, paywalled: bool,
          keywords: tuple[list[str], list[str]], standfirst: str | None = None) -> Card:
    headline = squash(headline)
    language = language or detect_language(body)
    return Card(
        url=url,
        canonical_url=canonical,
        headline=headline,
        published=published,
        updated=updated,
        site=site,
        section=section,
        authors=authors,
        language=language,
        summary=summarise(headline, body, standfirst=standfirst_of(standfirst, headline, body)),
        key_figures=key_figures(body, headline, language=language),
        topics=subjects(headline, body, declared=keywords[0], keywords=keywords[1], site=site,
                        url_site=registered_domain(url) if url else None, section=section,
                        language=language),
        image=image,
        body=body,
        paywalled=paywalled,
    )
