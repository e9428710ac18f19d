"""How common a word is in a language: stop words and word frequencies, per language.

Two packaged data sets, both read from the installed wheels (nothing is downloaded):
stop words from ``stopwordsiso`` (58 languages) joined with this wing's own function
words, and word frequencies from ``wordfreq``'s small lists (about 40 languages), given
on the Zipf scale (log10 of uses per billion words: "the" 7.7, "people" 6.3, "putin" 4.1).
A language code that neither knows gives empty answers, never an error.
"""

from __future__ import annotations

import functools
import math

import stopwordsiso
import wordfreq

from .detect import FUNCTION_WORDS, LANGUAGE_FUNCTION_WORDS

# Codes the packages spell differently from what pages declare.
_ALIASES = {"nb": "no", "nn": "no", "iw": "he", "in": "id", "tl": "fil", "zh-hans": "zh"}
_MAX_BIN = 551  # the packed lists' bins are centibels below 1: bin 550 is Zipf 3.5
_WORDFREQ_CODES = {"no": "nb", "sr": "sh", "hr": "sh", "bs": "sh", "tl": "fil"}


@functools.lru_cache(maxsize=1024)
def _code(lang: str | None) -> str | None:
    if not lang:
        return None
    code = lang.strip().lower().replace("_", "-")
    code = _ALIASES.get(code, code)
    return _ALIASES.get(code.split("-")[0], code.split("-")[0]) or None


@functools.cache
def _stop_words(code: str | None) -> frozenset[str]:
    if code is None:
        # Unknown language: the function words of every language the wing knows.
        return FUNCTION_WORDS | _stop_words("en")
    words: set[str] = set(LANGUAGE_FUNCTION_WORDS.get(code, ()))
    if stopwordsiso.has_lang(code):
        words |= {w.lower() for w in stopwordsiso.stopwords(code)}
    return frozenset(words) if words else _stop_words(None)


def stop_words(lang: str | None) -> frozenset[str]:
    """The stop words (function words and the most general words) of language ``lang``."""
    return _stop_words(_code(lang))


def is_stop_word(word: str, lang: str | None) -> bool:
    """Whether ``word`` is a stop word of ``lang`` (case-insensitive)."""
    return word.lower() in _stop_words(_code(lang))


@functools.cache
def _frequencies(code: str) -> dict[str, float]:
    wf = _WORDFREQ_CODES.get(code, code)
    if wf not in wordfreq.available_languages(wordlist="small"):
        return {}
    # Only words at Zipf 3.5 or more are kept (a few thousand per language, not tens of
    # thousands): every question asked here is about common words, and rarer ones read
    # as 0.0 ("unlisted"), which is what they are to those questions.
    # Read from the packed list itself: wordfreq's own loaders cache every word for good.
    bins = wordfreq.read_cBpack(wordfreq.available_languages(wordlist="small")[wf])
    return {w: 10 ** (-i / 100) for i, words in enumerate(bins[:_MAX_BIN]) for w in words}


@functools.lru_cache(maxsize=1 << 16)  # the same words come back on every page
def zipf(word: str, lang: str | None) -> float:
    """``word``'s frequency in ``lang`` on the Zipf scale; 0.0 when unknown or rarer than 3.5."""
    code = _code(lang)
    if code is None:
        return 0.0
    freq = _frequencies(code).get(word.casefold())
    return round(math.log10(freq) + 9, 2) if freq else 0.0


def is_common_word(word: str, lang: str | None, at_least: float = 5.0) -> bool:
    """Whether ``word`` is an everyday word of ``lang`` (Zipf >= ``at_least``) or a stop word.

    The default threshold keeps names in the news ("putin" 4.1, "merkel" 4.8) and
    subject words ("salmon" 4.0) out, and lets "people" (6.3), "menschen" (5.9) or
    "faire" (6.3) in.
    """
    return is_stop_word(word, lang) or zipf(word, lang) >= at_least


def knows_language(lang: str | None) -> bool:
    """Whether stop words or frequencies exist for ``lang``."""
    code = _code(lang)
    return code is not None and (stopwordsiso.has_lang(code) or bool(_frequencies(code)))
