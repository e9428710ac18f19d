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
# Paywall, login and subscription notices, in the main scripts: never a summary sentence.
_PAYWALL = re.compile(
    r"(\bsubscribe (now|today|to (read|continue|our|the))|\bsubscribers?[- ]only|"
    r"\bfor subscribers\b|\b(sign|log) ?(in|up) (to|for|now)\b|\bregister (now|to|for free)|"
    r"\bcreate an? (free )?account|\balready (a subscriber|have an account)|"
    r"abonnez-vous|réservé aux abonnés|jetzt abonnieren|abo abschließen|nur für abonnenten|"
    r"suscr[ií]bete|exclusivo para suscriptores|\bassine\b|\babbonati\b|"
    r"会員|ログイン|購読|転載|詳しくはこちら|订阅|登录|注册|會員|訂閱|회원|로그인|구독)", re.I)
# A list of the page's tags: the end of its header when it comes before the article.
# A byline or dateline line ("posted on April 21, 2015"): below the headline, it ends
# the header, and the dek between them is not the article's text.
_DATELINE = re.compile(
    r"^(posted|published|updated|last updated|veröffentlicht|aktualisiert|publié|mis à jour|"
    r"publicado|actualizado|pubblicato|aggiornato)\b.*\d", re.I)
_TAG_LINE = re.compile(r"^(topics|tags|themen|schlagworte|sujets|temas|argomenti)\s?:", re.I)
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
    if _CAPTION.search(sentence) or _PAYWALL.search(sentence) or not _STARTS.match(sentence):
        return False  # a caption or credit, or a fragment that starts mid-sentence
    if re.match(r"^[A-Z .,()-]{4,}\s[-–—]", sentence):  # "LONDON (Reuters) -" alone
        return words > 12
    if sentence.endswith(("...", "…")):
        return False  # a teaser cut short
    # A sentence ends like one; a heading or a caption does not.
    return bool(re.search(r"[.!?…\"”»。！？)]$", sentence))


def _repeats(line: set[str], headline: set[str]) -> bool:
    """Whether a line is the headline again (not a section heading sharing its start)."""
    return bool(line and headline) and len(line & headline) / max(len(line), len(headline)) >= 0.8


def _header_end(paragraphs: list[str], headline: str) -> int:
    """How many leading paragraphs are the page's header, not the article: everything
    up to the headline repeated (and a dateline right below it), a tag list or a login
    or paywall line among the first few paragraphs. A teaser above a byline with no
    headline above it stays: it is often the article's lead."""
    head_words = _tokens(headline)
    end = 0
    after_headline = False
    for i, para in enumerate(paragraphs[:6]):
        line = " ".join(para.split())
        if word_count(line) > 25:
            continue
        if _repeats(_tokens(line), head_words):
            end, after_headline = i + 1, True
        elif (_TAG_LINE.match(line) or _PAYWALL.search(line)
              or (after_headline and i - end <= 2 and _DATELINE.match(line))):
            end = i + 1
    # A header never swallows the whole article.
    return end if end < len(paragraphs) else 0


def article_paragraphs(headline: str, body: str) -> list[str]:
    """The body's paragraphs without the page header that some extractions keep."""
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    return paragraphs[_header_end(paragraphs, headline):]


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
    if text not in " ".join(" ".join(article_paragraphs(headline, body)).split()):
        # Site boilerplate, a teaser written apart from the article, or the page
        # header's own line above the byline.
        return None
    return text


def summarise(headline: str, body: str, max_sentences: int = 3,
              standfirst: str | None = None) -> str:
    """Two or three sentences (the standfirst first, then the lead), within 500 characters."""
    paragraphs = article_paragraphs(headline, body)
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
