"""Extraction quality on a labelled page set, side by side with bare trafilatura.

Usage: python bench/quality.py [--cases DIR] [--quick] [--show FIELD]

Scores headline (exact after whitespace normalisation; lenient also accepts the
truth's variants), publication day, authors (set, case-insensitive) and body token F1
against ``truth.json`` files laid out as ``cases/<name>/{page.html,truth.json}`` (the
format of ``../shared/devset``). The last output line is a JSON object.
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

from bot import parse_article
from bot.errors import NewsbotError

DEFAULT_CASES = Path(__file__).resolve().parent.parent.parent / "shared" / "devset" / "cases"
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
        return {"headline": None, "date": None, "authors": [], "body": ""}
    return {
        "headline": card.headline,
        "date": (card.published or "")[:10] or None,
        "authors": list(card.authors),
        "body": card.body,
    }


def bare(html: str, url: str | None) -> dict[str, Any]:
    """Bare trafilatura with metadata, default options."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if not isinstance(doc, Document):  # None when nothing was found (a dict only with as_dict)
        return {"headline": None, "date": None, "authors": [], "body": ""}
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return {"headline": doc.title, "date": doc.date, "authors": authors, "body": doc.text or ""}


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


def main() -> None:
    """Run both extractors over the cases and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--quick", action="store_true", help="every 4th case only")
    ap.add_argument("--show", help="print our misses for this field")
    ap.add_argument("--only", help="substring filter on case names")
    args = ap.parse_args()
    cases = sorted(p for p in args.cases.iterdir() if (p / "truth.json").exists())
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
        for k, v in s_mine.items():
            totals["newsbot"][k].append(v)
        for k, v in s_base.items():
            totals["trafilatura"][k].append(v)
        if args.show and args.show in s_mine and s_mine[args.show] < 1.0:
            field = "date" if args.show == "date" else args.show.replace("_lenient", "")
            field = "body" if field == "body_f1" else field
            want = truth.get("body_ref" if field == "body" else field)
            if field == "body":
                mf, bf = s_mine["body_f1"], s_base.get("body_f1", 0.0)
                print(f"{case.name}: f1={mf:.2f} base={bf:.2f}")
            else:
                print(f"{case.name}:\n  got  {mine[field]!r}\n  want {want!r}")
                print(f"  traf {base[field]!r}")
    summary: dict[str, Any] = {"cases": len(cases)}
    print(f"{'field':18} {'newsbot':>8} {'trafilatura':>12} {'n':>5}")
    for field in ("headline", "headline_lenient", "date", "authors", "body_f1"):
        a, b = totals["newsbot"][field], totals["trafilatura"][field]
        if not a:
            continue
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        print(f"{field:18} {ma:8.3f} {mb:12.3f} {len(a):5}")
        summary[field] = round(ma, 4)
        summary[f"trafilatura_{field}"] = round(mb, 4)
    summary["newsbot_s"] = round(t_ours, 2)
    summary["trafilatura_s"] = round(t_bare, 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
