"""Routing benchmark: does an article reach the people who follow its publisher's tags?

Usage: ``python bench/routing.py [--cases DIR] [--quick] [--fresh] [--show]``

Pages: every ``../shared/devset/cases/*/page.html`` that declares tags of its own
(``article:tag``, ``news_keywords``, JSON-LD ``keywords``; read by
``bench/data/make_tag_labels.py``), plus the small pages of ``bench/data/routing/`` (each
``*.html`` with its tags in ``<meta property="article:tag">``; origin in that folder's
README). Each page becomes a card (``parse_article``; cards are cached in
``bench/results/routing_cards.json``, ``--fresh`` re-parses).

Every tag of every page is subscribed as a topic, as a user would type it (an expression
that does not parse is retried quoted; if that fails too, it never matches). Then each
card is matched once against the whole index:

- ``recall``: share of (page, own tag) pairs where the page reaches the tag's subscriber;
- ``recall_in_lead``: the same, over tags whose text (case-insensitive) is in the headline,
  summary or first two paragraphs; ``recall_in_text``: over tags whose text is anywhere in
  the card's text;
- ``fp_rate``: matches per (page, tag of another page that the page does not declare);
- ``naive_*``: the same figures for a case-insensitive substring filter over the card's
  headline, summary and body (how feed bots filter).

The card's topics start with the page's own tags (``bot/article/subjects``), so a tag
also reaches its subscriber through them; ``--no-topics`` matches without the topics, to
measure the matcher on the text alone. ``--semantic`` subscribes each one-word tag as
``~tag`` (semantic expansion: the word and its close terms), to measure what expansion
adds in recall and false matches. ``--quick`` keeps every other page. The last line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data.make_tag_labels import DEFAULT_CASES, declared
from bot.card import Card
from bot.errors import NewsbotError, TopicError
from bot.subscriptions import MatchIndex, parse_topic

HERE = Path(__file__).resolve().parent
EXTRA = HERE / "data" / "routing"
CACHE = HERE / "results" / "routing_cards.json"


def _pages(cases: Path) -> list[tuple[str, str, str | None]]:
    """(name, html, url) of every page that declares tags."""
    out: list[tuple[str, str, str | None]] = []
    if cases.is_dir():
        for case in sorted(p for p in cases.iterdir() if (p / "page.html").exists()):
            truth = json.loads((case / "truth.json").read_text(encoding="utf-8"))
            url = truth.get("url") or (truth.get("origin") or {}).get("url")
            out.append((case.name, (case / "page.html").read_text(encoding="utf-8"), url))
    for page in sorted(EXTRA.glob("*.html")):
        out.append((f"extra-{page.stem}", page.read_text(encoding="utf-8"), None))
    return out


def load_cards(cases: Path, fresh: bool) -> list[tuple[str, Card, list[str]]]:
    """(name, card, tags) per tagged page, parsed once and cached."""
    from bot.article import parse_article

    cached: dict[str, Any] = {}
    if CACHE.exists() and not fresh:
        cached = json.loads(CACHE.read_text(encoding="utf-8"))
    out: list[tuple[str, Card, list[str]]] = []
    changed = False
    for name, page, url in _pages(cases):
        tags = declared(page)
        if not tags:
            continue
        row = cached.get(name)
        if row is None:
            try:
                card = parse_article(page, url)
            except NewsbotError:
                continue
            row = cached[name] = card.to_dict()
            changed = True
        out.append((name, Card.from_dict(row), tags))
    if changed:
        CACHE.parent.mkdir(exist_ok=True)
        CACHE.write_text(json.dumps(cached, ensure_ascii=False), encoding="utf-8")
    return out


def _expression(tag: str, semantic: bool = False) -> str | None:
    tries = [tag, '"' + tag.replace('"', " ") + '"']
    if semantic and len(tag.split()) == 1 and '"' not in tag:
        tries.insert(0, "~" + tag)
    for text in tries:
        try:
            return parse_topic(text).text
        except TopicError:
            continue
    return None


def _text(card: Card) -> str:
    return "\n".join((card.headline, card.summary, card.body)).casefold()


def _lead(card: Card) -> str:
    return "\n".join((card.headline, card.summary, card.lead)).casefold()


def run(
    cards: list[tuple[str, Card, list[str]]], show: bool = False, semantic: bool = False
) -> dict[str, Any]:
    """Subscribe every tag, match every card, count."""
    index = MatchIndex()
    tag_ids: dict[str, int] = {}
    subs: list[tuple[str, str]] = []
    for _, _, tags in cards:
        for tag in tags:
            if tag in tag_ids:
                continue
            tag_ids[tag] = len(subs)
            expression = _expression(tag, semantic)
            subs.append((tag, expression or ""))
            if expression is not None:
                index.add_raw(f"t/{tag_ids[tag]}", "u", f"t\x00dm:{tag_ids[tag]}", expression)
    all_tags = list(tag_ids)
    c: Counter[str] = Counter()
    t0 = time.process_time()
    misses: list[str] = []
    false: list[str] = []
    for name, card, tags in cards:
        result = index.match(card)
        reached = {subs[int(d.destination.key.split(":")[1])][0] for d in result}
        text, lead = _text(card), _lead(card)
        own = set(tags)
        for tag in tags:
            hit = tag in reached
            naive = tag.casefold() in text
            c["pairs"] += 1
            c["hit"] += hit
            c["naive_hit"] += naive
            if tag.casefold() in lead:
                c["lead_pairs"] += 1
                c["lead_hit"] += hit
                c["naive_lead_hit"] += naive
            if naive:
                c["text_pairs"] += 1
                c["text_hit"] += hit
            if show and not hit:
                where = "lead" if tag.casefold() in lead else "text" if naive else "absent"
                misses.append(f"{name}\t{where}\t{tag}")
        for tag in all_tags:
            if tag in own:
                continue
            c["other_pairs"] += 1
            if tag in reached:
                c["fp"] += 1
                if show:
                    false.append(f"{name}\t{tag}")
            c["naive_fp"] += tag.casefold() in text
    cpu = time.process_time() - t0
    if show:
        print("# misses (page, where the tag text is, tag)")
        print("\n".join(misses))
        print("# false matches (page, tag of another page)")
        print("\n".join(false))

    def ratio(a: str, b: str) -> float:
        return round(c[a] / c[b], 4) if c[b] else 0.0

    return {
        "pages": len(cards),
        "tags": c["pairs"],
        "unrelated_pairs": c["other_pairs"],
        "recall": ratio("hit", "pairs"),
        "recall_in_lead": ratio("lead_hit", "lead_pairs"),
        "recall_in_text": ratio("text_hit", "text_pairs"),
        "fp_rate": ratio("fp", "other_pairs"),
        "naive_recall": ratio("naive_hit", "pairs"),
        "naive_recall_in_lead": ratio("naive_lead_hit", "lead_pairs"),
        "naive_fp_rate": ratio("naive_fp", "other_pairs"),
        "lead_pairs": c["lead_pairs"],
        "text_pairs": c["text_pairs"],
        "match_cpu_ms_per_page": round(1000 * cpu / max(1, len(cards)), 2),
        "expanded_tags": sum(e.startswith("~") and not e.endswith("()") for _, e in subs),
    }


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--quick", action="store_true", help="every other page only")
    ap.add_argument("--fresh", action="store_true", help="parse the pages again")
    ap.add_argument("--show", action="store_true", help="list misses and false matches")
    ap.add_argument("--no-topics", action="store_true",
                    help="match without the card's topics (which start with the page's tags)")
    ap.add_argument("--semantic", action="store_true",
                    help="subscribe each one-word tag as ~tag (with its close terms)")
    args = ap.parse_args()
    cards = load_cards(args.cases, args.fresh)
    if args.no_topics:
        cards = [(name, replace(card, topics=()), tags) for name, card, tags in cards]
    if args.quick:
        cards = cards[::2]
    print(json.dumps(run(cards, args.show, args.semantic), ensure_ascii=False))


if __name__ == "__main__":
    main()
