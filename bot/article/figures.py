"""Key figures: the numbers that matter in an article, each with the noun phrase it counts.

A value is read whole, as the page writes it: currency and scale words stay with the
number ("300 Milliarden Dollar", "24 lakh", "R4bn", "RM6.162 million", "10 000", "1,2 %"),
ranges and scores are one value ("400 to 600", "4-1"), and small numbers written as
words count ("three days", "zwei Kläger"). Refused: dates and day-of-month fragments,
clock times, years on their own, HTML entity numbers, model and version numbers
("iPhone 11", "OS X 10.10"), and every sentence of paywall, subscription, shop or
newsletter furniture. Labels are the noun phrase the number counts or measures
("aircraft being withdrawn", "service personnel killed"), never starting or ending with
a function word of the page's language. Values are always spans of the body, so a
figure is always in the article; the headline and the lead decide the order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.card import KeyFigure
from bot.language import FUNCTION_WORDS, is_stop_word, zipf

from .dates import MONTH_TEST_PATTERN
from .text import split_sentences

_CUR_PREFIX = (r"(?:US\$|A\$|C\$|NZ\$|HK\$|S\$|R\$|\$|€|£|¥|₹|₦|₩|₱|RM|Rs\.?|CHF|"
               r"R(?=\d)|Fr\.)")
_NUMBER = (r"(?:\d{1,3}(?:,\d{2})+,\d{3}"  # Indian grouping: 1,00,000
           r"|\d{1,3}(?:[,.](?=\d{3}(?!\d))\d{3})+(?:[.,]\d+)?"  # 1,234,567.8 / 1.234,5
           r"|\d{1,3}(?:[ \u00a0\u202f]\d{3}(?!\d))+(?:,\d+)?"  # 10 000 / 2 209,5
           r"|\d+(?:[.,]\d+)?)")
_SCALE = (r"(?:million|billion|trillion|thousand|crore|lakh|bn|mn|m|k|"
          r"milliarden|millionen|milliarde|million|mio\.?|mrd\.?|tsd\.?|"
          r"milliards?|millions?|mille|"
          r"mil millones|millones|millón|mil|milhões|milhão|bilhões|bilhão|"
          r"miliardi|miliardo|milioni|milione|mila|miljoen|miljard|"
          r"mln|mld|tys\.?|тыс\.?|млн|млрд)")
_CUR_WORD = (r"(?:dollars?|euros?|pounds?|yen|yuan|rupees?|francs?|roubles?|rubles?|"
             r"dollar|euro|pfund|franken|dólares|libras|pesos|reais|rand|ringgit|naira|"
             r"usd|eur|gbp|chf|inr|cents?|pence|cent|centimes|рублей|долларов)")
_PERCENT = (r"(?:%|percent\b|per cent\b|pour cent\b|prozent\b|por ciento\b|por cento\b|"
            r"per cento\b|procent\b|процент\w*)")
_UNIT = (r"(?:km/h|km²|km|kilomet(?:er|re)s?|miles?|mph|kg|kilos?|kilograms?|tonnes?|tons?|"
         r"tonnen|mw|gw|kwh|mwh|gwh|hectares?|acres?|met(?:er|re)s|meter|feet|ft|°c|°f|"
         r"degrees?|grad|megapixels?|mb|gb|tb)")
# Small numbers written as words, per language: "sei" is six in Italian but "be" in
# German, "once" eleven in Spanish but not in English. Vague plurals ("thousands",
# "milliers") count nothing a reader can hold on to, so they are no figures.
_NUMBER_WORDS_BY_LANG = {
    "en": "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
          "forty fifty hundred dozen",
    "de": "zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig hundert "
          "dutzend",
    "fr": "deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente cent "
          "dizaine",
    "es": "dos tres cuatro cinco seis siete ocho nueve diez once doce quince veinte treinta "
          "cien docena",
    "it": "due tre quattro cinque sei sette otto nove dieci undici dodici venti trenta cento",
    "pt": "dois duas três quatro cinco seis sete oito nove dez doze vinte trinta",
    "nl": "twee drie vier vijf zes zeven acht negen tien twaalf twintig honderd",
}
_NUMBER_WORDS = frozenset(w for words in _NUMBER_WORDS_BY_LANG.values() for w in words.split())
# Any of a language's number words anywhere in lower-cased text (inside words too): a
# sentence without one has no word figure to look for.
_HAS_NUMBER_WORD = re.compile("|".join(sorted(_NUMBER_WORDS)))
_HAS_NUMBER_WORD_OF = {lang: re.compile("|".join(sorted(words.split())))
                       for lang, words in _NUMBER_WORDS_BY_LANG.items()}
_NUMBER_WORDS_OF = {lang: frozenset(words.split())
                    for lang, words in _NUMBER_WORDS_BY_LANG.items()}
# A price per unit belongs to its value: "$16.99 a pound", "49 dólares por barril".
_PER_UNIT = (r"(?:a|an|per|the|por|par|pro|le|la|el|il|al|je)\s(?:pound|kilo|kg|barrel|"
             r"gallon|lit(?:re|er)|ton|tonne|share|ounce|night|barril|litro|galón|tonelada|"
             r"acción|onza|baril|action|once|nuit|aktie|unze|nacht|barile|azione|oncia)\b")
# Time units and the people counted: folded into the value when what follows names the
# thing ("20 years | hostile relations").
_FOLDED_NOUNS = re.compile(
    r"^\s(years?|months?|weeks?|days?|hours?|minutes?|jahre[n]?|monate[n]?|wochen|tage[n]?|"
    r"stunden|minuten|ans|années|mois|semaines|jours|heures|años|meses|semanas|días|horas|"
    r"anni|mesi|settimane|giorni|ore|anos|dias|jaar|jaren|maanden|weken|dagen|uur)\b", re.I)
_AGE_WORD = frozenset("alt alte alten alter altes old âgé âgée âgés".split())
_AUX_TAIL = frozenset("has have had is are was were ont sont hat haben ist sind".split())
# Words that cannot start the phrase after a count noun: conjunctions, negations,
# relative words and auxiliaries ("seven years when he attended", "sechs Jahren nicht
# unbedingt", "400 Français ont demandé").
_NO_TAIL = frozenset(
    "a an the and or but not when who which that while as und oder aber nicht kein keine wenn als "
    "et ou mais pas ne quand qui que y o pero no cuando e ma non quando che niet en of maar "
    "não".split()) | _AUX_TAIL
# Auxiliary verbs: a noun phrase ends before one ("the agency has invested" -> "agency").
_AUXILIARIES = frozenset(
    "has have had is are was were will would hat haben ist sind wurde wurden ont est "
    "sont était avait ha han son fue è sono hanno tem têm é são foi heeft hebben zijn "
    "werd".split())
# English verbs a clause before a price ends on ("fillets routinely sell").
_PRICE_VERBS = frozenset(
    "sell sells sold pay pays paid cost costs buy buys bought fetch fetches fetched "
    "charge charges charged".split())
_PEOPLE = frozenset(
    "people persons personnes personas persone pessoas menschen personen mensen".split())
_FIGURE = re.compile(
    rf"(?P<pre>{_CUR_PREFIX}\s?)?(?P<num>{_NUMBER})"
    rf"(?P<range>\s?(?:-|–|—|\bto\b|\bbis\b|\bà\b|\bal?\b|\bcontre\b|\bgegen\b|\bcontra\b|"
    rf"\bagainst\b)\s?(?:{_CUR_PREFIX}\s?)?{_NUMBER})?"
    rf"(?P<scale>\s?{_SCALE}\b\.?)?"
    rf"(?P<post>\s?(?:{_PERCENT}|{_CUR_WORD}\b|[€£$¥₹](?!\w)|{_UNIT}(?![\w/])))?"
    rf"(?P<per>\s{_PER_UNIT})?",
    re.I,
)
# Votes: "438 contre 86", "52 to 47 against".
_VOTE_JOINER = re.compile(r"\b(contre|gegen|contra|against)\b", re.I)
# "between 400 and 600": the only place where "and" joins a range.
_BETWEEN = re.compile(
    rf"\b(?:between|zwischen|entre|tra|fra)\s(?P<pre>{_CUR_PREFIX}\s?)?(?P<num>{_NUMBER})"
    rf"(?P<range>\s(?:and|und|et|y|e)\s(?:{_CUR_PREFIX}\s?)?{_NUMBER})"
    rf"(?P<scale>\s?{_SCALE}\b\.?)?"
    rf"(?P<post>\s?(?:{_PERCENT}|{_CUR_WORD}\b|[€£$¥₹](?!\w)|{_UNIT}(?![\w/])))?"
    rf"(?P<per>\s{_PER_UNIT})?",
    re.I,
)
# Any word, then kept when it is a number word (a set lookup is faster than a regular
# expression alternating a hundred words).
_WORD_FIGURE = re.compile(
    r"(?<![\w-])(?P<word>[^\W\d_]{2,})"
    r"(?P<scale>\s(?:million|billion|millionen|milliarden|millions|milliards|millones))?"
    r"(?=\s[^\W\d_])",
    re.I,
)
_MONTH = rf"(?:{MONTH_TEST_PATTERN})"  # only ever asked whether a month name is there
_IS_MONTH = re.compile(_MONTH, re.I)
_DATE_NEAR = re.compile(
    rf"(?:\b{_MONTH}\.?,?\s*(?:de\s+|del\s+)?$)|(?:^\.?\s*(?:de\s+|di\s+)?{_MONTH}\b)", re.I)
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}[./]\d{1,2}\.(?!\d)")
_CLOCK_AFTER = re.compile(
    r"^\s?(?:uhr\b|h\b|h\d\d|hrs?\b|heures?\b|horas?\b|ore\b|a\.?m\.?(?!\w)|p\.?m\.?(?!\w)|"
    r"hs\b|(?-i:GMT|UTC|CES?T|E[SD]?T|P[SD]?T)\b)", re.I)  # "et" is French for "and"
_CLOCK_BEFORE = re.compile(r"(?:\bum|\bà|\bat|\ba las|\balle|\bab|\bgegen|\bbis)\s*$", re.I)
_MODEL_BEFORE = re.compile(
    r"(?:\b(?:version|versión|v|model|modell|series|serie|episode|season|staffel|saison|"
    r"chapter|kapitel|article|artikel|page|seite|line|linie|route|gate|room|platform|"
    r"number|nummer|no\.?|nr\.?|nro\.?|núm\.?|n°|nº|level|stufe|type|typ|iphone|ipad|galaxy|windows|ios|"
    r"android|os x|macos|playstation|xbox|ps|covid|sars-cov)\s?|#|&#?)$", re.I)
_AGO_BEFORE = re.compile(r"\b(hace|vor|il y a|há)\s*$", re.I)
_AGO_AFTER = re.compile(r"^\s?[^\W\d_]+\s(ago|fa|atrás)\b", re.I)
# Slideshow captions: "- 22/50 The upmarket US clothing company ...".
_GALLERY = re.compile(r"^\W*\d+\s?/\s?\d+\b")
# The heading of a comment section: what follows is readers' text, not the article's.
_COMMENTS = re.compile(
    r"^(\d+\s)?(comments?|comentar(ios)?|kommentare?|kommentieren|commentaires?|commenter|"
    r"commenti|commenta|reacties|reageer|leave a comment|add a comment|post a comment|"
    r"join the discussion|show comments|view comments)\s*:?\s*(\(\d+\))?$", re.I)
# Sentences of page furniture: paywalls, subscriptions, shops, newsletters, reading time.
_FURNITURE = re.compile(
    r"(il vous reste|de cet article à lire|subscri|abonn|a(?<!\wa)bo\b|newsletter|sign[ -]up|"
    r"free trial|cancel any ?time|per month|a month\b|/ ?month|/ ?mo\b|/ ?year|"
    r"bestellwert|versand|gutschein|rabatt|coupon|promo ?code|discount code|blitzangebot|"
    r"amazon-preis|warenkorb|add to (cart|basket)|shop now|buy now|jetzt kaufen|"
    r"free shipping|livraison|suscr[ií]b|suscripci|assin[ae]|temps de lecture|lesezeit|"
    r"reading time|min(ute)?s? read|c(?<!\wc)omments?\b|kommentare|commentaires|"
    r"©|copyright|all rights reserved|cookies?)")
# (Matched on lower-cased text: faster than re.I. Every branch opens with a letter, so
# that the engine skips ahead to the letters that can open one: "a(?<!\wa)bo" is
# "\babo" with the word boundary checked after the first letter.)
_WORDS = re.compile(r"\d+[^\W\d_][\w'’-]*|[^\W\d_][\w'’-]*|\d+|[^\w\s]")
_AUX = frozenset("have has had been be being were was are is will would".split())
_NOT_VERBS = frozenset(
    "during including according following morning evening nothing something anything "
    "everything thing king ring spring meeting funding housing training wedding ceiling "
    "building clothing wing sibling".split()
)
_IRREGULAR = {
    "withdraw": "withdrawn", "take": "taken", "give": "given", "send": "sent", "build": "built",
    "sell": "sold", "buy": "bought", "lose": "lost", "hold": "held", "bring": "brought",
    "fight": "fought", "leave": "left", "make": "made", "pay": "paid", "spend": "spent",
    "cut": "cut", "hit": "hit", "set": "set", "put": "put", "keep": "kept", "win": "won",
    "find": "found", "write": "written", "steal": "stolen", "shoot": "shot", "choose": "chosen",
    "grow": "grown", "drive": "driven", "fly": "flown", "lend": "lent", "raise": "raised",
}
_CHANGE_VERBS = frozenset(
    "rose rise rises risen fell fall falls fallen grew grow grows increased increase "
    "decreased decrease climbed climb jumped jump dropped drop reached reach reaches "
    "totalled totaled total totals hit soared surged slumped declined doubled cost costs "
    "cut cuts reduced lowered raised boosted gained lost "
    "stieg stiegen sank sanken wuchs kostet kosten augmenté baissé atteint subió bajó".split()
)
# Words that end a label even when a language's stop list misses them.
_LABEL_STOP = FUNCTION_WORDS | frozenset(
    "the a an of to in on at for from by with and or but as than that this these those "
    "is are was were be been being have has had will would could can may might should "
    "its their his her our your my he she they it we you who which what when where while "
    "per each about over under since until after before during into up down out off so "
    "if then there here last past next below above across around among between within "
    "instead also just only still even already again yet while ago bzw usw etc ca "
    "womit wobei worauf wodurch damit dabei darauf dadurch deshalb daher somit nro nr nº "
    "núm".split()
)
# Nouns that count or measure, though stop lists hold them: a label may start with one.
_COUNT_NOUNS = frozenset(
    "years year months month weeks week days day hours hour minutes times people persons "
    "jahre jahren monate monaten wochen tage tagen stunden minuten menschen personen prozent "
    "ans années mois semaines jours heures minutes personnes fois años meses semanas días "
    "horas minutos personas veces anni mesi settimane giorni ore persone volte anos meses "
    "dias pessoas vezes jaar jaren maanden weken dagen uur mensen keer".split()
)
# Words between a verb and its number: "killing at least 19 people".
_QUALIFIERS = frozenset("at least about around nearly almost some more than over up to".split())
_WEIGHT = {"money": 3.0, "percent": 2.8, "count": 2.5, "measure": 2.2, "range": 2.2,
           "score": 2.0, "words": 1.2}
_DIGIT = re.compile(r"\d")
_SPORT = re.compile(
    r"\b(won|beat|defeat\w*|victory|win|lost|draw|drew|score\w*|goals?|match|game|final|"
    r"sieg|siegte|gewann|verlor|niederlage|tore?|spiel|victoire|défaite|match|buts?|"
    r"victoria|derrota|goleada|partido|goles?|vittoria|sconfitta|partita|vitória)\b", re.I)


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
    return stem + "ed"


def _is_word(tok: str) -> bool:
    return bool(re.match(r"[^\W\d_]", tok))


def _glue(word: str, lang: str | None) -> bool:
    low = word.lower()
    return low in _LABEL_STOP or (is_stop_word(low, lang) and low not in _COUNT_NOUNS)


def _trim_end(words: list[str], lang: str | None) -> list[str]:
    """Without function words at the end."""
    while words and _glue(words[-1], lang):
        words = words[:-1]
    return words


def _trim(words: list[str], lang: str | None) -> list[str]:
    """Without function words at either end (a label never starts or ends with one)."""
    words = _trim_end(words, lang)
    while words and _glue(words[0], lang):
        words = words[1:]
    return words


def _label_after(tokens: list[str], lang: str | None,
                 money: bool = False) -> tuple[list[str], list[str]]:
    """The noun phrase right after a value (up to four words) and the tokens after it."""
    words: list[str] = []
    i = 0
    if len(tokens) > 1 and (tokens[0].lower() in ("of", "de", "d'", "di", "du", "del", "do",
                                                  "da", "van") or (
            money and tokens[0].lower() in ("for", "für", "pour", "para", "per"))):
        i = 1  # "28,000 square kilometres of fjords"
    while i < len(tokens) and len(words) < 4:
        tok = tokens[i]
        low = tok.lower()
        if not _is_word(tok) or low in _LABEL_STOP:
            break
        if lang == "de" and words and words[-1][:1].isupper() and tok[:1].islower():
            break  # German nouns are capitalised: "Claudia Brandes gewann" ends at the verb
        if words and low.endswith("ing") and lang in (None, "en"):
            break  # "a line linking ..." ends the noun phrase
        if not words and re.fullmatch(r"[a-z]+ed", tok) and lang in (None, "en"):
            break  # "2 percent compared with ...": a verb, not what was counted
        if is_stop_word(tok, lang) and not (words or low in _COUNT_NOUNS):
            break
        words.append(tok)
        i += 1
    return words, tokens[i:]


def _label_before(tokens: list[str], lang: str | None) -> list[str]:
    """Up to five words before a value, cut at its clause's start, ending on its noun."""
    words = _context_before(tokens, lang)
    aux = next((i for i, w in enumerate(words) if i and w.lower() in _AUXILIARIES), None)
    if aux is not None:
        words = _trim(words[:aux], lang)  # "agency has invested" -> "agency"
    if lang in (None, "en"):
        # "fresh halibut fillets priced", "fillets routinely sell": the verb goes.
        while len(words) > 1 and (re.fullmatch(r"[a-z]+ed", words[-1])
                                  or words[-1] in _PRICE_VERBS or words[-1].endswith("ly")):
            words = _trim_end(words[:-1], lang)
    return words


