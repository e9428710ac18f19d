"""The article body: trafilatura's blocks, cleared of furniture, checked, and re-read when wrong.

trafilatura's fast mode gives the blocks (paragraphs, headings, list items) in order. Lines
before the lead that are the page's own furniture (the headline again, breadcrumbs, a
byline, a date line, related-link bullets) go; a dateline ("BAAR, Switzerland") stays with
the lead it opens. When the result looks wrong (short, a menu, cut off before what the page
says the article holds, or without the lead the page's metadata quotes), the page is read
again by the slower paths and the better reading kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import trafilatura
from lxml import html as lxml_html
from trafilatura.xml import xmltotxt

from .dates import is_date_line
from .headline import key as headline_key
from .text import (
    decode_entities,
    is_clutter_line,
    looks_like_prose,
    strip_link_notes,
    word_count,
)
from .textpage import BYLINE

# One-line labels of the comment section, sharing and printing tools in many languages.
_TOOL_LINE = re.compile(
    r"^\s*(?:\d+\s+)?(?:kommentare?|kommentar schreiben|comments?|commentaires?|"
    r"comentarios?|commenti|reacties|komentarze|комментарии|yorumlar|teilen|drucken|"
    r"artikel teilen|share( this( article| story)?)?|print|e-?mail|imprimer|partager|"
    r"compartir|imprimir|condividi|stampa|zur startseite|nach oben|top of page|"
    r"to top|show comments|hide comments|leave a comment|add comment|post a comment)"
    r"\s*(?:\(\d+\))?\s*[:.]?\s*$",
    re.I,
)
# The label that opens the readers' comments: everything after it is theirs.
_COMMENTS_LABEL = re.compile(
    r"^\s*(?:\d+\s+)?(?:comments?|kommentare?|kommentar schreiben|leserkommentare|"
    r"comentarios?|comentar|commentaires?|commenter|commenti|commenta|reacties|reageer|"
    r"komentarze|komentáře|комментарии|коментарі|yorumlar|kommentarer|kommentit|"
    r"leave a comment|add a comment|post a comment|show comments|join the conversation)"
    r"\s*(?:\(\d+\))?\s*[:.]?\s*$",
    re.I,
)
# A telephone or fax number: what a footer or contact box holds, never a news sentence.
_PHONE = re.compile(r"(?:\+|\b00)\d[\d\s()./-]{6,}\d|\(\d{2,5}\)\s?\d[\d\s/-]{4,}\d|"
                    r"\b\d{3}[-.]\d{3}[-.]\d{4}\b|\b0\d{2,5}[/ -]\d{3,}[\d -]*\d\b")
_CONTACT = re.compile(r"\b(tel(?:efon|ephone|éfono|éphone)?|phone|fax|hotline|e-?mail|"
                      r"kontakt|contact|anrufen|call us|whatsapp)\b\.?:?", re.I)
# A dateline before the lead: a place in capitals, maybe a date and an agency.
_DATELINE = re.compile(
    r"^[A-ZÀ-ÞĀ-Ž][A-ZÀ-ÞĀ-Ž'’. -]{2,}(?:/[A-ZÀ-ÞĀ-Ž][\w'’. -]+)?(?:,\s*[\w'’. -]{2,30})?"
    r"(?:,?\s*\(?[\w. ]{0,25}\)?)?\s*[-–—:]?\s*$"
)
_BREADCRUMB = re.compile(r"\s[›»>/|]\s")
_READ_MORE = re.compile(r"^\s*read more\s*$", re.I)


@dataclass
class Body:
    """The article's paragraphs and how they were found."""

    paragraphs: list[str]
    bylines: list[str] = field(default_factory=list)
    path: str = "fast"
    reason: str | None = None
    dropped_top: list[str] = field(default_factory=list)
    tried: dict[str, int] = field(default_factory=dict)
    lead_from: str | None = None  # where the first paragraph came from, if not the reading

    @property
    def words(self) -> int:
        """Words in the whole body."""
        return sum(word_count(p) for p in self.paragraphs)

    def explain(self) -> dict[str, Any]:
        """JSON-ready account of how the body was found."""
        return {
            "path": self.path, "fallback_reason": self.reason,
            "paragraphs": len(self.paragraphs), "words": self.words,
            "dropped_before_lead": self.dropped_top, "candidates_words": self.tried,
            "lead_from": self.lead_from,
            "first_paragraph": self.paragraphs[0][:200] if self.paragraphs else None,
        }


