"""Extraction quality on a labelled page set, side by side with bare trafilatura.

Usage: python bench/quality.py [--cases DIR] [--quick] [--show FIELD]

Scores headline (exact after whitespace normalisation; lenient also accepts the
truth's variants), publication day, authors (set equality, and set F1 where ``[]``
expects no author; case-insensitive), body token F1 and "article start found" (the
first 13 words of the reference's first paragraph present in the body, whitespace and
case normalised) against ``truth.json`` files laid out as
``cases/<name>/{page.html,truth.json}`` (the format of ``../shared/devset``). The last
output line is a JSON object naming the cases it scored. Without the development set (a
plain clone) it stops with one line saying where to put it, or takes ``--cases DIR``.

The card's understanding fields are scored against the labels in ``bench/data/``:
topics against the publisher's own tags (``publisher_tags.json``; bare trafilatura's
topics are its ``tags`` and ``categories``), key figures against hand-picked figures
(``key_figures.json``), and figure values and summaries against the true body
(``body_ref``). ``--labelled`` runs only the cases that have one of these.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trafilatura
from trafilatura.settings import Document

from bench.devset import DEVSET_CASES, require
from bot import parse_article
from bot.errors import NewsbotError

_HERE = Path(__file__).resolve().parent
DEFAULT_CASES = DEVSET_CASES
TAGS = _HERE / "data" / "publisher_tags.json"
FIGURES = _HERE / "data" / "key_figures.json"
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def norm_ws(text: str | None) -> str:
    """Collapse whitespace (NBSP included)."""
    return " ".join((text or "").replace("\xa0", " ").split())


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; CJK scripts count one token per character."""
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        if _CJK.search(tok):
            out.extend(tok)
        else:
            out.append(tok)
    return out


def f1(pred: str, ref: str) -> float:
    """Token-level F1 (bag of tokens)."""
    p, r = collections.Counter(tokens(pred)), collections.Counter(tokens(ref))
    if not p and not r:
        return 1.0
    common = sum((p & r).values())
    if common == 0:
        return 0.0
    prec, rec = common / sum(p.values()), common / sum(r.values())
    return 2 * prec * rec / (prec + rec)


def ours(html: str, url: str | None) -> dict[str, Any]:
    """Our card's fields, or empty fields when the parser refuses the page."""
    try:
        card = parse_article(html, url)
    except NewsbotError:
        return {"headline": None, "date": None, "authors": [], "body": "", "topics": [],
                "figures": [], "summary": ""}
    return {
        "headline": card.headline,
        "date": (card.published or "")[:10] or None,
        "authors": list(card.authors),
        "body": card.body,
        "topics": list(card.topics),
        "figures": [(f.value, f.label) for f in card.key_figures],
        "summary": card.summary,
    }


