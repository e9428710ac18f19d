"""Language identification from script and stop words: small, fast, no model files."""

from __future__ import annotations

import re
from collections import Counter

# The most frequent function words of each language; a page's language is the one
# whose words cover the most of its first few thousand words.
_STOPWORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the and of to in is that for it was on with as he be by at are this from "
              "his have an but not they has were which said been their who will would",
        "fr": "le la les de des et est un une du en que qui dans pour pas sur au avec "
              "il elle ce sont par plus ont été aux ses leur mais cette nous vous",
        "de": "der die das und ist nicht ein eine zu den von mit sich des auf für im dem "
              "auch es an werden aus er hat dass sie nach wird bei einer um noch wie",
        "es": "el la los las de y en que un una es por con para del al se no lo como más "
              "pero sus le ha fue este esta son entre también desde",
        "it": "il lo la gli le di e che un una è per non con del della da in sono si al "
              "anche come ma più nel alla dei questo questa ha",
        "pt": "o a os as de e que um uma do da em para com não no na por se mais dos das "
              "como mas foi ao ele ela são também já está",
        "nl": "de het een en van is dat op te in voor niet met zijn aan er ook als bij "
              "door maar om dan nog wordt worden heeft naar uit",
        "sv": "och att det som en på är av för med till den har inte om ett var jag men "
              "från kan så också vid eller efter",
        "da": "og at det som en på er af for med til den har ikke om et var jeg men fra "
              "kan så også ved eller efter blev",
        "no": "og at det som en på er av for med til den har ikke om et var jeg men fra "
              "kan så også ved eller etter ble",
        "pl": "i w na z do że nie się to jest o jak od po ale dla przez tak był jego "
              "jej które który która są został",
        "cs": "a v se na je že s z do to o k i jako by ale pro jsou které který která "
              "podle byl také jeho od po",
        "tr": "ve bir bu da de için ile olarak çok daha olan gibi ne ama sonra kadar "
              "en mi değil var yok her",
        "ro": "și de la în a cu pe că nu o un din este care mai pentru au fost se ca "
              "sau prin dar sunt",
        "hu": "a az és hogy nem is egy ez de meg van volt csak már mint még el ki "
              "pedig vagy után szerint",
        "fi": "ja on ei se että oli hän mutta kun tai myös ovat kuin jo niin sekä "
              "joka mukaan",
        "id": "dan yang di ini itu dengan untuk dari dalam tidak akan pada juga ke "
              "karena ada oleh atau sudah",
    }.items()
}
#: Every language's function words together (for telling content words from glue).
FUNCTION_WORDS: frozenset[str] = frozenset().union(*_STOPWORDS.values())
#: The same, per language code.
LANGUAGE_FUNCTION_WORDS: dict[str, frozenset[str]] = dict(_STOPWORDS)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SCRIPTS: list[tuple[str, re.Pattern[str]]] = [
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
]


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when there is too little to tell."""
    sample = text[:6000]
    letters = sum(1 for c in sample if c.isalpha())
    if letters < 20:
        return None
    counts = {code: len(pat.findall(sample)) for code, pat in _SCRIPTS}
    code, hits = max(counts.items(), key=lambda kv: kv[1])
    if hits > letters * 0.3:
        if code == "zh" and counts["ja"] > hits * 0.05:
            return "ja"
        if code == "ar" and re.search(r"[پچژگ]", sample):
            return "fa"
        if code == "ru":
            if re.search(r"[іїєґ]", sample):
                return "uk"
            if re.search(r"[ђћџ]", sample):
                return "sr"
        return code
    words = Counter(w.lower() for w in _WORD.findall(sample))
    scores = {lang: sum(words[w] for w in stop) for lang, stop in _STOPWORDS.items()}
    best, score = max(scores.items(), key=lambda kv: kv[1])
    return best if score >= 3 else None
