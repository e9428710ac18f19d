"""Authors: the people (or the news agency) a byline names, never the site itself.

Sources, first that yields a name: the page's JSON-LD or meta author, the byline above the
lead ("By A and B", "Von A, dpa"), then trafilatura's byline XPaths. Names are cleaned the
same way whatever their source: prefixes ("By", "Von"), initials suffixes ("(obe)"), roles
after a comma ("Games Editor") and dates go; "A and B" becomes two names; the site's own
name is not an author. A news agency (AP, AFP, dpa, Reuters...) is the author when the
byline names it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trafilatura.json_metadata import normalize_authors

from .headline import is_site_name
from .htmlmeta import squash
from .textpage import BYLINE

# Wire services and agencies, as bylines write them.
_AGENCIES = {
    a.casefold(): a for a in (
        "AP Associated_Press The_Associated_Press AFP Agence_France-Presse dpa DPA Reuters "
        "APA SDA Keystone-SDA KNA epd EFE ANSA Kyodo Xinhua TASS Interfax RIA_Novosti PA "
        "PA_Media ANP Belga Europa_Press Lusa Yonhap AAP UPI Bloomberg Anadolu AA PAP ČTK "
        "CTK MTI Agerpres BTA HINA Tanjug STA NTB TT Ritzau STT AGI Adnkronos dpa-AFX SID "
        "Kathpress IANS PTI ANI Bernama Antara Notimex Télam Prensa_Latina Ukrinform UNIAN "
        "AP/dpa Agencia_Brasil EPA KAP Reuters/AP ТАСС РИА_Новости Интерфакс ИТАР-ТАСС "
        "Укрінформ УНІАН 新华社 共同通信 연합뉴스 وكالة_الأنباء_الفرنسية"
    ).replace("_", " ").split()
}
# Words that make a byline an organisation, a desk or a page part rather than a person.
_NOT_A_PERSON = re.compile(
    r"\b(news|wire|staff|press|agency|agencies|desk|editors?|editorial|team|redaktion|"
    r"rédaction|redacción|redazione|correspondents?|contributors?|username|admin|newsroom|"
    r"associated|media|online|magazine|times|post|journal|daily|gazette|tribune|herald|"
    r"zeitung|agentur|agenturen|nachrichten|noticias|notizie|nouvelles|ansa\.it|"
    r"facebook|twitter|instagram|linkedin|updated|aktualisiert|published)\b|"
    r"^(mac|i|by|von|par|por|photo|foto|video|text)$",
    re.I,
)
_PREFIX = re.compile(
    r"^(?:(?:written|reported|reporting|posted|text|texte|story)\s+by|by|par|von|por|di|"
    r"door|av|af|de|autor(?:in)?|author|auteur|texto|text|redacción|ein (?:kommentar|"
    r"beitrag) von)\s*[:.]?\s+",
    re.I,
)
# "(obe)", "[dpa]" after a name: an editor's initials or the desk, not part of the name.
_PAREN = re.compile(r"\s*[(\[][^()\[\]]{1,30}[)\]]\s*$")
# "Martin Untersinger (avec Damien Leloup et Morgane Tual)": more authors.
_WITH = re.compile(r"\((?:with|avec|mit|con|com|met|z|s)\s+([^()]{3,120})\)", re.I)
_MONTH_WORD = re.compile(
    r"\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|févr|mars|avr|mai|juin|"
    r"juil|août|sept|déc|januar|februar|märz|juni|juli|oktober|dezember|enero|febrero|"
    r"marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)[a-zé]*"
    r"\.?(?:\s.*)?$", re.I)
_ROLE = re.compile(
    r"\b(editor|correspondent|reporter|writer|columnist|contributor|producer|analyst|"
    r"redakteur(?:in)?|korrespondent(?:in)?|reporter(?:in)?|autor(?:in)?|journalist(?:in)?|"
    r"journaliste|rédacteur|rédactrice|envoyée? spéciale?|corresponsal|redactor|"
    r"chief|senior|staff writer|for|in|aus|en|à|desde|from|based)\b", re.I)
_SPLIT = re.compile(r"\s*(?:,|;|\s&\s|\band\b|\bund\b|\bet\b|\by\b|\be\b|\bi\b|\ben\b|"
                    r"\bog\b|\boch\b|\bja\b|\bve\b|\bи\b|/|\|)\s*")
_NAME_WORD = re.compile(
    r"^[\"“‘'(]?[A-ZÀ-ÞĀ-ŽА-ЯΑ-Ω][\w'’.-]*[\"”’')]?$|"
    r"^(?:van|von|de|der|den|da|di|du|del|della|la|le|bin|al|el|ter|ten|y|zu|dos|das)$|"
    r"^[\u3040-\u9fff\uac00-\ud7af]+$")


@dataclass
class AuthorChoice:
    """The chosen authors and where they came from."""

    names: tuple[str, ...]
    source: str = "none"
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def explain(self) -> dict[str, Any]:
        """JSON-ready account of the choice."""
        return {"value": list(self.names), "won": self.source, "candidates": self.candidates}


def agency(name: str) -> str | None:
    """The agency's name as written when ``name`` is a news agency, else None."""
    return _AGENCIES.get(squash(name).strip("()[] ").casefold()) and squash(name).strip("()[] ")


