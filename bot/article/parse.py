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
from datetime import UTC, date, datetime, timedelta

import charset_normalizer
import htmldate
import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura import metadata as trafilatura_metadata

from bot.card import Card
from bot.errors import ParseError
from bot.language import detect_language
from bot.urls import clean_url, registered_domain

from .dates import dateline, find_dates, parse_timestamp, url_date
from .figures import key_figures
from .htmlmeta import PageMeta, read_meta, squash
from .notarticle import check_article
from .subjects import publisher_tags, subjects
from .summary import standfirst_of, summarise
from .text import is_clutter_line, looks_like_prose, normalise_space, word_count
from .textpage import BYLINE as _BYLINE
from .textpage import read_text_page

log = logging.getLogger(__name__)

_HTML_SNIFF = re.compile(
    r"<(!doctype\s+html|html|head|body|meta|div|p|article|title|style|script|span|h1|link)\b",
    re.I,
)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SEPARATORS = re.compile(r"\s+[|\-–—:·»/]{1,2}\s+|\s*[_｜：]\s*(?=\S)|\s+::\s+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_PHOTO_NOTE = re.compile(r"\s*[（(](写真|photo|video|vidéo|foto)[^）)]{0,30}[）)]\s*$", re.I)
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
# Bylines that name an organisation or a desk rather than a person.
_NOT_A_PERSON = re.compile(
    r"\b(news|wire|staff|press|agency|reuters|afp|dpa|desk|editors?|editorial|team|"
    r"redaktion|rédaction|correspondents?|contributors?|username|admin|newsroom|"
    r"associated|media|online|magazine|times|post|journal|daily)\b|^(mac|ap|i)$",
    re.I,
)
_SECTION_XPATH = (
    "//*[contains(@class, 'kicker') or contains(@class, 'section') or "
    "contains(@class, 'category') or contains(@class, 'cat-links') or "
    "contains(@class, 'rubri') or contains(@class, 'breadcrumb') or "
    "contains(@class, 'eyebrow') or contains(@class, 'overline')]"
    "[not(self::section) and not(self::body) and not(self::article) and not(self::main)]"
)
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


def parse_article(content: str | bytes, url: str | None = None) -> Card:
    """Turn an HTML page, or a page's plain text, into a summary card.

    Raises ParseError when the content holds no readable article (empty, binary junk,
    an error page).
    """
    try:
        text = _decode(content)
        if _HTML_SNIFF.search(text[:65536]):
            return _from_html(text, url)
        return _from_text(text, url)
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

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP_TAGS or not isinstance(el.tag, str):
            if el.tail:
                parts.append(el.tail)
            return
        block = tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if block:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    body = tree.find(".//body")
    walk(body if body is not None else tree)
    return [line for line in normalise_space("".join(parts)).split("\n") if line]


def _site_tokens(site: str | None, url: str | None) -> set[str]:
    out: set[str] = set()
    for value in (site, registered_domain(url) if url else None):
        if value:
            norm = re.sub(r"[^\w]", "", value.lower())
            out.add(norm)
            out.add(norm.split(".")[0])
            dom = value.lower().split(".")[0]
            out.add(re.sub(r"[^\w]", "", dom))
    return {t for t in out if len(t) >= 2}


