"""Text helpers shared by the HTML and plain-text readers: sentences and clutter lines."""

from __future__ import annotations

import html
import re

_ABBREV = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sgt capt gov sen rep rev hon messrs "
    "jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co corp no vs etc "
    "approx est dept fig vol ca cf e.g i.e u.s u.k u.n a.m p.m mt ft av bd nr nro núm".split()
)
# A sentence ends at . ! ? (or their CJK forms) followed by space and an opening letter,
# digit or quote; CJK full stops need no space.
_BOUNDARY = re.compile(
    r"([.!?…]+[\"'”’»)]*)\s+(?=[\"'“‘«(\[]?[A-ZÀ-ÖØ-ÞА-ЯΑ-Ω0-9¿¡])|([。！？]+)"
)
_WS = re.compile(r"[ \t\u00a0\u2009\u200a\u202f]+")
_LINE_BREAKS = re.compile(r"\n+")
_INITIAL = re.compile(r"[a-z]")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_SENTENCE_END = re.compile(r"[.!?:;\"”»。！？]\s*$")

# Lines that belong to the page around an article, never to the article itself.
_CLUTTER = re.compile(
    r"^\s*(?:(?:read more|read next|more:|related:|related stories|related articles|"
    r"recommended for you|don'?t miss|see also|also read|you may also like|most read|"
    r"most popular|trending now|advertisement|advertising|sponsored content|share this|"
    r"share on|share via|follow us|sign up|subscribe to|subscribe now|newsletter|"
    r"click here|tap here|watch:|listen:|photo:|image:|credit:|credits:|getty images|"
    r"reuters/|ap photo|afp photo|date created|lire aussi|lire la suite|à lire aussi|"
    r"mehr zum thema|lesen sie auch|auch interessant|leer más|lee también|"
    r"te puede interesar|continue reading|skip to|back to top|copyright|"
    r"all rights reserved|\(c\) \d{4})\b|©|\d* ?comments?\s*$)",
    re.I,
)


# An entity reference left in text that was escaped twice ("Swift&amp;#8217;s" in the
# markup reads "Swift&#8217;s"); only complete references, so "AT&T" or "Q&A" stay.
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def decode_entities(text: str) -> str:
    """``text`` with HTML entity references decoded ("R&uuml;ckbau" -> "Rückbau")."""
    if "&" not in text:
        return text
    for _ in range(2):  # twice-escaped values need two passes ("&amp;#8217;")
        decoded = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    return text


# Screen-reader notes that sites append to links: never part of a sentence.
_LINK_NOTES = re.compile(
    r"\s*\((?:öffnet (?:sich )?i[nm] (?:einem )?neuen (?:fenster|tab)|opens? in (?:a )?new "
    r"(?:window|tab)|s'ouvre dans (?:une )?nouvelle (?:fenêtre|fenetre|onglet)|"
    r"se abre en (?:una )?nueva (?:ventana|pestaña)|apre in una nuova (?:finestra|scheda)|"
    r"opent in (?:een )?nieuw (?:venster|tabblad)|external link|externer link)\)",
    re.I,
)
def strip_link_notes(line: str) -> str:
    """``line`` without "(opens in a new window)" notes, trimmed."""
    return _LINK_NOTES.sub("", line).strip() if "(" in line else line.strip()


def normalise_space(text: str) -> str:
    """One space between words on each line, lines trimmed, no runs of blank lines."""
    # _WS holds no line break, so one substitution over the whole text does for every line.
    lines = [line.strip() for line in _WS.sub(" ", text.replace("\r", "\n")).split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations and initials together."""
    parts: list[str] = []
    for para in _LINE_BREAKS.split(text):
        raw = _BOUNDARY.split(para.strip())
        # re.split interleaves the captured end punctuation; glue it back on.
        pieces = [
            (raw[i] or "") + (raw[i + 1] or "") + (raw[i + 2] or "")
            for i in range(0, len(raw) - 2, 3)
        ] + [raw[-1] or ""]
        # The pieces of the sentence being glued, joined once at its end: a run of
        # 40,000 initials ("A. B. C. ...") stays linear.
        buf: list[str] = []
        for piece in pieces:
            if piece.strip():
                buf.append(piece.rstrip() if buf else piece.strip())
            last = buf[-1].rstrip("\"'”’»)").rstrip(".").rpartition(" ")[2].lower() if buf else ""
            if last in _ABBREV or _INITIAL.fullmatch(last):
                continue
            if buf:
                parts.append(" ".join(buf))
            buf = []
        if buf:
            parts.append(" ".join(buf))
    return [p for p in parts if p]


def is_clutter_line(line: str) -> bool:
    """True for a short line that is page furniture: 'Read more', credits, share prompts."""
    stripped = line.strip()
    if not stripped:
        return True
    return len(stripped) < 160 and bool(_CLUTTER.match(stripped))


def word_count(text: str) -> int:
    """Words in ``text``; CJK characters count roughly as words."""
    cjk = 0 if text.isascii() else len(_CJK_CHAR.findall(text))
    return len(text.split()) + cjk // 2


def looks_like_prose(line: str) -> bool:
    """A line a reader would call a paragraph: long enough, several words, sentence-like."""
    words = word_count(line)
    if words >= 25:
        return True
    return words >= 8 and bool(_SENTENCE_END.search(line.strip()))
