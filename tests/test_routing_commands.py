"""Subscribe-time quality, and ``newsbot match`` reading expressions after the page."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.chat.commands import CommandContext, handle
from bot.chat.contract import Request
from bot.cli import match
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore

SEED = Path(__file__).parent / "data" / "seed_france24_putin_syria.txt"


@pytest.mark.parametrize("topic", ["the", "news", "2024", '"breaking news"'])
async def test_a_topic_of_only_common_words_gets_a_better_suggestion(
    redis: aioredis.Redis, topic: str
) -> None:
    ctx = CommandContext(SubscriptionStore(redis), clock=lambda: 1_800_000_000.0)
    reply = await handle(ctx, Request("slack:T9", "U1", None, False, text=f"subscribe {topic}"))
    assert not reply.ok
    assert "nearly every article" in reply.text and "climate" in reply.text
    fine = await handle(ctx, Request("slack:T9", "U1", None, False, text="subscribe climate"))
    assert fine.ok


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    match.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["match", *argv])
    return int(args.func(args, Settings(redis_url=None)))


def test_expressions_after_the_page_are_never_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([str(SEED), "syria", "russia -sports", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["expression"] for r in rows] == ["syria", "russia -sports"]
    assert rows[1]["matched"] is True and rows[1]["detail"][0]["where"][0] == "headline"


def test_an_invalid_expression_exits_non_zero_with_its_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run([str(SEED), "syria", "-sports"]) == 2
    captured = capsys.readouterr()
    assert "MATCH" in captured.out.splitlines()[0]
    assert "-sports" in captured.err and "only exclusions" in captured.err
