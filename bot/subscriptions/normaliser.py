"""The normaliser: text and topics → comparable tokens, by the rules of the text's language.

Both sides of a match use it, so they only need to agree: an article is normalised once
by the rules of its own language; a topic is normalised once per rule set (``RULESETS``),
since a topic may meet articles in any language.

Per token: case-sensitive aliases first (``US``, ``U.K.``: "us" is a pronoun; in a topic
they count in any case), then casefold; names of places fold into one token per place,
from the English table and CLDR's names in the text's language ("Russland", "Russie",
"Россия" → ``russia``); then the language's stemmer. English keeps a few light suffix
rules (withdraw/withdrawal/withdrawn, troop/troops) instead of the Snowball English
stemmer, which conflates too much for matching (politics/political, university/universe).
Other languages use their Snowball stemmer (PyStemmer: C speed, ~30 languages, and it
handles words no dictionary lists, such as names and new compounds, unlike a lemmatiser)
on accent-free words of five letters or more, so short words stay apart (Norwegian
"some" vs "som"); a stop word is not stemmed, and a stem that is a stop word is not
used (French "danse" stays apart from "dans", Norwegian "andre" from "Andreas"). In
German running text a lowercase word (a verb or an adjective: German capitalises every
noun and name) that its stemmer would cut under five letters stays whole, so "fordern"
(→ ford) never meets a topic "Ford", while "Wahlen" still meets "Wahl". A topic has no
reliable case, so it is always stemmed, and so is a tag or section of the card
(``normalised_label``). In English, plurals fold ("apples" is the word
"apple"): telling the fruit from the company is salience's job, not the stemmer's. French,
Italian and Catalan drop elided articles (l'Allemagne). A language without a stemmer is
only casefolded.

German and Dutch compounds (text side): a noun compound whose two halves are common
words of the language ("Drogenszene" → drogen + szene) also yields its halves, appended
to the normalised text after a ``|`` so a phrase never runs across them. German splits
only words written capitalised (nouns: "radioaktive" is an adjective and stays whole; at
the start of a sentence, only words without an adjective's ending); Dutch only rare
words without an adjective ending.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import cast

import Stemmer

from bot.language import NAME_LANGUAGES, PLACES, local_names, zipf

Phrase = tuple[str, ...]

_TOKEN_RE = re.compile(r"U\.S(?:\.A)?\.?|U\.K\.?|\w+(?:['’]\w+)*")
_QUERY_TOKEN_RE = re.compile(_TOKEN_RE.pattern, re.IGNORECASE)
_NON_WORD_RE = re.compile(r"[^\w']")
_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

#: Language code → Snowball algorithm.
_SNOWBALL = {
    "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian", "nb": "norwegian",
    "nn": "norwegian", "fi": "finnish", "ru": "russian", "tr": "turkish", "ro": "romanian",
    "hu": "hungarian", "pl": "polish", "cs": "czech", "el": "greek", "id": "indonesian",
    "ca": "catalan", "lt": "lithuanian", "et": "estonian", "sr": "serbian",
    "ar": "arabic", "fa": "persian", "hi": "hindi", "eu": "basque", "ga": "irish",
    "hy": "armenian", "ne": "nepali", "ta": "tamil",
}
#: The rule sets, in a fixed order (their index is a bit in the matcher's masks):
#: ``en`` (also for articles of unknown language), one per Snowball language, ``plain``.
RULESETS: tuple[str, ...] = ("en", *dict.fromkeys(_SNOWBALL.values()), "plain")
_NAMES_LANG = {"norwegian": "nb"}
_COMPOUNDS = frozenset({"german", "dutch"})
_MIN_STEM = 5
_ELIDING = frozenset({"french", "italian", "catalan"})
#: Languages that write every noun capitalised: a lowercase word there is no name.
_NOUNS_CAPITALISED = frozenset({"german"})


@functools.cache
def _all_names() -> dict[str, str]:
    """One-word names of places in every language CLDR names them in (for topics)."""
    out: dict[str, str] = {}
    for lang in NAME_LANGUAGES:
        for name, token in local_names(lang).items():
            if len(_TOKEN_RE.findall(name)) == 1:
                out.setdefault(strip_accents(name), token)
    return out


def ruleset(lang: str | None) -> str:
    """The rule set for an article in language ``lang`` (ISO 639-1, maybe with a region)."""
    if not lang:
        return "en"
    code = lang.strip().lower().replace("_", "-").split("-")[0]
    if code == "en":
        return "en"
    return _SNOWBALL.get(code, "plain")


def _lang_code(rules: str) -> str | None:
    if rules in ("en", "plain"):
        return None
    return _NAMES_LANG.get(rules) or next(c for c, a in _SNOWBALL.items() if a == rules)


def strip_accents(word: str) -> str:
    """``word`` without combining marks (é → e, ğ → g)."""
    return _COMBINING_RE.sub("", unicodedata.normalize("NFKD", word))


# --- English: light suffix rules --------------------------------------------------------

_NO_UNDOUBLE = frozenset("lsz")
_VOWELS = frozenset("aeiouy")
_KEEP_S = ("ss", "us", "is", "ics", "news")
# "-al" that makes a noun of a verb (withdraw-al, arriv-al, propos-al, betray-al).
_NOUN_AL = ("wal", "val", "sal", "yal")


def _english_stem(w: str) -> str:
    """Light suffix rules; both sides use them, so they only need to be consistent."""
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "xes", "ches", "shes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(_KEEP_S):
        w = w[:-1]
    stripped = False
    if w.endswith("ing") and len(w) >= 6:
        w, stripped = w[:-3], True
    elif w.endswith("ed") and not w.endswith("eed") and len(w) >= 5:
        w, stripped = w[:-2], True
    elif w.endswith(_NOUN_AL) and len(w) >= 6:
        w = w[:-2]  # withdrawal, arrival, refusal; never national, political, general
    elif w.endswith("wn") and len(w) >= 6:
        w = w[:-1]
    if stripped and len(w) >= 3 and w[-1] == w[-2] and w[-1] not in _VOWELS | _NO_UNDOUBLE:
        w = w[:-1]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return w


@functools.cache
def _stemmer(rules: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(rules)


def _stem(word: str, rules: str) -> str:
    """``word`` (casefolded) → its stem by ``rules``, accent-free."""
    if rules == "en":
        w = strip_accents(word) if not word.isascii() else word
        stem = _english_stem(w)
        for _ in range(4):  # to a fixed point, so normalising twice changes nothing
            again = _english_stem(stem)
            if again == stem:
                break
            stem = again
        return stem
    if rules == "plain" or len(word) < _MIN_STEM or not word.isalpha():
        return strip_accents(word) if not word.isascii() else word
    # Accents go first: names from CLDR come folded, and both sides must agree.
    word = strip_accents(word) if not word.isascii() else word
    stops = _stop_words(rules)
    if word in stops:
        return word  # Norwegian "andre" stays apart from "Andreas"
    stemmer = _stemmer(rules)
    stem = stemmer.stemWord(word)
    for _ in range(3):
        if len(stem) < _MIN_STEM:
            break
        again = stemmer.stemWord(stem)
        if again == stem:
            break
        stem = again
    if stem in stops:
        stem = word  # French "danse" is not "dans", "queer" not "que": keep the word
    return strip_accents(stem) if not stem.isascii() else stem


@functools.cache
def _stop_words(rules: str) -> frozenset[str]:
    """The stop words of a rule set's language (a stem that is one is not used)."""
    from bot.language import stop_words

    code = _lang_code(rules)
    return frozenset(strip_accents(w) for w in stop_words(code)) if code else frozenset()


