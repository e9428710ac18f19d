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


# Captions, credits and file-photo lines: never a summary sentence.
_CAPTION = re.compile(
    r"(^(file )?(photo|image|picture|foto|bild|video)\b|\b(photo|credit|getty images|"
    r"/afp|afp/|reuters/|/reuters|ap photo|file photo|©|\(photo|\(foto|pictured)\b)", re.I)
_STARTS = re.compile(r"^[\"'“‘«(\[¿¡]?[^\W_a-z]", re.UNICODE)


def _tokens(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _same(a: set[str], b: set[str], at: float = 0.6) -> bool:
    """Whether two sentences say the same thing (most of their words shared)."""
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= at


def _usable(sentence: str) -> bool:
    words = word_count(sentence)
    if words < 6 or words > 80:
        return False
    if _CAPTION.search(sentence) or not _STARTS.match(sentence):
        return False  # a caption or credit, or a fragment that starts mid-sentence
    if re.match(r"^[A-Z .,()-]{4,}\s[-–—]", sentence):  # "LONDON (Reuters) -" alone
        return words > 12
    # A sentence ends like one; a heading or a caption does not.
    return bool(re.search(r"[.!?…\"”»。！？)]$", sentence))


def standfirst_of(description: str | None, headline: str, body: str) -> str | None:
    """The page's standfirst (og:description, a subheadline) when it is the article's
    own prose: a sentence of the body's, not the headline again."""
    if not description:
        return None
    text = " ".join(description.split())
    if not (8 <= word_count(text) <= 70) or not _usable(text):
        return None
    words = _tokens(text)
    if _same(words, _tokens(headline), 0.8):
        return None
    if text not in " ".join(body.split()):
        return None  # site boilerplate, or a teaser written apart from the article
    return text


def summarise(headline: str, body: str, max_sentences: int = 3,
              standfirst: str | None = None) -> str:
    """Two or three sentences (the standfirst first, then the lead), within 500 characters."""
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    sentences: list[str] = []
    head_words = _tokens(headline)
    seen: list[set[str]] = []
    for para in paragraphs[:8]:
        for sent in split_sentences(para):
            words = _tokens(sent)
            # Never the headline again, never the same thing twice.
            if not _usable(sent) or _same(words, head_words, 0.8) or any(
                    _same(words, other) for other in seen):
                continue
            sentences.append(sent)
            seen.append(words)
        if len(sentences) >= 10:
            break
    if standfirst:
        stand_words = _tokens(standfirst)
        rest = [x for x, w in zip(sentences, seen, strict=True) if not _same(w, stand_words)]
        picked = [standfirst]
        for sent in rest:
            if len(picked) >= max_sentences or len(" ".join([*picked, sent])) > MAX_CHARS:
                break
            picked.append(sent)
        if len(standfirst) <= MAX_CHARS:
            return " ".join(picked)
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
