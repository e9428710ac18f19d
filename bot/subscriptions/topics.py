"""Topic expressions: one web-search style grammar for every adapter, and the normaliser.

Grammar: words are ANDed (``russia syria``), ``"vladimir putin"`` is a phrase, ``OR``
or ``|`` gives alternatives (binding tighter than AND, as in web search: ``a b OR c`` is
``a AND (b OR c)``), ``-word``/``-"a phrase"`` or ``NOT word`` excludes. ``~word``
(opt-in semantic expansion) also looks for the word's close terms by meaning
(``semantic.py``); they are written into the expression when it is parsed
(``~climate(warming, emissions)``, the form that is stored and listed), count as
weaker synonyms in matching (``matcher.py``), and an explicit list is kept as written.

Normalisation lives in ``normaliser.py`` (shared by expressions and article text, so both
sides agree): by the article's language; a topic is normalised for every language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import TopicError

from .normaliser import (
    Phrase,
    normalise,
    normalised_text,
    phrase_key,
    query_phrase,
    rules_of,
)
from .semantic import close_terms

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_TERMS",
    "Phrase",
    "TopicExpression",
    "normalise",
    "normalised_text",
    "parse_topic",
    "phrase_key",
    "weak_topic",
]

MAX_EXPRESSION_CHARS = 100
MAX_TERMS = 10
#: Close terms a ``~`` term may list, and the stored expression's length with its lists.
MAX_CLOSE_TERMS = 8
MAX_STORED_CHARS = 4 * MAX_EXPRESSION_CHARS

# --- normalisation (see normaliser.py) --------------------------------------------------


def _query_phrase(written: str) -> Phrase:
    """A topic's word or phrase, normalised by the default (English) rules."""
    return query_phrase(written)


# --- expressions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicExpression:
    """A parsed topic: every group must match (a group is OR of phrases), no exclusion may."""

    text: str
    groups: tuple[tuple[Phrase, ...], ...]
    excluded: tuple[Phrase, ...]
    labels: tuple[tuple[Phrase, str], ...] = ()
    #: (close term, the ``~`` term it was found for): the weaker synonyms.
    expanded: tuple[tuple[Phrase, Phrase], ...] = ()

    def label(self, phrase: Phrase) -> str:
        """The phrase as the user wrote it (falls back to the normalised tokens)."""
        for known, written in self.labels:
            if known == phrase:
                return written
        return " ".join(phrase)

    def source_of(self, phrase: Phrase) -> Phrase | None:
        """The ``~`` term that ``phrase`` is a close term of, or None if it was typed."""
        for close, source in self.expanded:
            if close == phrase:
                return source
        return None

    def shown(self, phrase: Phrase) -> str:
        """The phrase for a person: a close term names its source ("warming (~climate)")."""
        source = self.source_of(phrase)
        if source is None:
            return self.label(phrase)
        return f"{self.label(phrase)} (~{self.label(source)})"

    @property
    def canonical(self) -> str:
        """A normalised spelling: equal for expressions that mean the same thing."""
        parts = []
        weak = {close for close, _ in self.expanded}
        for group in self.groups:
            names = [("~" if p in weak else "") + _show(p) for p in group]
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
    #: ``~term``: its close terms (normalised, as written); None: not a ``~`` term.
    expansions: tuple[tuple[Phrase, str], ...] | None = None


# ``~term(list)``: the list of close terms after a ``~`` term (removed to measure length).
_EXPANSION_LIST_RE = re.compile(r'(~(?:"[^"]*"|[^\s"|(]+))\([^)]*\)')


def _without_expansions(text: str) -> str:
    """The expression as typed: ``~climate(warming, emissions)`` → ``~climate``."""
    return _EXPANSION_LIST_RE.sub(r"\1", text)


def _expansion_text(terms: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{t}"' if " " in t else t for t in terms) + ")"


def _read_expansions(text: str, i: int) -> tuple[tuple[tuple[Phrase, str], ...], int]:
    """The ``(a, "b c")`` list at ``text[i]`` → ((phrase, written), ...), and its end."""
    end = text.find(")", i)
    if end < 0:
        raise TopicError("The list of close terms after a ~ word is not closed with ).", text)
    out: list[tuple[Phrase, str]] = []
    for item in text[i + 1 : end].split(","):
        written = item.strip().strip('"').strip()
        tokens = _query_phrase(written) if written else ()
        if tokens and all(tokens != known for known, _ in out):
            out.append((tokens, written))
    if len(out) > MAX_CLOSE_TERMS:
        raise TopicError(f"A ~ word can list at most {MAX_CLOSE_TERMS} close terms.", text)
    return tuple(out), end + 1


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def _lex(text: str, written_out: list[str] | None = None) -> list[_Item]:
    """The items of ``text``; ``written_out`` gets the text with ``~`` terms expanded."""
    items: list[_Item] = []
    i, n = 0, len(text)
    negate_next = False
    copied = 0  # text[:copied] is in written_out already
    out = written_out if written_out is not None else []
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
        expand = ch == "~" and i + 1 < n and not text[i + 1].isspace()
        if expand:
            if negated:
                raise TopicError(
                    "~ looks for a word's close terms too: it can't be excluded.", text
                )
            i += 1
            ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise TopicError(
                    'A quote is not closed: put each phrase between two " marks.', text
                )
            tokens = _query_phrase(text[i + 1 : end])
            if not tokens:
                raise TopicError("A quoted phrase has no words in it.", text)
            item = _Item("term", negated, tokens, written=text[i + 1 : end].strip())
            i = end + 1
            if expand:
                i, copied = _expand(item, text, i, copied, out)
            items.append(item)
            continue
        j = i
        stops = '"|(' if expand else '"|'
        while j < n and not text[j].isspace() and text[j] not in stops:
            j += 1
        word = text[i:j]
        i = j
        if expand:
            tokens = _query_phrase(word)
            if not tokens:
                raise TopicError("A ~ needs a word right after it.", text)
            item = _Item("term", False, tokens, written=word)
            i, copied = _expand(item, text, i, copied, out)
            items.append(item)
            continue
        if not negated and word == "OR":
            items.append(_Item("or"))
            continue
        if not negated and word == "NOT":
            negate_next = True
            continue
        if not negated and word == "AND":
            continue
        tokens = _query_phrase(word)
        if tokens:
            items.append(_Item("term", negated, tokens, bare=True, written=word))
        elif negated:
            raise TopicError("A minus sign needs a word right after it.", text)
    if negate_next:
        raise TopicError("NOT needs a word after it.", text)
    out.append(text[copied:])
    return items