# --- places -------------------------------------------------------------------------------


class _Rules:
    """Everything one rule set needs: place tables and token caches."""

    def __init__(self, rules: str) -> None:
        self.rules = rules
        self.raw: dict[str, str] = {}
        self.words: dict[str, str] = {}
        self.multi: dict[str, list[tuple[Phrase, str]]] = {}
        self.cache: dict[str, str] = {}
        self.query_cache: dict[str, str] = {}
        self.chunks: dict[str, str] = {}
        # Cached chunks holding the first word of a multi-word name: a text whose chunks
        # are none of these has no such name, and is not searched for any.
        self.multi_chunks: set[str] = set()
        self.compounds = rules in _COMPOUNDS
        self.elides = rules in _ELIDING
        names: dict[str, str] = {}
        for place in PLACES:
            self.raw.update(dict.fromkeys(place.case_sensitive, place.token))
            for name in (place.token, place.name, *place.any_case):
                names[name] = place.token
        code = _lang_code(rules)
        if code is not None:
            for name, token in local_names(code).items():
                names.setdefault(name, token)
        self.query_raw = {k.casefold(): v for k, v in self.raw.items()}
        multi: list[tuple[str, str]] = []
        for name, token in names.items():
            if len(_TOKEN_RE.findall(name)) > 1:
                multi.append((name, token))
            else:
                self.words[strip_accents(name.casefold())] = token
        for _, token in multi:
            self.words.setdefault(token, token)  # the token of a multi-word name ("usa")
        # Inflected names meet too ("Russlands" → russland → russia).
        for name, token in names.items():
            if len(_TOKEN_RE.findall(name)) == 1:
                self.words.setdefault(_stem(name.casefold(), rules), token)
        for name, token in multi:
            parts = [self.canon(t) for t in _TOKEN_RE.findall(name)]
            self.multi.setdefault(parts[0], []).append((tuple(parts[1:]), token))
        for entries in self.multi.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        self.multi_first = frozenset(self.multi)
        self.place_tokens = frozenset(names.values())
        self.multi_strings = sorted(
            (
                (" " + " ".join((first, *rest)) + " ", " " + token + " ", first)
                for first, entries in self.multi.items()
                for rest, token in entries
            ),
            key=lambda triple: -len(triple[0]),
        )

    def canon(self, raw: str, query: bool = False, alone: bool = False) -> str:
        """One raw token → its normalised form (cached).

        ``query``: the token is from a topic (aliases in any case); ``alone``: it is the
        topic's only word, so a name of a place in any language counts too.
        """
        if query:
            cache, key = self.query_cache, raw + "\x00" if alone else raw
        else:
            cache, key = self.cache, raw
        token = cache.get(key)
        if token is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            token = cache[key] = self._canon(raw, query, alone)
        return token

    def _canon(self, raw: str, query: bool, alone: bool = False) -> str:
        alias = (self.query_raw.get(raw.casefold()) if query else None) or self.raw.get(raw)
        if alias is not None:
            return alias
        word = raw.casefold().replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        elif word.endswith("'"):
            word = word[:-1]
        if not word.isascii():
            word = _NON_WORD_RE.sub("", unicodedata.normalize("NFKC", word)).casefold()
        if not word:
            return raw.casefold()
        if self.elides and "'" in word:
            head, _, tail = word.partition("'")
            if tail and (len(head) <= 2 or head == "qu"):
                word = tail  # French/Italian elision: l'Allemagne, d'Italia
        folded = strip_accents(word) if not word.isascii() else word
        alias = self.words.get(folded)
        if alias is None and alone:
            alias = _all_names().get(folded)  # a topic may name a place in any language
        if alias is not None:
            return alias
        stem = _stem(word, self.rules)
        if self.rules == "en":
            return stem  # English lists its inflected names ("Americans"; not "Americas")
        if (
            not query
            and self.rules in _NOUNS_CAPITALISED
            and raw[0].islower()
            and len(stem) < _MIN_STEM
            and stem != folded
        ):
            # A lowercase German word is a verb or an adjective, never a name or a noun;
            # cut to a short stem it would meet one ("fordern" → ford, "machen" → mach).
            return folded
        return self.words.get(stem, stem)

    def merge(self, tokens: list[str]) -> list[str]:
        """Multi-word place names → one token."""
        if self.multi_first.isdisjoint(tokens):
            return tokens
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            entries = self.multi.get(tokens[i])
            if entries is not None:
                for rest, token in entries:
                    k = len(rest)
                    if tuple(tokens[i + 1 : i + 1 + k]) == rest:
                        out.append(token)
                        i += 1 + k
                        break
                else:
                    out.append(tokens[i])
                    i += 1
            else:
                out.append(tokens[i])
                i += 1
        return out

    def chunk(self, raw: str) -> str:
        """A whitespace-delimited piece of text → its tokens, space-joined (cached)."""
        if len(self.chunks) >= _CACHE_MAX:
            self.chunks.clear()
            self.multi_chunks.clear()
        canon = self.canon
        tokens = [canon(t) for t in _TOKEN_RE.findall(raw)]
        joined = self.chunks[raw] = " ".join(tokens)
        if not self.multi_first.isdisjoint(tokens):
            self.multi_chunks.add(joined)
        return joined


