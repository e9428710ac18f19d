"""The headline, chosen by agreement between the page's own candidates.

A page names its headline several times: the visible ``<h1>``, ``og:title``, the JSON-LD
``headline``, the ``<title>`` (often an SEO variant) and ``twitter:title``. Each is one vote,
weighted by how often that source is the headline a reader sees; a candidate that another
one contains whole, with only a kicker in front ("Migration: ...") or a few words after,
gets part of that vote too. The visible ``<h1>`` has the last word on what is a kicker: a
longer candidate made of the h1 plus a label is the h1 with a label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot.urls import registered_domain

from .htmlmeta import PageMeta, squash
from .text import word_count

SEPARATORS = re.compile(r"\s+[|\-–—:·»/]{1,2}\s+|\s*[_｜：]\s*(?=\S)|\s+::\s+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_PHOTO_NOTE = re.compile(r"\s*[（(](写真|photo|video|vidéo|foto)[^）)]{0,30}[）)]\s*$", re.I)
_WORD = re.compile(r"\w+")

# How much each source's word counts; og:title first because publishers set it by hand
# for the story, the <title> last because it is often written for search engines.
WEIGHTS = {"og:title": 1.2, "h1": 1.1, "json-ld": 1.0, "title": 0.9, "twitter:title": 0.05}
# An h1 no other source confirms may be a section's or a column's name ("Health Center").
LONE_H1 = 0.8
# Part of a vote given to a candidate that a source's value contains whole (at its start
# or end), as "Headline" is contained in "Kicker: Headline".
PARTIAL = 0.6


@dataclass
class HeadlineChoice:
    """The chosen headline and why: each candidate with its source and score."""

    value: str | None
    source: str = "none"
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def explain(self) -> dict[str, Any]:
        """JSON-ready account of the choice."""
        return {"value": self.value, "won": self.source, "candidates": self.candidates}


_ADDRESS = re.compile(r"[\d.:]+")
_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    """Lower case, letters only, umlauts as in domains ("Süddeutsche" = "sueddeutsche")."""
    text = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
    return re.sub(r"[^\w]", "", text)


def site_tokens(site: str | None, url: str | None) -> set[str]:
    """Normalised forms of the site's name and domain, to recognise them in titles."""
    out: set[str] = set()
    domain = registered_domain(url) if url else None
    if domain and _ADDRESS.fullmatch(domain):
        domain = None  # a page served from an IP address: its numbers name no site
    for value in (site, domain):
        if value:
            norm = _fold(value)
            out.add(norm)
            out.add(_fold(value.lower().split(".")[0]))
    return {t for t in out if len(t) >= 2}


def is_site_name(text: str, tokens: set[str]) -> bool:
    """True when ``text`` is the site's name (or its domain), not a story about it."""
    norm = _fold(text)
    return not norm or any(
        norm in tok or (tok in norm and len(norm) <= len(tok) + 8
                        and _words_beside(text, tok) <= 1)
        for tok in tokens if len(norm) >= 2)


def _words_beside(text: str, tok: str) -> int:
    """How many words of ``text`` are not part of the site token ``tok``.

    "BBC News" is the site with one word more; "BBC cuts jobs" is a story about it.
    """
    return sum(1 for word in _WORD.findall(text) if _fold(word) not in tok)


def strip_site(title: str, tokens: set[str], others: list[str]) -> str:
    """The title without " - Site name" (or "Site | ") parts at either end."""
    title = _PHOTO_NOTE.sub("", squash(title))
    segments = SEPARATORS.split(title)
    if len(segments) < 2:
        return title
    seps = SEPARATORS.findall(title)

    def short_label(seg: str) -> bool:
        if _CJK.search(seg):
            return False  # word counts mean nothing here; only a known site name counts
        in_others = any(seg.lower() in o.lower() for o in others)
        return len(seg.split()) <= 3 and not in_others and len(seg) < 30

    def droppable(seg: str, sep: str) -> bool:
        if is_site_name(seg, tokens):
            return True  # the site's own name goes, however long ("Loft – BizWest")
        if len(seg) >= len(max(segments, key=len)):
            return False
        if all(is_site_name(other, tokens) for other in segments if other is not seg):
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


