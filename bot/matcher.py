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

Relevance: a term counts if it appears in the headline, summary, lead (first two
paragraphs) or topics, or at least ``min_body_mentions`` times in the body (default 2,
setting ``NEWSBOT_MATCH_MIN_BODY_MENTIONS``): one passing mention deep in a long body
does not match. An excluded term vetoes if it appears anywhere in the article's own
content. Page clutter never reaches the card, so it never counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import ahocorasick

from . import keys
from .card import Card
from .subscriptions import MODES, Destination, Mode, Subscription, SubscriptionStore
from .topics import Phrase, TopicExpression, normalised_text, parse_topic, phrase_key

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
# Terms reaching at least this many destinations keep them as a bitmask too.
MASK_MIN = 256
_BITS = bytes(1 << i for i in range(8))


def _mask_of(dests: Iterable[int], size: int) -> int:
    """A bitmask (int) with the bit of every destination id set."""
    bits = bytearray((size + 7) >> 3)
    for did in dests:
        bits[did >> 3] |= _BITS[did & 7]
    return int.from_bytes(bits, "little")


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
    """Per-term evidence for one card: field flags and body counts."""

    __slots__ = ("body", "flags", "min_body", "relevant")

    def __init__(self, flags: dict[int, int], body: dict[int, int], min_body: int) -> None:
        self.flags = flags
        self.body = body
        self.min_body = min_body
        self.relevant = {
            t for t, f in flags.items() if f & STRONG or body.get(t, 0) >= min_body
        }

    def hit(self, term_id: int, phrase: Phrase, label: str | None = None) -> TermHit:
        flags = self.flags.get(term_id, 0)
        count = self.body.get(term_id, 0)
        where = tuple(name for bit, name in FIELDS if flags & bit)
        score = sum(w for bit, w in WEIGHTS.items() if flags & bit)
        score += BODY_MENTION_WEIGHT * min(count, BODY_MENTION_CAP)
        return TermHit(label or " ".join(phrase), where, count, score)


def card_fields(card: Card) -> list[tuple[int, str]]:
    """The card's own content, normalised once per field into padded token strings."""
    paragraphs = card.body.split("\n\n")
    lead = "\n\n".join(paragraphs[:2])
    rest = "\n\n".join(paragraphs[2:])
    topics = "|".join(normalised_text(t) for t in card.topics)
    out = [
        (HEADLINE, normalised_text(card.headline)),
        (SUMMARY, normalised_text(card.summary)),
        (LEAD, normalised_text(lead)),
        (TOPICS, " " + topics + " "),
        (BODY, normalised_text(rest)),
    ]
    return [(bit, text) for bit, text in out if len(text) > 2]


