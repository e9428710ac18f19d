"""The article's main subjects (people, places, organisations, themes) as topic phrases.

No model: capitalised name sequences found mid-sentence, demonyms folded into their
country, a person's full name folded into the surname the article uses, weighted by
the headline and the lead; then the headline's own content words as themes.
"""

from __future__ import annotations

import re
from collections import Counter

from bot.language import DEMONYMS, place_of
from bot.language import FUNCTION_WORDS as _FUNCTION_WORDS

# Upper-case letters of the Latin, Greek and Cyrillic blocks ("Ř" yes, "ř" no).
_UPPER = "".join(
    chr(c) for c in [*range(0x41, 0x250), *range(0x370, 0x530)] if chr(c).isupper()
)
_NAME_WORD = rf"(?:(?:al-|el-|bin )?[{_UPPER}][\w'’.-]*[\w]|[A-Z])"
_CONNECT = r"(?:\s(?:of|de|du|des|la|le|del|von|van|der|bin|al|el|y)\s|\s|-)"
_NAME = re.compile(rf"{_NAME_WORD}(?:{_CONNECT}{_NAME_WORD})*")
_COMMON = frozenset(
    "the a an this that these those it its he she they we i you his her their our my "
    "but and or so if when while as at in on for from with by to of after before "
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow "
    "january february march april may june july august september october november december "
    "mr mrs ms dr president prime minister officials official sources source according "
    "however although meanwhile also there here what who why how where which "
    "le la les un une des il elle ils der die das ein eine und el los las una "
    "read more photo image video advertisement getty reuters afp ap tv pm am ok".split()
)
_STOP_THEMES = _COMMON | frozenset(
    "says said new old over under into about after amid against more less than first last "
    "will would could can may might should has have had is are was were be been being "
    "not no yes up down out off all any some many much most such very just only also "
    "two three four five six seven eight nine ten one year years day days week weeks "
    "man men woman women people time times way back top big small million millions "
    "billion billions thousand thousands percent cent rose rise rises fell falls told "
    "make makes made take takes took come comes came went going added including "
    "according get gets got give gives gave used uses using like well even still "
    "year's now later early late based near easy hard makes set sets puts despite although "
    "though because since unless whether across among toward towards within without upon "
    "credit credits photo photos image images continue continues".split()
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s\b")


def _key(phrase: str) -> str:
    phrase = re.sub(r"['’]s$", "", phrase.strip(" .-'’"))
    return place_of(phrase)


def subjects(headline: str, body: str, keywords: list[str] | None = None,
             limit: int = 10) -> tuple[str, ...]:
    """Up to ``limit`` lower-case topic phrases, most salient first."""
    # The lead (first two paragraphs) counts twice: it says what the story is about.
    second = body.find("\n\n", body.find("\n\n") + 2)
    lead_end = len(body) if second < 0 else second
    counts: Counter[str] = Counter()
    mid_sentence: set[str] = set()
    named_in_body: set[str] = set()
    headline_only: set[str] = set()
    for text in (headline, body):
        # "Russia's Hmeymim air base" names two things, not one (same length: offsets hold).
        scanned = _POSSESSIVE.sub(", ", text)
        for m in _NAME.finditer(scanned):
            words = m.group(0).split()
            # Drop leading function words a sentence starts with ("The Kremlin").
            while words and words[0].lower() in _COMMON:
                words = words[1:]
            if not words or len(words) > 4:
                continue  # nothing left, or a Title Case heading rather than a name
            key = _key(" ".join(words))
            if len(key) < 2 or key in _COMMON:
                continue
            opening = _opens_sentence(scanned, m.start())
            if text is headline:
                counts[key] += 3
                mid_sentence.add(key)
                headline_only.add(key)
                continue
            counts[key] += 2 if m.start() < lead_end else 1
            # Mid-sentence capitals, or a multi-word name opening a sentence
            # ("Westline Rail returned ..."), are names; "The" is not.
            if not opening or len(words) > 1:
                mid_sentence.add(key)
                named_in_body.add(key)
    # A word only ever seen capitalised at a sentence start is not a name, nor is one that
    # only a Title Case headline capitalises ("Despite Everything, ...").
    for key in list(counts):
        if key not in mid_sentence or (key in headline_only and key not in named_in_body):
            del counts[key]
    # "Vladimir Putin" and "Putin" are one person: keep the form the article uses most.
    for key in sorted(counts, key=lambda k: -len(k)):
        parts = key.split()
        if len(parts) < 2 or key in DEMONYMS.values():
            continue
        tail = re.sub(r"^(al|el)-", "", parts[-1])
        # Only a surname the body itself uses alone ("Putin"), not a headline's first word.
        if tail in counts and tail != key and tail in named_in_body:
            if counts[tail] >= counts[key]:
                counts[tail] += counts.pop(key)
            else:
                counts[key] += counts.pop(tail)
    ranked = [k for k, c in counts.most_common() if c >= 2 or k in _lower_words(headline)]
    topics: list[str] = []
    for key in ranked:
        if key not in topics:
            topics.append(key)
    # Themes: the headline's content words that the body uses too, folded to the form
    # the body uses most ("tolls" -> "toll").
    body_words = Counter(w.lower() for w in _WORD.findall(body))
    for word in _WORD.findall(headline):
        low = _POSSESSIVE.sub("", word.lower())
        if (low in _STOP_THEMES or low in _FUNCTION_WORDS or len(low) < 3
                or "'" in low or "’" in low):
            continue  # glue words and contractions ("we’re") are not subjects
        forms = [f for f in (low, low.rstrip("s"), low + "s") if body_words[f]]
        if not forms:
            continue
        best = max(forms, key=lambda f: body_words[f])
        if best.endswith(("ing", "ed")) and body_words[best] < 3:
            continue  # a verb of the headline ("explains", "requiring"), not its subject
        theme = place_of(best)
        if not any(theme in t.split() or best in t.split() for t in topics):
            topics.append(theme)
    # Then what the body keeps coming back to ("salmon" in a story about a marine park).
    lower_only = Counter(w for w in _WORD.findall(body) if w.islower())
    for word, count in lower_only.most_common(40):
        if (count < 2 or len(word) < 5 or word in _STOP_THEMES or word in _FUNCTION_WORDS
                or "'" in word or "’" in word):
            continue
        if not any(word in t.split() or word.rstrip("s") in t.split() for t in topics):
            topics.append(word)
    for kw in keywords or []:
        low = kw.lower().strip()
        if low and low not in topics and len(low) < 40 and low in body.lower():
            topics.append(low)
    seen: list[str] = []
    for t in topics:
        if t not in seen:
            seen.append(t)
    return tuple(seen[:limit])


def _opens_sentence(text: str, start: int) -> bool:
    """Whether ``start`` begins a sentence (after . ! ? : a line break or a quote)."""
    i = start - 1
    while i >= 0 and text[i] in " \t\"“”'‘’«»(":
        i -= 1
    return i < 0 or text[i] in ".!?…\n:;"


def _lower_words(text: str) -> set[str]:
    words = {place_of(w.lower()) for w in _WORD.findall(text)}
    return words | {w.lower() for w in _WORD.findall(text)}
