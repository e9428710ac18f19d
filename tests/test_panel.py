"""The web panel over HTTP (no browser): sign-in from chat, sessions, CSRF, isolation, pages.

A real bot core (``Newsbot`` with its HTTP server on 127.0.0.1, real Redis), a local feed
server and the fake platform. Two workspaces side by side: an admin of one never sees,
changes or retries anything of the other.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.chat import Request
from bot.chat.contract import Destination
from bot.panel import Grant, LoginTokens, Sessions, load_secret, parse_opml
from bot.panel.opml import OpmlError
from bot.service import Newsbot
from bot.subscriptions import SubscriptionStore
from tests.fakes import FakePlatform, Feed, FeedServer, HttpAdapter
from tests.pipeline_helpers import drained, pipeline_settings

pytestmark = pytest.mark.cluster_too  # also on a 3-primary Valkey cluster

A = "discord:ga"
B = "discord:gb"
_LINK = re.compile(r"(http://\S+/admin/login\?t=[\w-]+)")
_CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')


@dataclass
class Rig:
    bot: Newsbot
    redis: aioredis.Redis
    feeds: FeedServer
    platform: FakePlatform

    @property
    def base(self) -> str:
        assert self.bot.http is not None
        return self.bot.http.url

    async def link(self, tenant: str, user: str = "admin", manage: bool = True) -> str:
        """``/news dashboard`` in a channel of ``tenant``; the link in the reply."""
        reply = await self.bot.handle(Request(tenant, user, "c1", manage, text="dashboard"))
        found = _LINK.search(reply.text)
        assert found, reply.text
        assert reply.ephemeral
        return found.group(1)


class Browser:
    """A cookie-keeping HTTP client that signs in like a person would."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.rig.base + path, allow_redirects=False) as resp:
            text = await resp.text()
        if found := _CSRF.search(text):
            self.csrf = found.group(1)
        return resp.status, text

    async def post(self, path: str, data: dict[str, str] | aiohttp.FormData,
                   csrf: bool = True) -> tuple[int, str]:
        if isinstance(data, dict) and csrf:
            data = {"_csrf": self.csrf, **data}
        async with self.http.post(self.rig.base + path, data=data) as resp:
            text = await resp.text()
        if found := _CSRF.search(text):
            self.csrf = found.group(1)
        return resp.status, text

    async def sign_in(self, link: str) -> aiohttp.ClientResponse:
        async with self.http.get(link) as resp:
            assert resp.status == 200, await resp.text()
            assert "Sign in" in await resp.text()
        token = link.partition("t=")[2]
        async with self.http.post(self.rig.base + "/admin/login", data={"t": token},
                                  allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            login = resp
        status, _ = await self.get("/admin/")
        assert status == 200
        return login


@pytest.fixture
async def rig(redis: aioredis.Redis, tmp_path: Path) -> AsyncIterator[Rig]:
    feeds = await FeedServer().start()
    platform = await FakePlatform().start()
    settings = pipeline_settings(data_dir=tmp_path / "data")
    bot = Newsbot(settings, redis=redis, block_ms=100)
    bot.register_adapter(HttpAdapter("discord", platform.base_url))
    try:
        async with bot:
            yield Rig(bot, redis, feeds, platform)
    finally:
        await platform.stop()
        await feeds.stop()


@pytest.fixture
async def browsers(rig: Rig) -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for browser in made:
        await browser.close()


async def matcher_has(rig: Rig, n: int) -> None:
    """Wait until the bot's matcher has followed the subscription writes (``n`` in all)."""
    for _ in range(500):
        if len(rig.bot.matcher.index) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the matcher has {len(rig.bot.matcher.index)} subscriptions")


async def only_dead_letter(rig: Rig) -> str:
    """The id of the one entry of the dead-letter stream."""
    rows: Any = await rig.redis.xrange(keys.DEAD_LETTER_STREAM)
    assert len(rows) == 1, rows
    return str(rows[0][0])


async def admin(rig: Rig, browsers: list[Browser], tenant: str) -> Browser:
    browser = Browser(rig)
    browsers.append(browser)
    await browser.sign_in(await rig.link(tenant))
    return browser


# --- sign-in ----------------------------------------------------------------------------


async def test_link_signs_in_once_with_a_strict_cookie(rig: Rig, browsers: list[Browser]) -> None:
    link = await rig.link(A)
    assert link.startswith(rig.base + "/admin/login?t=")
    browser = Browser(rig)
    browsers.append(browser)
    login = await browser.sign_in(link)
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Max-Age=43200" in cookie and "Path=/admin" in cookie
    status, text = await browser.get("/admin/")
    assert status == 200 and A in text and "Overview" in text
    # The link is used up: opening or posting it again gets the clear page, not a session.
    again = Browser(rig)
    browsers.append(again)
    status, text = await again.get(link.removeprefix(rig.base))
    assert status == 410 and "already used" in text
    token = link.partition("t=")[2]
    status, text = await again.post("/admin/login", {"t": token}, csrf=False)
    assert status == 410 and "Traceback" not in text
    assert (await again.get("/admin/"))[0] == 401


async def test_expired_and_forged_links_and_cookies_get_a_clear_page(
    rig: Rig, browsers: list[Browser]
) -> None:
    link = await rig.link(A)
    token = link.partition("t=")[2]
    # Ten minutes later (the key's TTL runs out: expire it now).
    (key,) = [k async for k in rig.redis.scan_iter(match=keys.panel_login_key("*"))]
    assert 590 <= await rig.redis.ttl(key) <= 600
    await rig.redis.pexpire(key, 1)
    await asyncio.sleep(0.01)
    browser = Browser(rig)
    browsers.append(browser)
    for forged in (token, token[:-2] + "xx", "", "<script>", "a" * 5000):
        async with browser.http.get(rig.base + "/admin/login", params={"t": forged}) as resp:
            text = await resp.text()
            assert resp.status == 410, forged
            assert "expired" in text and "/news dashboard" in text
    # A cookie not signed with the secret opens nothing.
    forger = Sessions("not-the-secret")
    _, cookie = forger.open(Grant(A, "admin", True))
    browser.http.cookie_jar.update_cookies({"newsbot_panel": cookie})
    status, text = await browser.get("/admin/")
    assert status == 401 and "/news dashboard" in text


async def test_dashboard_is_for_managers_and_bound_to_the_workspace(rig: Rig) -> None:
    reply = await rig.bot.handle(Request(A, "u9", "c1", False, text="dashboard"))
    assert not reply.ok and "manage" in reply.text and "/admin/login" not in reply.text
    link = await rig.link(A, user="boss")
    grant = await LoginTokens(rig.redis).peek(link.partition("t=")[2])
    assert grant == Grant(A, "boss", True)
    # Only a hash of the token is stored.
    assert link.partition("t=")[2] not in str([k async for k in rig.redis.scan_iter()])


async def test_every_page_and_form_needs_a_session_and_every_form_its_csrf_token(
    rig: Rig, browsers: list[Browser]
) -> None:
    stranger = Browser(rig)
    browsers.append(stranger)
    async with stranger.http.get(rig.base + "/admin") as resp:
        assert resp.status == 401 and resp.url.path == "/admin/"
    gets = ["/admin/", "/admin/subscriptions", "/admin/feeds", "/admin/deliveries",
            "/admin/try", "/admin/feeds/export.opml"]
    posts = ["/admin/subscriptions/add", "/admin/subscriptions/remove",
             "/admin/subscriptions/mute", "/admin/subscriptions/unmute", "/admin/feeds/preview",
             "/admin/feeds/add", "/admin/feeds/remove", "/admin/feeds/pause",
             "/admin/feeds/resume", "/admin/feeds/import", "/admin/deliveries/retry",
             "/admin/try", "/admin/logout"]
    for path in gets:
        status, text = await stranger.get(path)
        assert status == 401 and "Please sign in" in text, path
    for path in posts:
        assert (await stranger.post(path, {"topic": "x"}, csrf=False))[0] == 401, path
    browser = await admin(rig, browsers, A)
    for path in posts:
        status, text = await browser.post(path, {"topic": "syria", "channel": "c1"}, csrf=False)
        assert status == 403 and "CSRF" in text, path
        status, _ = await browser.post(path, {"_csrf": "0" * 64, "topic": "syria",
                                              "channel": "c1"}, csrf=False)
        assert status == 403, path
    assert await rig.bot.store.tenant_subscriptions(A) == []
    # Security headers on every answer.
    async with browser.http.get(rig.base + "/admin/") as resp:
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_signing_out_ends_the_session_even_for_a_kept_copy_of_the_cookie(
    rig: Rig, browsers: list[Browser]
) -> None:
    browser = await admin(rig, browsers, A)
    kept = {c.key: c.value for c in browser.http.cookie_jar}
    status, text = await browser.post("/admin/logout", {})
    assert status == 200 and "Signed out" in text
    assert (await browser.get("/admin/"))[0] == 401
    thief = Browser(rig)
    browsers.append(thief)
    thief.http.cookie_jar.update_cookies(kept)
    status, text = await thief.get("/admin/")
    assert status == 401 and "Please sign in" in text


# --- subscriptions ------------------------------------------------------------------------


async def test_subscriptions_add_mute_unmute_remove_and_grammar_errors_inline(
    rig: Rig, browsers: list[Browser]
) -> None:
    browser = await admin(rig, browsers, A)
    await browser.get("/admin/subscriptions")
    status, text = await browser.post("/admin/subscriptions/add",
                                      {"topic": '"vladimir putin', "channel": "c1"})
    assert status == 422 and 'class="error"' in text and "quote" in text.casefold()
    assert 'value="&#34;vladimir putin"' in text  # the form keeps what was typed
    status, text = await browser.post("/admin/subscriptions/add",
                                      {"topic": "syria", "channel": "c1", "mode": "hourly"})
    assert status == 200 and "Subscribed channel c1" in text
    status, text = await browser.post("/admin/subscriptions/add", {"topic": "climate"})
    assert status == 200 and "your DMs" in text
    subs = {s.expression: s for s in await rig.bot.store.tenant_subscriptions(A)}
    assert subs["syria"].destination == Destination(A, "channel", "c1")
    assert subs["syria"].mode == "hourly" and subs["syria"].owner == "admin"
    assert subs["climate"].destination == Destination(A, "dm", "admin")
    syria = subs["syria"].id
    status, text = await browser.post("/admin/subscriptions/mute",
                                      {"id": syria, "duration": "8h"})
    assert status == 200 and "Muted" in text and "Unmute" in text
    muted = await rig.bot.store.get(A, syria)
    assert muted is not None and muted.muted_until is not None
    status, _ = await browser.post("/admin/subscriptions/unmute", {"id": syria})
    unmuted = await rig.bot.store.get(A, syria)
    assert status == 200 and unmuted is not None and unmuted.muted_until is None
    status, text = await browser.post("/admin/subscriptions/remove", {"id": syria})
    assert status == 200 and "Removed “syria”" in text
    assert await rig.bot.store.get(A, syria) is None


# --- two workspaces -----------------------------------------------------------------------


async def test_a_session_only_ever_sees_and_changes_its_own_workspace(
    rig: Rig, browsers: list[Browser]
) -> None:
    store: SubscriptionStore = rig.bot.store
    a_sub = await store.add(A, "ua", Destination(A, "channel", "ca"), "alpha topic")
    b_sub = await store.add(B, "ub", Destination(B, "channel", "cb"), "bravo topic")
    assert a_sub.id == b_sub.id  # ids are per workspace: the same number in both
    feed = Feed("Bravo feed")
    feed.entries.append(rig.feeds.entry("/b1", 1, 1_715_000_000.0, "Bravo"))
    rig.feeds.feeds["/b.xml"] = feed
    await rig.bot.feeds.add(Destination(B, "channel", "cb"), rig.feeds.url("/b.xml"))
    browser = await admin(rig, browsers, A)
    for path in ("/admin/", "/admin/subscriptions", "/admin/feeds", "/admin/deliveries",
                 "/admin/feeds/export.opml"):
        status, text = await browser.get(path)
        assert status == 200, path
        assert "bravo" not in text.casefold() and "cb" not in re.findall(r"\w+", text), path
        assert B not in text, path
    status, text = await browser.get("/admin/subscriptions")
    assert "alpha topic" in text
    # Acting on the other workspace's ids or channels touches only this one.
    await browser.post("/admin/subscriptions/remove", {"id": b_sub.id})
    assert await store.get(B, b_sub.id) is not None
    assert await store.get(A, a_sub.id) is None  # the same id here was this one's
    status, _ = await browser.post("/admin/feeds/remove",
                                   {"channel": "cb", "url": rig.feeds.url("/b.xml")})
    assert status == 404
    assert [r.url for r in await rig.bot.feeds.list(Destination(B, "channel", "cb"))] == [
        rig.feeds.url("/b.xml")]


# --- feeds ----------------------------------------------------------------------------------


async def test_feed_preview_add_pause_resume_remove_and_opml_round_trip(
    rig: Rig, browsers: list[Browser]
) -> None:
    feed = Feed("Syria wire")
    for i in range(3):
        feed.entries.append(rig.feeds.entry(f"/art{i}", i, 1_715_000_000.0 + i, "Syria"))
    rig.feeds.feeds["/wire.xml"] = feed
    url = rig.feeds.url("/wire.xml")
    browser = await admin(rig, browsers, A)
    await browser.get("/admin/feeds")
    status, text = await browser.post("/admin/feeds/preview", {"url": url, "channel": "c1"})
    assert status == 200 and "Syria wire" in text
    assert text.count('class="card"') == 3 and "News about Syria 1" in text
    # Nothing saved by a preview.
    assert await rig.bot.feeds.list(Destination(A, "channel", "c1")) == []
    status, text = await browser.post("/admin/feeds/add", {"url": url, "channel": "c1"})
    assert status == 200 and "Added “Syria wire” to channel c1" in text
    c1 = Destination(A, "channel", "c1")
    assert [r.url for r in await rig.bot.feeds.list(c1)] == [url]
    status, text = await browser.post("/admin/feeds/pause", {"url": url, "channel": "c1"})
    assert status == 200 and "Paused" in text and "Resume" in text
    assert await rig.bot.feeds.list(c1) == []
    assert await rig.bot.feeds.paused(c1) == {url: "Syria wire"}
    # The export lists paused feeds too, grouped by channel.
    async with browser.http.get(rig.base + "/admin/feeds/export.opml") as resp:
        assert resp.status == 200 and "opml" in resp.headers["Content-Type"]
        opml = await resp.read()
    assert [(f.url, f.group) for f in parse_opml(opml)] == [(url, "#c1")]
    status, text = await browser.post("/admin/feeds/resume", {"url": url, "channel": "c1"})
    assert status == 200 and "Resumed" in text
    assert [r.url for r in await rig.bot.feeds.list(c1)] == [url]
    assert await rig.bot.feeds.paused(c1) == {}
    # Import into the other workspace.
    other = await admin(rig, browsers, B)
    await other.get("/admin/feeds")
    form = aiohttp.FormData()
    form.add_field("_csrf", other.csrf)
    form.add_field("channel", "cb")
    form.add_field("file", opml, filename="feeds.opml", content_type="text/x-opml")
    status, text = await other.post("/admin/feeds/import", form)
    assert status == 200 and "Imported 1 of 1 feeds into channel cb" in text
    assert [r.url for r in await rig.bot.feeds.list(Destination(B, "channel", "cb"))] == [url]
    status, text = await browser.post("/admin/feeds/remove", {"url": url, "channel": "c1"})
    assert status == 200 and "Removed" in text
    assert await rig.bot.feeds.list(c1) == []
    # A bad file is a clear message.
    form = aiohttp.FormData()
    form.add_field("_csrf", other.csrf)
    form.add_field("channel", "cb")
    form.add_field("file", b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
                   filename="x.opml")
    status, text = await other.post("/admin/feeds/import", form)
    assert status == 422 and "declares a DTD" in text


def test_opml_parser_refuses_entities_and_non_opml() -> None:
    with pytest.raises(OpmlError):
        parse_opml(b"not xml")
    with pytest.raises(OpmlError):
        parse_opml(b"<rss/>")
    with pytest.raises(OpmlError):
        parse_opml(b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x "http://evil/">]>'
                   b'<opml><body><outline xmlUrl="&x;"/></body></opml>')
    with pytest.raises(OpmlError):
        parse_opml('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE opml [<!ENTITY x "y">]>'
                   "<opml/>".encode("utf-16"))
    doc = (b'<?xml version="1.0"?><opml><body><outline text="g">'
           b'<outline xmlUrl="http://a/f" title="F"/><outline xmlUrl="http://a/f"/>'
           b'</outline><outline type="rss" xmlUrl="http://b/g"/></body></opml>')
    assert [(f.url, f.title, f.group) for f in parse_opml(doc)] == [
        ("http://a/f", "F", "g"), ("http://b/g", "", "")]


