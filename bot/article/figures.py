"""Key figures: the numbers that matter in an article, each with a label from its context."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.card import KeyFigure

from .dates import MONTH_PATTERN
from .text import split_sentences

_NUM = r"\d+(?:[.,]\d+)*"
_SCALE = r"(?:\s?(?:million|billion|trillion|thousand|bn|mn|m|k|milliards?|millions?|" \
         r"mrd\.?|mio\.?|millones|mil millones))?"
_CURRENCY_WORDS = r"(?:dollars?|euros?|pounds?|yuan|yen|rupees?|francs?|roubles?|rubles?|" \
                  r"usd|eur|gbp|chf|dólares|libras)"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("money", re.compile(rf"(?:US\$|A\$|C\$|[$€£¥₹])\s?{_NUM}{_SCALE}\b", re.I)),
    ("money", re.compile(rf"\b{_NUM}{_SCALE}\s?(?:{_CURRENCY_WORDS}|[€£$])(?!\w)", re.I)),
    ("percent", re.compile(
        rf"\b{_NUM}\s?(?:%|percent\b|per cent\b|pour cent\b|prozent\b|por ciento\b|"
        r"per cento\b|procent\b)", re.I)),
    ("date", re.compile(
        rf"\b(?:[0-3]?\d\.?\s+(?:de\s+)?)?(?:{MONTH_PATTERN})\.?\s+(?:[0-3]?\d,?\s+)?"
        r"(?:de\s+)?(?:19|20)\d\d\b", re.I)),
    ("duration", re.compile(
        rf"\b{_NUM}\s(?:years?|months?|weeks?|days?|hours?|minutes?|decades?|centuries)\b",
        re.I)),
    ("measure", re.compile(
        rf"\b{_NUM}\s?(?:km|kilomet(?:er|re)s?|miles?|kg|kilograms?|tonnes?|tons?|mw|gw|"
        r"mph|km/h|square (?:kilomet(?:er|re)s|miles)|hectares?|acres?|met(?:er|re)s|feet|"
        r"°c|°f|degrees)(?![\w])", re.I)),
    ("count", re.compile(
        rf"(?<![\w.,:/$€£¥-]){_NUM}{_SCALE}(?![\w%]|[.,:/]\d|\s?[%€£$])", re.I)),
]
_WEIGHT = {"money": 3.0, "percent": 3.0, "count": 2.5, "measure": 2.0, "duration": 1.5,
           "date": 1.0}
_STOP = frozenset(
    "the a an of to in on at for from by with and or but as than that this these those "
    "is are was were be been being have has had will would could can may might should "
    "its their his her our your my he she they it we you who which what when where while "
    "per each about over under more less most least some any all no not only also just "
    "since until after before during into onto up down out off so if then there here "
    "last past next first below above beneath higher lower across around among between "
    "behind beyond within without via "
    "le la les de des du un une et en au aux der die das den dem und von zu im el los "
    "las y del al".split()
)
_AUX = frozenset("have has had been be being were was are is will would".split())
_NOT_VERBS = frozenset(
    "during including according following morning evening nothing something anything "
    "everything thing king ring spring meeting funding housing training wedding ceiling "
    "building clothing wing sibling shooting bombing killing fighting".split()
)
_IRREGULAR = {
    "withdraw": "withdrawn", "take": "taken", "give": "given", "send": "sent", "build": "built",
    "sell": "sold", "buy": "bought", "lose": "lost", "hold": "held", "bring": "brought",
    "fight": "fought", "leave": "left", "make": "made", "pay": "paid", "spend": "spent",
    "cut": "cut", "hit": "hit", "set": "set", "put": "put", "keep": "kept", "win": "won",
    "find": "found", "write": "written", "steal": "stolen", "shoot": "shot", "choose": "chosen",
    "grow": "grown", "drive": "driven", "fly": "flown", "lend": "lent", "raise": "raised",
}
_WORD = re.compile(r"[\w'’-]+|[^\w\s]")
_MONTH_WORD = re.compile(rf"(?:{MONTH_PATTERN})\b", re.I)
_SCALE_RE = re.compile(r"\b(million|billion|trillion|bn|mn|milliards?|millones)\b", re.I)
_DIGIT = re.compile(r"\d")
_SCALES = frozenset("million billion trillion thousand bn mn m k".split())
_CHANGE_VERBS = frozenset(
    "rose rise rises risen fell fall falls fallen grew grow grows increased increase "
    "decreased decrease climbed climb jumped jump dropped drop reached reach reaches "
    "totalled totaled total totals hit soared surged slumped declined doubled".split()
)


@dataclass
class _Candidate:
    kind: str
    value: str
    label: str
    sentence: str
    score: float
    order: int


def _participle(gerund: str) -> str:
    stem = gerund[:-3]
    if stem in _IRREGULAR:
        return _IRREGULAR[stem]
    if stem + "e" in _IRREGULAR:
        return _IRREGULAR[stem + "e"]
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem + "ed"  # stopping -> stopped
    return stem + "ed"


def _label_after(tokens: list[str]) -> tuple[str, list[str]]:
    """Noun phrase right after a number (up to four words) and the tokens after it."""
    words: list[str] = []
    i = 0
    if len(tokens) > 1 and tokens[0].lower() == "of":
        i = 1  # "28,000 square kilometres of fjords"
    while i < len(tokens) and len(words) < 4:
        tok = tokens[i]
        if not re.match(r"\w", tok) or tok.lower() in _STOP or tok[0].isdigit():
            break
        if words and tok.lower().endswith("ing"):
            break  # "a line linking ..." ends the noun phrase
        if not words and re.fullmatch(r"[a-z]+ed", tok):
            break  # "2 percent compared with ...": a verb, not what was counted
        words.append(tok)
        i += 1
    return " ".join(words), tokens[i:]


def _label_before(tokens: list[str]) -> str:
    """Up to six words before a figure, cut at the start of its clause."""
    words: list[str] = []
    for tok in reversed(tokens):
        if not re.match(r"\w", tok) or tok[0].isdigit() or tok.lower() in _SCALES:
            break
        words.append(tok)
        if len(words) >= 6:
            break
    words.reverse()
    while words and words[-1].lower() in _STOP:
        words.pop()
    while words and words[0].lower() in _STOP:
        words.pop(0)
    return " ".join(words)


def _subject_of_change(tokens: list[str]) -> str:
    """"passenger journeys rose 18% to" -> "passenger journeys": what went up or down."""
    words = [t for t in tokens[-8:]]
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower() in _CHANGE_VERBS:
            subject = [w for w in words[max(0, i - 3) : i] if re.match(r"\w", w)]
            while subject and subject[0].lower() in _STOP:
                subject.pop(0)
            return " ".join(subject)
    return ""


def _label(kind: str, before: str, after: str) -> tuple[str, bool]:
    """The label for a figure, and whether it names the thing counted (a strong label)."""
    tb, ta = _WORD.findall(before), _WORD.findall(after)
    if kind in ("count", "money", "percent", "measure"):
        noun, rest = _label_after(ta)
        if not noun:
            subject = _subject_of_change(tb)
            if subject:
                return subject, True
        if kind == "count" and (not noun or _MONTH_WORD.match(noun)):
            return "", False  # "4 March" is a date, not a count of Marches
        if noun:
            # "50 personnel have been killed" -> "personnel killed"
            aux = [t for t in rest[:3] if t.lower() in _AUX]
            if aux and len(rest) > len(aux) and re.fullmatch(r"[a-z]+(ed|en)", rest[len(aux)]):
                return f"{noun} {rest[len(aux)]}", True
            # "withdrawing 25 aircraft" -> "aircraft being withdrawn"
            prev = [t for t in tb[-2:] if re.match(r"\w", t)]
            if prev and prev[-1].lower().endswith("ing") and prev[-1].lower() not in _NOT_VERBS:
                return f"{noun} being {_participle(prev[-1].lower())}", True
            if kind != "count":
                context = _label_before(tb)
                return (f"{noun} ({context})" if context else noun), True
            return noun, True
    return _label_before(tb), False


def key_figures(body: str, headline: str = "", limit: int = 5) -> tuple[KeyFigure, ...]:
    """The most important numbers of the article, most important first."""
    candidates: list[_Candidate] = []
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    order = 0
    sources = [(headline, 3.0)] if headline else []
    # The lead carries what matters most; the bonus fades over the first paragraphs.
    sources += [(p, max(0.0, 1.5 - 0.5 * i)) for i, p in enumerate(paragraphs)]
    for text, bonus in sources:
        if not _DIGIT.search(text):
            continue  # every figure has a digit: most paragraphs need no sentence split
        for sentence in split_sentences(text):
            if not _DIGIT.search(sentence):
                continue
            taken: list[tuple[int, int]] = []
            for kind, pattern in _PATTERNS:
                for m in pattern.finditer(sentence):
                    if any(s < m.end() and m.start() < e for s, e in taken):
                        continue
                    value = m.group(0).strip()
                    if kind == "count" and re.fullmatch(r"(19|20)\d\d", value):
                        continue  # a bare year is a date, and rarely the point
                    taken.append((m.start(), m.end()))
                    label, strong = _label(kind, sentence[: m.start()], sentence[m.end():])
                    if not label:
                        continue
                    score = _WEIGHT[kind] + bonus + min(len(label.split()), 3) * 0.2
                    score += (0.0 if strong else -1.5) + (0.5 if _SCALE_RE.search(value) else 0)
                    order += 1
                    candidates.append(_Candidate(kind, value, label, sentence, score, order))
    # Greedy pick; each figure of a kind already chosen costs the next one of that kind,
    # so five percentages don't crowd out the one count that tells the story.
    chosen: list[_Candidate] = []
    pool = {c.value.lower(): c for c in sorted(candidates, key=lambda c: (c.score, -c.order))}
    while pool and len(chosen) < limit:
        kinds = [c.kind for c in chosen]
        best = max(pool.values(), key=lambda c: (c.score - 0.75 * kinds.count(c.kind), -c.order))
        chosen.append(best)
        del pool[best.value.lower()]
    return tuple(KeyFigure(c.value, c.label, c.sentence[:300]) for c in chosen)