def _person(name: str) -> bool:
    words = name.split()
    if len(name) > 60 or len(words) > 5:
        return False
    if re.search(r"[\u3040-\u9fff\uac00-\ud7af]", name):
        return len(name) <= 12 and not _NOT_A_PERSON.search(name)
    if len(words) < 2:
        return False  # "Games", "MA": a role's or a title's word, not a name
    if re.search(r"\d|@|www\.|https?:|\.(?:com|de|fr|org|net)\b", name, re.I):
        return False
    if _NOT_A_PERSON.search(name):
        return False
    caps = [w for w in words if _NAME_WORD.match(w) or _caseless(w)]
    return len(caps) == len(words) and any(w[:1].isupper() or _caseless(w) for w in words)


def _caseless(word: str) -> bool:
    """A word in a script without capitals (Arabic, Hebrew, Thai, Devanagari...)."""
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and not any(c.isupper() or c.islower() for c in letters)


def clean_names(raw: list[str], tokens: set[str], site: str | None) -> list[str]:
    """Person and agency names from raw author values; the site's own name is dropped."""
    out: list[str] = []
    for value in raw:
        value = _WITH.sub(lambda m: ", " + m.group(1), squash(value))
        value = _PREFIX.sub("", value)
        value = re.split(r"\s+[|·•–—]\s+|\s+-\s+", value)[0]  # "Name | Role", "Name - Date"
        for part in _SPLIT.split(value):
            part = _PREFIX.sub("", part.strip())
            found = agency(part)
            if found is None:
                part = _PAREN.sub("", part).strip(" .,:;")
                found = agency(part)
            if found is not None:
                name = found
            elif _ROLE.search(part) and not _person(part):
                # "Ben Silverman Games Editor": the name before the role's words.
                words = part.split()
                cut = next((i for i, w in enumerate(words) if _ROLE.search(w)
                            or (i >= 2 and w[:1].isupper() and _ROLE.search(" ".join(words[i:])))),
                           len(words))
                name = " ".join(words[:cut]).strip()
                if not _person(name):
                    continue
            elif _person(part):
                name = part
            elif _person(_MONTH_WORD.sub("", part)):
                name = _MONTH_WORD.sub("", part)  # "Gillian Mohney March 11, 2015"
            else:
                continue
            if name.isupper() and len(name) > 5 and found is None:
                name = name.title()  # "GILLIAN MOHNEY" as the byline prints it
            if is_site_name(name, tokens) or (site and name.casefold() == site.casefold()):
                continue  # the site is the publisher, not the author
            if name.casefold() not in {n.casefold() for n in out}:
                out.append(name)
    people = [n for n in out if agency(n) is None]
    # An agency is the author when the byline names no person ("dpa"); beside a person
    # ("Anna Muster, dpa") it only says where the story came through.
    return (people or out)[:10]


def choose_authors(meta_names: list[str], meta_source: str | None, org_names: list[str],
                   bylines: Callable[[], list[str]], candidates: list[Any],
                   tokens: set[str], site: str | None) -> AuthorChoice:
    """The first source that names a person or an agency."""
    choice = AuthorChoice(())
    agencies = [a for a in (agency(o) for o in org_names) if a]
    sources: list[tuple[str, Callable[[], list[str]]]] = [
        (meta_source or "metadata", lambda: [*meta_names, *agencies]),
        ("byline", bylines),
        ("trafilatura", lambda: (page_author(candidates) or "").split(";")),
    ]
    for name, read in sources:
        raw = [r for r in read() if r and r.strip()]
        if not raw:
            continue
        names = clean_names(raw, tokens, site)
        choice.candidates.append({"source": name, "raw": raw[:5], "names": names})
        if names:
            choice.names, choice.source = tuple(names), name
            return choice
        if name != "trafilatura" and any(_is_desk(r, tokens, site) for r in raw):
            # The page says a desk wrote it ("CNN Wire", "Staff"): no person to find
            # elsewhere, and a name in the text is a quoted one's.
            choice.source = f"{name}: a desk, no person"
            return choice
    return choice