def _context_before(tokens: list[str], lang: str | None) -> list[str]:
    """Up to five words before a value, cut at its clause's start."""
    words: list[str] = []
    if tokens and tokens[-1] == "(":
        tokens = tokens[:-1]  # "a large majority (438 against 86)"
    for tok in reversed(tokens):
        if tok.isdigit() or _IS_MONTH.fullmatch(tok):
            if words:
                words.append("\0")  # a date inside the clause: skipped, and a break
            continue
        if not _is_word(tok):
            break
        words.append(tok)
        if len([w for w in words if w != "\0"]) >= 5:
            break
    words.reverse()
    # "Amazon bought Whole Foods in August 2017 for": the part before the date.
    if "\0" in words:
        parts = " ".join(words).split("\0")
        head = _trim(parts[0].split(), lang)
        words = head if len(head) >= 2 else _trim(parts[-1].split(), lang)
    words = _trim([w for w in words if w != "\0"], lang)
    if lang == "de":
        # The German noun phrase before the value: its nouns (capitalised) and adjectives,
        # back to a verb or a function word ("Verstößen droht eine Geldbuße" -> "Geldbuße").
        start = len(words)
        while start > 0 and not _glue(words[start - 1], lang) and (
                words[start - 1][:1].isupper() or re.search(r"(e|en|er|es|em)$",
                                                             words[start - 1])):
            start -= 1
        words = words[start:]
        while words and not words[0][:1].isupper() and len(words) > 1 and not any(
                w[:1].isupper() for w in words):
            words = words[1:]
    return words