def strip_site(title: str, site_tokens: set[str], others: list[str]) -> str:
    """The title without " - Site name" (or "Site | ") parts at either end."""
    title = _PHOTO_NOTE.sub("", squash(title))
    segments = _SEPARATORS.split(title)
    if len(segments) < 2:
        return title
    seps = _SEPARATORS.findall(title)

    def is_site(seg: str) -> bool:
        norm = re.sub(r"[^\w]", "", seg.lower())
        # "BBC News" is the site; "BBC faces criticism over ..." only mentions it.
        return not norm or any(
            norm in tok or (tok in norm and len(norm) <= len(tok) + 8)
            for tok in site_tokens if len(norm) >= 2)

    def short_label(seg: str) -> bool:
        if _CJK.search(seg):
            return False  # word counts mean nothing here; only a known site name counts
        in_others = any(seg.lower() in o.lower() for o in others)
        return len(seg.split()) <= 3 and not in_others and len(seg) < 30

    def droppable(seg: str, sep: str) -> bool:
        if is_site(seg):
            return True  # the site's own name goes, however long ("Loft – BizWest")
        if len(seg) >= len(max(segments, key=len)):
            return False
        if all(is_site(other) for other in segments if other is not seg):
            return False  # the only part left that is not the site's name is the headline
        # In CJK titles "_" and "|" only ever separate site and channel names.
        return short_label(seg) or (bool(_CJK.search(seg)) and sep.strip() in ("_", "|", "｜"))

    # Drop site names and short labels from the end, then from the start.
    while len(segments) > 1 and droppable(segments[-1], seps[-1]):
        segments.pop()
        seps.pop()
    while len(segments) > 1 and droppable(segments[0], seps[0]):
        segments.pop(0)
        seps.pop(0)
    out = segments[0]
    for sep, seg in zip(seps, segments[1:], strict=False):
        out += sep + seg
    return _PHOTO_NOTE.sub("", out.strip())


def _choose_headline(meta: PageMeta, site: str | None, url: str | None) -> str | None:
    tokens = _site_tokens(site, url)
    h1s = [h for h in meta.h1s if word_count(h) >= 2]
    raw = [c for c in (meta.ld_headline, meta.og_title, meta.title_tag) if c]
    cleaned = [strip_site(c, tokens, h1s) for c in raw]
    low = [c.lower() for c in cleaned]
    # A one-word h1 ("Loft") is a logo unless the title says the same.
    for h in meta.h1s:
        hl = h.lower()
        if hl in low or any(c.startswith(hl) and len(hl) > 20 for c in low):
            return h
    ld = strip_site(meta.ld_headline, tokens, h1s) if meta.ld_headline else None
    if ld and not ld.endswith(("...", "…")):
        return ld
    if meta.og_title:
        return strip_site(meta.og_title, tokens, h1s)
    if meta.title_tag and word_count(meta.title_tag) >= 3:
        title = strip_site(meta.title_tag, tokens, h1s)
        # An h1 that repeats most of the title is the visible form of it.
        for h in h1s:
            if h.lower() in title.lower() and len(h) > len(title) * 0.6:
                return h
        return title
    if h1s:
        return h1s[0]
    return cleaned[0] if cleaned else None


def _clean_body(text: str, headline: str | None) -> tuple[list[str], list[str]]:
    """Article paragraphs without furniture, and the bylines found above the first one."""
    lines = [line.strip() for line in text.split("\n")]
    keep: list[str] = []
    bylines: list[str] = []
    for i, line in enumerate(lines):
        if not line:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if is_clutter_line(line):
            continue
        if nxt and re.match(r"^\s*read more\s*$", nxt, re.I) and word_count(line) < 20:
            continue  # a related-story link above its "Read more" prompt
        if not any(looks_like_prose(k) for k in keep) and _is_heading_furniture(
                line, headline):
            # Before the first paragraph: breadcrumbs, the headline again, the byline
            # and the dateline, which the card shows in their own fields.
            if _BYLINE.match(line):
                bylines.append(line)
            continue
        keep.append(line)
    return keep, bylines


def _is_heading_furniture(line: str, headline: str | None) -> bool:
    if looks_like_prose(line) and not find_dates(line[:60]):
        return False
    if headline and line.lower() == headline.lower():
        return True
    if _BYLINE.match(line) or re.search(r"\s[›»>/|]\s", line):
        return True
    return (word_count(line) <= 12 and bool(find_dates(line))) or word_count(line) <= 4


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


def _byline_names(line: str) -> list[str]:
    m = _BYLINE.match(line)
    if not m:
        return []
    names = re.split(r"\s*(?:,|\band\b|\bund\b|\bet\b|\by\b|&)\s*", m["names"])
    return [n.strip() for n in names if n.strip()]


