"""NEWSBOT_FETCH_ALLOW_HOSTS: ``host`` exempts every port, ``host:port`` only that port,
and the bot's own HTTP port is never exempt (no page can make it call its own endpoints).
"""

from __future__ import annotations

import re

import pytest
import redis.asyncio as aioredis

from bot.chat import Request
from bot.errors import BlockedAddressError, ConfigError
from bot.fetch import Fetcher, FetchPolicy, make_session, parse_allow_entry
from bot.service import Newsbot
from bot.settings import load_settings
from tests.fakes import PageServer, article_html, story
from tests.pipeline_helpers import pipeline_settings

PRIVATE = "I won't fetch 127.0.0.1: it points to a private or local address."


@pytest.mark.parametrize(("entry", "parsed"), [
    ("127.0.0.1", ("127.0.0.1", None)),
    ("127.0.0.1:9000", ("127.0.0.1", 9000)),
    ("Intranet.Local", ("intranet.local", None)),
    ("feeds.local:8443", ("feeds.local", 8443)),
    ("::1", ("::1", None)),
    ("[::1]:9000", ("::1", 9000)),
])
def test_allow_entries(entry: str, parsed: tuple[str, int | None]) -> None:
    assert parse_allow_entry(entry) == parsed


def test_a_bad_port_in_the_allow_list_stops_the_bot_with_one_line() -> None:
    with pytest.raises(ConfigError, match=re.escape("NEWSBOT_FETCH_ALLOW_HOSTS: 'feeds.local:0'")):
        load_settings(fetch_allow_hosts="127.0.0.1, feeds.local:0")


def test_which_ports_an_entry_exempts() -> None:
    policy = FetchPolicy(allow_hosts=frozenset({"localhost", "127.0.0.1:9000"}),
                         own_ports={8080})
    assert policy.allows("localhost") and policy.allows("LOCALHOST", 5000)
    assert policy.allows("127.0.0.1", 9000)
    assert not policy.allows("127.0.0.1", 9001) and not policy.allows("127.0.0.1")
    assert not policy.allows("localhost", 8080)  # the bot's own port, whatever is listed
    assert FetchPolicy.from_settings(load_settings(http_port=8123)).own_ports == {8123}


async def fetch(policy: FetchPolicy, url: str) -> str:
    async with make_session(policy) as session:
        page = await Fetcher(session, policy).fetch(url)
    return page.text


async def test_a_host_and_port_entry_exempts_that_port_only(pages: PageServer) -> None:
    pages.pages["/a"] = "<p>here</p>"
    other = await PageServer().start()
    other.pages["/a"] = "<p>there</p>"
    try:
        policy = FetchPolicy(allow_hosts=frozenset({f"127.0.0.1:{pages.port}"}))
        assert "here" in await fetch(policy, pages.url("/a"))
        with pytest.raises(BlockedAddressError) as caught:
            await fetch(policy, other.url("/a"))
        assert caught.value.user_message == PRIVATE
    finally:
        await other.stop()


async def test_a_host_entry_never_exempts_our_own_port(pages: PageServer) -> None:
    pages.pages["/a"] = "<p>here</p>"
    policy = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), own_ports={pages.port})
    with pytest.raises(BlockedAddressError):
        await fetch(policy, pages.url("/a"))


async def test_the_bot_will_not_fetch_its_own_endpoints(
        redis: aioredis.Redis, pages: PageServer) -> None:
    pages.pages["/story"] = article_html("Tram line opens to the docks", story(4, "tram"))
    # 127.0.0.1 allowed (local pages), the HTTP server on a port the system picks.
    async with Newsbot(pipeline_settings(), redis=redis, workers=0, block_ms=100) as bot:
        assert bot.http is not None
        for path in ("/healthz", "/metrics"):
            reply = await bot.handle(Request("discord:g1", "u1", "c1", False,
                                             text=f"summarize {bot.http.url}{path}"))
            assert (reply.ok, reply.text) == (False, PRIVATE)
        reply = await bot.handle(Request("discord:g1", "u1", "c1", False,
                                         text=f"summarize {pages.url('/story')}"))
        assert reply.ok and reply.card is not None
