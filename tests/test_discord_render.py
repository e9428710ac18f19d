"""Pure rendering for Discord: limits, mentions, buttons; and the invite URL."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from adapters.discord.invite import (
    PERMISSIONS,
    application_id_from_token,
    invite_url,
    run,
)
from adapters.discord.render import (
    EMBED_TOTAL_MAX,
    card_embed,
    content_text,
    digest_embed,
    neutralise,
    nonce_for,
    render_post,
    render_reply,
    truncate,
)
from adapters.discord.views import BUTTON_SUBS_MAX, scope_of, subscription_view, tenant_of
from bot.card import Card, KeyFigure
from bot.chat.contract import Destination, DigestItem, Post, Reply, SubscriptionRef
from bot.errors import ConfigError
from bot.settings import Settings

DEST = Destination("discord:222", "channel", "333")


def huge_card() -> Card:
    figures = tuple(KeyFigure("9" * 50, "label " * 100, "s") for _ in range(60))
    return Card(
        headline="H" * 1000,
        body="b",
        url="https://example.com/" + "p" * 100,
        published="2024-05-01T10:00:00+00:00",
        site="s" * 5000,
        section="S" * 2000,
        summary="word " * 3000,
        key_figures=figures,
        image="https://example.com/i.jpg",
        paywalled=True,
    )


def test_truncate() -> None:
    assert truncate("abc", 3) == "abc"
    assert truncate("abcdef", 4) == "abc…"
    assert len(truncate("x" * 5000, 4096)) == 4096


def test_every_embed_limit_is_enforced() -> None:
    matched = tuple(f"term{n}" for n in range(500))
    embed = card_embed(huge_card(), matched, tuple("site" * 50 for _ in range(50)))
    assert embed.title is not None and len(embed.title) <= 256
    assert embed.description is None or len(embed.description) <= 4096
    assert len(embed.fields) <= 25
    assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
    assert embed.footer.text is not None and len(embed.footer.text) <= 2048
    assert len(embed) <= EMBED_TOTAL_MAX
    assert embed.thumbnail.url == "https://example.com/i.jpg"
    # The headline, link and why it was sent survive the cuts.
    names = [f.name for f in embed.fields]
    assert "Matched" in names and embed.url is not None


def test_card_without_summary_uses_lead_and_skips_empty_fields() -> None:
    card = Card(headline="Title", body="First para.\n\nSecond.\n\nThird.", url="javascript:x")
    embed = card_embed(card)
    assert embed.description == "First para.\n\nSecond."
    assert embed.url is None and embed.fields == [] and embed.thumbnail.url is None


def test_digest_is_one_embed_that_fits() -> None:
    items = tuple(
        DigestItem(f"Headline [{n}] " + "x" * 150, f"https://example.com/{n}", "site", ("a",))
        for n in range(100)
    )
    embed = digest_embed(None, items)
    assert embed.title == "Your news digest"
    assert embed.description is not None and len(embed.description) <= 4096
    assert embed.description.endswith("more")
    assert "[Headline (0)" in embed.description  # brackets cannot break the link syntax
    assert len(embed) <= EMBED_TOTAL_MAX


# A masked link Discord would render: [text](url) with its "[" not escaped.
MASKED_LINK = re.compile(r"(?<!\\)\[[^\]]*\]\(\s*<?https?://")
PHISH = "[your bank](https://phish.example/login)"


def rendered_text(embed: discord.Embed) -> list[str]:
    """Every piece of an embed's text that Discord renders as markdown."""
    return [embed.title or "", embed.description or "",
            *(str(f.value) for f in embed.fields), *(str(f.name) for f in embed.fields)]