def key(text: str) -> str:
    """The words of a headline, case, accents of quotes and punctuation aside."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(folded))


def _contains(outer: str, inner: str) -> bool:
    """True when ``inner`` is ``outer``'s first or last words (and not all of them)."""
    if not inner or len(inner) >= len(outer):
        return False
    return outer.startswith(inner + " ") or outer.endswith(" " + inner) or (
        bool(_CJK.search(inner)) and (outer.startswith(inner) or outer.endswith(inner)))


def choose_headline(meta: PageMeta, site: str | None, url: str | None) -> HeadlineChoice:
    """The headline the page's candidates agree on, with the account of the vote."""
    tokens = site_tokens(site, url)
    h1_texts = [h.text for h in meta.headings if word_count(h.text) >= 2]
    sources: list[tuple[str, str]] = []  # (source, value), best source first
    for name, raw in (("og:title", meta.og_title), ("json-ld", meta.ld_headline),
                      ("title", meta.title_tag), ("twitter:title", meta.twitter_title)):
        if not raw:
            continue
        value = strip_site(raw, tokens, h1_texts)
        if name == "json-ld" and value.endswith(("...", "…")):
            continue  # a truncated copy
        if name == "twitter:title" and meta.og_title and key(value) == key(
                strip_site(meta.og_title, tokens, h1_texts)):
            continue  # the same text twice is one vote
        if value and not is_site_name(value, tokens):
            sources.append((name, value))
    h1, h1_is_main = _visible_heading(meta, tokens, [v for _, v in sources])
    if h1 is not None:
        sources.insert(1, ("h1", h1))
    if not sources:
        return HeadlineChoice(None)
    keys = {name: key(value) for name, value in sources}
    weight_h1 = WEIGHTS["h1"]
    scores: dict[str, float] = {}
    proposers: dict[str, list[str]] = {}
    for name, value in sources:
        k = keys[name]
        if not k or k in scores:
            if k:
                proposers[k].append(name)
            continue
        proposers[k] = [name]
        score = 0.0
        for other, ok in keys.items():
            weight = WEIGHTS[other]
            if ok == k:
                score += weight
            elif _contains(ok, k):
                # The visible h1 inside a longer candidate: the rest is a kicker or a
                # label the page shows apart from the headline.
                full = name == "h1" and (h1_is_main or len(k.split()) * 2 >= len(ok.split()))
                score += weight * (1.0 if full else PARTIAL)
        if name != "h1" and word_count(value) < 2 and len(sources) > 1:
            score *= 0.5  # one word is a logo or a label unless others say the same
        if name == "h1" and score == weight_h1:
            score = LONE_H1
        scores[k] = score
    order = [name for name, _ in sources]
    best = max(scores, key=lambda k: (scores[k], -order.index(proposers[k][0])))
    value_of = dict(sources)
    # The written form: the publisher's metadata spelling first (quotes, dashes).
    form = next(name for name in ("og:title", "json-ld", "title", "h1", "twitter:title")
                if name in proposers[best])
    candidates = [
        {"source": name, "value": value, "score": round(scores.get(keys[name], 0.0), 2)}
        for name, value in sources
    ]
    return HeadlineChoice(value_of[form], "+".join(proposers[best]), candidates)


def _visible_heading(meta: PageMeta, tokens: set[str],
                     others: list[str]) -> tuple[str | None, bool]:
    """The page's own <h1>: the one the metadata names, else the first that is no logo;
    and whether it is the main part of an h1 that sets a kicker apart."""
    other_keys = [key(o) for o in others]
    fallback: tuple[str | None, bool] = (None, False)
    for heading in meta.headings:
        for text in filter(None, (heading.main, heading.text)):
            k = key(text)
            if not k or is_site_name(text, tokens):
                continue
            if any(k == o or _contains(o, k) or _contains(k, o) for o in other_keys):
                return text, text == heading.main
        text = heading.main or heading.text
        if (fallback[0] is None and not heading.in_chrome and word_count(text) >= 2
                and not is_site_name(text, tokens)):
            fallback = (text, text == heading.main)
    return fallback