def extract_blocks(tree: lxml_html.HtmlElement, url: str | None, *, fast: bool = True,
                   recall: bool = False) -> list[tuple[str, str]]:
    """(kind, line) pairs of trafilatura's reading: kind is p, head, item, quote, table..."""
    doc = trafilatura.bare_extraction(tree, url=url, include_comments=False, fast=fast,
                                      favor_recall=recall, with_metadata=False)
    body = getattr(doc, "body", None) if doc is not None else None
    if body is None:
        return []
    out: list[tuple[str, str]] = []
    for child in body:
        tag = child.tag if isinstance(child.tag, str) else ""
        kind = "item" if tag == "list" else tag
        text = xmltotxt(child, False)
        for line in text.split("\n"):
            line = line.strip()
            if line:
                out.append((kind, line))
    return out


# "Berlin (dpa) -", "Kiew/Moskau (AFP) –": a place and an agency, then the lead.
_AGENCY_DATELINE = re.compile(r"^[\w'’./ -]{2,40}\s*\([\w/ .-]{2,20}\)\s*[-–—:]?\s*$")


def _is_dateline(line: str) -> bool:
    if word_count(line) > 12:
        return False
    if _AGENCY_DATELINE.match(line):
        return True
    first = line.split()[0].rstrip(",") if line.split() else ""
    # The place in capitals ("BAAR, Switzerland", "NEW YORK —").
    return bool(_DATELINE.match(line) or re.match(r"^[A-ZÀ-ÞĀ-Ž .'’-]{3,}(?:,|\s[-–—]|$)", line)
                ) and len(first) >= 3 and first.isupper()


def _squeezed(text: str) -> str:
    # Without spaces: an h1 of two spans comes out of the extractor glued together.
    return "".join(headline_key(text).split())


def _furniture_before_lead(kind: str, line: str, headlines: set[str],
                           find_dates: Any, teasers: set[str]) -> bool:
    """True for a line above the lead that the card shows elsewhere or not at all."""
    if _squeezed(line) in headlines:
        return True
    if teasers and headline_key(line) in teasers and word_count(line) < 25:
        return True  # a paragraph that is only a link: a teaser for another story
    if looks_like_prose(line) and not find_dates(line[:60]):
        return False
    if BYLINE.match(line) or _BREADCRUMB.search(line):
        return True
    if _is_dateline(line):
        return False  # "BAAR, SWITZERLAND": the lead's first words, not furniture
    if kind == "item" and not looks_like_prose(line.lstrip("-• ")):
        return True  # related-story bullets, "24 July 2015", "941 comments"
    return (word_count(line) <= 12 and bool(find_dates(line))) or word_count(line) <= 4