def _subject_of_change(tokens: list[str], lang: str | None) -> list[str]:
    """"passenger journeys rose 18% to" -> "passenger journeys": what went up or down."""
    words = tokens[-8:]
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower() in _CHANGE_VERBS:
            subject = [w for w in words[max(0, i - 3) : i] if re.match(r"\d*[^\W\d_]", w)]
            return _trim(subject, lang)
    return []


def _label(kind: str, before: str, after: str, lang: str | None) -> tuple[str, bool]:
    """The label for a figure, and whether it names the thing counted (a strong label)."""
    label, strong = _label_of(kind, before, after, lang)
    if lang == "de" and not any(w.lstrip("0123456789")[:1].isupper() for w in label.split()):
        return "", False  # no German noun in it: a verb ("250 Euro zahlen") or a fragment
    return label, strong


def _label_of(kind: str, before: str, after: str, lang: str | None) -> tuple[str, bool]:
    """The label for a figure before the language's own checks."""
    tb, ta = _WORDS.findall(before), _WORDS.findall(after)
    hyphen = re.match(r"^-([^\W\d_][\w'’-]*)", after)
    if hyphen:
        # "14-story building", "83-jährige Autolenkerin", "22-year-old son"
        rest_words, _ = _label_after(_WORDS.findall(after[hyphen.end():]), lang)
        words = _trim([hyphen.group(1), *rest_words[:3]], lang)
        return (" ".join(words), True) if len(words) >= 2 else ("", False)
    noun, rest = _label_after(ta, lang, money=kind == "money")
    noun = _trim(noun, lang)
    if noun and _IS_MONTH.fullmatch(noun[0]):
        return "", False  # "4 March" is a date, not a count of Marches
    if noun:
        # "50 personnel have been killed" -> "personnel killed"
        aux = [t for t in rest[:3] if t.lower() in _AUX]
        if aux and len(rest) > len(aux) and re.fullmatch(r"[a-z]+(ed|en)", rest[len(aux)]):
            return f"{' '.join(noun)} {rest[len(aux)]}", True
        # "withdrawing 25 aircraft" -> "aircraft being withdrawn"
        prev = [t for t in tb[-4:] if _is_word(t)]
        while prev and prev[-1].lower() in _QUALIFIERS:
            prev = prev[:-1]
        if (prev and prev[-1].lower().endswith("ing") and prev[-1].lower() not in _NOT_VERBS
                and lang in (None, "en")):
            return f"{' '.join(noun)} being {_participle(prev[-1].lower())}", True
        if len(noun) == 1 and zipf(noun[0], lang) >= 5.3:
            # "5 years" or "2 million people" need what they are about: the words after
            # ("people get sick"), else the subject before ("years (prison sentence)").
            cut = next((i for i, t in enumerate(rest[:4]) if not _is_word(t)), len(rest[:4]))
            tail = _trim_end(rest[: min(cut, 3)], lang)
            if tail and tail[0].lower() in _NO_TAIL:
                tail = []  # "age and continuing", "Jahren nicht unbedingt": no phrase
            if tail:
                return f"{noun[0]} {' '.join(tail)}", True
            if noun[0].lower() in _PEOPLE:
                return noun[0], True  # "213 personas": people are what a story counts
            return "", False  # "17 years" alone, or with a clause far away, says nothing
        return " ".join(noun), True
    subject = _subject_of_change(tb, lang)
    if subject:
        return " ".join(subject), True
    if kind in ("money", "percent", "range", "measure", "score"):
        context = _label_before(tb, lang)
        if len(context) >= 2 or (context and zipf(context[0], lang) < 5.3):
            return " ".join(context), kind == "score"  # a vote or a result: its clause
    return "", False


