"""The article's subjects as topic phrases: the publisher's own tags first, then names.

Publishers tag their articles (``article:tag``, JSON-LD ``keywords``, ``news_keywords``);
those tags, cleaned (lists split, the site's own name, section names, furniture such as
"News" and machine tags such as "smg2_world" dropped, nothing longer than four words),
are the best topics a card can have. Then what the text itself names: capitalised name
sequences found mid-sentence in the prose (not in share bars or captions), demonyms
folded into a country the text names, a person's full name folded into the surname the
article uses, weighted by the headline and the lead; then themes, the rarer words the
headline and body keep returning to. Words that are common in the page's language (per
``bot.language``: stop words and word frequencies) are never subjects, and nothing pads
the list: a card has as many topics as it has subjects.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from lxml import html as lxml_html

from bot.language import (
    COUNTRIES,
    DEMONYMS,
    FUNCTION_WORDS,
    is_common_word,
    is_stop_word,
    place_of,
    zipf,
)

from .dates import MONTH_TEST_PATTERN
from .htmlmeta import PageMeta, ld_scripts
from .text import looks_like_prose

# Upper-case letters of the Latin, Greek and Cyrillic blocks ("Ř" yes, "ř" no).
_UPPER = "".join(
    chr(c) for c in [*range(0x41, 0x250), *range(0x370, 0x530)] if chr(c).isupper()
)
_NAME_WORD = rf"(?:(?:al-|el-|bin )?[{_UPPER}][\w'’.-]*[\w]|[A-Z])"
_CONNECT = r"(?:\s(?:of|de|du|des|la|le|del|von|van|der|bin|al|el|y)\s|\s|-)"
# A name starts a word: "Pad" in "iPad" or "Query" in "jQuery" is no name.
_NAME = re.compile(rf"(?<![\w’']){_NAME_WORD}(?:{_CONNECT}{_NAME_WORD})*")
# Where every noun is capitalised, "Abgabe von Selbsttötungsmitteln" is no name: only
# spaces and hyphens join the words of one.
_NAME_TIGHT = re.compile(rf"(?<![\w’']){_NAME_WORD}(?:[\s-]{_NAME_WORD})*")
_CJK = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# Words a name never starts with, in any language (articles, pronouns, titles, weekdays).
_COMMON = frozenset(
    "the a an this that these those it its he she they we i you his her their our my "
    "but and or so if when while as at in on for from with by to of after before "
    "mr mrs ms dr president prime minister officials official sources source according "
    "however although meanwhile also there here what who why how where which "
    "le la les un une des il elle ils der die das ein eine und el los las una "
    "read more photo image video advertisement getty reuters afp ap tv pm am ok".split()
)
_WEEKDAYS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow "
    "montag dienstag mittwoch donnerstag freitag samstag sonntag sonnabend heute gestern "
    "lundi mardi mercredi jeudi vendredi samedi dimanche lunes martes miércoles jueves "
    "viernes sábado domingo lunedì martedì mercoledì giovedì venerdì sabato domenica "
    "segunda terça quarta quinta sexta maandag dinsdag woensdag donderdag vrijdag zaterdag "
    "zondag".split()
)
_MONTH = re.compile(rf"(?:{MONTH_TEST_PATTERN})\.?", re.I)
# Share bars, sign-up prompts and other furniture words that reach a body as text.
_FURNITURE = frozenset(
    "twitter facebook whatsapp linkedin pinterest reddit telegram email e-mail share "
    "print comments newsletter subscribe copyright cookies".split()
)
# Tags that are a site's furniture rather than a subject, in the main languages.
_FURNITURE_TAGS = frozenset(
    "news article articles story stories top stories top news breaking breaking news "
    "latest latest news home homepage frontpage front page featured feature main standard "
    "video videos photo photos gallery galleries live exclusive trending headlines "
    "nachrichten aktuell aktuelles meldungen artikel startseite actualités actualité "
    "actualite info infos à la une noticias noticia portada última hora notizie notizia "
    "ultime notizie notícias notícia últimas nieuws".split()
)
_MACHINE_TAG = re.compile(r"[_/=@\[\]{}<>|]|https?:|www\.|\.(com|net|org)\b|^\d+$|^[\w-]*\d{4,}")
_GLUE = FUNCTION_WORDS | _COMMON
_WORD = re.compile(r"(?<!\w)[^\W\d_][\w'’-]*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s\b")
_GLUED = re.compile(r"(?<=[a-z])\.(?=[A-Z][a-z])")  # "Trump.An" -> "Trump. An"
_ABBREVIATION = re.compile(r"(?:[A-Z]\.)+[A-Z]?")  # "U.S.", "U.S.A"
# Languages whose nouns are all capitalised: one capitalised word proves nothing there.
_CAPITAL_NOUNS = frozenset({"de", "lb"})
_DETERMINERS = frozenset(
    "der die das den dem des ein eine einen einem einer eines kein keine jeder jede "
    "diese dieser dieses mehr viele alle zwei drei".split()
)


# --- the publisher's own tags --------------------------------------------------------


def _norm_tag(tag: str) -> str:
    tag = unicodedata.normalize("NFKC", html.unescape(tag))
    tag = " ".join(tag.lower().split())
    return tag.strip(" \t#.,;:!?\"'“”‘’«»()[]{}|-–—")


def publisher_tags(tree: lxml_html.HtmlElement, meta: PageMeta) -> tuple[list[str], list[str]]:
    """The tags a page declares (``article:tag``, JSON-LD, ``news_keywords``), and its
    plain ``keywords`` meta (often SEO filler, so only a fallback), both raw."""
    article_tags: list[str] = []
    named: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or "").strip().lower()
        value = el.get("content")
        if not value:
            continue
        if key == "article:tag":
            article_tags.append(value)
        elif key in ("news_keywords", "keywords") and key not in named:
            named[key] = value
    # htmlmeta keeps JSON-LD keywords, or else the first of these meta tags: tell which.
    fallback = named.get("news_keywords") or named.get("keywords") or ""
    from_meta = [k.strip() for k in " ".join(fallback.split()).split(",") if k.strip()][:20]
    ld_keywords = any('"keywords"' in (s.text or "") for s in ld_scripts(tree))
    ld = list(meta.keywords) if ld_keywords or meta.keywords != from_meta else []
    declared = [*article_tags, *ld]
    if named.get("news_keywords"):
        declared.append(named["news_keywords"])
    return declared, [named["keywords"]] if named.get("keywords") else []


def clean_tags(values: Iterable[str], *, site: str | None = None, url_site: str | None = None,
               section: str | None = None, text: str = "") -> list[str]:
    """Tags split at commas and normalised, without the site's name, furniture, machine
    tags and anything longer than four words; the section's name only when ``text``
    (lower-case) names it too ("Amazon" is a subject, "Dies & Das" a shelf)."""
    # The site's name, however written: "Folha de S.Paulo", "kotaku.com" -> "kotaku".
    site_keys = {re.sub(r"\W", "", s.lower()) for s in (site, url_site) if s}
    site_keys |= {re.sub(r"\W", "", s.lower().split(".")[0]) for s in (site, url_site)
                  if s and "." in s}
    site_keys.discard("")
    section_key = _norm_tag(section) if section else None
    if section_key and re.search(rf"(?<!\w){re.escape(section_key)}(?!\w)", text):
        section_key = None
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            if _MACHINE_TAG.search(part):
                continue
            tag = _norm_tag(part)
            flat = re.sub(r"\W", "", tag)
            if (not tag or len(flat) < 2 or len(tag) > 40 or len(tag.split()) > 4
                    or (_CJK.search(tag) and len(tag) > 12)
                    or tag in _FURNITURE_TAGS or tag == section_key
                    or flat in site_keys):
                continue
            if tag not in out:
                out.append(tag)
    return out


# --- names and themes from the text ---------------------------------------------------


def _opens_sentence(text: str, start: int) -> bool:
    """Whether ``start`` begins a sentence (after . ! ? : a line break or a quote)."""
    i = start - 1
    while i >= 0 and text[i] in " \t\"“”'‘’«»(":
        i -= 1
    return i < 0 or text[i] in ".!?…\n:;"


def _after_determiner(text: str, start: int) -> bool:
    before = text[max(0, start - 12) : start].split()
    return bool(before) and before[-1].lower() in _DETERMINERS


def _is_calendar(word: str) -> bool:
    low = word.lower().rstrip(".")
    return low in _WEEKDAYS or bool(_MONTH.fullmatch(low))


def _plain_word(word: str, lang: str | None) -> bool:
    """A single word that cannot be a subject on its own: glue, calendar, everyday."""
    low = word.lower().strip(".")
    return (len(low) < 3 or low in _COMMON or bool(_CJK.search(low)) or low in _FURNITURE
            or _is_calendar(low) or is_common_word(low, lang, 5.0) or "'" in low or "’" in low)


# German inflection endings: "Verbesserungen" is as common as "Verbesserung" (the word
# lists rank each form apart, and plurals and case forms rank lower than the word).
# A bare final "e" is not stripped: "Rheine" (a town) is not "Rhein".
_DE_ENDINGS = (("ungen", "ung"), ("ern", ""), ("en", ""), ("en", "e"), ("es", ""),
               ("er", ""), ("em", ""), ("n", ""), ("s", ""))
_UMLAUT = str.maketrans("äöü", "aou")


def _family_zipf(word: str, lang: str | None) -> float:
    """How common ``word`` is, counting its inflected forms (German) as the word."""
    low = word.lower()
    best = zipf(low, lang)
    if (lang or "").split("-")[0] not in _CAPITAL_NOUNS:
        return best
    for ending, base in _DE_ENDINGS:
        if low.endswith(ending) and len(low) - len(ending) >= 4:
            best = max(best, zipf(low[: len(low) - len(ending)] + base, lang))
    # Umlaut plurals: "Zugänge" is "Zugang", "Verträge" is "Vertrag".
    if low.endswith(("e", "er")) and re.search("[äöü]", low):
        stem = low[: -2 if low.endswith("er") else -1]
        if len(stem) >= 4:
            i = max(stem.rfind(c) for c in "äöü")
            best = max(best, zipf(stem[:i] + stem[i].translate(_UMLAUT) + stem[i + 1:], lang))
    return best


def _key(words: list[str]) -> str:
    phrase = re.sub(r"['’]s$", "", " ".join(words).strip(" .-'’"))
    return place_of(phrase)


def _name_key(phrase: str, lang: str | None, capital_nouns: bool, country_named: set[str],
              plain: dict[str, bool]) -> tuple[str, int] | None:
    """The key a name phrase counts under and its number of words, or None when the
    phrase is no name wherever it stands (the checks that need its place are the
    caller's). ``plain`` remembers ``_plain_word`` for this page."""

    def is_plain(word: str) -> bool:
        if word not in plain:
            plain[word] = _plain_word(word, lang)
        return plain[word]

    words = phrase.split()
    # Only glue words are trimmed: "Rhodium Group" and "United States" stay whole.
    while words and (words[0].lower() in _COMMON or words[0].lower() in _GLUE or (
            capital_nouns and is_stop_word(words[0], lang))):
        words = words[1:]  # "Neben Account" opens a sentence with a preposition
    while words and words[-1].lower() in _GLUE:
        words = words[:-1]
    if not words or len(words) > 4:
        return None  # nothing left, or a Title Case heading rather than a name
    if len(words) == 1:
        word = words[0]
        if is_plain(word):
            return None
        if "." in word.strip(".") and not _ABBREVIATION.fullmatch(word):
            return None  # glued tokens ("trump.an"), not abbreviations ("U.S.")
        if capital_nouns and _family_zipf(word, lang) >= 4.0:
            return None  # a German noun ("Regierung"), not a name
    elif all(is_plain(w) for w in words):
        return None
    key = _key(words)
    if _CJK.search(key):
        return None  # a Latin name running into CJK text has no end we can see
    if key in DEMONYMS.values() and key not in country_named:
        return None  # "Irish for Trump" is not about Ireland
    if len(key) < 3 and not key.isupper():
        return None
    return key, len(words)


def _names(headline: str, paragraphs: list[str], lang: str | None,
           country_named: set[str]) -> Counter[str]:
    """Name phrases with their weight: headline 3, lead 2, elsewhere 1."""
    counts: Counter[str] = Counter()
    mid_sentence: set[str] = set()
    in_body: set[str] = set()
    in_headline: set[str] = set()
    capital_nouns = (lang or "").split("-")[0] in _CAPITAL_NOUNS
    sources = [(headline, 3, True)] + [(p, 2 if i < 2 else 1, False)
                                       for i, p in enumerate(paragraphs)]
    # A story repeats its names: what a phrase itself decides is decided once per call.
    phrases: dict[str, tuple[str, int] | None] = {}
    plain: dict[str, bool] = {}
    for text, weight, is_headline in sources:
        # "Russia's Hmeymim air base" names two things (same length: offsets hold).
        scanned = _GLUED.sub(" ", _POSSESSIVE.sub(", ", text))
        for m in (_NAME_TIGHT if capital_nouns else _NAME).finditer(scanned):
            phrase = m.group(0)
            if phrase in phrases:
                found = phrases[phrase]
            else:
                found = phrases[phrase] = _name_key(phrase, lang, capital_nouns,
                                                    country_named, plain)
            if found is None:
                continue
            key, words = found
            if words == 1 and capital_nouns and _after_determiner(scanned, m.start()):
                continue  # a German noun ("die Regierung"), not a name
            counts[key] += weight
            if is_headline:
                in_headline.add(key)
                mid_sentence.add(key)
            else:
                in_body.add(key)
                # Mid-sentence capitals, or a multi-word name opening a sentence
                # ("Westline Rail returned ..."), are names; "The" is not.
                if not _opens_sentence(scanned, m.start()) or words > 1:
                    mid_sentence.add(key)
    for key in list(counts):
        # A word only ever capitalised at a sentence start is not a name, nor one only a
        # Title Case headline capitalises ("Despite Everything, ...").
        if key not in mid_sentence or key not in in_body:
            del counts[key]
    # "Vladimir Putin" and "Putin" are one person: keep the form the article uses most.
    for key in sorted(counts, key=lambda k: -len(k)):
        parts = key.split()
        if len(parts) < 2 or key in DEMONYMS.values() or key not in counts:
            continue
        tail = re.sub(r"^(al|el)-", "", parts[-1])
        if tail in counts and tail != key:
            if counts[tail] >= counts[key]:
                counts[tail] += counts.pop(key)
            else:
                counts[key] += counts.pop(tail)
    return counts


# Short names of countries, matched as written ("US" yes, "us" no).
_SHORT_NAMES = {"US": "united states", "U.S.": "united states", "USA": "united states",
                "U.S.A.": "united states", "UK": "united kingdom", "U.K.": "united kingdom",
                "Britain": "united kingdom", "UAE": "united arab emirates",
                "Holland": "netherlands", "Burma": "myanmar", "Korea": "south korea"}
_WORD_RUN = re.compile(r"\w+")
_COUNTRIES_BY_FIRST_WORD: dict[str, list[str]] = {}
_COUNTRIES_UNINDEXED: list[str] = []  # names the index cannot vouch for (none today)
for _country in sorted(COUNTRIES):
    _first = _WORD_RUN.match(_country)
    if _first and re.escape(_country) == _country.replace(" ", "\\ ") and (
            _WORD_RUN.fullmatch(_country[-1])):
        _COUNTRIES_BY_FIRST_WORD.setdefault(_first.group(0), []).append(_country)
    else:
        _COUNTRIES_UNINDEXED.append(_country)
_SHORT = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, _SHORT_NAMES)) + r")(?!\w)")


