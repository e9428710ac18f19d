"""Regenerate the README's examples from the seed article: python docs/make_examples.py

docs/console-card.svg (the console's card, recorded by rich), docs/discord-embed.json (the
embed the Discord adapter posts) and docs/slack-blocks.json (the Slack adapter's blocks),
for a post that matched the subscriptions "syria" and "putin"; and docs/formats/: the same
post in each format (``full``, ``compact``, ``headline``) on each platform, pinging a role
(Discord: the message with its allowed mentions; Slack: text and blocks; console: text).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from adapters.console.card import render_card, render_post_card  # noqa: E402
from adapters.discord.render import render_post  # noqa: E402
from adapters.slack.blocks import post_message  # noqa: E402
from bot import parse_article  # noqa: E402
from bot.card import Card  # noqa: E402
from bot.chat import Destination  # noqa: E402
from bot.chat.contract import FORMATS, Post, SubscriptionRef  # noqa: E402

URL = "https://www.france24.com/en/20171211-putin-orders-partial-withdrawal-russian-troops-syria"


#: the role (Discord) and user group (Slack) the format examples ping
DISCORD_ROLE = "123456789012345678"
SLACK_GROUP = "S0NEWSDESK"


def write_formats(card: Card, out: Path) -> list[Path]:
    """One example per format and platform into ``out``; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    matched = ("syria", "putin")
    for fmt in FORMATS:
        post = Post(Destination("discord:1", "channel", "42"), "a1:c42", card, matched,
                    pings=(DISCORD_ROLE,), format=fmt)
        message = render_post(post)
        discord_json = {
            "content": message.content,
            "embeds": [message.embed.to_dict()] if message.embed is not None else [],
            "allowed_mentions": message.allowed.to_dict(),
        }
        slack_post = Post(Destination("slack:T1", "channel", "C42"), "a1:C42", card, matched,
                          pings=(SLACK_GROUP,), format=fmt)
        fallback, blocks = post_message(slack_post)
        console = Console(record=True, width=200, file=io.StringIO(), color_system=None)
        console.print(f"[bot → #world-news] @{DISCORD_ROLE} new article (matched: syria, putin)",
                      markup=False)
        console.print(render_post_card(card, fmt, matched))
        files = {
            f"discord-{fmt}.json": json.dumps(discord_json, indent=2, ensure_ascii=False),
            f"slack-{fmt}.json": json.dumps({"text": fallback, "blocks": blocks}, indent=2,
                                            ensure_ascii=False),
            f"console-{fmt}.txt": "\n".join(
                line.rstrip() for line in console.export_text().rstrip().splitlines()),
        }
        for name, text in files.items():
            path = out / name
            path.write_text(text + "\n", encoding="utf-8")
            written.append(path)
    return written


def seed_card() -> Card:
    """The seed article's card."""
    text = (ROOT / "tests" / "data" / "seed_france24_putin_syria.txt").read_text()
    return parse_article(text, URL)


def main() -> None:
    """Write the example files."""
    card = seed_card()
    write_formats(card, ROOT / "docs" / "formats")
    matched = ("syria", "putin")
    subs = (SubscriptionRef("12", "syria", "U1"), SubscriptionRef("15", "putin", "U2"))

    console = Console(record=True, width=82, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print("[dim][bot → #world-news] new article (matched: syria, putin)[/dim]")
    console.print(render_card(card, matched))
    console.save_svg(str(ROOT / "docs" / "console-card.svg"), title="newsbot run")

    discord_post = Post(Destination("discord:1", "channel", "42"), "a1:c42", card, matched, subs)
    message = render_post(discord_post)
    embed = message.embed.to_dict() if message.embed is not None else {}
    (ROOT / "docs" / "discord-embed.json").write_text(json.dumps(embed, indent=2) + "\n")

    slack_post = Post(Destination("slack:T1", "channel", "C42"), "a1:C42", card, matched, subs)
    fallback, blocks = post_message(slack_post)
    (ROOT / "docs" / "slack-blocks.json").write_text(
        json.dumps({"text": fallback, "blocks": blocks}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
