"""Matching cards to subscriptions through an in-process index, kept in sync via Redis.

The index never scans subscriptions. One Aho-Corasick automaton maps every normalised
term phrase to a term id; each distinct expression (by canonical meaning) is compiled once
to groups of term ids and *anchored* under the terms of one of its groups; each expression
holds its subscribers as ``{destination id: subscription id}``. A match normalises the
card's fields once, runs the automaton over each, keeps the *relevant* terms, looks up
only the expressions anchored on them, and expands the matched expressions to the set
of destinations with C-level set operations. Per-destination objects are built lazily
(``MatchResult`` is a sequence), so an article followed by 100 000 destinations costs
one set union until the delivery engine walks it.

Languages: a card is normalised by its language's rules (``normaliser.py``); each term is
filed in the automaton under its key in every rule set met so far (mostly one key:
``putin``; a rule set joins when its first article arrives), and a key lists the terms it
stands for with a mask of the rule sets where it does, so German text finds ``grünen``
under ``grun`` and English text under ``grunen``.

Relevance (salience): a term counts if it appears in the headline, summary, lead (first
two paragraphs) or topics; found only in the body, it needs ``mentions_needed`` mentions:
one for a name of several words or a rare word, ``min_body_mentions`` (default 2, setting
``NEWSBOT_MATCH_MIN_BODY_MENTIONS``) for an ordinary word, one more for an everyday word,
and body mentions never make a weak topic ("2020", "news") count. Bare words typed
together (``marissa mayer``) also match as their phrase. A close term of a ``~`` term
(``~climate(warming)``) is a weaker synonym, a term of its own: it counts in the headline
or the topics, in the summary or lead only when said twice, and in the body with one
mention more than the same word typed would need. An excluded term vetoes if it
appears anywhere in the article's own content. Page clutter never reaches the card.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter, is_not, itemgetter
from typing import Any, TypeGuard, TypeVar, cast, overload

import ahocorasick
import numpy as np
import numpy.typing as npt
from redis.exceptions import RedisError

from bot import keys
from bot.background import cancel_and_wait
from bot.card import Card
from bot.chat.contract import MODES, Destination, Mode, Subscription
from bot.language import zipf

from .normaliser import RULESETS, normalised_label, place_tokens, query_phrase, ruleset
from .store import SubscriptionStore
from .topics import (
    Phrase,
    TopicExpression,
    _weak_word,
    normalised_text,
    parse_topic,
    phrase_key,
)

log = logging.getLogger(__name__)

HEADLINE, SUMMARY, LEAD, TOPICS, BODY = 1, 2, 4, 8, 16
FIELDS: tuple[tuple[int, str], ...] = (
    (HEADLINE, "headline"),
    (SUMMARY, "summary"),
    (LEAD, "lead"),
    (TOPICS, "topics"),
    (BODY, "body"),
)
# Score of a relevant term: field weights plus half a point per body mention (max 5).
WEIGHTS = {HEADLINE: 3.0, SUMMARY: 2.0, LEAD: 2.0, TOPICS: 2.0, BODY: 0.0}
BODY_MENTION_WEIGHT = 0.5
BODY_MENTION_CAP = 5
STRONG = HEADLINE | SUMMARY | LEAD | TOPICS

_SECOND = itemgetter(1)
_RULE_INDEX = {rules: i for i, rules in enumerate(RULESETS)}
# Zipf frequencies: below _RARE a word is a name or a subject word (one mention is
# enough), from _EVERYDAY on it is an everyday word (one mention more is needed).
_RARE = 3.5
_EVERYDAY = 5.0
NOT_IN_BODY = 1 << 20
# Distinct destinations: sorted when fewer than 1/_SORT_BELOW of all, else a bitmap.
_SORT_BELOW = 8
WORDS_PER_MENTION = 1000


def implicit_phrase(parsed: TopicExpression) -> Phrase | None:
    """The phrase of an expression that is 2-4 bare words and nothing else, else None."""
    if parsed.excluded or not 2 <= len(parsed.groups) <= 4:
        return None
    if any(len(group) != 1 or len(group[0]) != 1 for group in parsed.groups):
        return None
    if any(c in parsed.text for c in '"|') or " OR " in parsed.text or "NOT " in parsed.text:
        return None
    phrase = query_phrase(parsed.text)
    return phrase if len(phrase) == len(parsed.groups) else None


@functools.lru_cache(maxsize=200_000)
def mentions_needed(phrase: Phrase, written: str, lang: str, min_body: int) -> int:
    """Body mentions that make a term relevant when it is nowhere else (salience).

    A name of several words said once is a subject; a rare word or a name said once
    too; an ordinary word needs ``min_body`` mentions; an everyday word one more (and
    either one more per ``WORDS_PER_MENTION`` words of body, added by the caller). A
    term of only weak words (numbers, function words, "news") never counts by body
    mentions (``NOT_IN_BODY``): only in the headline, summary, lead or topics.
    """
    label = written.strip('"').casefold()
    if all(_weak_word(w) for w in label.split()):
        return NOT_IN_BODY
    if len(phrase) > 1:
        return max(1, min_body - 1)
    if phrase[0] in place_tokens():
        return min_body  # a place, however it was written ("us", "Россия")
    freq = zipf(label, lang) or zipf(label, "en")
    if freq < _RARE:
        return max(1, min_body - 1)
    if freq >= _EVERYDAY:
        return min_body + 1
    return min_body


def _close_to(parsed: TopicExpression, phrase: Phrase) -> str | None:
    """The ``~`` term (as written) that ``phrase`` is a close term of, or None."""
    source = parsed.source_of(phrase) if parsed.expanded else None
    return None if source is None else parsed.label(source)


def _word_language(lang: str | None) -> str:
    """The card's language as a code for word frequencies ("en" when unknown)."""
    return (lang or "en").lower().replace("_", "-").split("-")[0] or "en"

IdArray = npt.NDArray[np.int32]
DestIds = npt.NDArray[np.intp]
_NO_DESTS: DestIds = np.zeros(0, dtype=np.intp)
_NO_TERMS: IdArray = np.zeros(0, dtype=np.int32)


class _Ids:
    """A growable multiset of destination ids in one int32 array (C-level to expand).

    ``live`` is the view of the ids in use, kept current by every change, so a match
    reads it without slicing (a slice per term is a Python-level cost per article).
    """

    __slots__ = ("buf", "live", "n")

    def __init__(self, ids: IdArray | None = None) -> None:
        self.buf: IdArray = np.zeros(4, dtype=np.int32) if ids is None else ids
        self.n = 0 if ids is None else len(ids)
        self.live: IdArray = self.buf[: self.n]

    def __len__(self) -> int:
        return self.n

    def view(self) -> IdArray:
        """The live ids (a view: read it before the next add/remove)."""
        return self.live

    def add(self, did: int) -> None:
        """Append one id (amortised O(1))."""
        if self.n == len(self.buf):
            grown = np.zeros(max(4, 2 * self.n), dtype=np.int32)
            grown[: self.n] = self.buf
            self.buf = grown
        self.buf[self.n] = did
        self.n += 1
        self.live = self.buf[: self.n]

    def remove(self, did: int) -> None:
        """Drop one occurrence of ``did`` (a C-level scan, then swap with the last)."""
        live = self.live
        i = int(np.argmax(live == did))
        if live[i] != did:
            raise KeyError(did)
        self.n -= 1
        live[i] = live[self.n]
        if self.n * 4 < len(self.buf) and len(self.buf) > 16:
            self.buf = self.buf[: max(4, 2 * self.n)].copy()
        self.live = self.buf[: self.n]


_LIVE = attrgetter("live")
# A C-level "is not None" for filter() (a lambda would be a Python call per term).
_FOUND = cast(Callable[[object], TypeGuard[Any]], functools.partial(is_not, None))
_T = TypeVar("_T")


