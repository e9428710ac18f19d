"""Topic expressions: one web-search style grammar for every adapter, and the normaliser.

Grammar: words are ANDed (``russia syria``), ``"vladimir putin"`` is a phrase, ``OR``
or ``|`` gives alternatives (binding tighter than AND, as in web search: ``a b OR c`` is
``a AND (b OR c)``), ``-word``/``-"a phrase"`` or ``NOT word`` excludes.

Normalisation (shared by expressions and article text, so both sides agree): casefold,
strip accents, fold country demonyms to the country (``Russian`` → ``russia``), merge
multi-word country names into one token (``United States`` → ``usa``), and apply a few
light suffix rules so ordinary inflections meet (withdraw/withdrawal/withdrawn/withdrawing,
troop/troops). Tokens are cached, so normalising a long body is cheap.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.errors import TopicError
from bot.language import PLACES

MAX_EXPRESSION_CHARS = 100
MAX_TERMS = 10

Phrase = tuple[str, ...]
"""A term: one or more normalised tokens that must appear consecutively."""

# --- normalisation --------------------------------------------------------------------

_TOKEN_RE = re.compile(r"U\.S(?:\.A)?\.?|U\.K\.?|\w+(?:['’]\w+)*")
_NON_WORD_RE = re.compile(r"[^\w']")
_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

def _place_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """From the one table of places: case-sensitive spellings, one-word and multi-word names,
    each → the place's matcher token."""
    raw: dict[str, str] = {}
    words: dict[str, str] = {}
    multi: dict[str, str] = {}
    for place in PLACES:
        raw.update(dict.fromkeys(place.case_sensitive, place.token))
        for name in (place.token, place.name, *place.any_case):
            (multi if " " in name else words)[name] = place.token
    return raw, words, multi


# Raw (case-sensitive) spellings that only mean the place when written this way ("US").
_RAW_ALIASES, _ALIASES, _MULTIWORD = _place_tables()
_NO_UNDOUBLE = frozenset("lsz")
_VOWELS = frozenset("aeiouy")


def _strip_accents(word: str) -> str:
    return _COMBINING_RE.sub("", unicodedata.normalize("NFKD", word))


def _stem(w: str) -> str:
    """Light suffix rules; both sides use them, so they only need to be consistent."""
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "xes", "ches", "shes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    stripped = False
    if w.endswith("ing") and len(w) >= 6:
        w, stripped = w[:-3], True
    elif w.endswith("ed") and not w.endswith("eed") and len(w) >= 5:
        w, stripped = w[:-2], True
    elif w.endswith("al") and len(w) >= 6:
        w = w[:-2]
    elif w.endswith("wn") and len(w) >= 6:
        w = w[:-1]
    if stripped and len(w) >= 3 and w[-1] == w[-2] and w[-1] not in _VOWELS | _NO_UNDOUBLE:
        w = w[:-1]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return w


def _canon_token(raw: str) -> str:
    """One raw token → its normalised form (uncached)."""
    alias = _RAW_ALIASES.get(raw)
    if alias is not None:
        return alias
    word = raw.casefold()
    if not word.isascii():
        word = _NON_WORD_RE.sub("", _strip_accents(word.replace("’", "'"))).casefold()
    if word.endswith("'s"):
        word = word[:-2]
    elif word.endswith("'"):
        word = word[:-1]
    if not word:
        return raw.casefold()
    alias = _ALIASES.get(word)
    if alias is not None:
        return alias
    stem = _stem(word)
    for _ in range(4):  # to a fixed point, so normalising a normalised token is a no-op
        again = _stem(stem)
        if again == stem:
            break
        stem = again
    return _ALIASES.get(stem, stem)


_CACHE: dict[str, str] = {}
_CACHE_MAX = 500_000


def _canon(raw: str) -> str:
    token = _CACHE.get(raw)
    if token is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        token = _CACHE[raw] = _canon_token(raw)
    return token


def _build_multiword() -> dict[str, list[tuple[Phrase, str]]]:
    table: dict[str, list[tuple[Phrase, str]]] = {}
    for words, canonical in _MULTIWORD.items():
        tokens = [_canon(w) for w in words.split()]
        table.setdefault(tokens[0], []).append((tuple(tokens[1:]), canonical))
    for entries in table.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return table


