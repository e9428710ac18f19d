"""Matcher benchmark: indexed matching vs a naive loop at 10k, 100k and 1M subscriptions.

Usage: ``python bench/match.py [--quick] [--size N] [--no-redis]`` (``--quick`` runs
100k only, ``--size`` one of 10000, 100000, 1000000). Prints one line
per size and, last, one JSON object for the largest size.

Workload: articles are trafilatura-extracted bodies of ``../shared/devset/cases/*/page.html``
(cached in ``bench/results/``); without that folder the script refuses to run unless
``--generated`` asks for generated texts instead (the JSON's ``data`` says which). The
naive loop must agree with the index: when it does not, a warning says so on stderr and
the exit status is 1. Topics are
drawn Zipf-distributed (s=1.0) from the articles' own proper nouns, phrases and country
names, ranked by how many articles mention them, so popular topics really are popular
(at 1M the top topic, "United", has ~80k subscribers). Capitalised words that more articles write
in lower case, or only at the start of a sentence ("New", "However", "It's"), are not
names and not topics, and topics the bot refuses at subscribe time (only common words:
``weak_topic``) are not drawn. Expressions: 70 % one word, 10 % a quoted
phrase, 10 % two words, 5 % ``a OR b``, 5 % ``a -b``. Owners: N/5 users; 75 % of
subscriptions go to the owner's DMs, 25 % to one of N/40 channels; 200 tenants.

Measured per size: index build time (``MatchIndex.build``), process memory of the index
(RSS growth), Redis memory per subscription (the real Lua write path, embedded Valkey),
articles/s and p50/p99 latency (wall, and CPU time of this process, which other work on
the machine inflates less; with the 1-minute load average) of ``match(card, now)``
including the expansion to the deduplicated, sorted array of destination ids
(``result.destination_ids``, whose length is ``len(result)``), the p99 of also building
every per-destination object, and the same workload through a naive loop over all
subscriptions.

Garbage collection is left on while matching. After the build the bench does what
``Matcher.load`` does in the bot, ``gc.collect()`` then ``gc.freeze()``, so the index's
objects are not traversed by later collections; ``gc_full_ms`` is the time of one full
collection after the matching loop, i.e. the longest pause a collection can add to a match.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.devset import DEVSET_CASES, require
from bot import keys
from bot.card import Card
from bot.chat import Destination, Subscription
from bot.redis_server import EmbeddedValkey
from bot.subscriptions.matcher import (
    NOT_IN_BODY,
    STRONG,
    WORDS_PER_MENTION,
    MatchIndex,
    card_fields,
    implicit_phrase,
    mentions_needed,
)
from bot.subscriptions.topics import TopicExpression, parse_topic, phrase_key, weak_topic

HERE = Path(__file__).resolve().parent
CASES = DEVSET_CASES
CACHE = HERE / "results" / "articles.json"
MIN_BODY = 2
ZIPF_S = 1.0

_MID_SENTENCE = re.compile(r"[a-z0-9,;]\s$")
_LOWER = re.compile(r"\b([a-zà-ÿ][\w'’-]+)")
_PROPER = re.compile(r"\b([A-ZÀ-Þ][\w'’-]+(?:\s+[A-ZÀ-Þ][\w'’-]+)?)")
_STOP = {
    "The", "A", "An", "In", "On", "At", "It", "He", "She", "We", "They", "This", "That",
    "But", "And", "Or", "If", "As", "For", "Of", "To", "By", "With", "From", "Die", "Der",
    "Das", "Und", "Le", "La", "Les", "Et", "De", "Des", "Un", "Une", "Ein", "Eine", "I",
    "You", "His", "Her", "Its", "Our", "Their", "There", "Here", "When", "What", "Who",
}
_COUNTRIES = (
    "Russia Syria France Germany Ukraine China Iran Israel Turkey Egypt Venezuela Brazil "
    "Mexico India Japan Canada Italy Spain Poland Greece Sweden Norway Iraq Afghanistan "
    "Pakistan Nigeria Kenya Australia Argentina Chile Cuba Lebanon Jordan Qatar Yemen"
).split()


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- articles ---------------------------------------------------------------------------


def load_articles(limit: int | None, generated: bool = False) -> list[Card]:
    """Extracted devset pages (cached), or generated texts when asked for."""
    if not generated:
        require(CASES, "bench/match.py", "or pass --generated to match generated texts")
        data: list[dict[str, str]] = []
        if CACHE.exists():
            data = json.loads(CACHE.read_text())
        else:
            import trafilatura

            for page in sorted(CASES.glob("*/page.html")):
                html = page.read_text(encoding="utf-8", errors="replace")
                raw = trafilatura.extract(
                    html, output_format="json", with_metadata=True, favor_precision=True
                )
                if not raw:
                    continue
                doc = json.loads(raw)
                text = (doc.get("text") or "").strip()
                if len(text) < 300:
                    continue
                data.append({"headline": doc.get("title") or "", "body": text})
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            CACHE.write_text(json.dumps(data))
        cards = [
            Card(headline=d["headline"], body=d["body"].replace("\n", "\n\n")) for d in data
        ]
    else:
        cards = generated_articles(200)
    return cards[:limit] if limit else cards


def generated_articles(n: int) -> list[Card]:
    """Articles of pseudo-words with Zipf word frequencies and a few proper nouns."""
    rng = random.Random(7)
    syllables = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "da", "re", "po", "ni"]
    words = ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(20000)]
    names = [w.capitalize() for w in words[:3000]] + _COUNTRIES
    weights = [1 / (i + 1) for i in range(len(words))]
    cards = []
    for _ in range(n):
        paras = []
        for _p in range(rng.randint(6, 20)):
            toks = rng.choices(words, weights, k=rng.randint(30, 80))
            for _k in range(3):
                toks[rng.randrange(len(toks))] = rng.choice(names)
            paras.append(" ".join(toks) + ".")
        headline = " ".join(rng.choices(names, k=2) + rng.choices(words, weights, k=4))
        cards.append(Card(headline=headline, body="\n\n".join(paras)))
    return cards


# --- subscriptions ----------------------------------------------------------------------


def topic_vocabulary(cards: list[Card]) -> tuple[list[str], list[str]]:
    """Single-word and two-word topics, most widely mentioned first."""
    singles: Counter[str] = Counter()
    phrases: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    for card in cards:
        text = card.headline + "\n" + card.body
        lower.update(set(_LOWER.findall(text)))
        seen_s: set[str] = set()
        seen_p: set[str] = set()
        for m in _PROPER.finditer(text):
            if not _MID_SENTENCE.search(text, 0, m.start()):
                continue  # a sentence's first word is capitalised whatever it is
            words = m.group(1).split()
            if words[0] in _STOP:
                words = words[1:]
            if not words:
                continue
            seen_s.update(w for w in words if w not in _STOP and len(w) > 2)
            if len(words) == 2 and words[1] not in _STOP:
                seen_p.add(" ".join(words))
        singles.update(seen_s)
        phrases.update(seen_p)
    # A capitalised word that more articles write in lower case ("New", "However", "It's")
    # starts sentences: it is not a name, and nobody follows it.
    single = [w for w, n in singles.most_common() if lower[w.casefold()] < n]
    for c in _COUNTRIES:
        if c not in singles:
            single.append(c)
    # keep words that normalise to something and are not duplicates after normalising
    out: list[str] = []
    seen: set[str] = set()
    for w in single:
        try:
            canon = parse_topic(w).canonical
        except Exception:
            continue
        if canon not in seen:
            seen.add(canon)
            out.append(w)
    return out, [p for p, n in phrases.most_common() if n >= 1]


class Zipf:
    """Draws ranks 0..n-1 with probability proportional to 1/(rank+1)^s."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self.rng = rng
        acc = 0.0
        self.cum: list[float] = []
        for i in range(n):
            acc += 1.0 / (i + 1) ** s
            self.cum.append(acc)
        self.total = acc

    def draw(self) -> int:
        import bisect

        return bisect.bisect_left(self.cum, self.rng.random() * self.total)