def _entries(table: dict[int, _T], terms: Iterable[int]) -> list[_T]:
    """The entries of ``table`` under those of ``terms`` it has (map and filter, in C)."""
    if not table:  # most indexes have no three-word or excluding expressions
        return []
    found: list[_T] = list(filter(_FOUND, map(table.get, terms)))
    return found
_ROW_DEST = attrgetter("live_did")
_ROW_PARTNER = attrgetter("live_partner")
_ROW_UNTIL = attrgetter("live_until")
_NOT_MUTED = -float("inf")


class _Rows:
    """Subscription links filed under an anchor term: (key term, dest, sub, mute until).

    For ``a b`` the key is ``b`` (the row counts if ``b`` is relevant too), for ``a -b``
    it is ``b`` (the row counts unless ``b`` is present), for a muted ``a`` it is unused.
    A match selects the rows of all its terms at once, in C, from the ``live_*`` views
    (kept current by every change); ``muted`` counts the rows with a mute, so that the
    tables without one skip the mute test.
    """

    __slots__ = (
        "did", "live_did", "live_partner", "live_until", "muted", "n", "partner", "sid", "until"
    )

    def __init__(self) -> None:
        self.partner: IdArray = np.zeros(4, dtype=np.int32)
        self.did: IdArray = np.zeros(4, dtype=np.int32)
        self.sid: IdArray = np.zeros(4, dtype=np.int32)
        self.until: npt.NDArray[np.float64] = np.zeros(4, dtype=np.float64)
        self.n = 0
        self.muted = 0
        self._views()

    def _views(self) -> None:
        n = self.n
        self.live_partner: IdArray = self.partner[:n]
        self.live_did: IdArray = self.did[:n]
        self.live_until: npt.NDArray[np.float64] = self.until[:n]

    @classmethod
    def of(cls, rows: list[tuple[int, int, int, float]]) -> _Rows:
        """Rows built in one go."""
        out = cls()
        out.n = len(rows)
        partner, did, sid, until = zip(*rows, strict=True)
        out.partner = np.array(partner, dtype=np.int32)
        out.did = np.array(did, dtype=np.int32)
        out.sid = np.array(sid, dtype=np.int32)
        out.until = np.array(until, dtype=np.float64)
        out.muted = int(np.count_nonzero(out.until != _NOT_MUTED))
        out._views()
        return out

    def __len__(self) -> int:
        return self.n

    def add(self, partner: int, did: int, sid: int, until: float) -> None:
        """Append one row (amortised O(1))."""
        n = self.n
        if n == len(self.did):
            size = max(4, 2 * n)
            self.partner = np.resize(self.partner, size)
            self.did = np.resize(self.did, size)
            self.sid = np.resize(self.sid, size)
            self.until = np.resize(self.until, size)
        self.partner[n] = partner
        self.did[n] = did
        self.sid[n] = sid
        self.until[n] = until
        self.muted += until != _NOT_MUTED
        self.n = n + 1
        self._views()

    def drop(self, sid: int) -> None:
        """Remove every row of subscription ``sid`` (swap with the last row)."""
        for i in np.flatnonzero(self.sid[: self.n] == sid)[::-1]:
            last = self.n - 1
            self.muted -= bool(self.until[i] != _NOT_MUTED)
            for col in (self.partner, self.did, self.sid, self.until):
                col[i] = col[last]
            self.n = last
        self._views()

    def rename(self, old: int, new: int) -> None:
        """The rows of subscription ``old`` now belong to ``new``."""
        live = self.sid[: self.n]
        live[live == old] = new