def _refused(sentence: str, start: int, end: int, value: str) -> bool:
    """Dates, clock times, lone years, entity numbers, model numbers, glued tokens."""
    before, after = sentence[:start], sentence[end:]
    if before and (before[-1].isalnum() or before[-1] in "#&-/.'’"):
        return True  # "MS-04", "&#8211;", "A6", "COVID-19"
    if after[:1].isalpha() and not value.endswith(tuple("%$€£¥")):
        return True  # "5G", "4K", "737MAX"
    if re.match(r"^[-/]\d", after) or re.match(r"^/\w", after) or re.match(r"^:\d\d", after):
        return True  # "9/11", "8:51"
    if _DATE_NEAR.search(before[-16:]) or _DATE_NEAR.search(after[:16]):
        return True  # "Oct. 7 attacks", "5. November 2023", "8 de marzo"
    if _CLOCK_AFTER.match(after) or (re.search(r"\d[.:h]\d\d$", value)
                                     and _CLOCK_BEFORE.search(before)):
        return True  # "11.39 Uhr", "12 h", "at 8.51"
    if _AGO_BEFORE.search(before[-8:]) or _AGO_AFTER.match(after):
        return True  # "Hace 28 minutos", "5 hours ago": a timestamp of the page
    if _MODEL_BEFORE.search(before[-12:]):
        return True  # "version 5.3", "iPhone 11", "#3"
    words = before.split()
    score = bool(re.fullmatch(r"\d+-\d+", value) and _SPORT.search(sentence))
    counted = re.match(r"\s?([^\W\d_]+)", after)
    if counted and counted.group(1).lower() in _COUNT_NOUNS:
        score = True  # "Den Haag 722 keer": a count after a name, not the name's number
    if not score and words and re.fullmatch(r"[A-Z][\w'’-]*|[a-z]+[A-Z]\w*", words[-1]) and (
            len(words) > 1 and not words[-2].endswith((".", ":", "!", "?"))) and (
            not _IS_MONTH.fullmatch(words[-1])):
        return True  # "Destiny 2", "Mouvement 5 étoiles": a name's number
    # Years alone, or a span of years ("2017 and 2018"), are dates.
    parts = re.findall(r"\d+", value)
    return all(re.fullmatch(r"(1[89]|20)\d\d", p) for p in parts) and not re.search(
        r"[%$€£¥₹]|[^\W\d_]{2,}", re.sub(r"\b(and|to|bis|und|et|y|e|a|à)\b", "", value))