def _countries_named(text: str) -> set[str]:
    """Countries the text names itself, by name or short name ("U.S."), not by demonym."""
    low = text.lower()
    # A name matched between word boundaries starts with a whole word of the text: only
    # the names whose first word the text has are searched for.
    words = set(_WORD_RUN.findall(low))
    found = {c for first, names in _COUNTRIES_BY_FIRST_WORD.items() if first in words
             for c in names if c in low and re.search(rf"\b{c}\b", low)}
    found |= {c for c in _COUNTRIES_UNINDEXED if c in low and re.search(rf"\b{c}\b", low)}
    found |= {_SHORT_NAMES[m] for m in _SHORT.findall(text)}
    return found


def _themes(headline: str, body: str, lang: str | None, topics: list[str]) -> list[str]:
    """Rarer words the headline and the body keep returning to."""
    body_words = Counter(w.lower() for w in _WORD.findall(body))
    capital_nouns = (lang or "").split("-")[0] in _CAPITAL_NOUNS
    out: list[str] = []

    def taken(word: str) -> bool:
        return any(word in t.split() or word.rstrip("s") in t.split() for t in [*topics, *out])

    for word in _WORD.findall(headline):
        low = _POSSESSIVE.sub("", word.lower())
        if _plain_word(low, lang):
            continue
        forms = [f for f in (low, low.rstrip("s"), low + "s") if body_words[f]]
        if not forms:
            continue
        best = max(forms, key=lambda f: body_words[f])
        if best.endswith(("ing", "ed")) and body_words[best] < 3:
            continue  # a verb of the headline ("explains", "requiring"), not its subject
        common = _family_zipf(best, lang)
        if common >= 4.5 and body_words[best] < 3:
            continue  # an everyday word the body hardly uses: not what it is about
        if common >= 4.3 and capital_nouns and body_words[best] < 5:
            continue  # a German everyday noun ("Verbesserungen"): names come from elsewhere
        theme = place_of(best)
        if theme in DEMONYMS.values() and theme not in _countries_named(body):
            continue
        if not taken(best) and not taken(theme):
            out.append(theme)
    # Words written in lower case somewhere (so not names), counted in every form.
    # In text order (a set's order changes from run to run, and so would the topics).
    lower_seen = dict.fromkeys(w for w in _WORD.findall(body) if w.islower())
    lower_only = Counter({w: body_words[w] for w in lower_seen})
    if capital_nouns:
        return out  # German words in lower case are verbs and adjectives, never themes
    for word, count in lower_only.most_common(30):
        rarity = _family_zipf(word, lang)
        if (len(word) < 5 or _plain_word(word, lang) or rarity >= 4.6
                or count < (2 if rarity < 4.2 else 3)):
            continue
        if not taken(word):
            out.append(word)
        if len(out) >= 4:
            break
    return out