_CACHE_MAX = 500_000
_MULTI_SCAN = 40


@functools.cache
def rules_of(rules: str) -> _Rules:
    """The (cached) tables of one rule set."""
    return _Rules(rules)


# --- compounds ----------------------------------------------------------------------------

_LINKS = ("", "s", "es", "n", "en")
_MIN_PART = 4
_KNOWN = 3.5  # Zipf: an ordinary word of the language (rarer ones read as 0)


@functools.cache
def split_compound(word: str, lang: str) -> tuple[str, str] | None:
    """A compound's modifier and head, both ordinary words of ``lang`` ("de", "nl"), or None.

    ``Drogenszene`` → (drogen, szene); ``Wachstumsprognosen`` → (wachstum, prognosen).
    The best split is the one whose rarer half is most common.
    """
    w = word.casefold()
    if len(w) < 2 * _MIN_PART or not w.isalpha():
        return None
    best: tuple[float, str, str] | None = None
    for i in range(_MIN_PART - 1, len(w) - _MIN_PART + 1):
        head = w[i:]
        head_f = zipf(head, lang)
        if head_f < _KNOWN:
            continue
        for link in _LINKS:
            mod = w[:i]
            if link:
                if not mod.endswith(link):
                    continue
                mod = mod[: -len(link)]
            if len(mod) < _MIN_PART - 1:
                continue
            mod_f = zipf(mod, lang)
            if mod_f >= _KNOWN:
                score = min(mod_f, head_f)
                if best is None or score > best[0]:
                    best = (score, mod, head)
                break
    return None if best is None else (best[1], best[2])


