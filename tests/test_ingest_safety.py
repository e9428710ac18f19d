"""Nothing is lost: unreadable links are dead-lettered with their reason, and a full backlog
refuses new links (503) instead of trimming ones nobody has read."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.errors import BacklogFullError
from bot.metrics import Metrics
from bot.pipeline.ingest import Ingest
from bot.service import Newsbot
from tests.fakes import PageServer
from tests.pipeline_helpers import TOKEN, pipeline_settings, stream_entries

PAGES = Path(__file__).parent / "pages"


async def _dead_letters(redis: aioredis.Redis, n: int) -> list[dict[str, str]]:
    deadline = time.monotonic() + 10.0
    while True:
        entries = await stream_entries(redis, keys.DEAD_LETTER_STREAM)
        if len(entries) >= n or time.monotonic() > deadline:
            return [fields for _id, fields in entries]
        await asyncio.sleep(0.05)


async def test_unreadable_links_are_dead_lettered_with_the_reason(
        redis: aioredis.Redis, pages: PageServer) -> None:
    pages.pages["/error"] = "<html><head><title>404 Page not found</title></head>" \
                            "<body><h1>404 Page not found</h1></body></html>"
    pages.pages["/consent"] = (PAGES / "cookie_wall.html").read_text(encoding="utf-8")
    async with Newsbot(pipeline_settings(), redis=redis, http=False, block_ms=100) as bot:
        await bot.submit(pages.url("/missing"))
        await bot.submit(pages.url("/error"))
        await bot.submit(pages.url("/consent"))
        letters = await _dead_letters(redis, 3)
    reasons = {f["url"].rsplit("/", 1)[-1]: f["reason"] for f in letters}
    assert reasons["missing"] == "The site answered with an error (HTTP 404)."
    assert reasons["error"] == "That page looks like an error page, not an article."
    # A cookie wall is never a card for subscribers: it waits with what it is.
    assert reasons["consent"] == (
        "That page is a cookie or consent wall, not the article: nothing to summarise.")
    assert all(f["origin"] == "chat" for f in letters)


async def test_a_full_backlog_refuses_new_links(redis: aioredis.Redis) -> None:
    ingest = Ingest(redis, Metrics(), maxlen=3)
    for i in range(3):
        await ingest.submit(f"https://example.org/{i}")
    with pytest.raises(BacklogFullError):
        await ingest.submit("https://example.org/3")
    # Nothing already queued was trimmed away.
    assert int(await redis.xlen(keys.INGEST_STREAM)) == 3


async def test_the_endpoint_answers_503_with_retry_after_when_full(redis: aioredis.Redis) -> None:
    settings = pipeline_settings(stream_maxlen=2)
    # No workers: the backlog only grows.
    async with Newsbot(settings, redis=redis, workers=0, block_ms=100) as bot:
        assert bot.http is not None
        url = bot.http.url + "/v1/links"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            statuses = []
            for i in range(3):
                async with http.post(url, json={"url": f"https://example.org/{i}"},
                                     headers=auth) as resp:
                    statuses.append(resp.status)
                    retry_after = resp.headers.get("Retry-After")
                    body = await resp.json()
    assert statuses == [202, 202, 503]
    assert retry_after == "60"
    assert "busy" in body["error"]