def _covered(name: str, tags: list[str]) -> bool:
    words = set(name.split())
    return any(name == t or words <= set(t.split()) or set(t.split()) <= words
               or place_of(t) == name for t in tags)


def subjects(headline: str, body: str, *, declared: Iterable[str] = (),
             keywords: Iterable[str] = (), site: str | None = None,
             url_site: str | None = None, section: str | None = None,
             language: str | None = None, limit: int = 15) -> tuple[str, ...]:
    """Up to ``limit`` lower-case topic phrases: declared tags, then names and themes."""
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    prose = [p for p in paragraphs if looks_like_prose(p)] or paragraphs
    text = "\n\n".join(prose)
    low_text = f"{headline}\n{text}".lower()
    tags = clean_tags(declared, site=site, url_site=url_site, section=section, text=low_text)
    countries = _countries_named(f"{headline}\n{text}")
    names = _names(headline, prose, language, countries)
    ranked = [k for k, c in names.most_common() if c >= 2]
    if tags:
        # The publisher's tags are the topics, in their order; the tags the text
        # mentions are kept first when the list must be cut. A name the tags miss
        # joins only when the story is plainly about it (in the headline and the body).
        if len(tags) > limit:
            keep = sorted(tags, key=lambda t: t not in low_text)[:limit]
            tags = [t for t in tags if t in keep]
        extra = [k for k in ranked if not _covered(k, tags) and names[k] >= 5
                 and k in headline.lower()]
        room = 1 if len(tags) >= 3 else 3 - len(tags)
        return tuple([*tags[:limit], *extra[:room]][:limit])
    topics = ranked[:8]
    topics += _themes(headline, text, language, topics)
    # Without declared tags, the page's plain keywords count where the text mentions them.
    for kw in clean_tags(keywords, site=site, url_site=url_site, section=section,
                         text=low_text):
        if kw not in topics and kw in low_text and len(topics) < min(limit, 10):
            topics.append(kw)
    seen: list[str] = []
    for t in topics:
        if t not in seen:
            seen.append(t)
    return tuple(seen[:min(limit, 10)])