_MULTI_FIRST = _build_multiword()
_MULTI_FIRST_KEYS = frozenset(_MULTI_FIRST)


def _merge_multiword(tokens: list[str]) -> list[str]:
    if _MULTI_FIRST_KEYS.isdisjoint(tokens):
        return tokens
    out: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        entries = _MULTI_FIRST.get(token)
        if entries is not None:
            for rest, canonical in entries:
                k = len(rest)
                if tuple(tokens[i + 1 : i + 1 + k]) == rest:
                    out.append(canonical)
                    i += 1 + k
                    break
            else:
                out.append(token)
                i += 1
        else:
            out.append(token)
            i += 1
    return out


_CHUNKS: dict[str, str] = {}


def _chunk(raw: str) -> str:
    """A whitespace-delimited piece of text → its tokens, space-joined (cached)."""
    if len(_CHUNKS) >= _CACHE_MAX:
        _CHUNKS.clear()
    joined = _CHUNKS[raw] = " ".join([_canon(t) for t in _TOKEN_RE.findall(raw)])
    return joined


def _build_multiword_strings() -> list[tuple[str, str]]:
    pairs = [
        (" " + " ".join([first, *rest]) + " ", " " + canonical + " ")
        for first, entries in _MULTI_FIRST.items()
        for rest, canonical in entries
    ]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


_MULTI_STRINGS = _build_multiword_strings()


def normalised_text(text: str) -> str:
    """Normalised tokens joined by single spaces and padded, for whole-token search.

    The hot path of matching: whitespace split plus a cache of each piece's tokens, then
    multi-word names replaced in the joined string.
    """
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    get = _CHUNKS.get
    joined = " " + " ".join(filter(None, [get(raw) or _chunk(raw) for raw in text.split()]))
    joined += " "
    for key, canonical in _MULTI_STRINGS:
        while key in joined:
            joined = joined.replace(key, canonical)
    return joined


def normalise(text: str) -> list[str]:
    """Text → normalised tokens (casefolded, accent-free, demonyms folded, stemmed)."""
    return normalised_text(text).split()


def phrase_key(phrase: Phrase) -> str:
    """The padded search key of a phrase, as it appears in ``normalised_text``."""
    return " " + " ".join(phrase) + " "


# --- expressions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicExpression:
    """A parsed topic: every group must match (a group is OR of phrases), no exclusion may."""

    text: str
    groups: tuple[tuple[Phrase, ...], ...]
    excluded: tuple[Phrase, ...]
    labels: tuple[tuple[Phrase, str], ...] = ()

    def label(self, phrase: Phrase) -> str:
        """The phrase as the user wrote it (falls back to the normalised tokens)."""
        for known, written in self.labels:
            if known == phrase:
                return written
        return " ".join(phrase)

    @property
    def canonical(self) -> str:
        """A normalised spelling: equal for expressions that mean the same thing."""
        parts = []
        for group in self.groups:
            names = [_show(p) for p in group]
            parts.append(names[0] if len(names) == 1 else "(" + " OR ".join(names) + ")")
        parts.extend("-" + _show(p) for p in self.excluded)
        return " ".join(parts)

    @property
    def terms(self) -> tuple[Phrase, ...]:
        """Every phrase that can make the expression match (without exclusions)."""
        return tuple(p for group in self.groups for p in group)

    def evaluate(self, present: set[Phrase] | frozenset[Phrase]) -> bool:
        """Whether the expression holds, given the set of phrases found relevant."""
        return all(any(p in present for p in group) for group in self.groups)

    def __str__(self) -> str:
        return self.text


def _show(phrase: Phrase) -> str:
    return phrase[0] if len(phrase) == 1 else '"' + " ".join(phrase) + '"'


