"""Links no resolver or server would take are refused up front with a readable reason.

Host names with an empty or over-long label ("a..b", 64 characters) used to reach the
resolver and escape as an untyped UnicodeError ("Something went wrong" in chat); ports
0 or 99999, spaces or NUL in the host and several links in one string were queued.
"""

from __future__ import annotations

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat import Request
from bot.errors import InvalidURLError
from bot.fetch import Fetcher, FetchPolicy, make_session
from bot.metrics import Metrics
from bot.pipeline.ingest import Ingest
from bot.service import Newsbot
from bot.urls import clean_url, url_problem
from tests.pipeline_helpers import TOKEN, pipeline_settings

HOST = "That link's host name is not valid."
PORT = "That link's port is not valid (it must be 1 to 65535)."
SPACES = "A web link can't contain spaces or control characters."
ONE = "Send one link at a time."

REFUSED = {
    "http://a..b/x": HOST,
    "http://.example.com/": HOST,
    f"http://{'a' * 64}.example.com/": HOST,
    f"http://{'a.' * 130}com/": HOST,  # over 253 characters
    "http://exa%20mple.com/": HOST,
    "http://example.com:0/": PORT,
    "http://example.com:99999/": PORT,
    "http://example.com:+80/": PORT,
    "http://exa mple.com/": SPACES,
    "http://exa\x00mple.com/": SPACES,
    "http://example.com/a\nb": SPACES,
    "http://example.com/a http://example.org/b": ONE,
    "https://example.com/a,https://example.org/b": ONE,
    "https://example.com/a\nhttps://example.org/b": ONE,
}
ACCEPTED = [
    "https://www.example.com/news/1",
    "http://example.com:8080/a",
    f"http://{'a' * 63}.example.com/",
    "http://example.com./",
    "http://sub_domain.example.com/",
    "http://[2001:db8::1]/",
    "http://93.184.216.34/",
    "https://例子.测试/新闻",
    "https://web.archive.org/web/2020/https://example.com/",
]


@pytest.mark.parametrize("url", list(REFUSED))
def test_the_reason_a_link_is_refused(url: str) -> None:
    assert url_problem(url) == REFUSED[url]
    assert clean_url(url) is None


@pytest.mark.parametrize("url", ACCEPTED)
def test_real_links_are_accepted(url: str) -> None:
    assert url_problem(url) is None
    assert clean_url(url) is not None


def test_a_space_in_a_feed_links_path_is_left_alone() -> None:
    # Feeds do carry such links; only a person's (strict) link must be one clean string.
    assert clean_url("https://example.com/a b") == "https://example.com/a b"
    assert url_problem("https://example.com/a b") == SPACES


@pytest.mark.parametrize("url", list(REFUSED))
async def test_the_fetcher_refuses_with_a_typed_error(url: str) -> None:
    policy = FetchPolicy(timeout=5)
    async with make_session(policy) as session:
        with pytest.raises(InvalidURLError) as caught:
            await Fetcher(session, policy).fetch(url)
    assert caught.value.user_message == REFUSED[url]


@pytest.mark.parametrize("url", list(REFUSED))
async def test_ingest_refuses_before_queueing(redis: aioredis.Redis, url: str) -> None:
    ingest = Ingest(redis, Metrics(), maxlen=100)
    with pytest.raises(InvalidURLError) as caught:
        await ingest.submit(url)
    assert caught.value.user_message == REFUSED[url]
    assert await redis.xlen(keys.INGEST_STREAM) == 0


async def test_the_endpoint_answers_400_with_the_reason(redis: aioredis.Redis) -> None:
    async with Newsbot(pipeline_settings(), redis=redis, workers=0, block_ms=100) as bot:
        assert bot.http is not None
        async with aiohttp.ClientSession() as http:
            for url, reason in REFUSED.items():
                async with http.post(f"{bot.http.url}/v1/links", json={"url": url},
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                    assert (resp.status, await resp.json()) == (400, {"error": reason}), url
    assert await redis.xlen(keys.INGEST_STREAM) == 0


async def test_chat_says_why_a_link_cannot_be_read(redis: aioredis.Redis) -> None:
    async with Newsbot(pipeline_settings(), redis=redis, workers=0, http=False,
                       block_ms=100) as bot:
        for url, reason in (("http://a..b/x", HOST), (f"http://{'a' * 64}.com/", HOST),
                            ("http://example.com:0/", PORT)):
            reply = await bot.handle(Request("discord:g1", "u1", "c1", False,
                                             text=f"summarize {url}"))
            assert (reply.ok, reply.text) == (False, reason)