class MatchIndex:
    """The in-process index of subscriptions; add/remove are incremental."""

    def __init__(self, min_body_mentions: int = 2) -> None:
        self.min_body_mentions = min_body_mentions
        # terms
        self._term_ids: dict[str, int] = {}
        self._term_phrase: list[Phrase] = []
        self._term_refs: array[int] = array("i")
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
        self._pairs: dict[int, dict[int, set[int]]] = {}
        self._trivial = bytearray()  # one group, no exclusions: an anchor hit is a match
        # term -> {destination: how many trivial expressions of the term reach it}, and
        # for popular terms the same set as a bitmask (an int), so that expanding an
        # article to 100 000 destinations is a few big-int ORs, not a Python loop.
        self._term_dests: dict[int, dict[int, int]] = {}
        self._term_mask: dict[int, int] = {}
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
        self._strings: dict[str, str] = {}

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
        for tid, dests in self._term_dests.items():
            if len(dests) >= MASK_MIN and tid not in self._term_mask:
                self._term_mask[tid] = _mask_of(dests, len(self._dest_key))
        self._reanchor()
        self._rebuild_main()

    def _link(self, eid: int, did: int, sid: int) -> None:
        """Record that subscription ``sid`` of expression ``eid`` delivers to ``did``."""
        self._expr_subs[eid][did] = sid
        if not self._trivial[eid]:
            return
        for tid in self._expr_anchor[eid]:
            dests = self._term_dests.get(tid)
            if dests is None:
                dests = self._term_dests[tid] = {}
            refs = dests.get(did, 0)
            dests[did] = refs + 1
            if refs == 0 and not self._deferred:
                mask = self._term_mask.get(tid)
                if mask is not None:
                    self._term_mask[tid] = mask | (1 << did)
                elif len(dests) >= MASK_MIN:
                    self._term_mask[tid] = _mask_of(dests, len(self._dest_key))

    def _unlink(self, eid: int, did: int) -> None:
        """Undo ``_link``."""
        del self._expr_subs[eid][did]
        if not self._trivial[eid]:
            return
        for tid in self._expr_anchor[eid]:
            dests = self._term_dests[tid]
            refs = dests[did] - 1
            if refs:
                dests[did] = refs
                continue
            del dests[did]
            mask = self._term_mask.get(tid)
            if mask is not None:
                if len(dests) < MASK_MIN // 2:
                    del self._term_mask[tid]
                else:
                    self._term_mask[tid] = mask & ~(1 << did)
            if not dests:
                del self._term_dests[tid]

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
        else:
            self._link(eid, did, sid)

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

    def _acquire_term(self, phrase: Phrase, defer: bool) -> int:
        key = phrase_key(phrase)
        tid = self._term_ids.get(key)
        if tid is None:
            tid = self._term_ids[key] = len(self._term_phrase)
            self._term_phrase.append(phrase)
            self._term_refs.append(0)
            self._in_main.append(0)
        if not defer and not self._in_main[tid] and key not in self._delta_keys:
            self._delta_keys[key] = tid
            self._delta_dirty = True
        self._term_refs[tid] += 1
        return tid

    def _acquire_expr(self, parsed: TopicExpression, defer: bool) -> int:
        canon = parsed.canonical
        eid = self._expr_ids.get(canon)
        if eid is not None:
            return eid
        groups = tuple(
            tuple(self._acquire_term(p, defer) for p in group) for group in parsed.groups
        )
        excl = tuple(self._acquire_term(p, defer) for p in parsed.excluded)
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
        else:
            eid = len(self._expr_canon)
            self._expr_canon.append(canon)
            self._expr_groups.append(groups)
            self._expr_excl.append(excl)
            self._expr_anchor.append(anchor)
            self._expr_subs.append({})
            self._trivial.append(trivial)
        self._expr_ids[canon] = eid
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
        for this, other in ((first, second), (second, first)):
            for a in this:
                for b in other:
                    if add:
                        self._pairs.setdefault(a, {}).setdefault(b, set()).add(eid)
                        continue
                    partners = self._pairs[a]
                    partners[b].discard(eid)
                    if not partners[b]:
                        del partners[b]
                        if not partners:
                            del self._pairs[a]

    def _anchor_map(self, eid: int) -> dict[int, set[int]]:
        if self._trivial[eid]:
            return self._anchored_trivial
        if len(self._expr_groups[eid]) == 1:
            return self._anchored_excl
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
        self._expr_canon[eid] = None
        self._expr_groups[eid] = ()
        self._expr_excl[eid] = ()
        self._expr_anchor[eid] = ()
        self._free_exprs.append(eid)

    def _rebuild_main(self) -> None:
        """Build the main automaton over every live term (also drops dead ones)."""
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        in_main = bytearray(len(self._term_phrase))
        refs = self._term_refs
        for key, tid in self._term_ids.items():
            if refs[tid] > 0:
                automaton.add_word(key, tid)
                in_main[tid] = 1
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
        for key, tid in self._delta_keys.items():
            delta.add_word(key, tid)
        delta.make_automaton()
        self._delta = delta
        self._delta_dirty = False

    # --- matching ---------------------------------------------------------------------

    def evidence(self, card: Card) -> _Evidence:
        """Find every indexed term in the card's own fields."""
        self._refresh()
        automata = [a for a in (self._main, self._delta) if a is not None]
        flags: dict[int, int] = {}
        body: dict[int, int] = {}
        for bit, text in card_fields(card):
            counts = bit & (LEAD | BODY)
            for automaton in automata:
                for _end, tid in automaton.iter(text):
                    flags[tid] = flags.get(tid, 0) | bit
                    if counts:
                        body[tid] = body.get(tid, 0) + 1
        return _Evidence(flags, body, self.min_body_mentions)

    def match(self, card: Card, now: float | None = None) -> MatchResult:
        """Destinations whose subscriptions match the card (muted ones skipped if ``now``)."""
        ev = self.evidence(card)
        relevant = ev.relevant
        present = ev.flags
        mask = 0
        small: set[int] = set()
        term_mask = self._term_mask
        term_dests = self._term_dests
        anchored = self._anchored
        anchored_excl = self._anchored_excl
        pairs = self._pairs
        candidates: set[int] = set()
        fired: set[int] = set()
        both: set[int] = set()
        for tid in relevant:
            m = term_mask.get(tid)
            if m is not None:
                mask |= m
            else:
                dests = term_dests.get(tid)
                if dests:
                    small.update(dests)
            exprs = anchored.get(tid)
            if exprs:
                candidates |= exprs
            exprs = anchored_excl.get(tid)
            if exprs:
                fired |= exprs
            partners = pairs.get(tid)
            if partners:
                if len(partners) < len(relevant):
                    for other in relevant.intersection(partners):
                        both |= partners[other]
                else:
                    for other in relevant:
                        exprs = partners.get(other)
                        if exprs:
                            both |= exprs
        subs_of = self._expr_subs
        if fired:
            vetoes = self._vetoes
            for tid in present:
                vetoed = vetoes.get(tid)
                if vetoed:
                    fired -= vetoed
            for eid in fired:
                small.update(subs_of[eid])
        groups_of = self._expr_groups
        excl_of = self._expr_excl
        matched: list[int] = list(fired)
        for eid in both:
            excl = excl_of[eid]
            if excl and any(t in present for t in excl):
                continue
            matched.append(eid)
            small.update(subs_of[eid])
        for eid in candidates:
            excl = excl_of[eid]
            if excl and any(t in present for t in excl):
                continue
            if all(any(t in relevant for t in g) for g in groups_of[eid]):
                matched.append(eid)
                small.update(subs_of[eid])
        extra: list[tuple[int, int, int]] = []
        if self._expr_muted:
            extra = self._lapsed_mutes(relevant, matched, now)
            small.update(did for _, did, _ in extra)
        if small:
            bits = bytearray((len(self._dest_key) + 7) >> 3)
            for did in small:
                bits[did >> 3] |= _BITS[did & 7]
            mask |= int.from_bytes(bits, "little")
        return MatchResult(self, ev, matched, extra, mask)

    def _lapsed_mutes(
        self, relevant: set[int], matched: list[int], now: float | None
    ) -> list[tuple[int, int, int]]:
        """Muted subscriptions of matched expressions whose mute is over at ``now``."""
        muted_of = self._expr_muted
        exprs = set(matched)
        for tid in relevant:
            for eid in self._anchored_trivial.get(tid, ()):
                if eid in muted_of:
                    exprs.add(eid)
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
            ev.hit(tid, probe._term_phrase[tid], parsed.label(probe._term_phrase[tid]))
            for group in probe._expr_groups[eid]
            for tid in group
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
        hits = tuple(
            ev.hit(tid, phrases[tid])
            for group in self._expr_groups[eid]
            for tid in group
            if tid in ev.relevant
        )
        return hits, sum(h.score for h in hits)


