"""The web panel end to end in a real headless Chromium, against ``newsbot run``.

``newsbot run`` runs as a subprocess (``tests.guarded_run``: no connection outside
127.0.0.1) with its embedded Valkey, Discord and Slack enabled against the local fakes.
Two workspaces: the Discord guild (admin A) and the Slack team (admin B). Each signs in
through the link from a ``/news dashboard`` reply; A adds a feed after its preview, adds and
removes subscriptions, sees a post arrive and exports OPML; B retries a dead letter and
imports A's OPML. Neither sees the other's data; a replayed link and a form without its
CSRF token are refused.

Chromium is the system's (Debian's ``chromium`` package, installed by ``.ci/run``); the test
skips, saying so, where there is none. ``NEWSBOT_SCREENSHOTS=1`` saves each page to
``docs/panel/`` (the README shows them).
"""

# The fixtures of test_run_platforms are imported and then requested by name.
# ruff: noqa: F811

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes import Feed, FeedServer
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord, slash
from tests.fakes.slack import TEAM, FakeSlack, command_body, sign
from tests.test_run_platforms import (  # noqa: F401  (fixtures used by name)
    FORM,
    HEADLINE,
    INGEST_TOKEN,
    SLACK_CHANNEL,
    SLACK_MANAGER,
    Launch,
    SeedPage,
    all_text,
    discord,
    discord_subscribe,
    launch,
    poll,
    seed_page,
    slack,
    slack_posts,
    slack_subscribe,
    started,
    stopped_cleanly,
)

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install -e '.[test]')")

CHROMIUM = os.environ.get("NEWSBOT_CHROMIUM") or shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary (apt-get install chromium; .ci/run installs it)",
)
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "panel"
SCREENSHOTS = os.environ.get("NEWSBOT_SCREENSHOTS") == "1"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # Belt and braces: no name but 127.0.0.1 resolves, so nothing leaves the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
A_TENANT = f"discord:{GUILD_ID}"
B_TENANT = f"slack:{TEAM}"
_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/admin/login\?t=[\w-]+)")


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = await FeedServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def shot(page: Any, name: str) -> None:
    """Save the page for the README when NEWSBOT_SCREENSHOTS=1 (CI leaves the files)."""
    if SCREENSHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def discord_dashboard(discord: FakeDiscord) -> str:
    """``/news dashboard`` in the guild's channel; the link in the private answer."""
    payload = await discord.interact(slash("dashboard"))
    body = await discord.callback(payload["id"], within=10)
    if body["type"] == 5:
        reply = await discord.followup(payload["token"], within=10)
        text, flags = str(reply.get("content")), int(reply.get("flags") or 0)
    else:
        text, flags = str(body["data"]["content"]), int(body["data"].get("flags") or 0)
    assert flags & 64, "the link must be answered privately (ephemeral)"
    found = _LINK.search(text)
    assert found, text
    return found.group(1)


async def slack_dashboard(base: str, slack: FakeSlack) -> str:
    """``/news dashboard`` from a Slack manager; the link in the private answer."""
    body = command_body("dashboard", user=SLACK_MANAGER, channel=SLACK_CHANNEL,
                        response_url=slack.response_url("dashboard"))
    async with aiohttp.ClientSession() as session, session.post(
        f"{base}/slack/events", data=body.encode(),
        headers={"Content-Type": FORM, **sign(body)},
    ) as resp:
        assert resp.status == 200, await resp.text()
    reply = await slack.wait_for(
        lambda: next((r for r in slack.responses if r["_rid"] == "dashboard"), None), within=10)
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    found = _LINK.search(all_text(reply))
    assert found, reply
    return found.group(1)


async def sign_in(chromium: Any, link: str, **context: Any) -> Any:
    """A fresh browser context signed in through ``link``; its page on the overview."""
    ctx = await chromium.new_context(accept_downloads=True, **context)
    page = await ctx.new_page()
    await page.goto(link)
    await shot(page, "login") if "viewport" not in context else None
    await page.get_by_role("button", name="Sign in").click()
    await playwright_api.expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    return page