_SENTENCE_END = (".", "!", "?", ":", "»", '"', "“", "”")
_DE_ADJECTIVE = re.compile(r"(?:iv|isch|lich|ig|bar|los|sam|haft)(?:e|en|er|es|em)?$", re.I)
# Dutch adjective endings (radioactieve, elektrische, wettelijke): not noun compounds.
_NL_ADJECTIVE = ("ief", "ieve", "isch", "ische", "lijk", "lijke", "ig", "ige")


def _compound_parts(text: str, rules: _Rules) -> list[str]:
    """Normalised halves of the compounds in ``text`` (German, Dutch)."""
    lang = "de" if rules.rules == "german" else "nl"
    out: list[str] = []
    previous = "."
    for raw in text.split():
        word = raw.strip(".,;:!?\"'()[]«»„“”‚‘’-–—")
        if len(word) >= 2 * _MIN_PART and word.isalpha():
            if lang == "de":
                # A noun: capitalised inside a sentence; at its start (a headline's first
                # word), capitalised without an adjective's ending ("Radioaktive").
                split = word[0].isupper() and (
                    not previous.endswith(_SENTENCE_END) or not _DE_ADJECTIVE.search(word)
                )
            else:
                split = zipf(word, lang) < _KNOWN and not word.lower().endswith(_NL_ADJECTIVE)
            if split and rules.canon(word) in rules.place_tokens:
                split = False  # Russland is a country, not Russ + Land
            parts = split_compound(word, lang) if split else None
            if parts is not None:
                # The halves of a noun are nouns (written capitalised, as German would).
                out.append(" ".join(rules.canon(p.capitalize()) for p in parts))
        previous = raw
    return out