class MatchResult(Sequence[DestinationMatch]):
    """The destinations a card goes to: a bitmask at once, per-destination detail lazily.

    Walk it before the index is updated again (the Matcher only updates it between
    awaits, so a synchronous loop over the result is always consistent).
    """

    def __init__(
        self,
        index: MatchIndex,
        evidence: _Evidence,
        matched: list[int],
        extra: list[tuple[int, int, int]],
        mask: int,
    ) -> None:
        self._index = index
        self._evidence = evidence
        self._matched_nontrivial = matched
        self._extra = extra  # (expr, dest, sub) of mutes that are over
        self.mask = mask
        self._count = mask.bit_count()
        self._items: list[DestinationMatch] | None = None

    def __len__(self) -> int:
        return self._count

    @property
    def destination_ids(self) -> Iterator[int]:
        """Internal destination ids, from the bitmask."""
        data = self.mask.to_bytes((self.mask.bit_length() + 7) >> 3, "little")
        for i, byte in enumerate(data):
            while byte:
                low = byte & -byte
                yield (i << 3) + low.bit_length() - 1
                byte ^= low

    @property
    def expression_ids(self) -> set[int]:
        """Internal ids of every expression that fired."""
        index = self._index
        exprs = set(self._matched_nontrivial)
        for tid in self._evidence.relevant:
            fired = index._anchored_trivial.get(tid)
            if fired:
                exprs |= fired
        return exprs

    def _materialise(self) -> list[DestinationMatch]:
        if self._items is not None:
            return self._items
        index = self._index
        per_expr: dict[int, tuple[tuple[TermHit, ...], float]] = {}
        grouped: dict[int, list[SubscriptionMatch]] = {}

        def make(eid: int, sid: int) -> SubscriptionMatch:
            hits, score = per_expr[eid]
            key = index._sub_key[sid] or "/"
            tenant, _, sub_id = key.rpartition("/")
            return SubscriptionMatch(
                sub_id,
                tenant,
                index._sub_owner[sid],
                index._expr_canon[eid] or "",
                MODES[index._sub_mode[sid]],
                hits,
                score,
            )

        for eid in self.expression_ids:
            per_expr[eid] = index._hits_for(eid, self._evidence)
            for did, sid in index._expr_subs[eid].items():
                entry = grouped.get(did)
                if entry is None:
                    grouped[did] = [make(eid, sid)]
                else:
                    entry.append(make(eid, sid))
        for eid, did, sid in self._extra:
            if eid not in per_expr:
                per_expr[eid] = index._hits_for(eid, self._evidence)
            grouped.setdefault(did, []).append(make(eid, sid))
        items = [
            DestinationMatch(index._destination(did), tuple(subs))
            for did, subs in grouped.items()
        ]
        self._items = items
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
    ) -> None:
        self.store = store
        self.min_body_mentions = min_body_mentions
        self.block_ms = block_ms
        self.index = MatchIndex(min_body_mentions)
        self.position = "0-0"
        self.seen = 0  # how many changes were ever added up to ``position``
        self._task: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Build the index from every stored subscription (position taken first)."""
        position, seen = await self.store.changes_state()
        subs = [sub async for sub in self.store.all_subscriptions()]
        index = MatchIndex(self.min_body_mentions)
        index.build(subs)
        self.index = index
        self.position = position
        self.seen = seen
        log.info("match index loaded: %d subscriptions", len(index))

    async def start(self) -> None:
        """Load, then follow changes in the background."""
        await self.load()
        self._task = asyncio.create_task(self._follow(), name="matcher-follow")

    async def stop(self) -> None:
        """Stop following changes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
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
        self.position = changes[-1].stream_id
        self.seen += len(changes)
        return len(changes)

    async def _follow(self) -> None:
        while True:
            try:
                await self.sync(block_ms=self.block_ms)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following subscription changes failed; retrying in 1 s")
                await asyncio.sleep(1.0)