def _expand(item: _Item, text: str, i: int, copied: int, out: list[str]) -> tuple[int, int]:
    """Give ``~`` term ``item`` its close terms: the list written at ``text[i]``, else
    the table's (written into ``out`` after the term). Returns (next i, copied)."""
    if i < len(text) and text[i] == "(":
        item.expansions, i = _read_expansions(text, i)
        return i, copied
    terms = close_terms(item.written, keep=_strong_word) if len(item.tokens) == 1 else ()
    item.expansions = tuple((_query_phrase(t), t) for t in terms if _query_phrase(t))
    out.append(text[copied:i] + _expansion_text(terms))
    return i, i


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
            merged = rules_of("en").merge(run)
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
    if len(_without_expansions(text)) > MAX_EXPRESSION_CHARS or len(text) > MAX_STORED_CHARS:
        raise TopicError(f"Topics are limited to {MAX_EXPRESSION_CHARS} characters.", text)
    if text.count('"') % 2:
        raise TopicError('A quote is not closed: put each phrase between two " marks.', text)
    written: list[str] = []
    items = _merge_bare(_lex(text, written))
    text = "".join(written)
    groups: list[list[Phrase]] = []
    excluded: list[Phrase] = []
    labels: dict[Phrase, str] = {}
    weak: dict[Phrase, Phrase] = {}
    typed: set[Phrase] = set()
    for item in items:
        if item.kind == "term":
            labels.setdefault(item.tokens, item.written or " ".join(item.tokens))
            typed.add(item.tokens)
    for item in items:
        for close, close_written in item.expansions or ():
            if close not in typed:
                labels.setdefault(close, close_written)
                weak.setdefault(close, item.tokens)
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
        for close, _ in item.expansions or ():
            if weak.get(close) == item.tokens and close not in groups[-1]:
                groups[-1].append(close)
        last_positive = True
    if pending_or:
        raise TopicError("OR needs a word to look for on each side.", text)
    if not groups:
        if excluded:
            raise TopicError(
                "A topic needs at least one word to look for, not only exclusions.", text
            )
        raise TopicError("A topic can't be empty: give at least one word to look for.", text)
    if sum(p not in weak for g in groups for p in g) + len(excluded) > MAX_TERMS:
        raise TopicError(f"Topics are limited to {MAX_TERMS} words or phrases.", text)
    unique: list[tuple[Phrase, ...]] = []
    for group in groups:
        key = tuple(sorted(group))
        if key not in unique:
            unique.append(key)
    positive = {p for g in unique for p in g}
    if any(p in positive for p in excluded):
        raise TopicError("A topic can't both include and exclude the same word.", text)
    return TopicExpression(
        text,
        tuple(unique),
        tuple(sorted(excluded)),
        tuple(labels.items()),
        tuple(weak.items()),
    )


# --- subscribe-time quality -------------------------------------------------------------

# Words of the news trade itself: every article is "news", an "update" or a "story".
_NEWS_WORDS = frozenset(
    "news breaking latest update updates live video videos story stories article articles "
    "report reports today headline headlines top new".split()
)


def _weak_word(word: str) -> bool:
    """Whether ``word`` says nothing about a subject: a number, a function word, a word
    of the news trade, or an everyday English word (Zipf >= 6, or a stop word >= 5)."""
    from bot.language import FUNCTION_WORDS, is_stop_word, zipf

    low = word.casefold()
    if not any(c.isalpha() for c in low):
        return True
    if low in _NEWS_WORDS or low in FUNCTION_WORDS:
        return True
    if _query_phrase(word) != (low,) and len(_query_phrase(word)) == 1:
        return False  # a place ("us" → usa) or another alias
    freq = zipf(low, "en")
    return freq >= 6.0 or (freq >= 5.0 and is_stop_word(low, "en"))


def _strong_word(word: str) -> bool:
    return not _weak_word(word)


def weak_topic(parsed: TopicExpression) -> str | None:
    """A clear reply if every word to look for is too common to pick articles, else None.

    "the", "new", "news", "2024" match nearly every article; "climate news" does not.
    """
    words = [
        word
        for group in parsed.groups
        for phrase in group
        for word in parsed.label(phrase).replace('"', " ").split()
    ]
    if not words or not all(_weak_word(w) for w in words):
        return None
    shown = ", ".join(f"“{w}”" for w in dict.fromkeys(words))
    return (
        f"{shown} would match nearly every article: add a word or a name that says what "
        "the news is about, e.g. “climate”, “Premier League” or “Apple earnings”."
    )