# --- deliveries and dead letters ------------------------------------------------------------


async def test_posts_are_listed_and_a_dead_letter_is_retried_once(
    rig: Rig, browsers: list[Browser]
) -> None:
    store: SubscriptionStore = rig.bot.store
    await store.add(A, "ua", Destination(A, "channel", "ok"), "syria")
    await store.add(A, "ua", Destination(A, "channel", "down"), "syria")
    down = str(Destination(A, "channel", "down"))
    rig.platform.always_fail.add(down)
    await matcher_has(rig, 2)
    page = rig.feeds.article("/syria-1", 1, "Syria")
    await rig.bot.submit(page, A)
    await drained(rig.redis)
    assert int(await rig.redis.xlen(keys.DEAD_LETTER_STREAM)) == 1
    browser = await admin(rig, browsers, A)
    status, text = await browser.get("/admin/deliveries")
    assert status == 200 and "News about Syria 1" in text
    assert "matched: syria" in text and "channel:ok" in text
    assert "transient after 4 attempts" in text and "Retry" in text
    entry_id = await only_dead_letter(rig)
    # Another workspace can neither see nor retry it.
    other = await admin(rig, browsers, B)
    status, text = await other.get("/admin/deliveries")
    assert "Syria" not in text
    status, _ = await other.post("/admin/deliveries/retry", {"id": entry_id})
    assert status == 404
    assert await rig.redis.exists(keys.dead_letter_retried_key(entry_id)) == 0
    # Retried once: the channel works again and gets the post.
    rig.platform.always_fail.discard(down)
    status, text = await browser.post("/admin/deliveries/retry", {"id": entry_id})
    assert status == 200 and "Requeued" in text
    await drained(rig.redis)
    assert sorted(m.channel for m in rig.platform.order) == [down, f"{A}/channel:ok"]
    status, text = await browser.post("/admin/deliveries/retry", {"id": entry_id})
    assert status == 409 and "already retried" in text
    status, text = await browser.get("/admin/")
    assert re.search(r'id="n-dead">0<', text)
    assert "channel:down" in text and "channel:ok" in text