def bare(html: str, url: str | None) -> dict[str, Any]:
    """Bare trafilatura with metadata, default options."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if not isinstance(doc, Document):  # None when nothing was found (a dict only with as_dict)
        return {"headline": None, "date": None, "authors": [], "body": "", "topics": []}
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    topics = [t for value in [*(doc.tags or []), *(doc.categories or [])]
              for t in str(value).split(",")]
    return {"headline": doc.title, "date": doc.date, "authors": authors, "body": doc.text or "",
            "topics": topics}


def score(pred: dict[str, Any], truth: dict[str, Any]) -> dict[str, float]:
    """Per-field scores for one case (fields with null truth are skipped)."""
    out: dict[str, float] = {}
    if truth.get("headline") is not None:
        h = norm_ws(pred["headline"])
        out["headline"] = float(h == norm_ws(truth["headline"]))
        variants = [norm_ws(v) for v in truth.get("headline_variants") or []]
        out["headline_lenient"] = float(out["headline"] == 1.0 or h in variants)
    if truth.get("date") is not None:
        out["date"] = float((pred["date"] or "")[:10] == truth["date"])
    if truth.get("authors") is not None:
        got = {a.lower() for a in pred["authors"]}
        want = {a.lower() for a in truth["authors"]}
        out["authors"] = float(got == want)
    if truth.get("body_ref") is not None:
        out["body_f1"] = f1(pred["body"], truth["body_ref"])
    return out


# --- understanding fields: topics, key figures, summaries -------------------------------

_NUMBER_WORDS = {
    w: n for n, words in {
        1: "one ein eine eins un une uno una um", 2: "two zwei deux dos dois due",
        3: "three drei trois tres três tre", 4: "four vier quatre cuatro quatro quattro",
        5: "five fünf cinq cinco cinque", 6: "six sechs seis sei",
        7: "seven sieben sept siete sete sette", 8: "eight acht huit ocho oito otto",
        9: "nine neun neuf nueve nove", 10: "ten zehn dix diez dez dieci",
        11: "eleven elf onze once", 12: "twelve zwölf douze doce",
    }.items() for w in words.split()
}
_SCALE_WORDS = {
    "k": 1e3, "thousand": 1e3, "mil": 1e3, "tausend": 1e3, "lakh": 1e5, "lakhs": 1e5,
    "crore": 1e7, "m": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6, "millionen": 1e6,
    "mio": 1e6, "millones": 1e6, "milhões": 1e6, "milioni": 1e6, "bn": 1e9, "b": 1e9,
    "billion": 1e9, "billions": 1e9, "milliard": 1e9, "milliards": 1e9, "milliarden": 1e9,
    "mrd": 1e9, "trillion": 1e12,
}
_NUM_TOKEN = re.compile(r"(\d+(?:[.,\u00a0\u202f ]\d+)*)\s*([^\W\d_]+)?")


def _readings(digits: str) -> set[float]:
    """Every value a written number can have (1.234 is 1234 in German, 1.234 in English)."""
    digits = re.sub(r"[\u00a0\u202f ]", "", digits)
    out: set[float] = set()
    for thousands, decimal in ((",", "."), (".", ",")):
        text = digits.replace(thousands, "").replace(decimal, ".")
        try:
            out.add(float(text))
        except ValueError:
            continue
    return out


def numbers(value: str) -> set[float]:
    """The numbers a figure's value states, scale words applied ("$4.8 billion": 4.8e9)."""
    out: set[float] = set()
    low = value.lower()
    for m in _NUM_TOKEN.finditer(low):
        scale = _SCALE_WORDS.get((m.group(2) or "").rstrip("."), 1.0)
        out |= {round(v * scale, 6) for v in _readings(m.group(1))}
    if not out:
        words = re.findall(r"[^\W\d_]+", low)
        for i, word in enumerate(words):
            if word in _NUMBER_WORDS:
                scale = _SCALE_WORDS.get(words[i + 1], 1.0) if i + 1 < len(words) else 1.0
                out.add(_NUMBER_WORDS[word] * scale)
    return out


def _matches(shown: str, wanted: str) -> bool:
    a, b = numbers(shown), numbers(wanted)
    return bool(a & b)


def norm_tag(tag: str) -> str:
    """A topic or tag in comparable form (the labels' own normalisation)."""
    import html as _html
    import unicodedata

    tag = unicodedata.normalize("NFKC", _html.unescape(tag))
    tag = " ".join(tag.lower().split())
    return tag.strip(" \t#.,;:!?\"'“”‘’«»()[]{}|-–—")


def topic_scores(topics: list[str], tags: list[str]) -> dict[str, float]:
    """Recall of the publisher's tags among the topics, and the topics' precision."""
    want = {norm_tag(t) for t in tags} - {""}
    got = list(dict.fromkeys(t for t in (norm_tag(x) for x in topics) if t))
    out = {"topics_recall": len(want & set(got)) / len(want)}
    if got:
        out["topics_precision"] = sum(t in want for t in got) / len(got)
    out["topics_shown"] = float(len(got))
    return out