def _is_desk(value: str, tokens: set[str], site: str | None) -> bool:
    value = _PREFIX.sub("", squash(value))
    if is_site_name(value, tokens) or (site and value.casefold() == site.casefold()):
        return False  # the site's own name says nothing about who wrote it
    return len(value.split()) <= 4 and bool(_NOT_A_PERSON.search(value)) and not re.search(
        r"https?:|www\.|@", value)


# trafilatura's byline XPaths (trafilatura.xpaths.AUTHOR_XPATHS), as tests on one element,
# so the page walk that prunes it can collect the candidates on the way: evaluating the
# XPaths costs a regex call per element of the page.
_T1_TAGS = frozenset("a address div link p span strong".split())
_T2_TAGS = frozenset("a div h3 h4 p span".split())
_T1_CLASS = re.compile(r"author-?name|AuthorName|authorName")
_T2_ID = re.compile(r"author|zuozhe|bianji|xiaobian")
_T2_CLASS = re.compile(r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|"
                       r"journalist-name")
_T3_ID = re.compile(r"[Aa]uthor")
_T3_CLASS = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")
# What trafilatura leaves out of the search (AUTHOR_DISCARD_XPATHS).
_DISCARD_TAGS = frozenset("a div section span".split())
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    r"article-(?:share|support)|print|category|meta-date|meta-reviewer")
HINT = re.compile(r"uthor|yline|BBL|byl|vcard|username|screenname|writer|zuozhe|bianji|xiaobian|"
                  r"channel-name|submitted-by|posted-by|journalist-name|AuthorCard|AuthorURL")


def author_tier(el: Any) -> int:
    """trafilatura's byline XPath tier (1 best, 3 last resort) this element matches, or 0."""
    tag = el.tag
    if tag == "author":
        return 1
    cls, ident = el.get("class") or "", el.get("id") or ""
    prop, rel = el.get("itemprop") or "", el.get("rel") or ""
    if tag in _T1_TAGS and (rel == "author" or ident == "author" or cls == "author"
                            or prop == "author name" or _T1_CLASS.search(cls)
                            or el.get("data-testid") in ("AuthorCard", "AuthorURL")):
        return 1
    if tag in _T2_TAGS and (cls in ("byline", "username", "byl", "BBL") or "author" in prop
                            or _T2_ID.search(ident) or _T2_CLASS.search(cls)):
        return 2
    if ("Byline" in (el.get("data-component") or "") or "author" in prop
            or _T3_ID.search(ident) or _T3_CLASS.search(cls)):
        return 3
    return 0


def _discarded(el: Any) -> bool:
    tag = el.tag
    if tag in ("time", "figure"):
        return True
    if tag not in _DISCARD_TAGS:
        return False
    cls, ident = el.get("class") or "", el.get("id") or ""
    return (ident == "comments" or cls in ("comments", "title", "date")
            or bool(_DISCARD_ID.search(ident)) or bool(_DISCARD_CLASS.search(cls))
            or "Figure" in (el.get("data-component") or ""))


def page_author(candidates: list[Any]) -> str | None:
    """trafilatura's byline search over the elements the page walk collected."""
    def texts(el: Any) -> list[str]:
        out = [el.text or ""]
        for child in el:
            if isinstance(child.tag, str) and not _discarded(child):
                out += texts(child)
            out.append(child.tail or "")
        return out

    tiers = [(author_tier(el), i, el) for i, el in enumerate(candidates)]
    for _, _, el in sorted(t for t in tiers if t[0]):
        if _discarded(el) or any(_discarded(a) for a in el.iterancestors()):
            continue
        content = " ".join(" ".join(texts(el)).split())
        if content and 2 < len(content) < 120:
            return normalize_authors(None, content)
    return None


def byline_names(line: str) -> list[str]:
    """The names in a byline line ("By A and B, Reuters"), unclean."""
    m = BYLINE.match(line)
    return [m["names"] + (m.group(0)[m.end("names"):] or "")] if m else []
