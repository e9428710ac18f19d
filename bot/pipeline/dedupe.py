"""Article identity: the same story reached twice gets the same id, posted once per place.

Two ways to recognise it: by canonical URL (tracking parameters, AMP, mobile, www and
scheme folded by ``canonical_key``) and by content, with a 64-bit SimHash over word
shingles of the body. The SimHash is split into four 16-bit bands; two fingerprints
within Hamming distance 3 share at least one band exactly (pigeonhole), so a lookup only
compares the articles in four small candidate sets. The lookup and the insert are one
Lua call, so two workers racing on the same story still agree on one id.

Versions: an article seen again at its own URL is compared with the version last posted
(``revise``). It changed *materially* when its headline changed by more than a typo (a
number changed, or under ``HEADLINE_SIMILARITY`` alike letter by letter) or its summary
shares under ``SUMMARY_JACCARD`` of its words with the old one; then its version number
goes up (compare-and-set: of two workers racing, one wins) and its posts are edited.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
import time
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import redis.asyncio as aioredis

from bot import keys
from bot.card import Card
from bot.urls import canonical_key, registered_domain

log = logging.getLogger(__name__)

BANDS = 4
BAND_BITS = 16
MAX_DISTANCE = 3
SHINGLE = 3
MIN_WORDS = 20  # bodies shorter than this are not fingerprinted (too little to compare)
_WORD = re.compile(r"\w+", re.UNICODE)
_MASK64 = (1 << 64) - 1

# KEYS: n URL keys, then the 4 band sets.  ARGV: new id, hi, lo (32-bit halves of the
# SimHash, or -1 when the body is too short), ttl ms, n, max distance, now ms.
_IDENTIFY_LUA = """
local n = tonumber(ARGV[5])
local ttl = tonumber(ARGV[4])
local now = tonumber(ARGV[7])
local hi = tonumber(ARGV[2])
local lo = tonumber(ARGV[3])
local found, kind = nil, nil
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if v then found = v; kind = 'url'; break end
end
local function popcount(x)
  local c = 0
  while x ~= 0 do x = bit.band(x, x - 1); c = c + 1 end
  return c
end
if hi >= 0 then
  for b = n + 1, n + 4 do
    for _, m in ipairs(redis.call('SMEMBERS', KEYS[b])) do
      local id, mhi, mlo, ts = string.match(m, '^(.+):(%d+):(%d+):(%d+)$')
      if id == nil or tonumber(ts) + ttl < now then
        redis.call('SREM', KEYS[b], m)
      elseif not found then
        local d = popcount(bit.bxor(tonumber(mhi), hi)) + popcount(bit.bxor(tonumber(mlo), lo))
        if d <= tonumber(ARGV[6]) then found = id; kind = 'content' end
      end
    end
  end
end
local id = found or ARGV[1]
for i = 1, n do redis.call('SET', KEYS[i], id, 'PX', ttl) end
if hi >= 0 and not found then
  local member = id .. ':' .. ARGV[2] .. ':' .. ARGV[3] .. ':' .. ARGV[7]
  for b = n + 1, n + 4 do
    redis.call('SADD', KEYS[b], member)
    redis.call('PEXPIRE', KEYS[b], ttl)
  end
end
return {id, kind or 'new'}
"""


# KEYS: the version key.  ARGV: the value read, the new value, ttl ms.  1 if swapped.
_SWAP_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

# KEYS: the version key.  ARGV: the version number whose edits are queued.
_SETTLE_LUA = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, v = pcall(cjson.decode, raw)
if not ok or v.n ~= tonumber(ARGV[1]) or not v.p then return 0 end
v.p = nil
redis.call('SET', KEYS[1], cjson.encode(v), 'KEEPTTL')
return 1
"""

#: headlines at least this alike (difflib ratio of the normalised text) differ by a typo
HEADLINE_SIMILARITY = 0.9
#: summaries sharing at least this share of their words (Jaccard) are the same summary
SUMMARY_JACCARD = 0.8
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _normal(text: str) -> str:
    """Case, accents' composed forms, punctuation and spacing folded."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(_WORD.findall(text))


def headline_changed(old: str, new: str) -> bool:
    """Whether a headline changed materially: a number differs, or more than a typo."""
    a, b = _normal(old), _normal(new)
    if a == b:
        return False
    if _NUMBER.findall(a) != _NUMBER.findall(b):
        return True  # "3 dead" -> "5 dead"
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() < HEADLINE_SIMILARITY


def summary_changed(old: str, new: str) -> bool:
    """Whether a summary changed materially: word-set Jaccard under ``SUMMARY_JACCARD``."""
    a, b = set(_normal(old).split()), set(_normal(new).split())
    if a == b:
        return False
    return len(a & b) / len(a | b) < SUMMARY_JACCARD


def changed_materially(old_headline: str, old_summary: str, headline: str,
                       summary: str) -> bool:
    """Whether an article's card changed enough to edit its posts."""
    return headline_changed(old_headline, headline) or summary_changed(old_summary, summary)


@dataclass(frozen=True, slots=True)
class Revision:
    """An article's version after a sighting; ``changed``: it went up on this one."""

    number: int
    changed: bool


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


_BITS = np.arange(64, dtype=np.uint64)