def _label_ok(label: str, lang: str) -> bool:
    """A label a reader accepts: words, not starting or ending with a function word."""
    try:
        import stopwordsiso

        stop = set(stopwordsiso.stopwords(lang)) if stopwordsiso.has_lang(lang) else set()
    except ImportError:
        stop = set()
    words = re.findall(r"[^\W\d_][\w'’-]*", label.lower())
    if not words:
        return False
    return words[0] not in stop and words[-1] not in stop


def figure_scores(figures: list[tuple[str, str]], label: dict[str, Any]) -> dict[str, float]:
    """Must-have figures found in the top five, and the share of shown figures accepted."""
    top = figures[:5]
    must, ok = label["must"], label["ok"]
    found = sum(any(_matches(v, m) for v, _ in top) for m in must)
    out = {"figures_must_top5": found / len(must)}
    if figures:
        accepted = sum(
            any(_matches(v, w) for w in [*must, *ok]) and _label_ok(lab, label["lang"])
            for v, lab in figures)
        out["figures_accepted"] = accepted / len(figures)
    return out


def _squash(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split()).lower()


def in_body_scores(pred: dict[str, Any], body_ref: str) -> dict[str, float]:
    """Share of shown figure values found in the true body, and of summary tokens."""
    out: dict[str, float] = {}
    body = _squash(body_ref)
    if pred.get("figures"):
        def present(value: str) -> bool:
            parts = [p for p in re.findall(r"\d+(?:[.,\s]\d+)*", value)]
            if parts:
                return all(_squash(p) in body for p in parts)
            return _squash(value).split()[0] in body

        out["figures_in_body"] = (sum(present(v) for v, _ in pred["figures"])
                                  / len(pred["figures"]))
    if pred.get("summary"):
        toks = tokens(pred["summary"])
        ref = set(tokens(body_ref))
        if toks:
            out["summary_in_body"] = sum(t in ref for t in toks) / len(toks)
    return out


# --- authors F1 and article start (issue 14) -------------------------------------------

START_WORDS = 13


def authors_f1(pred: list[str], truth: list[str]) -> float:
    """Set F1 of author names, case-insensitive; ``[]`` truth expects no author at all."""
    got = {" ".join(a.lower().split()) for a in pred if a.strip()}
    want = {" ".join(a.lower().split()) for a in truth}
    if not got and not want:
        return 1.0
    common = len(got & want)
    if common == 0:
        return 0.0
    prec, rec = common / len(got), common / len(want)
    return 2 * prec * rec / (prec + rec)


