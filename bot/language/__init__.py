"""The language wing: what the core knows about words, shared by cards and matching.

Face: ``detect_language`` and the function words it is built on; per-language stop words
and word frequencies (``stop_words``, ``is_stop_word``, ``zipf``, ``is_common_word``);
one table of countries with their demonyms and other names (``place_of``,
``DEMONYMS``, ``COUNTRIES``, ``PLACES``), and CLDR's names of places in other languages
(``local_names``). Imports nothing of the core.
"""

from .detect import FUNCTION_WORDS, detect_language
from .places import COUNTRIES, DEMONYMS, NAME_LANGUAGES, PLACES, Place, local_names, place_of
from .words import is_common_word, is_stop_word, knows_language, stop_words, zipf

__all__ = [
    "COUNTRIES",
    "DEMONYMS",
    "FUNCTION_WORDS",
    "NAME_LANGUAGES",
    "PLACES",
    "Place",
    "detect_language",
    "is_common_word",
    "is_stop_word",
    "knows_language",
    "local_names",
    "place_of",
    "stop_words",
    "zipf",
]