def clean_blocks(blocks: list[tuple[str, str]], headline: str | list[str] | None,
                 find_dates: Any, teasers: set[str] | None = None) -> Body:
    """The article paragraphs without furniture, and the bylines found above the lead.

    ``headline`` is the headline, or every form of it the page shows (h1, og:title).
    """
    names = [headline] if isinstance(headline, str) else (headline or [])
    headlines = {_squeezed(n) for n in names if n} - {""}
    keep: list[str] = []
    bylines: list[str] = []
    dropped: list[str] = []
    lead_seen = False
    for i, (kind, raw) in enumerate(blocks):
        line = strip_link_notes(decode_entities(raw))
        if lead_seen and _COMMENTS_LABEL.match(line) and _mostly_before(keep, blocks[i + 1:]):
            break  # the readers' comments follow
        if not line or is_clutter_line(line) or _TOOL_LINE.match(line):
            continue
        nxt = blocks[i + 1][1] if i + 1 < len(blocks) else ""
        if nxt and _READ_MORE.match(nxt) and word_count(line) < 20:
            continue  # a related-story link above its "Read more" prompt
        if not lead_seen:
            if _furniture_before_lead(kind, line, headlines, find_dates, teasers or set()):
                if BYLINE.match(line):
                    bylines.append(line)
                dropped.append(line)
                continue
            lead_seen = looks_like_prose(line)
        elif BYLINE.match(line) and word_count(line) <= 12:
            bylines.append(line)
            continue  # a byline under a subhead or at the end ("Von Anna Muster, dpa")
        elif len(keep) <= 3 and is_date_line(line):
            continue  # "posted on April 21, 2015" under a standfirst: the card has the date
        keep.append(line)
    if not lead_seen and sum(word_count(k) for k in keep) < 25:
        # No line reads as prose (a programme page, a list of items) and nothing is left:
        # nothing can be told from furniture, so only the headline and bylines stay out.
        keep = [ln for ln in dropped if ln not in bylines
                and _squeezed(ln) not in headlines] + keep
        dropped = []
    _drop_contact_tail(keep)
    return Body(keep, bylines, dropped_top=dropped)


def _mostly_before(kept: list[str], rest: list[tuple[str, str]]) -> bool:
    """True when a comments label comes after the article has said something (a label
    above the lead is a link to the comments, not their start)."""
    return sum(word_count(p) for p in kept if looks_like_prose(p)) >= 60 and bool(rest)


def _drop_contact_tail(paragraphs: list[str]) -> None:
    """Remove contact lines (telephone, fax, e-mail) after the article's last sentence."""
    while paragraphs:
        last = paragraphs[-1]
        if word_count(last) <= 25 and (_PHONE.search(last) or (
                _CONTACT.search(last) and not looks_like_prose(last))):
            paragraphs.pop()
        else:
            break


def prose_words(paragraphs: list[str]) -> int:
    """Words in the paragraphs that read as prose."""
    return sum(word_count(p) for p in paragraphs if looks_like_prose(p))


def looks_wrong(body: Body, *, expected_words: int, lead: str | None,
                page_has_lead: bool) -> str | None:
    """Why the fast reading should be checked against the slower ones, or None."""
    words = body.words
    prose = prose_words(body.paragraphs)
    if words < 120:
        return "short body"
    if (len(body.paragraphs) >= 6 and prose < 0.4 * words
            and not any(looks_like_prose(p) for p in body.paragraphs[:3])):
        return "menu-like text"  # (a list article opens with prose; a menu never does)
    if expected_words and expected_words > 1.25 * words + 20:
        return "cut short of the article the page describes"
    if lead and page_has_lead and not contains_start(body.paragraphs, lead):
        return "no lead"
    return None


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def contains_start(paragraphs: list[str], lead: str, words: int = 8) -> bool:
    """True when the first words of ``lead`` are somewhere in the paragraphs."""
    start = " ".join(_norm(lead).split()[:words])
    return bool(start) and start in _norm(" ".join(paragraphs))


def better(current: Body, other: Body, reason: str) -> bool:
    """Whether the other reading is the better body for the reason the first was doubted."""
    cur, new = prose_words(current.paragraphs), prose_words(other.paragraphs)
    if not other.paragraphs or new == 0:
        return False
    if reason == "menu-like text":
        return new > cur and new >= 0.5 * other.words
    if reason == "no lead":
        return new >= 0.7 * cur
    if cur < 40:
        return new > cur
    # A longer reading of the same article: it still holds the current lead.
    first = next((p for p in current.paragraphs if looks_like_prose(p)), "")
    same = not first or contains_start(other.paragraphs, first)
    return same and new >= 1.25 * cur and new >= 0.5 * other.words