def _section(meta: PageMeta, tree: lxml_html.HtmlElement) -> str | None:
    value = meta.section
    if value and not value.startswith("http") and len(value) <= 50:
        return value
    # No metadata: a kicker, category label or breadcrumb just above (or beside) the
    # headline; a "section" further down the page is a footer's or a sidebar's.
    h1 = tree.find(".//h1")
    if h1 is None or h1.sourceline is None:
        return None
    for el in tree.xpath(_SECTION_XPATH):
        if el.sourceline is None or el.sourceline > h1.sourceline + 5:
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


def _prune(tree: lxml_html.HtmlElement) -> None:
    """Remove captions, credits, share bars, promos and donation boxes in place."""
    # A plain walk with one regex per class attribute: measured faster than XPath
    # (string functions or EXSLT regex) on real pages.
    doomed = [
        el for el in tree.iter()
        if isinstance(el.tag, str) and el.tag not in ("html", "body")
        and (el.tag == "figcaption" or _PRUNE_CLASS.search(el.get("class") or ""))
    ]
    for el in doomed:
        # A wrapper named "share-…" around the whole story is not a share bar.
        if el.tag in ("html", "body", "main", "article") or len(el.xpath(".//p")) > 2:
            continue
        if len(el.text_content()) < 800:
            el.drop_tree()


def _published(meta: PageMeta, get_lines: Callable[[], list[str]], headline: str | None,
               url: str | None, tree: lxml_html.HtmlElement,
               latest: date) -> tuple[str | None, str | None]:
    updated = parse_timestamp(meta.updated, latest)
    stated = [p for p in (parse_timestamp(v, latest) for v in meta.published_all) if p]

    def shown_dates(update_counts: bool) -> tuple[date | None, date | None]:
        # The page's own date lines near the headline: what a reader sees.
        window = "\n".join(_near(get_lines(), headline, 25, before=5))
        return dateline(window, latest, update_counts=update_counts, today=_today())

    from_url = url_date(url, latest)
    if stated:
        published = stated[0]
        days = {p[:10] for p in stated}
        if len(days) > 1:
            shown, _ = shown_dates(update_counts=False)
            if shown is not None and shown.isoformat() in days:
                # Sources disagree (a re-publication, a UTC day): trust the one shown.
                published = next(p for p in stated if p[:10] == shown.isoformat())
        if _is_utc(published):
            # A UTC timestamp may fall on another day than the publisher's own; a
            # sibling value with a local offset, or the URL's date, says which day.
            local = [p for p in stated if len(p) > 10 and not _is_utc(p)]
            if local:
                published = local[0]
            elif from_url is not None and published[:10] != from_url.isoformat():
                gap = (date.fromisoformat(published[:10]) - from_url).days
                if -1 <= gap <= 2:
                    published = from_url.isoformat()
        return published, updated
    seen, seen_upd = shown_dates(update_counts=True)
    if seen:
        return seen.isoformat(), updated or (seen_upd.isoformat() if seen_upd else None)
    if from_url:
        return from_url.isoformat(), updated
    # htmldate's fast mode; its extensive search loads dateparser's every locale (seconds)
    # and found nothing here that the date lines above do not.
    found = htmldate.find_date(tree, url=url, original_date=True, extensive_search=False,
                               max_date=latest.isoformat())
    if found == _today().isoformat():
        found = None  # a header clock or a "today" widget, never a guess we make
    return found or (updated[:10] if updated else None), updated


def _main_text(tree: lxml_html.HtmlElement, url: str | None, *, fast: bool) -> str:
    doc = trafilatura.bare_extraction(tree, url=url, include_comments=False, fast=fast,
                                      with_metadata=False)
    return (getattr(doc, "text", None) if doc is not None else None) or ""


def _is_utc(stamp: str) -> bool:
    """True for a bare day or a UTC timestamp: values that may not be the local day."""
    return len(stamp) == 10 or stamp.endswith(("+00:00", "Z"))


def _is_paywalled(meta: PageMeta, body: str, get_lines: Callable[[], list[str]]) -> bool:
    if meta.accessible_for_free is False:
        return True
    if word_count(body) < 150:
        return bool(_PAYWALL.search("\n".join(get_lines())[:20000]))
    return False


