"""Extractive summary: two or three of the article's own sentences, at most 500 characters.

News is written lead first, so the opening sentences carry the story; among the first
few, sentences that share words with the headline win, and nothing short, quoted-only or
dateline-like is taken.
"""

from __future__ import annotations

import re

from .text import split_sentences, word_count

MAX_CHARS = 500
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def _usable(sentence: str) -> bool:
    words = word_count(sentence)
    if words < 6 or words > 80:
        return False
    if re.match(r"^[A-Z .,()-]{4,}\s[-–—]", sentence):  # "LONDON (Reuters) -" alone
        return words > 12
    # A sentence ends like one; a heading or a caption does not.
    return bool(re.search(r"[.!?…\"”»。！？)]$", sentence))


def summarise(headline: str, body: str, max_sentences: int = 3) -> str:
    """Two or three sentences from ``body`` (in their order), within 500 characters."""
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    sentences: list[str] = []
    for para in paragraphs[:8]:
        sentences.extend(s for s in split_sentences(para) if _usable(s))
        if len(sentences) >= 10:
            break
    if not sentences:
        # Very short pages: take what there is, cut at a word boundary.
        text = " ".join(paragraphs)[:MAX_CHARS]
        return text if len(" ".join(paragraphs)) <= MAX_CHARS else text.rsplit(" ", 1)[0]
    head = {w.lower() for w in _WORD.findall(headline)}
    scored = []
    for i, sent in enumerate(sentences):
        words = {w.lower() for w in _WORD.findall(sent)}
        overlap = len(words & head) / (len(head) or 1)
        scored.append((overlap + 1.0 / (1 + i), i))
    # The first sentence of a news story is its summary's backbone.
    chosen = [0]
    for _, i in sorted(scored, reverse=True):
        if len(chosen) >= max_sentences:
            break
        if i not in chosen and i < 6:
            chosen.append(i)
    out: list[str] = []
    for i in sorted(chosen):
        candidate = " ".join([*out, sentences[i]])
        if len(candidate) <= MAX_CHARS:
            out.append(sentences[i])
    if not out:
        first = sentences[0]
        return first if len(first) <= MAX_CHARS else first[: MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return " ".join(out)