async def test_an_unreadable_feed_link_is_its_channels_workspaces_and_is_retried_once(
    rig: Rig, browsers: list[Browser]
) -> None:
    # A feed item whose page fails: the dead letter names the feed's channels, not a tenant.
    channels = json.dumps([json.dumps(Destination(A, "channel", "c1").to_dict())])
    await rig.redis.xadd(keys.DEAD_LETTER_STREAM, {
        "stream": keys.INGEST_STREAM, "entry": "1-0", "url": "http://127.0.0.1:9/gone",
        "reason": "That page could not be reached.", "origin": "feed", "at": "1.0",
        "tenant": "", "channels": channels})
    entry_id = await only_dead_letter(rig)
    other = await admin(rig, browsers, B)
    assert "127.0.0.1:9/gone" not in (await other.get("/admin/deliveries"))[1]
    browser = await admin(rig, browsers, A)
    status, text = await browser.get("/admin/deliveries")
    assert "127.0.0.1:9/gone" in text and "could not be reached" in text
    ingest_before = int(await rig.redis.xlen(keys.INGEST_STREAM))
    assert ingest_before == 0
    status, text = await browser.post("/admin/deliveries/retry", {"id": entry_id})
    assert status == 200 and "Requeued" in text
    await drained(rig.redis)  # read again (and dead-lettered again: the page is still gone)
    rows: Any = await rig.redis.xrange(keys.DEAD_LETTER_STREAM)
    assert len(rows) == 2 and rows[1][1]["channels"] == channels
    assert rows[1][1]["origin"] == "retry"
    status, _ = await browser.post("/admin/deliveries/retry", {"id": entry_id})
    assert status == 409
    status, _ = await browser.post("/admin/deliveries/retry", {"id": "not-an-id"})
    assert status == 404