def make_subscriptions(n: int, cards: list[Card], seed: int = 1) -> list[Subscription]:
    """``n`` subscriptions with Zipf-distributed topics; unique per (destination, meaning)."""
    rng = random.Random(seed)
    single, phrases = topic_vocabulary(cards)
    zs = Zipf(len(single), ZIPF_S, rng)
    zp = Zipf(max(1, len(phrases)), ZIPF_S, rng)
    tenants = [f"discord:{100000 + i}" if i % 2 else f"slack:T{i:05d}" for i in range(200)]
    tz = Zipf(len(tenants), 1.0, rng)
    users = max(1, n // 5)
    channels = max(1, n // 40)
    seen: set[tuple[str, str, str]] = set()
    canon_cache: dict[str, str] = {}
    subs: list[Subscription] = []
    counter = 0
    while len(subs) < n:
        r = rng.random()
        a = single[zs.draw()]
        if r < 0.70:
            expr = a
        elif r < 0.80 and phrases:
            expr = f'"{phrases[zp.draw()]}"'
        elif r < 0.90:
            expr = f"{a} {single[zs.draw()]}"
        elif r < 0.95:
            expr = f"{a} OR {single[zs.draw()]}"
        else:
            expr = f"{a} -{single[zs.draw()]}"
        canon = canon_cache.get(expr)
        if canon is None:
            try:
                parsed = parse_topic(expr)
            except Exception:
                continue
            # The bot refuses a topic of only common words ("news", "new") at subscribe time.
            canon = "" if weak_topic(parsed) else parsed.canonical
            canon_cache[expr] = canon
        if not canon:
            continue
        uid = rng.randrange(users)
        tenant = tenants[tz.draw()]
        if rng.random() < 0.75:
            dest = Destination(tenant, "dm", f"U{uid}")
        else:
            dest = Destination(tenant, "channel", f"C{rng.randrange(channels)}")
        if (tenant, dest.key, canon) in seen:
            continue
        seen.add((tenant, dest.key, canon))
        counter += 1
        mode = "instant" if rng.random() < 0.8 else rng.choice(("hourly", "daily"))
        muted = 2e9 if rng.random() < 0.01 else None
        subs.append(
            Subscription(
                str(counter), tenant, f"U{uid}", dest, expr, mode, muted, 1.7e9  # type: ignore[arg-type]
            )
        )
    return subs


# --- naive loop -------------------------------------------------------------------------


def naive_match(
    card: Card, compiled: list[tuple[Subscription, TopicExpression]], now: float
) -> dict[Destination, list[str]]:
    """The baseline: every subscription checked against the card, one after another."""
    fields = card_fields(card)
    strong = " ".join(text for bit, text in fields if bit & STRONG)
    body = " ".join(text for bit, text in fields if not bit & STRONG)
    lead = next((text for bit, text in fields if bit == 4), "")
    everything = strong + " " + body
    longer = card.body.count(" ") // WORDS_PER_MENTION
    out: dict[Destination, list[str]] = {}
    for sub, expr in compiled:
        if sub.muted_until is not None and now < sub.muted_until:
            continue
        ok = True
        implicit = implicit_phrase(expr)
        for group in expr.groups:
            hit = False
            for phrase in (*group, implicit) if implicit else group:
                key = phrase_key(phrase)
                written = expr.text if phrase is implicit else expr.label(phrase)
                need = mentions_needed(phrase, written, "en", MIN_BODY)
                need += longer if MIN_BODY <= need < NOT_IN_BODY else 0
                if key in strong or (
                    need != NOT_IN_BODY and (body.count(key) + lead.count(key)) >= need
                ):
                    hit = True
                    break
            if not hit:
                ok = False
                break
        if ok and any(phrase_key(p) in everything for p in expr.excluded):
            ok = False
        if ok:
            out.setdefault(sub.destination, []).append(sub.id)
    return out


# --- redis ------------------------------------------------------------------------------


async def redis_bytes_per_sub(subs: list[Subscription], checkpoints: list[int]) -> dict[int, float]:
    """Write the subscriptions through the store's Lua script; memory per sub at each size."""
    import redis.asyncio as aioredis

    out: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        server = EmbeddedValkey(Path(tmp) / "valkey")
        await asyncio.to_thread(server.start)
        client: Any = aioredis.Redis.from_url(server.url, decode_responses=True)
        try:
            from bot.subscriptions.store import _ADD_LUA, stored_fields

            sha = await client.script_load(_ADD_LUA)
            await client.config_set("appendonly", "no")  # the bench measures memory, not disk
            base = int((await client.info("memory"))["used_memory"])
            done = 0
            for target in sorted(checkpoints):
                while done < target:
                    pipe = client.pipeline(transaction=False)
                    for sub in subs[done : min(target, done + 5000)]:
                        fields = stored_fields(sub)
                        del fields["id"]
                        flat = [x for kv in fields.items() for x in kv]
                        pipe.evalsha(
                            sha,
                            5,
                            keys.tenant_subs_key(sub.tenant),
                            keys.user_key(sub.tenant, sub.owner),
                            keys.dest_key(sub.tenant, sub.destination.key),
                            keys.tenant_seq_key(sub.tenant),
                            keys.tenant_version_key(sub.tenant),
                            keys.sub_key_prefix(sub.tenant),
                            10_000,
                            0,
                            fields["canon"],
                            *flat,
                        )
                    await pipe.execute()
                    done = min(target, done + 5000)
                used = int((await client.info("memory"))["used_memory"])
                out[target] = (used - base) / target
        finally:
            await client.aclose()
            await asyncio.to_thread(server.stop)
    return out


# --- main -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run_size(
    n: int, subs: list[Subscription], cards: list[Card], naive_articles: int, now: float
) -> dict[str, Any]:
    """Build, match and compare at one size."""
    chosen = subs[:n]
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    index = MatchIndex(MIN_BODY)
    index.build(chosen)
    build_s = time.perf_counter() - t0
    gc.collect()
    index_bytes = rss_bytes() - before
    gc.freeze()  # as Matcher.load does after building

    for card in cards[:5]:  # warm the token cache and the automaton
        len(index.match(card, now))
    latencies: list[float] = []
    cpu: list[float] = []
    dest_counts: list[int] = []
    for card in cards:
        t = time.perf_counter()
        c = time.process_time()
        result = index.match(card, now)
        count = len(result)
        ids = result.destination_ids
        cpu.append((time.process_time() - c) * 1000)
        latencies.append((time.perf_counter() - t) * 1000)
        assert len(ids) == count
        dest_counts.append(count)
    t = time.perf_counter()
    gc.collect()
    gc_full_ms = (time.perf_counter() - t) * 1000
    full: list[float] = []
    for card in cards:
        t = time.perf_counter()
        objects = list(index.match(card, now))
        full.append((time.perf_counter() - t) * 1000)
        del objects
    # A link shared in one tenant (or a feed's channels): only that tenant's destinations
    # become objects; the cost follows what is posted, not everything that matched.
    one_tenant: list[float] = []
    posted: list[int] = []
    popular = "discord:100001"  # the second most popular of the 200 tenants
    for card in cards:
        t = time.perf_counter()
        objects = list(index.match(card, now).for_tenants({popular}))
        one_tenant.append((time.perf_counter() - t) * 1000)
        posted.append(len(objects))
        del objects
    total_s = sum(latencies) / 1000

    compiled = [(s, parse_topic(s.expression)) for s in chosen]
    sample = cards[:naive_articles]
    t = time.perf_counter()
    disagree = 0
    for card in sample:
        naive = naive_match(card, compiled, now)
        disagree += len(naive) != len(index.match(card, now))
    agree = disagree == 0
    if not agree:
        print(f"WARNING: naive_agrees: false at {n} subscriptions: the index and the naive "
              f"loop disagree on {disagree} of {len(sample)} articles", file=sys.stderr,
              flush=True)
    naive_s = time.perf_counter() - t
    expressions, terms = index.expression_count, index.term_count
    del index, result, compiled
    gc.unfreeze()  # the next size builds its own index
    naive_rate = len(sample) / naive_s
    rate = len(cards) / total_s
    return {
        "subscriptions": n,
        "expressions": expressions,
        "terms": terms,
        "build_s": round(build_s, 3),
        "process_bytes_per_sub": round(index_bytes / n, 1),
        "articles": len(cards),
        "articles_per_s": round(rate, 1),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "max_ms": round(max(latencies), 3),
        "cpu_p50_ms": round(percentile(cpu, 50), 3),
        "cpu_p99_ms": round(percentile(cpu, 99), 3),
        "load_average": round(os.getloadavg()[0], 2),
        "gc_full_ms": round(gc_full_ms, 3),
        "p99_ms_with_objects": round(percentile(full, 99), 3),
        "p99_ms_one_tenant_objects": round(percentile(one_tenant, 99), 3),
        "one_tenant_destinations_mean": round(statistics.mean(posted), 1),
        "destinations_per_article_mean": round(statistics.mean(dest_counts), 1),
        "destinations_per_article_max": max(dest_counts),
        "naive_articles": len(sample),
        "naive_articles_per_s": round(naive_rate, 3),
        "speedup_vs_naive": round(rate / naive_rate, 1),
        "naive_agrees": agree,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k subscriptions only")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis memory step")
    parser.add_argument("--size", type=int, choices=(10_000, 100_000, 1_000_000),
                        help="one size only")
    parser.add_argument("--generated", action="store_true",
                        help="generated texts instead of the development set")
    args = parser.parse_args(argv)
    sizes = [100_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.size:
        sizes = [args.size]
    t_start = time.perf_counter()
    cards = load_articles(None, generated=args.generated)
    t = time.perf_counter()
    subs = make_subscriptions(max(sizes), cards)
    print(
        f"workload: {len(cards)} articles, {len(subs)} subscriptions generated "
        f"in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    redis_mem: dict[int, float] = {}
    if not args.no_redis:
        t = time.perf_counter()
        redis_mem = asyncio.run(redis_bytes_per_sub(subs, sizes))
        print(f"redis: wrote {max(sizes)} subscriptions in {time.perf_counter() - t:.1f} s")
    now = 1.8e9
    results = []
    for n in sizes:
        naive_articles = {10_000: 40, 100_000: 10, 1_000_000: 4}[n]
        row = run_size(n, subs, cards, naive_articles, now)
        row["redis_bytes_per_sub"] = round(redis_mem.get(n, float("nan")), 1)
        results.append(row)
        print(
            f"{n:>9} subs: build {row['build_s']:.2f} s, {row['process_bytes_per_sub']:.0f} B/sub "
            f"in process, {row['redis_bytes_per_sub']:.0f} B/sub in Redis; "
            f"{row['articles_per_s']:.0f} articles/s, p50 {row['p50_ms']:.2f} ms, "
            f"p99 {row['p99_ms']:.2f} ms, max {row['max_ms']:.2f} ms (CPU p50 "
            f"{row['cpu_p50_ms']:.2f} ms, p99 {row['cpu_p99_ms']:.2f} ms; load "
            f"{row['load_average']:.1f}) (with objects "
            f"{row['p99_ms_with_objects']:.1f} ms), full GC {row['gc_full_ms']:.1f} ms, "
            f"dests/article mean {row['destinations_per_article_mean']:.0f} "
            f"max {row['destinations_per_article_max']}; naive "
            f"{row['naive_articles_per_s']:.2f} articles/s → {row['speedup_vs_naive']:.0f}x",
            flush=True,
        )
    last = dict(results[-1])
    last["data"] = "generated" if args.generated else str(CASES)
    last["naive_agrees"] = all(r["naive_agrees"] for r in results)
    last["sizes"] = results
    last["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(last))
    if not last["naive_agrees"]:
        print("WARNING: naive_agrees: false: the figures compare two matchers that give "
              "different answers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
