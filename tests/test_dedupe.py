"""Dedupe: SimHash properties and the Redis-backed identity of articles (real server)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.card import Card
from bot.pipeline.dedupe import Deduper, bands, hamming, simhash
from tests.fakes import story


def _card(url: str, paragraphs: list[str], *, canonical: str | None = None,
          site: str = "Alpha") -> Card:
    return Card(headline="h", body="\n\n".join(paragraphs), url=url,
                canonical_url=canonical, site=site)


def test_simhash_same_text_same_print_and_different_text_far() -> None:
    a = "\n\n".join(story(1, "Syria"))
    assert simhash(a) == simhash(a)
    b = "\n\n".join(story(2, "Syria"))
    first, second = simhash(a), simhash(b)
    assert first is not None and second is not None
    assert hamming(first, second) > 10
    assert simhash("too short to fingerprint") is None


def test_simhash_small_edit_stays_close() -> None:
    paragraphs = story(3, "Syria")
    edited = [*paragraphs[:-1], paragraphs[-1] + " Updated at 10:00."]
    a, b = simhash("\n\n".join(paragraphs)), simhash("\n\n".join(edited))
    assert a is not None and b is not None
    assert hamming(a, b) <= 3
    # Within distance 3 of 64 bits, at least one 16-bit band is equal (pigeonhole).
    assert any(x == y for x, y in zip(bands(a), bands(b), strict=True))


async def test_url_variants_get_one_id(redis: aioredis.Redis) -> None:
    dedupe = Deduper(redis, ttl_s=60)
    body = story(4, "Syria")
    first = await dedupe.identify(_card("https://www.example.com/world/story-1?utm_source=tw",
                                        body[:1]))
    assert not first.duplicate
    amp = await dedupe.identify(_card("https://amp.example.com/world/story-1/amp", ["x"]))
    assert amp.article_id == first.article_id and amp.kind == "url"
    mobile = await dedupe.identify(_card("http://m.example.com/world/story-1/", ["y"]))
    assert mobile.article_id == first.article_id


async def test_canonical_link_joins_urls(redis: aioredis.Redis) -> None:
    dedupe = Deduper(redis, ttl_s=60)
    first = await dedupe.identify(_card("https://a.example/x?id=1", ["a"],
                                        canonical="https://a.example/story"))
    other = await dedupe.identify(_card("https://feeds.example/guid/999", ["b"],
                                        canonical="https://a.example/story"))
    assert other.article_id == first.article_id


async def test_near_duplicate_body_gets_first_id(redis: aioredis.Redis) -> None:
    dedupe = Deduper(redis, ttl_s=60)
    paragraphs = story(5, "Syria")
    first = await dedupe.identify(_card("https://alpha.example/a", paragraphs))
    again = await dedupe.identify(
        _card("https://beta.example/b", [*paragraphs, "Additional reporting by Beta."],
              site="Beta"))
    assert again.article_id == first.article_id and again.kind == "content"
    other = await dedupe.identify(_card("https://gamma.example/c", story(6, "Syria")))
    assert not other.duplicate and other.article_id != first.article_id
    await dedupe.add_source(first.article_id, _card("https://beta.example/b", [], site="Beta"))
    assert await dedupe.sources(first.article_id) == ["Beta"]


async def test_racing_workers_agree_on_one_id(redis: aioredis.Redis) -> None:
    dedupe = Deduper(redis, ttl_s=60)
    paragraphs = story(7, "Syria")
    results = await asyncio.gather(*(
        dedupe.identify(_card(f"https://site{i}.example/s", paragraphs)) for i in range(8)
    ))
    assert len({r.article_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1


async def test_entries_expire_with_ttl(redis: aioredis.Redis) -> None:
    dedupe = Deduper(redis, ttl_s=1)
    paragraphs = story(8, "Syria")
    first = await dedupe.identify(_card("https://a.example/s", paragraphs))
    await asyncio.sleep(1.1)
    later = await dedupe.identify(_card("https://a.example/s", paragraphs))
    assert not later.duplicate and later.article_id != first.article_id


def _simhash_reference(text: str) -> int | None:
    """The fingerprint as first written: a loop over 64 bits per shingle."""
    import hashlib
    import re

    words = [w.casefold() for w in re.findall(r"\w+", text)]
    if len(words) < 20:
        return None
    counts = [0] * 64
    for i in range(len(words) - 2):
        digest = hashlib.blake2b(" ".join(words[i:i + 3]).encode(), digest_size=8).digest()
        h = int.from_bytes(digest, "big")
        for bit in range(64):
            counts[bit] += 1 if (h >> bit) & 1 else -1
    return sum(1 << bit for bit in range(64) if counts[bit] > 0)


def test_simhash_is_the_stored_fingerprint() -> None:
    """Prints already stored in Redis stay comparable: the same bits as the reference,
    ties (as many hashes with a bit as without) included."""
    for seed in range(60):
        paragraphs = story(seed, "Syria", paragraphs=1 + seed % 9)
        text = " ".join(paragraphs)[: 200 + 97 * seed]
        assert simhash(text) == _simhash_reference(text), seed
    tie = " ".join(f"w{i}" for i in range(23))  # 21 shingles
    even = " ".join(f"w{i}" for i in range(24))  # 22 shingles: ties possible
    assert simhash(tie) == _simhash_reference(tie)
    assert simhash(even) == _simhash_reference(even)