def test_article_text_cannot_plant_a_masked_link_or_markdown() -> None:
    card = Card(
        headline=f"Breaking: {PHISH} **now**", body="b", url="https://news.example/a",
        summary=f"Log in at {PHISH} to read. Prices *fell* by _half_. Source: https://x.example/a_b",
        section=PHISH, site=f"Site {PHISH}",
        key_figures=(KeyFigure("$5", f"refund at {PHISH}", "s"),),
    )
    embed = card_embed(card, matched=("bank",), also_reported_by=(PHISH,))
    assert embed.url == "https://news.example/a"  # the link is the embed's own
    for text in rendered_text(embed):
        assert not MASKED_LINK.search(text), text
    assert embed.description is not None
    assert "\\*fell\\*" in embed.description and "\\_half\\_" in embed.description
    assert "https://x.example/a_b" in embed.description  # a bare URL stays as it is
    figures = next(f for f in embed.fields if f.name == "Key figures")
    assert str(figures.value).startswith("**$5** refund at \\[")  # the bot's own bold kept
    digest = digest_embed(None, (DigestItem(PHISH, "https://news.example/b", PHISH, ()),))
    assert digest.description is not None
    assert digest.description.startswith("• [(your bank)(https://phish.example/login)]"
                                          "(https://news.example/b)")
    assert not MASKED_LINK.search(digest.description.split("— ", 1)[1])


def test_mentions_are_neutralised() -> None:
    text = "@everyone @here <@123> <@!45> <@&67> <#89> a@b.c"
    out = neutralise(text)
    for raw in ("@everyone", "@here", "<@123>", "<@!45>", "<@&67>"):
        assert raw not in out
    assert out.replace("\u200b", "") == text
    assert len(content_text("@everyone " * 500)) <= 2000


async def test_post_buttons_and_note() -> None:
    subs = tuple(SubscriptionRef(str(n), "climate change " * 10, "u") for n in range(15))
    post = Post(DEST, "k", card=huge_card(), subscriptions=subs, note="<@1> hi")
    message = render_post(post)
    view = subscription_view(DEST.tenant, post.subscriptions)
    assert view is not None and message.content == "<@\u200b1> hi"
    buttons = [c for c in view.children if isinstance(c, discord.ui.DynamicItem)]
    assert len(buttons) == 2 * BUTTON_SUBS_MAX <= 25
    rows = view.to_components()
    labels = [b["label"] for row in rows for b in row["components"]]
    assert all(len(label) <= 80 for label in labels)
    ids = [b["custom_id"] for row in rows for b in row["components"]]
    assert ids[:2] == ["newsbot:unsub:222:0", "newsbot:mute:222:0"]
    assert all(len(i) <= 100 for i in ids)
    note_only = Post(DEST, "k", note="Paused: I can no longer post in #news.")
    assert render_post(note_only).embed is None
    assert subscription_view(DEST.tenant, note_only.subscriptions) is None


def test_reply_rendering() -> None:
    message = render_reply(Reply("Subscribed @everyone"))
    assert message.embed is None and message.content == "Subscribed @\u200beveryone"


def test_nonce_is_short_and_stable() -> None:
    key = "article:" + "x" * 200 + "|discord:1/channel:2"
    assert nonce_for(key) == nonce_for(key) and len(nonce_for(key)) == 25
    assert nonce_for(key) != nonce_for(key + "!")


def test_tenant_scope_round_trip() -> None:
    assert scope_of("discord:222") == "222" and tenant_of("222") == "discord:222"
    assert scope_of("discord:dm") == "dm" and tenant_of("dm") == "discord:dm"


def test_invite_url_has_exact_scopes_and_permissions() -> None:
    url = invite_url(1234)
    parts = urlsplit(url)
    assert parts.netloc == "discord.com" and parts.path == "/oauth2/authorize"
    query = parse_qs(parts.query)
    assert query == {
        "client_id": ["1234"],
        "scope": ["bot applications.commands"],
        "permissions": [str(PERMISSIONS)],
    }
    # View Channel, Send Messages, Embed Links, Read Message History, Send in Threads.
    assert PERMISSIONS == 1024 + 2048 + 16384 + 65536 + 274877906944


def test_application_id_from_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert application_id_from_token("MTExMTExMTExMTExMTExMTEx.abc.def") == 111111111111111111
    with pytest.raises(ConfigError):
        application_id_from_token("not-a-token")
    settings = Settings(_env_file=None, discord_token="MTIz.x.y")
    assert run(None, settings) == 0
    assert "client_id=123&" in capsys.readouterr().out
