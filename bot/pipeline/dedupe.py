"""Article identity: the same story reached twice gets the same id, posted once per place.

Two ways to recognise it: by canonical URL (tracking parameters, AMP, mobile, www and
scheme folded by ``canonical_key``) and by content, with a 64-bit SimHash over word
shingles of the body. The SimHash is split into four 16-bit bands; two fingerprints
within Hamming distance 3 share at least one band exactly (pigeonhole), so a lookup only
compares the articles in four small candidate sets. The lookup and the insert are one
Lua call, so two workers racing on the same story still agree on one id.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
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