def _from_html(text: str, url: str | None) -> Card:
    text = _XML_DECL.sub("", text, count=1)
    try:
        tree = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError("I couldn't read an article on that page.") from exc
    meta = read_meta(tree)
    section = _section(meta, tree)
    _prune(tree)
    site = _site_name(meta, url)
    headline = _choose_headline(meta, site, url)
    raw_body = _main_text(tree, url, fast=True)
    if word_count(raw_body) < 120:
        # trafilatura's own extractor came up short: let it try its fallbacks too
        # (readability, jusText), which cost as much again, so only when needed.
        slow = _main_text(tree, url, fast=False)
        if word_count(slow) > word_count(raw_body):
            raw_body = slow
    paragraphs, bylines = _clean_body(raw_body, headline)
    # The visible text costs a walk over the whole tree: only done when needed.
    lines_cache: list[list[str]] = []

    def get_lines() -> list[str]:
        if not lines_cache:
            lines_cache.append(_visible_lines(tree))
        return lines_cache[0]

    if not meta.authors:
        if not bylines:
            bylines = [ln for ln in _near(get_lines(), headline, 12) if _BYLINE.match(ln)]
        for line in bylines[:1]:
            meta.authors = _byline_names(line)
    if word_count(" ".join(paragraphs)) < 40:
        # trafilatura found nothing usable: read the visible text like a text page.
        found = read_text_page("\n\n".join(get_lines()))
        if word_count(" ".join(found.paragraphs)) > word_count(" ".join(paragraphs)):
            paragraphs = found.paragraphs
            headline = headline or found.headline
    if not paragraphs and meta.ld_body:
        paragraphs = [p.strip() for p in meta.ld_body.split("\n") if p.strip()]
    body = "\n\n".join(paragraphs)
    # Cookie walls, consent, login and error pages are refused, with what they are.
    check_article(headline, [meta.title_tag or "", *meta.h1s], paragraphs,
                  bool(tree.xpath("//input[@type='password']")))
    paywalled = _is_paywalled(meta, body, get_lines)
    if not paywalled and (not headline or word_count(body) < 25):
        raise ParseError("I couldn't find an article on that page.")
    latest = _latest_allowed()
    published, updated = _published(meta, get_lines, headline, url, tree, latest)
    canonical = clean_url(meta.canonical or meta.og_url or "", base=url) or (
        clean_url(url) if url else None)
    image = None
    if meta.image:
        from urllib.parse import urljoin

        image = urljoin(url or "", meta.image) if url else meta.image
        if not image.startswith(("http://", "https://")):
            image = None
    return _card(
        url=url, canonical=canonical, headline=headline or "", body=body,
        published=published, updated=updated, site=site, section=section,
        authors=_authors(meta.authors, tree), language=meta.language, image=image,
        paywalled=paywalled, keywords=publisher_tags(tree, meta),
        standfirst=meta.description,
    )


def _authors(names: list[str], tree: lxml_html.HtmlElement | None = None) -> tuple[str, ...]:
    if not names and tree is not None:
        # No byline in the metadata: trafilatura's byline XPaths over the page.
        found = trafilatura_metadata.extract_author(tree) or ""
        names = [n for n in found.split(";") if " " in n.strip()]
    out: list[str] = []
    for name in names:
        name = re.sub(r"^(by|par|von|por|di)\s+", "", squash(name), flags=re.I)
        if (2 <= len(name) <= 60 and name not in out and not re.search(r"\d|@|www\.", name)
                and not _NOT_A_PERSON.search(name)):
            out.append(name)
    return tuple(out[:10])


# --- plain text ----------------------------------------------------------------------


def _from_text(text: str, url: str | None) -> Card:
    found = read_text_page(text)
    body = "\n\n".join(found.paragraphs)
    if not found.paragraphs or word_count(body) < 25:
        raise ParseError("I couldn't find an article in that text.")
    check_article(found.headline, [], found.paragraphs)
    latest = _latest_allowed()
    pub, upd = dateline("\n".join(found.date_lines), latest, today=_today())
    published = pub.isoformat() if pub else None
    if published is None:
        from_url = url_date(url, latest)
        published = from_url.isoformat() if from_url else None
    headline = found.headline or found.paragraphs[0][:120]
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
