"""Slack Block Kit rendering: the seed card, escaping, limits, digests, App Home."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.slack import blocks
from adapters.slack.app import command_text
from bot import parse_article
from bot.card import Card, KeyFigure
from bot.chat import parse_command
from bot.chat.contract import (
    Destination,
    DigestItem,
    Post,
    Reply,
    Subscription,
    SubscriptionRef,
)

SEED = Path(__file__).parent / "data" / "seed_france24_putin_syria.txt"
SEED_URL = (
    "https://www.france24.com/en/20171211-putin-orders-partial-withdrawal-russian-troops-syria"
)
T = "slack:T0TEAM"


def seed_card() -> Card:
    return parse_article(SEED.read_text(encoding="utf-8"), SEED_URL)


def texts(obj: Any) -> list[str]:
    """Every ``text`` string inside a block structure."""
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(texts(value))
    elif isinstance(obj, list):
        for value in obj:
            found.extend(texts(value))
    return found


def test_seed_card_blocks() -> None:
    card = seed_card()
    post = Post(
        Destination(T, "channel", "C1"),
        key="k1",
        card=card,
        matched=("syria", "putin"),
        subscriptions=(SubscriptionRef("12", "syria", "U1"),),
    )
    text, out = blocks.post_message(post)
    assert text == "Putin orders partial withdrawal of Russian troops in Syria (france24.com)"
    kinds = [b["type"] for b in out]
    assert kinds == ["header", "context", "section", "section", "context", "actions"]
    header, source, summary, figures, matched, actions = out
    assert header["text"] == {
        "type": "plain_text",
        "text": "Putin orders partial withdrawal of Russian troops in Syria",
        "emoji": True,
    }
    assert source["elements"][0]["text"] == (
        f"<{SEED_URL}|Read on france24.com> · 11 Dec 2017 · Middle East"
    )
    assert summary["text"]["type"] == "mrkdwn"
    assert summary["text"]["text"].startswith("President Vladimir Putin flew into Syria")
    fields = [f["text"] for f in figures["fields"]]
    assert fields[0] == "*50*\nRussian service personnel killed"
    assert "*25*\naircraft being withdrawn" in fields
    assert matched["elements"][0]["text"] == "matched: syria, putin"
    unsub, mute = actions["elements"]
    assert (unsub["action_id"], unsub["value"], unsub["text"]["text"]) == (
        "newsbot_unsub",
        "12",
        "Unsubscribe syria",
    )
    assert (mute["action_id"], mute["value"], mute["text"]["text"]) == (
        "newsbot_mute",
        "12",
        "Mute 24 h",
    )


def test_mentions_in_article_text_are_escaped() -> None:
    card = replace(
        seed_card(),
        headline="<!channel> Breaking & <@U123> <!here>",
        summary="Call <!everyone> now <https://evil.example|click> & <#C1>",
        section="<@U999>",
        key_figures=(KeyFigure("<!channel>", "<@U1> pings", "x"),),
    )
    post = Post(Destination(T, "channel", "C1"), "k", card=card, matched=("<!here>",))
    text, out = blocks.post_message(post)
    everything = [text, *texts(out)]
    for value in everything:
        assert "<!" not in value and "<@" not in value and "<#" not in value, value
    dumped = json.dumps(out)
    assert "&lt;!channel&gt; Breaking &amp; &lt;@U123&gt;" in dumped
    assert "&lt;https://evil.example|click&gt;" in dumped
    # the only raw link is the one we built to the article itself
    assert dumped.count("<http") == 1


def test_links_cannot_break_out_of_their_brackets() -> None:
    card = replace(seed_card(), canonical_url="https://x.example/a?b=1&c=<!channel>|x>", site="x|y")
    (source,) = blocks.card_blocks(card)[1]["elements"]
    assert source["text"].startswith(
        "<https://x.example/a?b=1&amp;c=%3C!channel%3E%7Cx%3E|Read on x/y> · "
    )


def test_limits_are_enforced() -> None:
    card = replace(
        seed_card(),
        headline="H" * 400,
        summary=("word & " * 2000),
        key_figures=tuple(KeyFigure(str(i), "label " * 500, "s") for i in range(30)),
    )
    refs = tuple(SubscriptionRef(str(i), "topic " * 40, "U1") for i in range(20))
    post = Post(Destination(T, "channel", "C1"), "k", card=card, subscriptions=refs)
    text, out = blocks.post_message(post)
    assert len(out) <= blocks.MAX_BLOCKS
    assert len(out[0]["text"]["text"]) <= 150
    for value in texts(out):
        assert len(value) <= 3000
        assert not value.endswith(("&", "&a", "&am", "&amp")), "cut inside an entity"
    fields = next(b for b in out if "fields" in b)["fields"]
    assert len(fields) == 10 and all(len(f["text"]) <= 2000 for f in fields)
    buttons = [e for b in out if b["type"] == "actions" for e in b["elements"]]
    assert buttons and all(len(e["text"]["text"]) <= 75 for e in buttons)
    assert len(text) <= 3000


def test_digest_is_one_message_within_limits() -> None:
    items = tuple(
        DigestItem(f"Story {i} <!channel>", f"https://news.example/{i}", "news.example", ("syria",))
        for i in range(400)
    )
    post = Post(Destination(T, "dm", "U1"), "d", digest=items, digest_title="Daily: syria")
    text, out = blocks.post_message(post)
    assert text == "Daily: syria: 400 stories"
    assert out[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Daily: syria", "emoji": True},
    }
    assert 2 <= len(out) <= 50
    body = "\n".join(texts(out[1:]))
    first = "• <https://news.example/0|Story 0 &lt;!channel&gt;> — news.example · matched: syria"
    assert first in body
    assert all(len(t) <= 3000 for t in texts(out))


def test_note_and_also_reported_by() -> None:
    post = Post(
        Destination(T, "channel", "C1"),
        "k",
        card=seed_card(),
        note="Heads up <!here>",
        also_reported_by=("bbc.co.uk", "reuters.com"),
    )
    text, out = blocks.post_message(post)
    assert out[0]["text"]["text"] == "Heads up &lt;!here&gt;"
    assert text.startswith("Heads up &lt;!here&gt; — Putin orders")
    assert any("also reported by bbc.co.uk, reuters.com" in t for t in texts(out))


def test_reply_with_card_and_escaped_text() -> None:
    text, out = blocks.reply_message(Reply("Subscribed to “<!channel>” (#3)."))
    assert text == "Subscribed to “&lt;!channel&gt;” (#3)."
    assert out == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    card = seed_card()
    text, out = blocks.reply_message(Reply(card.headline, ephemeral=False, card=card))
    assert text == card.headline
    assert [b["type"] for b in out] == ["header", "context", "section", "section"]


def test_home_view_lists_subscriptions_with_buttons() -> None:
    subs = [
        Subscription("1", T, "U1", Destination(T, "dm", "U1"), '"vladimir putin"', "daily"),
        Subscription(
            "2", T, "U1", Destination(T, "channel", "C9"), "syria", muted_until=2_000_000_000.0
        ),
    ]
    view = blocks.home_view(subs, now=1_800_000_000.0)
    assert view["type"] == "home"
    body = "\n".join(texts(view["blocks"]))
    assert '#1 *"vladimir putin"* → your DMs · daily digest' in body
    assert "#2 *syria* → <#C9> · as they come · muted until 2033-05-18 03:33 UTC" in body
    actions = [b for b in view["blocks"] if b["type"] == "actions"]
    assert [[(e["action_id"], e["value"]) for e in b["elements"]] for b in actions] == [
        [("newsbot_unsub", "1"), ("newsbot_mute", "1")],
        [("newsbot_unsub", "2"), ("newsbot_mute", "2")],
    ]
    empty = blocks.home_view([], now=0)
    assert "No subscriptions yet" in "\n".join(texts(empty["blocks"]))


def test_command_text_follows_the_core_grammar() -> None:
    assert command_text('subscribe "vladimir putin" dm digest:daily') == (
        'subscribe "vladimir putin" dm digest:daily'
    )
    # A bare link means summarize: the core's grammar says so, once for every platform.
    assert parse_command(command_text("https://www.france24.com/A")) == (
        "summarize", ("https://www.france24.com/A",))
    assert command_text("<https://www.france24.com/a?x=1&amp;y=2>") == (
        "https://www.france24.com/a?x=1&y=2"
    )
    assert command_text("feed add <https://x.example/rss|x.example/rss>") == (
        "feed add https://x.example/rss"
    )
    assert command_text("subscribe AT&amp;T -&lt;b&gt;") == "subscribe AT&T -<b>"
    assert command_text("") == ""


def _yaml_list(lines: list[str], key: str) -> list[str]:
    """The ``- item`` lines right under ``key:`` (the manifest is simple; no YAML library)."""
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    items: list[str] = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if not stripped.startswith("- "):
            break
        items.append(stripped[2:].strip())
    return items


def test_manifest_has_exactly_what_the_adapter_uses() -> None:
    manifest = Path(__file__).parent.parent / "slack-manifest.yml"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    assert _yaml_list(lines, "bot") == [
        "channels:history",  # find_post: is a post already there after a crash?
        "chat:write",
        "chat:write.public",
        "commands",
        "groups:history",
        "im:history",
        "im:write",
        "links:read",
        "links:write",
        "mpim:history",
        "usergroups:read",  # managers user groups, and "ping @group"
        "users:read",
    ]
    assert _yaml_list(lines, "bot_events") == ["app_home_opened", "link_shared", "message.im"]
    # The Messages tab invites DMs: they are answered (message.im), not left unread.
    assert "    messages_tab_enabled: true" in lines
    assert "    - command: /news" in lines
    assert "      should_escape: false" in lines
    assert "  socket_mode_enabled: true" in lines
    assert "    is_enabled: true" in lines  # interactivity: the card and App Home buttons
    assert 1 <= len(_yaml_list(lines, "unfurl_domains")) <= 5
    assert "\t" not in manifest.read_text(encoding="utf-8")