@dataclass(frozen=True, slots=True)
class TermHit:
    """Why a term counted: the fields it was found in and how often the body says it."""

    term: str
    where: tuple[str, ...]
    body_mentions: int
    score: float

    def describe(self) -> str:
        """Short human form, e.g. ``headline, lead, body×4``."""
        parts = [w for w in self.where if w != "body"]
        if self.body_mentions:
            parts.append(f"body×{self.body_mentions}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class SubscriptionMatch:
    """One subscription that fired, with the terms that made it fire."""

    subscription_id: str
    tenant: str
    owner: str
    expression: str
    mode: Mode
    terms: tuple[TermHit, ...]
    score: float


@dataclass(frozen=True, slots=True)
class DestinationMatch:
    """One destination to post to, and every subscription of it that fired."""

    destination: Destination
    subscriptions: tuple[SubscriptionMatch, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """Every matched term over the destination's subscriptions (for 'why you got this')."""
        seen: dict[str, None] = {}
        for sub in self.subscriptions:
            for hit in sub.terms:
                seen.setdefault(hit.term, None)
        return tuple(seen)

    @property
    def mode(self) -> Mode:
        """The most immediate delivery mode among the subscriptions that fired."""
        return min((s.mode for s in self.subscriptions), key=MODES.index)


@dataclass(frozen=True, slots=True)
class Explanation:
    """What ``newsbot match`` reports for one expression against one card."""

    expression: str
    matched: bool
    terms: tuple[TermHit, ...]
    excluded_by: tuple[TermHit, ...]
    score: float

    @property
    def where(self) -> list[str]:
        """The fields where matched terms were found, in field order."""
        found = {w for hit in self.terms for w in hit.where}
        return [name for _, name in FIELDS if name in found]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object printed by ``newsbot match --json``."""
        return {
            "expression": self.expression,
            "matched": self.matched,
            "terms": [hit.term for hit in self.terms],
            "where": self.where,
            "score": self.score,
            "detail": [
                {"term": h.term, "where": list(h.where), "body_mentions": h.body_mentions}
                for h in self.terms
            ],
            "excluded_by": [h.term for h in self.excluded_by],
        }


class _Evidence:
    """Per-term evidence for one card: field flags, body counts, and the relevant terms.

    Found as arrays (``present`` term ids with their ``bits`` and ``counts``; the
    ``relevant_ids``); the dictionaries and the set are built on first use.
    """

    __slots__ = ("_body", "_flags", "_relevant", "bits", "counts", "present", "relevant_ids")

    def __init__(
        self, present: IdArray, bits: IdArray, counts: IdArray, relevant_ids: IdArray
    ) -> None:
        self.present = present
        self.bits = bits
        self.counts = counts
        self.relevant_ids = relevant_ids
        self._flags: dict[int, int] | None = None
        self._body: dict[int, int] | None = None
        self._relevant: set[int] | None = None

    @property
    def flags(self) -> dict[int, int]:
        """Term id -> the fields it was found in (bits), for every term found."""
        if self._flags is None:
            self._flags = dict(zip(self.present.tolist(), self.bits.tolist(), strict=True))
        return self._flags

    @property
    def body(self) -> dict[int, int]:
        """Term id -> mentions in the lead and body, for terms mentioned there."""
        if self._body is None:
            said = self.counts > 0
            self._body = dict(
                zip(self.present[said].tolist(), self.counts[said].tolist(), strict=True)
            )
        return self._body

    @property
    def relevant(self) -> set[int]:
        """The terms that count for this card."""
        if self._relevant is None:
            self._relevant = set(self.relevant_ids.tolist())
        return self._relevant

    def hit(self, term_id: int, phrase: Phrase, label: str | None = None) -> TermHit:
        flags = self.flags.get(term_id, 0)
        count = self.body.get(term_id, 0)
        where = tuple(name for bit, name in FIELDS if flags & bit)
        score = sum(w for bit, w in WEIGHTS.items() if flags & bit)
        score += BODY_MENTION_WEIGHT * min(count, BODY_MENTION_CAP)
        return TermHit(label or " ".join(phrase), where, count, score)


def card_fields(card: Card) -> list[tuple[int, str]]:
    """The card's own content, normalised once per field (by the card's language)."""
    paragraphs = card.body.split("\n\n")
    lead = "\n\n".join(paragraphs[:2])
    rest = "\n\n".join(paragraphs[2:])
    lang = card.language
    # The publisher's section ("Politik", "Science & Health") is a topic of the card too.
    labels = (*card.topics, *([card.section] if card.section else []))
    topics = "|".join(normalised_label(t, lang) for t in labels)
    out = [
        (HEADLINE, normalised_text(card.headline, lang)),
        (SUMMARY, normalised_text(card.summary, lang)),
        (LEAD, normalised_text(lead, lang)),
        (TOPICS, " " + topics + " "),
        (BODY, normalised_text(rest, lang)),
    ]
    return [(bit, text) for bit, text in out if len(text) > 2]


def _term_mask(ids: IdArray, size: int) -> npt.NDArray[np.bool_]:
    """A bool per term id, set for ``ids``."""
    mask = np.zeros(size, dtype=np.bool_)
    mask[ids] = True
    return mask


def _unique(ids: IdArray) -> IdArray:
    """The distinct values of ``ids``, ascending (sort and keep the first of each run)."""
    ordered = np.sort(ids)
    first = np.empty(len(ordered), dtype=np.bool_)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def _select(
    tables: list[_Rows], wanted: npt.NDArray[np.bool_] | None, now: float | None
) -> IdArray:
    """Destinations of the rows whose key term is ``wanted`` and whose mute is over."""
    if now is not None and any(t.muted for t in tables):
        clear = [t for t in tables if not t.muted]
        muted = [t for t in tables if t.muted]
        lapsed = np.concatenate(list(map(_ROW_UNTIL, muted))) <= now
        parts = [_select(clear, wanted, None)] if clear else []
        dests: IdArray = np.concatenate(list(map(_ROW_DEST, muted)))
        if wanted is not None:
            lapsed &= wanted[np.concatenate(list(map(_ROW_PARTNER, muted)))]
        parts.append(dests[lapsed])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    dests = np.concatenate(list(map(_ROW_DEST, tables)))
    if wanted is None:
        return dests
    keep: npt.NDArray[np.bool_] = wanted[np.concatenate(list(map(_ROW_PARTNER, tables)))]
    return dests[keep]


class MatchIndex:
    """The in-process index of subscriptions; add/remove are incremental."""

    def __init__(self, min_body_mentions: int = 2) -> None:
        self.min_body_mentions = min_body_mentions
        # terms
        self._term_ids: dict[str, int] = {}
        self._term_phrase: list[Phrase] = []
        self._term_label: list[str] = []
        self._term_refs: array[int] = array("i")
        self._term_keys: list[tuple[int, ...]] = []
        self._weak_of: dict[int, str] = {}  # close term -> the ``~`` term it stands for
        # Automaton keys: a term has one per rule set (``grünen``: ``grun`` in German text,
        # ``grunen`` elsewhere), mostly the same; each key lists (term, rule-set mask).
        self._key_ids: dict[str, int] = {}
        self._key_entries: list[list[tuple[int, int]]] = []
        self._key_tid: IdArray = np.full(64, -1, dtype=np.int32)  # by key id (-1: see entries)
        # rule set -> term -> body mentions needed (0: not yet known)
        self._need: dict[int, IdArray] = {}
        # Per-term scratch for one match (zero between matches): field bits, mentions.
        self._bits: IdArray = np.zeros(64, dtype=np.int32)
        self._counts: IdArray = np.zeros(64, dtype=np.int32)
        self._active = 1  # rule sets whose keys are filed (bits; English from the start)
        self._in_main = bytearray()
        self._main: Any = None
        self._delta: Any = None
        self._delta_keys: dict[str, int] = {}
        self._delta_dirty = False
        # expressions (deduplicated by canonical meaning)
        self._expr_ids: dict[str, int] = {}
        self._expr_canon: list[str | None] = []
        self._expr_groups: list[tuple[tuple[int, ...], ...]] = []
        self._expr_excl: list[tuple[int, ...]] = []
        self._expr_anchor: list[tuple[int, ...]] = []
        self._expr_phrase: array[int] = array("i")  # the implicit phrase's term, or -1
        self._phrase_exprs: dict[int, set[int]] = {}  # implicit phrase term -> expressions
        self._expr_subs: list[dict[int, int]] = []
        self._expr_muted: dict[int, dict[int, tuple[int, float]]] = {}
        self._free_exprs: list[int] = []
        self._anchored: dict[int, set[int]] = {}  # term -> non-trivial exprs to evaluate
        self._anchored_trivial: dict[int, set[int]] = {}  # term -> exprs it alone fires
        # One group plus exclusions: fire on an anchor term unless a veto term is present.
        self._anchored_excl: dict[int, set[int]] = {}
        self._vetoes: dict[int, set[int]] = {}
        # Two groups (``a b``): term -> {term of the other group: expressions}, both ways,
        # so a match intersects the relevant terms instead of evaluating candidates.
        # Only for two-group expressions with exclusions; plain ones (the common ``a b``)
        # are filed one way in ``_pair_plain`` (read lazily, for the per-destination
        # detail) and their subscriptions in ``_pair_rows`` (read by every match).
        self._pairs: dict[int, dict[int, set[int]]] = {}
        self._pair_plain: dict[int, dict[int, set[int]]] = {}
        self._pair_rows: dict[int, _Rows] = {}
        # Likewise ``a -b`` (one group, one exclusion) is read from ``_veto_rows`` and
        # filed in ``_anchored_veto`` for the detail; ``_anchored_excl`` keeps the rest.
        self._anchored_veto: dict[int, set[int]] = {}
        self._veto_rows: dict[int, _Rows] = {}
        # Muted subscriptions of trivial expressions, by anchor term.
        self._muted_rows: dict[int, _Rows] = {}
        self._trivial = bytearray()  # one group, no exclusions: an anchor hit is a match
        # Destination ids as int32 arrays, so that expanding an article to 300 000
        # destinations is one concatenation and one scatter into a bitmap, all in C:
        # term -> one id per (trivial expression anchored on it, destination) link;
        # non-trivial expression -> the destinations of its unmuted subscriptions.
        self._term_vec: dict[int, _Ids] = {}
        self._expr_vec: dict[int, _Ids] = {}
        self._deferred = False
        self._parsed: dict[str, TopicExpression] = {}
        # subscriptions
        self._sub_ids: dict[str, int] = {}
        self._sub_key: list[str | None] = []
        self._sub_owner: list[str] = []
        self._sub_expr: array[int] = array("i")
        self._sub_dest: array[int] = array("i")
        self._sub_mode = bytearray()
        self._sub_muted: dict[int, float] = {}
        self._free_subs: list[int] = []
        # destinations and interned strings
        self._dest_ids: dict[str, int] = {}
        self._dest_key: list[str] = []
        self._dest_obj: dict[int, Destination] = {}
        # Each destination's tenant as a number, so a result narrows to tenants in C.
        self._dest_tenant: array[int] = array("i")
        self._tenant_ids: dict[str, int] = {}
        self._strings: dict[str, str] = {}
        self._key_text: list[str] = []

    # --- size -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._sub_ids)

    @property
    def expression_count(self) -> int:
        """How many distinct expressions are indexed."""
        return len(self._expr_ids)

    @property
    def term_count(self) -> int:
        """How many distinct term phrases are live."""
        return sum(1 for refs in self._term_refs if refs > 0)

    # --- building ---------------------------------------------------------------------

    def build(self, subscriptions: Iterable[Subscription]) -> None:
        """Add many subscriptions, then build the automaton once."""
        self._deferred = True
        try:
            for sub in subscriptions:
                self.add(sub, _defer=True)
        finally:
            self._deferred = False
        self._build_vectors()
        self._reanchor()
        self._rebuild_main()

    def _build_vectors(self) -> None:
        """Rebuild every destination-id array from ``_expr_subs`` in one pass."""
        per_term: dict[int, list[int]] = {}
        expr_vec: dict[int, _Ids] = {}
        trivial = self._trivial
        anchors = self._expr_anchor
        muted = self._expr_muted
        inf = -float("inf")
        self._pair_rows, self._veto_rows, self._muted_rows = {}, {}, {}
        rows: dict[int, dict[int, list[tuple[int, int, int, float]]]] = {
            id(self._pair_rows): {},
            id(self._veto_rows): {},
            id(self._muted_rows): {},
        }
        for eid, subs in enumerate(self._expr_subs):
            lapsing = muted.get(eid)
            if lapsing:
                spec = self._row_spec(eid, muted=True)
                if spec is not None:
                    table, anchor, keys_ = spec
                    links = [(did, sid, until) for did, (sid, until) in lapsing.items()]
                    for a in anchor:
                        out = rows[id(table)].setdefault(a, [])
                        for k in keys_:
                            out.extend((k, did, sid, until) for did, sid, until in links)
                phrase = self._expr_phrase[eid]
                if phrase >= 0:  # a lapsed mute fires on the implicit phrase too
                    out = rows[id(self._muted_rows)].setdefault(phrase, [])
                    out.extend((0, did, sid, until) for did, (sid, until) in lapsing.items())
            if not subs:
                continue
            phrase = self._expr_phrase[eid]
            if phrase >= 0:
                per_term.setdefault(phrase, []).extend(subs)
            spec = self._row_spec(eid, muted=False)
            if spec is not None:
                table, anchor, keys_ = spec
                for a in anchor:
                    out = rows[id(table)].setdefault(a, [])
                    for k in keys_:
                        out.extend((k, did, sid, inf) for did, sid in subs.items())
            elif trivial[eid]:
                for tid in anchors[eid]:
                    ids = per_term.get(tid)
                    if ids is None:
                        per_term[tid] = list(subs)
                    else:
                        ids.extend(subs)
            else:
                expr_vec[eid] = _Ids(np.fromiter(subs, np.int32, len(subs)))
        self._term_vec = {t: _Ids(np.array(ids, dtype=np.int32)) for t, ids in per_term.items()}
        self._expr_vec = expr_vec
        for table in (self._pair_rows, self._veto_rows, self._muted_rows):
            table.update((a, _Rows.of(r)) for a, r in rows[id(table)].items() if r)

    def _row_spec(
        self, eid: int, *, muted: bool
    ) -> tuple[dict[int, _Rows], tuple[int, ...], tuple[int, ...]] | None:
        """Where an expression's links live as rows: (table, anchor terms, key terms)."""
        groups = self._expr_groups[eid]
        excl = self._expr_excl[eid]
        if len(groups) == 2 and not excl:
            return self._pair_rows, groups[0], groups[1]
        if len(groups) == 1 and len(excl) == 1:
            return self._veto_rows, groups[0], excl
        if muted and self._trivial[eid]:
            return self._muted_rows, groups[0], (0,)
        return None

    def _link(self, eid: int, did: int, sid: int) -> None:
        """Record that subscription ``sid`` of expression ``eid`` delivers to ``did``."""
        subs = self._expr_subs[eid]
        old = subs.get(did)
        subs[did] = sid
        if self._deferred:
            return
        phrase = self._expr_phrase[eid]
        if phrase >= 0 and old is None:
            vec = self._term_vec.get(phrase)
            if vec is None:
                vec = self._term_vec[phrase] = _Ids()
            vec.add(did)
        spec = self._row_spec(eid, muted=False)
        if spec is not None:
            if old is None:
                self._add_rows(eid, did, sid, -float("inf"))
            else:
                for a in spec[1]:
                    spec[0][a].rename(old, sid)
            return
        if old is not None:
            return
        owners: tuple[int, ...]
        if not self._trivial[eid]:
            vecs, owners = self._expr_vec, (eid,)
        else:
            vecs, owners = self._term_vec, self._expr_anchor[eid]
        for owner in owners:
            vec = vecs.get(owner)
            if vec is None:
                vec = vecs[owner] = _Ids()
            vec.add(did)

    def _row_places(
        self, eid: int, *, muted: bool
    ) -> list[tuple[dict[int, _Rows], tuple[int, ...], tuple[int, ...]]]:
        """Every (table, anchor terms, key terms) where a link of ``eid`` is a row.

        A muted subscription of bare words (``marissa mayer``) is also a row under the
        implicit phrase, so that, its mute over, it fires on the phrase as an unmuted one.
        """
        spec = self._row_spec(eid, muted=muted)
        places = [] if spec is None else [spec]
        phrase = self._expr_phrase[eid]
        if muted and phrase >= 0:
            places.append((self._muted_rows, (phrase,), (0,)))
        return places

    def _add_rows(self, eid: int, did: int, sid: int, until: float) -> None:
        for table, anchor, keys_ in self._row_places(eid, muted=until != _NOT_MUTED):
            for a in anchor:
                rows = table.get(a)
                if rows is None:
                    rows = table[a] = _Rows()
                for k in keys_:
                    rows.add(k, did, sid, until)

    def _drop_rows(self, eid: int, sid: int, *, muted: bool) -> None:
        for table, anchor, _ in self._row_places(eid, muted=muted):
            for a in anchor:
                rows = table.get(a)
                if rows is not None:
                    rows.drop(sid)
                    if not rows:
                        del table[a]

    def _unlink(self, eid: int, did: int) -> None:
        """Undo ``_link``."""
        sid = self._expr_subs[eid].pop(did)
        if self._deferred:
            return
        phrase = self._expr_phrase[eid]
        if phrase >= 0:
            vec = self._term_vec[phrase]
            vec.remove(did)
            if not vec:
                del self._term_vec[phrase]
        if self._row_spec(eid, muted=False) is not None:
            self._drop_rows(eid, sid, muted=False)
            return
        owners: tuple[int, ...]
        if not self._trivial[eid]:
            vecs, owners = self._expr_vec, (eid,)
        else:
            vecs, owners = self._term_vec, self._expr_anchor[eid]
        for owner in owners:
            vec = vecs[owner]
            vec.remove(did)
            if not vec:
                del vecs[owner]

    def add(self, sub: Subscription, *, _defer: bool = False) -> None:
        """Index (or re-index) one subscription; disabled ones are dropped."""
        key = f"{sub.tenant}/{sub.id}"
        if key in self._sub_ids:
            self.remove(sub.tenant, sub.id)
        if sub.disabled:
            return
        self.add_raw(
            key,
            self._intern(sub.owner),
            f"{sub.tenant}\x00{sub.destination.key}",
            sub.expression,
            sub.mode,
            sub.muted_until,
            _defer=_defer,
        )

    def add_raw(
        self,
        key: str,
        owner: str,
        dest: str,
        expression: str,
        mode: Mode = "instant",
        muted_until: float | None = None,
        *,
        _defer: bool = False,
    ) -> None:
        """Index a subscription from plain values (``key`` is ``tenant/id``)."""
        parsed = self._parsed.get(expression)
        if parsed is None:
            parsed = parse_topic(expression)
            if len(self._parsed) > 100_000:
                self._parsed.clear()
            self._parsed[expression] = parsed
        eid = self._acquire_expr(parsed, _defer)
        did = self._dest_ids.get(dest)
        if did is None:
            did = self._dest_ids[dest] = len(self._dest_key)
            self._dest_key.append(dest)
            tenant = dest.partition("\x00")[0]
            self._dest_tenant.append(self._tenant_ids.setdefault(tenant, len(self._tenant_ids)))
        if self._free_subs:
            sid = self._free_subs.pop()
            self._sub_key[sid] = key
            self._sub_owner[sid] = owner
            self._sub_expr[sid] = eid
            self._sub_dest[sid] = did
            self._sub_mode[sid] = MODES.index(mode)
        else:
            sid = len(self._sub_key)
            self._sub_key.append(key)
            self._sub_owner.append(owner)
            self._sub_expr.append(eid)
            self._sub_dest.append(did)
            self._sub_mode.append(MODES.index(mode))
        self._sub_ids[key] = sid
        if muted_until is not None:
            self._sub_muted[sid] = muted_until
            self._expr_muted.setdefault(eid, {})[did] = (sid, muted_until)
            if not _defer:
                self._add_rows(eid, did, sid, muted_until)
        else:
            self._link(eid, did, sid)

    def ids_of(self, tenant: str) -> list[str]:
        """The ids of one tenant's indexed subscriptions (a scan: for rare repairs only)."""
        prefix = f"{tenant}/"
        return [key[len(prefix):] for key in self._sub_ids if key.startswith(prefix)]

    def remove(self, tenant: str, sub_id: str) -> bool:
        """Drop one subscription from the index; False if it was not there."""
        sid = self._sub_ids.pop(f"{tenant}/{sub_id}", None)
        if sid is None:
            return False
        eid = self._sub_expr[sid]
        did = self._sub_dest[sid]
        if self._sub_muted.pop(sid, None) is not None:
            muted = self._expr_muted.get(eid)
            if muted is not None and muted.get(did, (-1, 0.0))[0] == sid:
                del muted[did]
                if not muted:
                    del self._expr_muted[eid]
            self._drop_rows(eid, sid, muted=True)
        elif self._expr_subs[eid].get(did) == sid:
            self._unlink(eid, did)
        self._sub_key[sid] = None
        self._sub_owner[sid] = ""
        self._free_subs.append(sid)
        if not self._expr_subs[eid] and eid not in self._expr_muted:
            self._release_expr(eid)
        return True

    def _intern(self, text: str) -> str:
        return self._strings.setdefault(text, text)

    def _acquire_term(
        self, phrase: Phrase, written: str, defer: bool, close_to: str | None = None
    ) -> int:
        # A close term (of ``~close_to``) is a term of its own: it is weighed apart.
        ident = phrase_key(phrase) if close_to is None else f"~{close_to}\x00{phrase_key(phrase)}"
        tid = self._term_ids.get(ident)
        if tid is None:
            tid = self._term_ids[ident] = len(self._term_phrase)
            self._term_phrase.append(phrase)
            self._term_label.append(written)
            self._term_refs.append(0)
            if close_to is not None:
                self._weak_of[tid] = close_to
            self._term_keys.append(self._register_keys(tid, phrase, written))
        if not defer and not self._term_refs[tid]:
            for kid in self._term_keys[tid]:
                if not self._in_main[kid]:
                    self._delta_keys[self._key_of(kid)] = kid
                    self._delta_dirty = True
        self._term_refs[tid] += 1
        return tid

    def _register_keys(self, tid: int, phrase: Phrase, written: str) -> tuple[int, ...]:
        """File a new term under its key in every active rule set."""
        kids: dict[int, None] = {}
        for i in range(len(RULESETS)):
            if self._active >> i & 1:
                form = self._form(tid, i)
                if form:
                    kids[self._file(tid, form, 1 << i)] = None
        self._need_of(0)[tid] = self._mentions_needed(tid, "en")  # at build, not in a match
        return tuple(kids)

    def _form(self, tid: int, rules: int) -> Phrase:
        """The term's phrase by rule set number ``rules``."""
        written, phrase = self._term_label[tid], self._term_phrase[tid]
        if rules == 0 or query_phrase(written) != phrase:
            return phrase  # (a label that does not spell the phrase: the phrase itself)
        return query_phrase(written, RULESETS[rules])

    def _file(self, tid: int, form: Phrase, bit: int) -> int:
        """File term ``tid`` under the key of ``form`` for the rule sets in ``bit``."""
        key = phrase_key(form)
        kid = self._key_ids.get(key)
        if kid is None:
            kid = self._key_ids[key] = len(self._key_entries)
            self._key_entries.append([])
            self._set_key_tid(kid, -1)
            self._in_main.append(0)
        entries = self._key_entries[kid]
        for j, (other, mask) in enumerate(entries):
            if other == tid:
                entries[j] = (tid, mask | bit)
                break
        else:
            entries.append((tid, bit))
        self._set_single(kid)
        return kid

    def _set_single(self, kid: int) -> None:
        # The common case, read without masks: one term for the key in every rule set.
        entries = self._key_entries[kid]
        single = len(entries) == 1 and entries[0][1] & self._active == self._active
        self._set_key_tid(kid, entries[0][0] if single else -1)

    def _set_key_tid(self, kid: int, tid: int) -> None:
        table = self._key_tid
        if kid >= len(table):
            grown = np.full(max(2 * len(table), kid + 1), -1, dtype=np.int32)
            grown[: len(table)] = table
            self._key_tid = table = grown
        table[kid] = tid

    def _need_of(self, rules: int) -> IdArray:
        """Body mentions needed per term for rule set ``rules`` (grown to every term)."""
        need = self._need.get(rules)
        size = len(self._term_phrase)
        if need is None or len(need) < size:
            grown = np.zeros(max(64, 2 * size), dtype=np.int32)
            if need is not None:
                grown[: len(need)] = need
            self._need[rules] = need = grown
        return need

    def _activate(self, rules: int) -> None:
        """Start matching articles of rule set ``rules``: file every term under its key.

        Rule sets are added when the first article that needs one arrives, so an index
        builds at the cost of the languages it really meets.
        """
        self._active |= 1 << rules
        refs = self._term_refs
        for tid in range(len(self._term_phrase)):
            form = self._form(tid, rules)
            if not form:
                continue
            kid = self._file(tid, form, 1 << rules)
            if kid not in self._term_keys[tid]:
                self._term_keys[tid] = (*self._term_keys[tid], kid)
            if refs[tid] > 0 and not self._in_main[kid]:
                self._delta_keys[self._key_of(kid)] = kid
                self._delta_dirty = True
        for kid in range(len(self._key_entries)):
            self._set_single(kid)
        log.info("match index: %s articles now matched too", RULESETS[rules])

    def _key_of(self, kid: int) -> str:
        keys_ = self._key_text
        if len(keys_) != len(self._key_entries):
            keys_ = self._key_text = [""] * len(self._key_entries)
            for key, k in self._key_ids.items():
                keys_[k] = key
        return keys_[kid]

    def _acquire_expr(self, parsed: TopicExpression, defer: bool) -> int:
        canon = parsed.canonical
        eid = self._expr_ids.get(canon)
        if eid is not None:
            return eid
        groups = tuple(
            tuple(
                self._acquire_term(p, parsed.label(p), defer, _close_to(parsed, p))
                for p in group
            )
            for group in parsed.groups
        )
        # Bare words typed together ("marissa mayer") are also a name: the phrase being
        # relevant matches on its own, like a one-term expression filed under the phrase.
        implicit = implicit_phrase(parsed)
        phrase = -1 if implicit is None else self._acquire_term(implicit, parsed.text, defer)
        excl = tuple(self._acquire_term(p, parsed.label(p), defer) for p in parsed.excluded)
        # Anchor on the group whose terms are least crowded, to keep candidate lists short.
        anchor = min(groups, key=lambda g: sum(len(self._anchored.get(t, ())) for t in g))
        trivial = len(groups) == 1 and not excl
        if self._free_exprs:
            eid = self._free_exprs.pop()
            self._expr_canon[eid] = canon
            self._expr_groups[eid] = groups
            self._expr_excl[eid] = excl
            self._expr_anchor[eid] = anchor
            self._expr_subs[eid] = {}
            self._trivial[eid] = trivial
            self._expr_phrase[eid] = phrase
        else:
            eid = len(self._expr_canon)
            self._expr_canon.append(canon)
            self._expr_groups.append(groups)
            self._expr_excl.append(excl)
            self._expr_anchor.append(anchor)
            self._expr_subs.append({})
            self._trivial.append(trivial)
            self._expr_phrase.append(phrase)
        self._expr_ids[canon] = eid
        if phrase >= 0:
            self._phrase_exprs.setdefault(phrase, set()).add(eid)
        if len(groups) == 2:
            self._pair(eid, add=True)
        else:
            for tid in anchor:
                self._anchor_map(eid).setdefault(tid, set()).add(eid)
        if len(groups) == 1:
            for tid in excl:
                self._vetoes.setdefault(tid, set()).add(eid)
        return eid

    def _pair(self, eid: int, *, add: bool) -> None:
        """Register (or drop) a two-group expression under each pair of its terms."""
        first, second = self._expr_groups[eid]
        plain = not self._expr_excl[eid]
        ways = ((first, second),) if plain else ((first, second), (second, first))
        registry = self._pair_plain if plain else self._pairs
        for this, other in ways:
            for a in this:
                for b in other:
                    if add:
                        registry.setdefault(a, {}).setdefault(b, set()).add(eid)
                        continue
                    partners = registry[a]
                    partners[b].discard(eid)
                    if not partners[b]:
                        del partners[b]
                        if not partners:
                            del registry[a]

    def _anchor_map(self, eid: int) -> dict[int, set[int]]:
        if self._trivial[eid]:
            return self._anchored_trivial
        if len(self._expr_groups[eid]) == 1:
            return self._anchored_veto if len(self._expr_excl[eid]) == 1 else self._anchored_excl
        return self._anchored

    def _reanchor(self) -> None:
        """Anchor multi-group expressions on their least subscribed group (after a build)."""
        refs = self._term_refs
        for eid, groups in enumerate(self._expr_groups):
            if len(groups) < 3 or self._expr_canon[eid] is None:
                continue
            best = min(groups, key=lambda g: sum(refs[t] for t in g))
            if best == self._expr_anchor[eid]:
                continue
            for tid in self._expr_anchor[eid]:
                anchored = self._anchored[tid]
                anchored.discard(eid)
                if not anchored:
                    del self._anchored[tid]
            self._expr_anchor[eid] = best
            for tid in best:
                self._anchored.setdefault(tid, set()).add(eid)

    def _release_expr(self, eid: int) -> None:
        canon = self._expr_canon[eid]
        if canon is None:
            return
        del self._expr_ids[canon]
        target = self._anchor_map(eid)
        if len(self._expr_groups[eid]) == 2:
            self._pair(eid, add=False)
        if len(self._expr_groups[eid]) == 1:
            for tid in self._expr_excl[eid]:
                vetoed = self._vetoes.get(tid)
                if vetoed is not None:
                    vetoed.discard(eid)
                    if not vetoed:
                        del self._vetoes[tid]
        for tid in self._expr_anchor[eid]:
            anchored = target.get(tid)
            if anchored is not None:
                anchored.discard(eid)
                if not anchored:
                    del target[tid]
        for group in self._expr_groups[eid]:
            for tid in group:
                self._term_refs[tid] -= 1
        for tid in self._expr_excl[eid]:
            self._term_refs[tid] -= 1
        phrase = self._expr_phrase[eid]
        if phrase >= 0:
            self._term_refs[phrase] -= 1
            exprs = self._phrase_exprs[phrase]
            exprs.discard(eid)
            if not exprs:
                del self._phrase_exprs[phrase]
            self._expr_phrase[eid] = -1
        self._expr_vec.pop(eid, None)
        self._expr_canon[eid] = None
        self._expr_groups[eid] = ()
        self._expr_excl[eid] = ()
        self._expr_anchor[eid] = ()
        self._free_exprs.append(eid)

    def _rebuild_main(self) -> None:
        """Build the main automaton over every live term (also drops dead ones)."""
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        in_main = bytearray(len(self._key_entries))
        refs = self._term_refs
        entries = self._key_entries
        for key, kid in self._key_ids.items():
            if any(refs[tid] > 0 for tid, _ in entries[kid]):
                automaton.add_word(key, kid)
                in_main[kid] = 1
        automaton.make_automaton()
        self._main = automaton if len(automaton) else None
        self._in_main = in_main
        self._delta = None
        self._delta_keys = {}
        self._delta_dirty = False

    def _refresh(self) -> None:
        """Bring the automata up to date after incremental adds (cheap: delta only)."""
        if not self._delta_dirty:
            return
        main_size = len(self._main) if self._main is not None else 0
        if len(self._delta_keys) > max(2_000, main_size // 10):
            self._rebuild_main()
            return
        delta = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for key, kid in self._delta_keys.items():
            delta.add_word(key, kid)
        delta.make_automaton()
        self._delta = delta
        self._delta_dirty = False

    # --- matching ---------------------------------------------------------------------

    def evidence(self, card: Card) -> _Evidence:
        """Find every indexed term in the card's own fields."""
        rules = _RULE_INDEX[ruleset(card.language)]
        if not self._active >> rules & 1:
            self._activate(rules)
        self._refresh()
        automata = [a for a in (self._main, self._delta) if a is not None]
        in_rules = 1 << rules
        entries = self._key_entries
        key_tid = self._key_tid
        bits, counts = self._scratch(len(self._term_phrase))
        found_ids: list[IdArray] = []
        try:
            for bit, text in card_fields(card):
                counted = bit & (LEAD | BODY)
                for automaton in automata:
                    # Counted in C: a long body has thousands of hits; then per key, as
                    # arrays (the common key stands for one term in every rule set).
                    found = Counter(map(_SECOND, automaton.iter(text)))
                    if not found:
                        continue
                    kids = np.fromiter(found, np.int32, len(found))
                    times = np.fromiter(found.values(), np.int32, len(found))
                    tids = key_tid[kids]
                    shared = tids < 0
                    if shared.any():
                        more: list[tuple[int, int]] = [
                            (tid, k)
                            for kid, k in zip(
                                kids[shared].tolist(), times[shared].tolist(), strict=True
                            )
                            for tid, mask in entries[kid]
                            if mask & in_rules
                        ]
                        alone = ~shared
                        tids = np.concatenate(
                            (tids[alone], np.array([t for t, _ in more], dtype=np.int32))
                        )
                        times = np.concatenate(
                            (times[alone], np.array([k for _, k in more], dtype=np.int32))
                        )
                    np.bitwise_or.at(bits, tids, bit)
                    if counted:
                        np.add.at(counts, tids, times)
                    found_ids.append(tids)
            if not found_ids:
                return _Evidence(_NO_TERMS, _NO_TERMS, _NO_TERMS, _NO_TERMS)
            present = _unique(np.concatenate(found_ids))
            where = bits[present]
            said = counts[present]
        finally:
            for tids in found_ids:  # leave the scratch zero for the next card
                bits[tids] = 0
                counts[tids] = 0
        strong = (where & STRONG) != 0
        if self._weak_of:
            # A close term (of ``~term``) said once in the lead is not enough.
            weak = np.fromiter(self._weak_of, np.int32, len(self._weak_of))
            strong &= ~(
                np.isin(present, weak) & ((where & (HEADLINE | TOPICS)) == 0) & (said < 2)
            )
        body_only = ~strong & (said > 0)
        need = self._need_of(rules)
        wanted = need[present]
        unknown = body_only & (wanted == 0)
        if unknown.any():
            lang = _word_language(card.language)
            for tid in present[unknown].tolist():
                need[tid] = self._mentions_needed(tid, lang)
            wanted = need[present]
        # A long body says an ordinary word more often in passing: one more mention per
        # WORDS_PER_MENTION words (names of several words and rare words are spared).
        longer = card.body.count(" ") // WORDS_PER_MENTION
        if longer:
            wanted = wanted + np.where(wanted >= self.min_body_mentions, longer, 0)
        relevant = strong | (body_only & (said >= wanted))  # NOT_IN_BODY: more than any
        return _Evidence(present, where, said, present[relevant])

    def _scratch(self, size: int) -> tuple[IdArray, IdArray]:
        """Per-term field bits and mention counts, all zero, for ``size`` terms."""
        if len(self._bits) < size:
            self._bits = np.zeros(2 * size, dtype=np.int32)
            self._counts = np.zeros(2 * size, dtype=np.int32)
        return self._bits, self._counts

    def _mentions_needed(self, tid: int, lang: str) -> int:
        needed = mentions_needed(
            self._term_phrase[tid], self._term_label[tid], lang, self.min_body_mentions
        )
        return needed + 1 if tid in self._weak_of else needed

    def match(self, card: Card, now: float | None = None) -> MatchResult:
        """Destinations whose subscriptions match the card (muted ones skipped if ``now``)."""
        ev = self.evidence(card)
        relevant = ev.relevant
        # One C-level lookup per table over the relevant terms (map/filter, no Python loop).
        arrays: list[IdArray] = list(map(_LIVE, _entries(self._term_vec, relevant)))
        paired = _entries(self._pair_rows, relevant)
        vetoing = _entries(self._veto_rows, relevant)
        lapsing = _entries(self._muted_rows, relevant)
        candidates: set[int] = set().union(*_entries(self._anchored, relevant))
        fired: set[int] = set().union(*_entries(self._anchored_excl, relevant))
        both: set[int] = set()
        for partners in _entries(self._pairs, relevant):
            if len(partners) < len(relevant):
                for other in relevant.intersection(partners):
                    both |= partners[other]
            else:
                for other in relevant:
                    exprs = partners.get(other)
                    if exprs:
                        both |= exprs
        matched: list[int] = []
        if fired or both or candidates:
            present = ev.flags
            if fired:
                vetoes = self._vetoes
                for tid in present:
                    vetoed = vetoes.get(tid)
                    if vetoed:
                        fired -= vetoed
            groups_of = self._expr_groups
            excl_of = self._expr_excl
            matched.extend(fired)
            for eid in both:
                excl = excl_of[eid]
                if excl and any(t in present for t in excl):
                    continue
                matched.append(eid)
            for eid in candidates:
                excl = excl_of[eid]
                if excl and any(t in present for t in excl):
                    continue
                if all(any(t in relevant for t in g) for g in groups_of[eid]):
                    matched.append(eid)
        n_terms = len(self._term_phrase)
        if paired:
            arrays.append(_select(paired, _term_mask(ev.relevant_ids, n_terms), now))
        if vetoing:
            arrays.append(_select(vetoing, ~_term_mask(ev.present, n_terms), now))
        if lapsing:
            arrays.append(_select(lapsing, None, now))
        expr_vec = self._expr_vec
        arrays.extend(map(_LIVE, _entries(expr_vec, matched)))
        extra: list[tuple[int, int, int]] = []
        if self._expr_muted:
            extra = self._lapsed_mutes(relevant, matched, now)
            if extra:
                arrays.append(np.array([did for _, did, _ in extra], dtype=np.int32))
        return MatchResult(self, ev, matched, now, self._distinct(arrays))

    def _distinct(self, arrays: list[IdArray]) -> DestIds:
        """The sorted distinct destination ids in ``arrays`` (C-level, no per-id Python)."""
        if not arrays:
            return _NO_DESTS
        flat = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        size = len(self._dest_key)
        if len(flat) * _SORT_BELOW < size:  # few: sorting beats scanning a bitmap of all
            ordered = np.sort(flat)
            first = np.empty(len(ordered), dtype=np.bool_)
            first[:1] = True
            np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
            return ordered[first].astype(np.intp)
        seen = np.zeros(size, dtype=np.bool_)
        seen[flat] = True
        return np.flatnonzero(seen)

    def _lapsed_mutes(
        self, relevant: set[int], matched: list[int], now: float | None
    ) -> list[tuple[int, int, int]]:
        """Muted subscriptions of matched expressions whose mute is over at ``now``."""
        muted_of = self._expr_muted
        exprs = muted_of.keys() & matched  # rows cover the trivial, ``a b`` and ``a -b`` ones
        return [
            (eid, did, sid)
            for eid in exprs
            for did, (sid, until) in muted_of.get(eid, {}).items()
            if now is None or until <= now
        ]

    def explain(self, card: Card, expression: str) -> Explanation:
        """Why ``expression`` would (not) match ``card`` (raises TopicError if invalid)."""
        parsed = parse_topic(expression)
        probe = MatchIndex(self.min_body_mentions)
        probe.add_raw("probe/1", "", "probe\x00dm:probe", parsed.text)
        ev = probe.evidence(card)
        eid = probe._expr_ids[parsed.canonical]
        terms = [
            ev.hit(tid, probe._term_phrase[tid], parsed.shown(probe._term_phrase[tid]))
            for tid in probe._expr_terms(eid)
            if tid in ev.relevant
        ]
        excluded = [
            ev.hit(tid, probe._term_phrase[tid], parsed.label(probe._term_phrase[tid]))
            for tid in probe._expr_excl[eid]
            if tid in ev.flags
        ]
        matched = bool(probe.match(card))
        score = sum(h.score for h in terms) if matched else 0.0
        return Explanation(parsed.text, matched, tuple(terms), tuple(excluded), score)

    # used by MatchResult
    def _destination(self, did: int) -> Destination:
        dest = self._dest_obj.get(did)
        if dest is None:
            tenant, _, dest_key = self._dest_key[did].partition("\x00")
            dest = self._dest_obj[did] = Destination.parse(tenant, dest_key)
        return dest

    def _hits_for(self, eid: int, ev: _Evidence) -> tuple[tuple[TermHit, ...], float]:
        phrases = self._term_phrase
        weak = self._weak_of
        hits = tuple(
            ev.hit(tid, phrases[tid], f"{self._term_label[tid]} (~{weak[tid]})")
            if tid in weak
            else ev.hit(tid, phrases[tid])
            for tid in self._expr_terms(eid)
            if tid in ev.relevant
        )
        return hits, sum(h.score for h in hits)

    def _expr_terms(self, eid: int) -> list[int]:
        """The terms that can make an expression match (its implicit phrase last)."""
        terms = [tid for group in self._expr_groups[eid] for tid in group]
        phrase = self._expr_phrase[eid]
        return [*terms, phrase] if phrase >= 0 else terms


class MatchResult(Sequence[DestinationMatch]):
    """The destinations a card goes to: distinct ids at once, per-destination detail lazily.

    Walk it before the index is updated again (the Matcher only updates it between
    awaits, so a synchronous loop over the result is always consistent).
    """

    def __init__(
        self,
        index: MatchIndex,
        evidence: _Evidence,
        matched: list[int],
        now: float | None,
        ids: DestIds,
    ) -> None:
        self._index = index
        self._evidence = evidence
        self._matched_nontrivial = matched
        self._now = now
        self._ids = ids
        self._items: list[DestinationMatch] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def for_tenants(self, tenants: Collection[str]) -> MatchResult:
        """The part of the result in ``tenants``, chosen by id before any object is built.

        An article shared in one tenant (or a feed's) may match 80k destinations
        elsewhere; building only the tenant's keeps the cost to what is posted (the
        choice itself is one C-level pass over the ids).
        """
        index = self._index
        codes = [index._tenant_ids[t] for t in tenants if t in index._tenant_ids]
        kept = _NO_DESTS
        if codes and len(self._ids):
            owners = np.frombuffer(index._dest_tenant, dtype=np.int32)
            try:
                kept = self._ids[np.isin(owners[self._ids], codes)]
            finally:
                del owners  # a live view would stop the array from growing
        return MatchResult(index, self._evidence, self._matched_nontrivial, self._now, kept)

    @property
    def destination_ids(self) -> DestIds:
        """Internal destination ids, distinct and ascending (read-only array)."""
        return self._ids

    @property
    def expression_ids(self) -> set[int]:
        """Internal ids of every expression that fired."""
        index = self._index
        exprs = set(self._matched_nontrivial)
        relevant = self._evidence.relevant
        present = self._evidence.flags
        for tid in relevant:
            fired = index._anchored_trivial.get(tid)
            if fired:
                exprs |= fired
            partners = index._pair_plain.get(tid)
            if partners:
                for other in relevant.intersection(partners):
                    exprs |= partners[other]
            for eid in index._anchored_veto.get(tid, ()):
                if index._expr_excl[eid][0] not in present:
                    exprs.add(eid)
            fired = index._phrase_exprs.get(tid)
            if fired:
                exprs |= fired
        return exprs

    def _materialise(self) -> list[DestinationMatch]:
        """One object per destination id of the result, from its subscriptions that fired.

        The cost follows the destinations built: their subscriptions are found by one
        C-level pass over the subscriptions' destinations, then each is checked against
        the expressions that fired (never a walk over everything that matched).
        """
        if self._items is not None:
            return self._items
        if not len(self._ids):
            self._items = []
            return self._items
        # Hundreds of thousands of new objects, none in a cycle: with the collector on,
        # each full collection walks all made so far (quadratic; 3-4x the build time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._items = self._build()
        finally:
            if collecting:
                gc.enable()
        return self._items

    def _build(self) -> list[DestinationMatch]:
        index = self._index
        ids = self._ids
        wanted = np.zeros(len(index._dest_key), dtype=np.bool_)
        wanted[ids] = True
        sub_dest = index._sub_dest
        view = np.frombuffer(sub_dest, dtype=np.int32)
        try:
            sids: list[int] = np.flatnonzero(wanted[view]).tolist()
        finally:
            del view  # a live view would stop the array from growing
        fired = self.expression_ids
        now = self._now
        sub_key = index._sub_key
        sub_expr = index._sub_expr
        expr_subs = index._expr_subs
        expr_muted = index._expr_muted
        per_expr: dict[int, tuple[tuple[TermHit, ...], float]] = {}
        grouped: dict[int, list[SubscriptionMatch]] = {}
        for sid in sids:
            key = sub_key[sid]
            eid = sub_expr[sid]
            if key is None or eid not in fired:
                continue  # a free slot, or an expression that did not fire
            did = sub_dest[sid]
            if expr_subs[eid].get(did) != sid:  # not linked: muted (or a duplicate)
                entry = expr_muted.get(eid, {}).get(did)
                if entry is None or entry[0] != sid or (now is not None and entry[1] > now):
                    continue
            found = per_expr.get(eid)
            if found is None:
                found = per_expr[eid] = index._hits_for(eid, self._evidence)
            tenant, _, sub_id = key.rpartition("/")
            match = SubscriptionMatch(
                sub_id,
                tenant,
                index._sub_owner[sid],
                index._expr_canon[eid] or "",
                MODES[index._sub_mode[sid]],
                found[0],
                found[1],
            )
            entry_list = grouped.get(did)
            if entry_list is None:
                grouped[did] = [match]
            else:
                entry_list.append(match)
        items = [
            DestinationMatch(index._destination(did), tuple(grouped[did]))
            for did in ids.tolist()
            if did in grouped
        ]
        return items

    @overload
    def __getitem__(self, i: int) -> DestinationMatch: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[DestinationMatch]: ...

    def __getitem__(self, i: int | slice) -> DestinationMatch | Sequence[DestinationMatch]:
        return self._materialise()[i]

    def __iter__(self) -> Iterator[DestinationMatch]:
        return iter(self._materialise())


class Matcher:
    """A MatchIndex loaded from Redis and kept current by following the change stream."""

    def __init__(
        self,
        store: SubscriptionStore,
        *,
        min_body_mentions: int = 2,
        block_ms: int = 500,
        reconcile_s: float = 30.0,
    ) -> None:
        self.store = store
        self.min_body_mentions = min_body_mentions
        self.block_ms = block_ms
        self.reconcile_s = reconcile_s
        self.index = MatchIndex(min_body_mentions)
        self.position = "0-0"
        self.seen = 0  # how many changes were ever added up to ``position``
        # Each tenant's subscription version this index reflects (see ``reconcile``).
        self.versions: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Build the index from every stored subscription (position taken first)."""
        position, seen = await self.store.changes_state()
        versions = await self.store.versions()  # before reading: later writes are newer
        subs = [sub async for sub in self.store.all_subscriptions()]
        index = MatchIndex(self.min_body_mentions)
        index.build(subs)
        del subs
        self.index = index
        # The index is millions of long-lived objects: move them out of the collector's
        # sight so that a full collection (a pause inside some match) stays short.
        gc.collect()
        gc.freeze()
        self.position = position
        self.seen = seen
        self.versions = versions
        log.info("match index loaded: %d subscriptions", len(index))

    async def start(self) -> None:
        """Load, then follow changes in the background."""
        await self.load()
        self._task = asyncio.create_task(self._follow(), name="matcher-follow")

    async def stop(self) -> None:
        """Stop following changes."""
        await cancel_and_wait(self._task)
        self._task = None

    async def __aenter__(self) -> Matcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def match(self, card: Card, now: float | None = None) -> MatchResult:
        """See ``MatchIndex.match``."""
        return self.index.match(card, now)

    async def sync(self, block_ms: int | None = None) -> int:
        """Apply the changes published since the last sync; returns how many."""
        changes = await self.store.read_changes(self.position, block_ms=block_ms)
        if not changes:
            return 0
        if await self.store.missed_changes(self.seen):
            log.warning("change stream trimmed past %s: reloading the index", self.position)
            await self.load()
            return len(changes)
        touched = {(c.tenant, c.sub_id): None for c in changes}
        pipe = self.store.redis.pipeline(transaction=False)
        for tenant, sub_id in touched:
            pipe.hgetall(keys.sub_key(tenant, sub_id))
        rows: list[dict[str, str]] = await pipe.execute()
        for (tenant, sub_id), row in zip(touched, rows, strict=True):
            if row:
                self.index.add(Subscription.from_fields(row))
            else:
                self.index.remove(tenant, sub_id)
        for change in changes:
            if change.version > self.versions.get(change.tenant, 0):
                self.versions[change.tenant] = change.version
        self.position = changes[-1].stream_id
        self.seen += len(changes)
        return len(changes)

    async def reconcile(self) -> int:
        """Re-read tenants whose writes outran the change stream; how many were repaired.

        A writer that dies between its write and its publish leaves the stream silent;
        the tenant's version (bumped inside the write) then differs from the last one
        applied here, and that tenant is read again from Redis.
        """
        repaired = 0
        for tenant, version in (await self.store.versions()).items():
            if version == self.versions.get(tenant, 0):
                continue
            subs = await self.store.tenant_subscriptions(tenant)
            present = {sub.id for sub in subs}
            for sub_id in self.index.ids_of(tenant):
                if sub_id not in present:
                    self.index.remove(tenant, sub_id)
            for sub in subs:
                self.index.add(sub)
            self.versions[tenant] = version
            repaired += 1
            log.info("subscriptions of %s re-read (version %d)", tenant, version)
        return repaired

    async def _follow(self) -> None:
        next_check = time.monotonic() + self.reconcile_s
        while True:
            try:
                await self.sync(block_ms=self.block_ms)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.reconcile_s
                    await self.reconcile()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                # An outage is not a bug: one line, no traceback.
                log.warning("following subscription changes: Redis error, retrying in 1 s: %s",
                            exc)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("following subscription changes failed; retrying in 1 s")
                await asyncio.sleep(1.0)