def _kind(m: re.Match[str], sentence: str) -> str:
    post = (m.group("post") or "").strip().lower()
    if m.group("range"):
        if _VOTE_JOINER.search(m.group("range")):
            return "score"  # a vote: "438 contre 86"
        joiner = re.sub(r"[\d\s.,]", "", m.group("range"))[:1]
        if joiner == "-" and _SPORT.search(sentence) and not m.group("pre") and not post:
            return "score"
        return "range"
    if m.group("pre") or re.match(_CUR_WORD + "|[€£$¥₹]", post, re.I):
        return "money"
    if post and re.match(_PERCENT, post, re.I):
        return "percent"
    if post:
        return "measure"
    return "count"


def _clean_value(text: str) -> str:
    text = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())
    if text.endswith(".") and not re.search(r"\b(mio|mrd|tsd|tys|тыс)\.$", text, re.I):
        text = text[:-1]  # "raised $460m.": the sentence's full stop, not an abbreviation
    return text


def _candidates(body: str, headline: str, language: str | None) -> list[_Candidate]:
    """Every figure of the body with its label and score."""
    candidates: list[_Candidate] = []
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    head_low = headline.lower()
    head_words = {w.lower() for w in _WORDS.findall(headline) if _is_word(w) and len(w) > 3}
    order = 0
    words_of = _NUMBER_WORDS_OF.get(language or "", _NUMBER_WORDS)
    has_number_word = _HAS_NUMBER_WORD_OF.get(language or "", _HAS_NUMBER_WORD)
    for index, para in enumerate(paragraphs):
        if _COMMENTS.match(para.strip()):
            break  # readers' comments below the article: not its figures
        if _GALLERY.match(para):
            continue  # a slideshow's caption, about other stories
        # The lead carries what matters most; the bonus fades over the first paragraphs.
        bonus = max(0.0, 1.5 - 0.4 * index)
        furnished = bool(_FURNITURE.search(para.lower()))  # one search for most paragraphs
        for sentence in split_sentences(para):
            if len(sentence) > 600 or (furnished and _FURNITURE.search(sentence.lower())) or (
                    _GALLERY.match(sentence)):
                continue  # furniture, or a table flattened into one line
            found: list[tuple[int, int, str, str]] = []
            if _DIGIT.search(sentence):
                masked = _NUMERIC_DATE.sub(lambda d: "#" * len(d.group(0)), sentence)
                spans: list[tuple[int, int]] = []
                for pattern in (_BETWEEN, _FIGURE):
                    for m in pattern.finditer(masked):
                        start = m.start("pre") if m.group("pre") else m.start("num")
                        if any(a < m.end() and start < b for a, b in spans):
                            continue
                        spans.append((start, m.end()))
                        kind = _kind(m, sentence)
                        end = m.end()
                        if m.group("per") and kind != "money":
                            end = m.start("per")  # "20 tonnes a day": the day is not a unit
                        value = _clean_value(sentence[start:end])
                        if _refused(masked, start, end, value):
                            continue
                        found.append((start, end, kind, value))
            # Every word is a match of _WORD_FIGURE: the sentence is only scanned when it
            # holds one of the number words at all (a number word's letters lower-case
            # alike anywhere in the text).
            if has_number_word.search(sentence.lower()):
                for m in _WORD_FIGURE.finditer(sentence):
                    if m.group("word").lower() in words_of:
                        found.append((m.start(), m.end(), "words", _clean_value(m.group(0))))
            for start, end, kind, value in found:
                label, strong = _label(kind, sentence[:start], sentence[end:], language)
                unit = _FOLDED_NOUNS.match(sentence[end:])
                if unit and kind in ("count", "words"):
                    # "20 years of hostile relations": the years are the value's unit
                    rest = sentence[end + unit.end():]
                    folded, folded_strong = _label(kind, sentence[:start], rest, language)
                    words = folded.split()
                    if words and words[0].lower() in _AGE_WORD:
                        folded = " ".join(words[1:])  # "32 Jahre alte Claudia Brandes"
                    if folded and folded_strong and not _glue(folded.split()[0], language):
                        value, label, strong = f"{value} {unit.group(1)}", folded, True
                if not label or (kind == "words" and not strong):
                    continue
                score = _WEIGHT[kind] + bonus + min(len(label.split()), 3) * 0.2
                score += 0.0 if strong else -1.2
                if value.lower() in head_low:
                    score += 3.0  # the headline's own number
                digits = re.sub(r"\D", "", value.split(" ")[0])
                if len(digits) >= 4 or re.search(_SCALE + r"\b", value, re.I):
                    score += 0.5  # thousands and millions are what the story counts
                elif len(digits) == 1 and kind == "count":
                    score -= 0.5
                score += 0.6 * min(2, len(head_words & {w.lower() for w in label.split()}))
                order += 1
                candidates.append(_Candidate(kind, value, label, sentence, score, order))
    return candidates


def key_figures(body: str, headline: str = "", limit: int = 5,
                language: str | None = None) -> tuple[KeyFigure, ...]:
    """The most important numbers of the article, most important first."""
    candidates = _candidates(body, headline, language)
    # Greedy pick; each figure of a kind already chosen costs the next one of that kind,
    # so five percentages don't crowd out the one count that tells the story.
    chosen: list[_Candidate] = []
    pool: dict[str, _Candidate] = {}
    for c in sorted(candidates, key=lambda c: (c.score, -c.order)):
        pool[c.value.lower()] = c
    while pool and len(chosen) < limit:
        kinds = [c.kind for c in chosen]
        best = max(pool.values(), key=lambda c: (c.score - 0.75 * kinds.count(c.kind), -c.order))
        chosen.append(best)
        del pool[best.value.lower()]
    return tuple(KeyFigure(c.value, c.label, c.sentence[:300]) for c in chosen)