async def test_channels_with_feeds_from_before_the_index_are_found(
    rig: Rig, browsers: list[Browser]
) -> None:
    feed = Feed("Old feed")
    feed.entries.append(rig.feeds.entry("/old1", 1, 1_715_000_000.0))
    rig.feeds.feeds["/old.xml"] = feed
    c9 = Destination(A, "channel", "c9")
    await rig.bot.feeds.add(c9, rig.feeds.url("/old.xml"))
    await rig.redis.delete(keys.tenant_feed_channels_key(A))  # as written by older versions
    assert await rig.bot.feeds.channels(A) == [c9]
    assert await rig.bot.feeds.channels(B) == []
    browser = await admin(rig, browsers, A)
    status, text = await browser.get("/admin/feeds")
    assert status == 200 and "Old feed" in text and "Channel c9" in text


# --- try a link -----------------------------------------------------------------------------


async def test_try_a_link_shows_the_card_and_this_workspaces_matches(
    rig: Rig, browsers: list[Browser]
) -> None:
    store: SubscriptionStore = rig.bot.store
    await store.add(A, "ua", Destination(A, "channel", "ca"), "syria")
    await store.add(B, "ub", Destination(B, "channel", "cb"), "syria")
    await matcher_has(rig, 2)
    page = rig.feeds.article("/try-1", 2, "Syria")
    browser = await admin(rig, browsers, A)
    await browser.get("/admin/try")
    status, text = await browser.post("/admin/try", {"url": page, "expression": "syria -sports"})
    assert status == 200 and "News about Syria 2" in text
    assert "channel:ca" in text and "channel:cb" not in text
    assert 'id="explained"' in text and "MATCH" in text
    status, text = await browser.post("/admin/try", {"url": "not a link"})
    assert status == 422 and 'class="error"' in text


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path / "d")
    assert len(first) > 40
    assert load_secret(None, tmp_path / "d") == first
    assert (tmp_path / "d" / "panel-secret.key").stat().st_mode & 0o777 == 0o600
    assert load_secret("configured", tmp_path / "d") == "configured"
