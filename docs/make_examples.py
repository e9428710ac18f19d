"""Regenerate the README's examples from the seed article: python docs/make_examples.py

docs/console-card.svg (the console's card, recorded by rich), docs/discord-embed.json (the
embed the Discord adapter posts) and docs/slack-blocks.json (the Slack adapter's blocks),
for a post that matched the subscriptions "syria" and "putin".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from adapters.console.card import render_card  # noqa: E402
from adapters.discord.render import render_post  # noqa: E402
from adapters.slack.blocks import post_message  # noqa: E402
from bot import parse_article  # noqa: E402
from bot.chat import Destination  # noqa: E402
from bot.chat.contract import Post, SubscriptionRef  # noqa: E402

URL = "https://www.france24.com/en/20171211-putin-orders-partial-withdrawal-russian-troops-syria"


def main() -> None:
    """Write the three example files."""
    text = (ROOT / "tests" / "data" / "seed_france24_putin_syria.txt").read_text()
    card = parse_article(text, URL)
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