async def test_panel_in_a_real_browser(
    launch: Launch, discord: FakeDiscord, slack: FakeSlack, seed_page: SeedPage,
    feeds: FeedServer, chromium: Any, tmp_path: Path,
) -> None:
    expect = playwright_api.expect
    bot = await launch()
    base = await started(bot, discord)
    channel = str(CHANNEL_ID)

    # --- A (Discord) signs in; the link works once. ------------------------------------
    link_a = await discord_dashboard(discord)
    a = await sign_in(chromium, link_a)
    await expect(a.locator(".who")).to_contain_text(A_TENANT)
    await shot(a, "overview")
    replay = await (await chromium.new_context()).new_page()
    await replay.goto(link_a)
    await expect(replay.get_by_role("heading")).to_contain_text("can't be used")
    await expect(replay.get_by_text("already used")).to_be_visible()

    # --- subscriptions: a grammar error inline, add two, remove one ---------------------
    await a.locator("header nav").get_by_role("link", name="Subscriptions").click()
    form = a.locator("#add-sub")
    await form.get_by_label("Topic").fill('"vladimir putin')
    await form.get_by_label("Channel").fill(channel)
    await form.get_by_role("button", name="Subscribe").click()
    await expect(a.locator(".error")).to_be_visible()
    await expect(a.locator("#add-sub").get_by_label("Topic")).to_have_value('"vladimir putin')
    for topic in ("syria", "climate"):
        form = a.locator("#add-sub")
        await form.get_by_label("Topic").fill(topic)
        await form.get_by_label("Channel").fill(channel)
        await form.get_by_role("button", name="Subscribe").click()
        await expect(a.locator(".notice")).to_contain_text(f"“{topic}”")
    await shot(a, "subscriptions")
    await a.get_by_role("button", name="Remove climate").first.click()
    await expect(a.locator(".notice")).to_contain_text("Removed “climate”")
    await expect(a.locator("td.topic", has_text="climate")).to_have_count(0)
    await expect(a.locator("td.topic", has_text="syria")).to_have_count(1)
    await a.get_by_role("link", name="By user").click()
    await expect(a.locator("h3", has_text="4444")).to_be_visible()  # the admin owns it
    await expect(a.locator("td.topic", has_text="syria")).to_have_count(1)

    # --- a form without its CSRF token is refused --------------------------------------
    await a.locator("#add-sub input[name=_csrf]").evaluate("e => e.remove()")
    form = a.locator("#add-sub")
    await form.get_by_label("Topic").fill("forged")
    await form.get_by_role("button", name="Subscribe").click()
    await expect(a.get_by_role("heading", name="Refused")).to_be_visible()
    await expect(a.get_by_text("CSRF")).to_be_visible()

    # --- feeds: preview as cards, then add -----------------------------------------------
    wire = Feed("Syria wire")
    for i in range(3):
        wire.entries.insert(0, feeds.entry(f"/wire/a{i}", i, 1_715_000_000.0 + 60 * i))
    feeds.feeds["/wire.xml"] = wire
    feed_url = feeds.url("/wire.xml")
    await a.locator("header nav").get_by_role("link", name="Feeds").click()
    form = a.locator("#preview-feed")
    await form.get_by_label("Feed or site link").fill(feed_url)
    await form.get_by_label("Channel").fill(channel)
    await form.get_by_role("button", name="Preview").click()
    await expect(a.locator("#preview .card")).to_have_count(3)
    await expect(a.locator("#preview")).to_contain_text("News about Syria 2")
    await shot(a, "feed-preview")
    await a.get_by_role("button", name=f"Add to channel {channel}").click()
    await expect(a.locator(".notice")).to_contain_text("Added “Syria wire”")
    await expect(a.get_by_role("cell", name=re.compile("Syria wire"))).to_be_visible()
    await shot(a, "feeds")

    # --- B (Slack) subscribes; Slack refuses the next post: a dead letter ----------------
    async with aiohttp.ClientSession() as session:
        assert "Subscribed" in await slack_subscribe(session, base, slack, "syria")
        slack.script("chat.postMessage", error="invalid_blocks")
        async with session.post(f"{base}/v1/links", json={"url": seed_page.article_url},
                                headers={"Authorization": f"Bearer {INGEST_TOKEN}"}) as resp:
            assert resp.status == 202, await resp.text()

    # --- A sees the post arrive ----------------------------------------------------------
    await poll(lambda: discord.messages.get(channel), 20, "the Discord post", bot)
    await a.locator("header nav").get_by_role("link", name="Deliveries").click()
    posts = a.locator("#posts")
    await expect(posts).to_contain_text(HEADLINE)
    await expect(posts).to_contain_text("matched: syria")
    await expect(posts).to_contain_text(f"channel:{channel}")
    await expect(a.locator("#dead-letters")).to_have_count(0)  # B's failure is not A's
    await shot(a, "deliveries")

    # --- A exports OPML ------------------------------------------------------------------
    await a.locator("header nav").get_by_role("link", name="Feeds").click()
    async with a.expect_download() as download_info:
        await a.get_by_role("link", name=re.compile("Export every feed")).click()
    download = await download_info.value
    opml = tmp_path / "feeds.opml"
    await download.save_as(str(opml))
    assert feed_url in opml.read_text(encoding="utf-8")

    # --- try a link ----------------------------------------------------------------------
    await a.locator("header nav").get_by_role("link", name="Try a link").click()
    form = a.locator("#try-link")
    await form.get_by_label("Article link").fill(seed_page.article_url)
    await form.get_by_label("Also test a topic").fill('"vladimir putin" syria')
    await form.get_by_role("button", name="Try").click()
    await expect(a.locator("#card")).to_contain_text(HEADLINE)
    await expect(a.locator("#matches")).to_contain_text(f"channel:{channel}")
    await expect(a.locator("#explained")).to_contain_text("MATCH")
    await shot(a, "try")
    await expect(a.locator("body")).not_to_contain_text(B_TENANT)

    # --- B signs in: none of A's data; retries its dead letter; imports A's OPML ---------
    await poll(lambda: slack_posts(slack), 20, "Slack's refused post", bot)
    b = await sign_in(chromium, await slack_dashboard(base, slack))
    await expect(b.locator(".who")).to_contain_text(B_TENANT)
    for name in ("Subscriptions", "Feeds", "Deliveries"):
        await b.locator("header nav").get_by_role("link", name=name).click()
        body = b.locator("main")
        await expect(body).not_to_contain_text(channel)
        await expect(body).not_to_contain_text("Syria wire")
        await expect(body).not_to_contain_text(A_TENANT)
    dead = b.locator("#dead-letters")
    await expect(dead).to_contain_text("invalid_blocks")
    await expect(dead).to_contain_text(HEADLINE)
    await b.get_by_role("button", name="Retry").click()
    await expect(b.locator(".notice")).to_contain_text("Requeued")
    await expect(b.locator("#dead-letters")).to_contain_text("retried")
    await expect(b.get_by_role("button", name="Retry")).to_have_count(0)
    await poll(lambda: len(slack_posts(slack)) >= 2, 20, "the retried Slack post", bot)
    for _ in range(50):  # the post is recorded just after Slack answered
        await b.reload()
        if await b.locator("#posts").count():
            break
    await expect(b.locator("#posts")).to_contain_text(HEADLINE)
    await shot(b, "dead-letter-retried")
    await b.locator("header nav").get_by_role("link", name="Feeds").click()
    form = b.locator("#import-opml")
    await form.get_by_label("OPML file").set_input_files(str(opml))
    await form.get_by_label("Into channel").fill(SLACK_CHANNEL)
    await form.get_by_role("button", name="Import").click()
    await expect(b.locator(".notice")).to_contain_text(
        f"Imported 1 of 1 feeds into channel {SLACK_CHANNEL}")
    await expect(b.get_by_role("cell", name=re.compile("Syria wire"))).to_be_visible()

    # --- the overview on a phone ----------------------------------------------------------
    phone = await sign_in(chromium, await discord_dashboard(discord),
                          viewport={"width": 390, "height": 844}, is_mobile=True)
    await expect(phone.locator("#n-subs")).to_have_text("1")
    await expect(phone.locator("#n-feeds")).to_have_text("1")
    await shot(phone, "overview-phone")

    assert len(slack_posts(slack)) == 2 and len(discord.messages[channel]) == 1
    await stopped_cleanly(bot)