# --- the public functions -------------------------------------------------------------


def normalised_text(text: str, lang: str | None = None) -> str:
    """Normalised tokens joined by single spaces and padded, for whole-token search.

    The hot path of matching: whitespace split plus a cache of each piece's tokens, then
    multi-word names replaced in the joined string. ``lang`` is the text's language.
    """
    rules = rules_of(ruleset(lang))
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    # Looked up in C (map); only the pieces not seen before are normalised in Python.
    pieces = text.split()
    cached = list(map(rules.chunks.get, pieces))
    if None in cached:
        chunk = rules.chunk
        pairs = zip(pieces, cached, strict=True)
        parts = [chunk(raw) if got is None else got for raw, got in pairs]
    else:
        parts = cast(list[str], cached)
    joined = " " + " ".join(filter(None, parts)) + " "
    # Multi-word names: only those whose first word is in the text are searched for,
    # found from the few chunks that hold such a word (a set operation, not a scan).
    hits = rules.multi_chunks.intersection(parts) if rules.multi_strings else None
    if hits:
        present = {t for piece in hits for t in piece.split()}
        # Few names (English): a name made by a replacement may start another one.
        grows = len(rules.multi_strings) <= _MULTI_SCAN
        for key, token, first in rules.multi_strings:
            if first in present and key in joined:
                joined = joined.replace(key, token)
                while key in joined:
                    joined = joined.replace(key, token)
                if grows:
                    present.update(token.split())
    if rules.compounds:
        parts = _compound_parts(text, rules)
        if parts:
            joined += "| " + " | ".join(parts) + " "
    return joined


def normalised_label(text: str, lang: str | None = None) -> str:
    """``normalised_text`` of a label (a tag, a section): its case says nothing, so in a
    language that capitalises nouns its words are read as nouns ("stars" as "Stars")."""
    rules = ruleset(lang)
    if rules not in _NOUNS_CAPITALISED:
        return normalised_text(text, lang)
    # Read as nouns for stemming; compounds are split as written (the capital is no sign).
    nouns = " ".join(w[:1].upper() + w[1:] for w in text.split())
    joined = normalised_text(nouns, lang).partition("| ")[0]
    parts = _compound_parts(text, rules_of(rules))
    return joined + "| " + " | ".join(parts) + " " if parts else joined


def normalise(text: str, lang: str | None = None) -> list[str]:
    """Text → normalised tokens (casefolded, accent-free, places folded, stemmed)."""
    return [t for t in normalised_text(text, lang).split() if t != "|"]


@functools.lru_cache(maxsize=200_000)
def query_phrase(written: str, rules: str = "en") -> Phrase:
    """A topic's word or phrase normalised by one rule set (see ``query_forms``)."""
    raws = _QUERY_TOKEN_RE.findall(unicodedata.normalize("NFC", written))
    table = rules_of(rules)
    alone = len(raws) == 1
    return tuple(table.merge([table.canon(t, query=True, alone=alone) for t in raws]))


@functools.lru_cache(maxsize=100_000)
def query_forms(written: str) -> tuple[tuple[str, Phrase], ...]:
    """A topic's word or phrase normalised by every rule set: ((rules, phrase), ...).

    Aliases count in any case here ("us-militär" names the USA): a topic is a name,
    never running text.
    """
    return tuple((rules, query_phrase(written, rules)) for rules in RULESETS)


@functools.cache
def place_tokens() -> frozenset[str]:
    """Every token a place is folded into (English table and CLDR names)."""
    return frozenset(rules_of("en").place_tokens | set(_all_names().values()))


def warm_up() -> None:
    """Load what matching reads on first use (every language's names of places: about a
    third of a CPU second), so that a process pays it when it starts, not on a link."""
    place_tokens()


def phrase_key(phrase: Phrase) -> str:
    """The padded search key of a phrase, as it appears in ``normalised_text``."""
    return " " + " ".join(phrase) + " "
