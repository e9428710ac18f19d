"""The language wing: what the core knows about words, shared by cards and matching.

Face: ``detect_language`` and the function words it is built on, and one table of
countries with their demonyms and other names (``place_of``, ``DEMONYMS``, ``COUNTRIES``).
Imports nothing of the core.
"""

from .detect import FUNCTION_WORDS, detect_language
from .places import COUNTRIES, DEMONYMS, PLACES, Place, place_of

__all__ = [
    "COUNTRIES", "DEMONYMS", "FUNCTION_WORDS", "PLACES", "Place", "detect_language", "place_of",
]