@dataclass(slots=True)
class _Item:
    kind: str  # "term" | "or"
    negated: bool = False
    tokens: Phrase = ()
    bare: bool = False
    written: str = ""


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def _lex(text: str) -> list[_Item]:
    items: list[_Item] = []
    i, n = 0, len(text)
    negate_next = False
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "|":
            items.append(_Item("or"))
            i += 1
            continue
        negated = negate_next
        negate_next = False
        if ch == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
            ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise TopicError(
                    'A quote is not closed: put each phrase between two " marks.', text
                )
            tokens = tuple(normalise(text[i + 1 : end]))
            if not tokens:
                raise TopicError("A quoted phrase has no words in it.", text)
            items.append(_Item("term", negated, tokens, written=text[i + 1 : end].strip()))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in '"|':
            j += 1
        word = text[i:j]
        i = j
        if not negated and word == "OR":
            items.append(_Item("or"))
            continue
        if not negated and word == "NOT":
            negate_next = True
            continue
        if not negated and word == "AND":
            continue
        tokens = tuple(normalise(word))
        if tokens:
            items.append(_Item("term", negated, tokens, bare=True, written=word))
        elif negated:
            raise TopicError("A minus sign needs a word right after it.", text)
    if negate_next:
        raise TopicError("NOT needs a word after it.", text)
    return items


def _merge_bare(items: list[_Item]) -> list[_Item]:
    """Join adjacent bare words that form a multi-word country name (saudi arabia)."""
    out: list[_Item] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item.kind == "term" and item.bare and not item.negated and len(item.tokens) == 1:
            run: list[str] = [item.tokens[0]]
            k = i + 1
            while (
                k < len(items)
                and k - i < 4
                and items[k].kind == "term"
                and items[k].bare
                and not items[k].negated
                and len(items[k].tokens) == 1
            ):
                run.append(items[k].tokens[0])
                k += 1
            merged = _merge_multiword(run)
            if len(merged) < len(run):
                # Re-split: the merge may cover only part of the run.
                for token in merged:
                    written = " ".join(
                        it.written for it in items[i:k] if it.tokens[0] == token
                    ) or " ".join(it.written for it in items[i:k])
                    out.append(_Item("term", False, (token,), bare=True, written=written))
                i = k
                continue
        out.append(item)
        i += 1
    return out


def parse_topic(text: str) -> TopicExpression:
    """Parse and validate a topic expression; raises TopicError with a short message."""
    text = (text or "").translate(_QUOTES).strip()
    if not text:
        raise TopicError("A topic can't be empty: give at least one word to look for.", text)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise TopicError(f"Topics are limited to {MAX_EXPRESSION_CHARS} characters.", text)
    if text.count('"') % 2:
        raise TopicError('A quote is not closed: put each phrase between two " marks.', text)
    items = _merge_bare(_lex(text))
    groups: list[list[Phrase]] = []
    excluded: list[Phrase] = []
    labels: dict[Phrase, str] = {}
    for item in items:
        if item.kind == "term":
            labels.setdefault(item.tokens, item.written or " ".join(item.tokens))
    pending_or = False
    last_positive = False
    for item in items:
        if item.kind == "or":
            if not last_positive or pending_or:
                raise TopicError("OR needs a word to look for on each side.", text)
            pending_or = True
            continue
        if item.negated:
            if pending_or:
                raise TopicError("OR can't be followed by an exclusion.", text)
            if item.tokens not in excluded:
                excluded.append(item.tokens)
            last_positive = False
            continue
        if pending_or:
            if item.tokens not in groups[-1]:
                groups[-1].append(item.tokens)
            pending_or = False
        else:
            groups.append([item.tokens])
        last_positive = True
    if pending_or:
        raise TopicError("OR needs a word to look for on each side.", text)
    if not groups:
        if excluded:
            raise TopicError(
                "A topic needs at least one word to look for, not only exclusions.", text
            )
        raise TopicError("A topic can't be empty: give at least one word to look for.", text)
    if sum(len(g) for g in groups) + len(excluded) > MAX_TERMS:
        raise TopicError(f"Topics are limited to {MAX_TERMS} words or phrases.", text)
    unique: list[tuple[Phrase, ...]] = []
    for group in groups:
        key = tuple(sorted(group))
        if key not in unique:
            unique.append(key)
    positive = {p for g in unique for p in g}
    if any(p in positive for p in excluded):
        raise TopicError("A topic can't both include and exclude the same word.", text)
    return TopicExpression(text, tuple(unique), tuple(sorted(excluded)), tuple(labels.items()))