def article_start_found(body: str, ref: str) -> float:
    """1.0 when the first 13 words of the reference's first paragraph are in ``body``.

    Whitespace is collapsed and case ignored on both sides; a shorter first paragraph
    counts whole. A CJK paragraph (no spaces) counts by its first 26 characters.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", ref) if p.strip()]
    if not paragraphs:
        return 1.0
    words = paragraphs[0].lower().split()
    head = " ".join(words[:START_WORDS])
    if len(words) < START_WORDS and _CJK.search(head):
        head = "".join(head.split(" "))[: START_WORDS * 2]
        return float(head in "".join(body.lower().split()))
    return float(head in " ".join(body.lower().split()))


def score_issue14(pred: dict[str, Any], truth: dict[str, Any]) -> dict[str, float]:
    """Authors F1 and article start for one case (null truth skipped)."""
    out: dict[str, float] = {}
    if truth.get("authors") is not None:
        out["authors_f1"] = authors_f1(pred["authors"], truth["authors"])
    if truth.get("body_ref") is not None:
        out["article_start"] = article_start_found(pred["body"], truth["body_ref"])
    return out


def main() -> None:
    """Run both extractors over the cases and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--quick", action="store_true", help="every 4th case only")
    ap.add_argument("--show", help="print our misses for this field")
    ap.add_argument("--only", help="substring filter on case names")
    ap.add_argument("--labelled", action="store_true",
                    help="only cases with tag or figure labels or a true body")
    args = ap.parse_args()
    require(args.cases, "bench/quality.py", "or pass --cases DIR with the same layout")
    tag_labels = json.loads(TAGS.read_text(encoding="utf-8")) if TAGS.exists() else {}
    fig_labels = json.loads(FIGURES.read_text(encoding="utf-8")) if FIGURES.exists() else {}
    fig_labels.pop("_about", None)
    cases = sorted(p for p in args.cases.iterdir() if (p / "truth.json").exists())
    if args.labelled:
        cases = [c for c in cases if c.name in tag_labels or c.name in fig_labels
                 or json.loads((c / "truth.json").read_text()).get("body_ref")]
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    if args.quick:
        cases = cases[::4]
    totals: dict[str, dict[str, list[float]]] = {
        "newsbot": collections.defaultdict(list),
        "trafilatura": collections.defaultdict(list),
    }
    t_ours = t_bare = 0.0
    for case in cases:
        truth = json.loads((case / "truth.json").read_text())
        html = (case / "page.html").read_text()
        url = truth.get("url")
        t0 = time.perf_counter()
        mine = ours(html, url)
        t1 = time.perf_counter()
        base = bare(html, url)
        t2 = time.perf_counter()
        t_ours += t1 - t0
        t_bare += t2 - t1
        s_mine, s_base = score(mine, truth), score(base, truth)
        s_mine.update(score_issue14(mine, truth))
        s_base.update(score_issue14(base, truth))
        if case.name in tag_labels:
            s_mine.update(topic_scores(mine["topics"], tag_labels[case.name]))
            s_base.update(topic_scores(base["topics"], tag_labels[case.name]))
        if case.name in fig_labels:
            s_mine.update(figure_scores(mine["figures"], fig_labels[case.name]))
        if truth.get("body_ref"):
            s_mine.update(in_body_scores(mine, truth["body_ref"]))
        if args.show in ("topics", "figures", "summary"):
            if args.show == "topics" and case.name in tag_labels:
                print(f"{case.name}:\n  got  {mine['topics']}\n  tags {tag_labels[case.name]}")
            elif args.show == "figures" and case.name in fig_labels:
                print(f"{case.name}: {mine['figures']}\n  must {fig_labels[case.name]['must']}")
            elif args.show == "summary" and truth.get("body_ref"):
                print(f"{case.name}: {mine['summary']!r}")
        for k, v in s_mine.items():
            totals["newsbot"][k].append(v)
        for k, v in s_base.items():
            totals["trafilatura"][k].append(v)
        if args.show and args.show in s_mine and s_mine[args.show] < 1.0:
            field = "date" if args.show == "date" else args.show.replace("_lenient", "")
            field = {"body_f1": "body", "article_start": "body", "authors_f1": "authors"}.get(
                field, field)
            want = truth.get("body_ref" if field == "body" else field)
            if field == "body":
                mf, bf = s_mine[args.show], s_base.get(args.show, 0.0)
                print(f"{case.name}: {args.show}={mf:.2f} base={bf:.2f}")
            else:
                print(f"{case.name}:\n  got  {mine[field]!r}\n  want {want!r}")
                print(f"  traf {base[field]!r}")
    summary: dict[str, Any] = {"data": str(args.cases), "cases": len(cases)}
    print(f"{'field':18} {'newsbot':>8} {'trafilatura':>12} {'n':>5}")
    for field in ("headline", "headline_lenient", "date", "authors", "authors_f1", "body_f1",
                  "article_start",
                  "topics_recall", "topics_precision", "topics_shown", "figures_must_top5",
                  "figures_accepted", "figures_in_body", "summary_in_body"):
        a, b = totals["newsbot"][field], totals["trafilatura"][field]
        if not a:
            continue
        ma = sum(a) / len(a)
        mb = sum(b) / len(b) if b else None
        shown_b = f"{mb:12.3f}" if mb is not None else f"{'-':>12}"
        print(f"{field:18} {ma:8.3f} {shown_b} {len(a):5}")
        summary[field] = round(ma, 4)
        if mb is not None:
            summary[f"trafilatura_{field}"] = round(mb, 4)
    summary["newsbot_s"] = round(t_ours, 2)
    summary["trafilatura_s"] = round(t_bare, 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