def simhash(text: str) -> int | None:
    """64-bit SimHash of the text's word 3-shingles; None if the text is too short."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return None
    shingles = len(words) - SHINGLE + 1
    digests = b"".join(
        hashlib.blake2b(" ".join(words[i : i + SHINGLE]).encode("utf-8"),
                        digest_size=8).digest()
        for i in range(shingles))
    # Bit b of the print is set where more shingle hashes have it set than not: counted
    # per bit over all hashes at once (a Python loop over 64 bits per shingle cost 4.5 ms
    # a page on the event loop, the largest CPU cost of a link outside parsing).
    hashes = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    ones = ((hashes[:, None] >> _BITS) & np.uint64(1)).sum(axis=0)
    value = 0
    for bit in np.flatnonzero(2 * ones > shingles).tolist():
        value |= 1 << bit
    return value & _MASK64


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return (a ^ b).bit_count()


def bands(value: int) -> list[int]:
    """The four 16-bit bands of a 64-bit fingerprint, low band first."""
    mask = (1 << BAND_BITS) - 1
    return [(value >> (BAND_BITS * i)) & mask for i in range(BANDS)]


@dataclass(frozen=True, slots=True)
class Identity:
    """An article's id and how it was recognised: ``new``, ``url`` or ``content``."""

    article_id: str
    kind: str

    @property
    def duplicate(self) -> bool:
        """Whether the article was seen before."""
        return self.kind != "new"


def article_urls(card: Card, *urls: str | None) -> list[str]:
    """The distinct canonical keys of an article: its canonical URL and the URLs it came by."""
    seen: dict[str, None] = {}
    for url in (card.canonical_url, card.url, *urls):
        if url:
            seen.setdefault(canonical_key(url), None)
    return list(seen)


class Deduper:
    """Recognises articles seen before, by canonical URL or near-duplicate body."""

    def __init__(
        self, redis: aioredis.Redis, *, ttl_s: int, max_distance: int = MAX_DISTANCE
    ) -> None:
        self.redis = redis
        self.ttl_ms = ttl_s * 1000
        self.max_distance = max_distance
        self._identify = redis.register_script(_IDENTIFY_LUA)
        self._swap = redis.register_script(_SWAP_LUA)
        self._settle = redis.register_script(_SETTLE_LUA)

    async def identify(self, card: Card, urls: Iterable[str | None] = ()) -> Identity:
        """The article's id: an earlier article's if the URL or body matches, else a new one."""
        url_keys = [keys.dedupe_url_key(k) for k in article_urls(card, *urls)]
        fingerprint = simhash(card.body)
        if fingerprint is None:
            hi, lo, band_keys = -1, -1, [keys.dedupe_band_key(i, 0) for i in range(BANDS)]
        else:
            hi, lo = fingerprint >> 32, fingerprint & 0xFFFFFFFF
            band_keys = [keys.dedupe_band_key(i, v) for i, v in enumerate(bands(fingerprint))]
        reply = await self._identify(
            keys=[*url_keys, *band_keys],
            args=[
                uuid.uuid4().hex[:16],
                hi,
                lo,
                self.ttl_ms,
                len(url_keys),
                self.max_distance,
                int(time.time() * 1000),
            ],
        )
        identity = Identity(str(reply[0]), str(reply[1]))
        if identity.duplicate:
            log.debug("article %s recognised by %s", identity.article_id, identity.kind)
        return identity

    async def revise(self, identity: Identity, card: Card) -> Revision:
        """Compare the card with the article's version last posted; keep it if it is new
        or changed materially (then the number goes up). A story found by content (another
        site's) is never a new version of it.

        A new version stays *pending* until ``settle`` says its edits are queued: a worker
        that died in between leaves it pending, and the retry (the same card) gets
        ``changed`` again, so the edits are queued at least once."""
        if identity.kind == "content":
            return Revision(0, False)
        key = keys.article_version_key(identity.article_id)
        headline, summary = card.headline or "", card.summary or ""
        for _try in range(8):
            raw = await self.redis.get(key)
            if raw is None:
                value = json.dumps({"n": 0, "h": headline, "s": summary}, ensure_ascii=False)
                if await self.redis.set(key, value, px=self.ttl_ms, nx=True):
                    return Revision(0, False)
                continue
            try:
                old = json.loads(raw)
                number = int(old["n"])
                changed = changed_materially(str(old["h"]), str(old["s"]), headline, summary)
                pending = bool(old.get("p"))
            except (ValueError, KeyError, TypeError, AttributeError):
                number, changed, pending = -1, True, False  # unreadable: start at version 0
            if not changed:
                return Revision(number, pending and number > 0)
            value = json.dumps({"n": number + 1, "h": headline, "s": summary,
                                **({"p": 1} if number >= 0 else {})}, ensure_ascii=False)
            if int(await self._swap(keys=[key], args=[raw, value, self.ttl_ms])):
                if number >= 0:
                    log.info("article %s changed: version %d", identity.article_id,
                             number + 1)
                return Revision(number + 1, number >= 0)
        return Revision(0, False)  # contended all along: another worker took the change

    async def settle(self, article_id: str, number: int) -> None:
        """The edits of version ``number`` are queued: it is no longer pending."""
        await self._settle(keys=[keys.article_version_key(article_id)], args=[number])

    async def add_source(self, article_id: str, card: Card) -> None:
        """Remember a later source of an article, for "also reported by"."""
        source = card.site or registered_domain(card.link or "")
        if not source:
            return
        key = keys.article_sources_key(article_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(key, source)
        pipe.pexpire(key, self.ttl_ms)
        await pipe.execute()

    async def sources(self, article_id: str) -> list[str]:
        """The later sources of an article, sorted."""
        members = await self.redis.smembers(keys.article_sources_key(article_id))
        return sorted(str(m) for m in members)
