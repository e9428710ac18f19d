"""Semantic expansion: ``~climate`` also follows close terms, written into the topic."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.card import Card
from bot.chat.commands import CommandContext, handle
from bot.chat.contract import Request
from bot.errors import TopicError
from bot.subscriptions import MatchIndex, SubscriptionStore, parse_topic
from bot.subscriptions.semantic import MAX_EXPANSIONS, close_terms


def found(expression: str, card: Card) -> tuple[str, ...] | None:
    """The terms a subscription to ``expression`` got ``card`` by, or None."""
    index = MatchIndex()
    index.add_raw("t/1", "u", "t\x00dm:u", expression)
    result = index.match(card)
    return result[0].terms if len(result) else None


def test_the_table_gives_close_terms_not_forms_of_the_word() -> None:
    close = close_terms("climate")
    assert close and len(close) <= MAX_EXPANSIONS
    assert "climates" not in close  # a form the matcher folds already
    assert "russia" not in close_terms("ukraine")  # a neighbouring country is no synonym
    assert not {"country", "president"} & set(close_terms("trump") + close_terms("nation"))
    assert close_terms("the") == ()  # not in the table: no subject


def test_a_tilde_term_is_expanded_once_into_the_expression() -> None:
    parsed = parse_topic("~climate")
    close = close_terms("climate")
    assert parsed.text.startswith("~climate(") and all(t in parsed.text for t in close)
    assert {" ".join(p) for p, _ in parsed.expanded} == {
        " ".join(parse_topic(t).terms[0]) for t in close
    }
    again = parse_topic(parsed.text)  # as stored: the list is kept, not looked up again
    assert again.text == parsed.text and again.canonical == parsed.canonical
    assert parse_topic("climate").canonical != parsed.canonical


def test_a_written_list_is_kept_as_written() -> None:
    parsed = parse_topic('~climate(warming, "carbon emissions") -sport')
    assert parsed.text == '~climate(warming, "carbon emissions") -sport'
    assert {parsed.shown(p) for p in parsed.terms} == {
        "climate", "warming (~climate)", "carbon emissions (~climate)",
    }
    # the list does not count against the length or term limits
    long = "~" + "a" * 90 + "(" + ", ".join(f"word{i}" for i in range(8)) + ")"
    assert parse_topic(long).text == long
    with pytest.raises(TopicError):  # but a list is not endless
        parse_topic("~climate(" + ", ".join(f"w{i}" for i in range(9)) + ")")


@pytest.mark.parametrize("bad", ["-~climate", "NOT ~climate", "~climate(warming"])
def test_a_bad_tilde_is_a_topic_error(bad: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(bad)


def test_a_close_term_in_the_headline_matches_and_says_why() -> None:
    card = Card(headline="Warming oceans bleach the reef", body="Scientists measured it.")
    assert found("~climate(warming)", card) == ("warming (~climate)",)
    assert found("climate", card) is None


def test_a_close_term_is_a_weaker_synonym() -> None:
    once = Card(headline="A hot summer", body="Warming was felt.\n\nMore text here.")
    assert found("climate OR warming", once) == ("warm",)
    assert found("~climate(warming)", once) is None  # said once in the lead: not enough
    twice = Card(headline="A hot summer", body="Warming was felt.\n\nWarming again.")
    assert found("~climate(warming)", twice) == ("warming (~climate)",)
    # in the body alone it needs one mention more than the word typed would
    body = "Intro.\n\nMore.\n\n" + "\n\n".join(["It was about warming."] * 2)
    assert found("warming", Card(headline="A summer", body=body)) == ("warm",)
    assert found("~climate(warming)", Card(headline="A summer", body=body)) is None


async def test_subscribe_stores_and_lists_the_close_terms(redis: aioredis.Redis) -> None:
    ctx = CommandContext(SubscriptionStore(redis), clock=lambda: 1_800_000_000.0)
    reply = await handle(ctx, Request("slack:T9", "U1", None, False, text="subscribe ~climate"))
    assert reply.ok
    listed = await handle(ctx, Request("slack:T9", "U1", None, False, text="list"))
    for term in close_terms("climate"):
        assert term in reply.text and term in listed.text
    assert "~climate(" in listed.text


def test_newsbot_match_names_the_close_term_and_its_source() -> None:
    card = Card(headline="Warming oceans bleach the reef", body="Scientists measured it.")
    explained = MatchIndex().explain(card, "~climate(warming)")
    assert explained.matched and [h.term for h in explained.terms] == ["warming (~climate)"]
