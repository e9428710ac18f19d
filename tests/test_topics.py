"""Topic grammar, validation messages and the normaliser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import TopicError
from bot.subscriptions.topics import MAX_EXPRESSION_CHARS, normalise, normalised_text, parse_topic


@pytest.mark.parametrize(
    ("words", "same"),
    [
        ("withdraw withdrawal withdrawn withdrawing withdraws withdrawals", "withdraw"),
        ("Russia Russian Russians RUSSIA russia's Russia’s", "russia"),
        ("Syria Syrian Syrians", "syria"),
        ("France French", "france"),
        ("Britain British UK U.K. Briton", "uk"),
        ("Turkey Turkish", "turkey"),
        ("troop troops", "troop"),
    ],
)
def test_inflections_and_demonyms_meet(words: str, same: str) -> None:
    assert set(normalise(words)) == {same}


def test_case_and_accents_are_ignored() -> None:
    assert normalise("Erdoğan ERDOGAN erdogan Érdogan") == ["erdogan"] * 4


def test_multiword_countries_become_one_token() -> None:
    assert normalise("the United States and Saudi Arabia") == ["the", "usa", "and", "saudi"]
    assert normalise("US troops") == ["usa", "troop"]
    assert normalise("tell us") == ["tell", "us"]  # the pronoun is not the country


def test_normalised_text_is_padded_for_whole_token_search() -> None:
    assert normalised_text("Russian troops") == " russia troop "


def test_words_are_anded() -> None:
    expr = parse_topic("russia syria")
    assert expr.groups == ((("russia",),), (("syria",),))
    assert expr.excluded == ()


def test_phrase_or_and_exclusions() -> None:
    expr = parse_topic('"Vladimir Putin" assad OR erdogan | "bashar" -sports NOT football')
    assert expr.groups == (
        (("vladimir", "putin"),),
        (("assad",), ("bashar",), ("erdogan",)),
    )
    assert expr.excluded == (("football",), ("sport",))


def test_multiword_country_typed_bare_is_one_term() -> None:
    assert parse_topic("saudi arabia").groups == ((("saudi",),),)
    assert parse_topic("United States oil").groups == ((("usa",),), (("oil",),))


def test_canonical_is_equal_for_equivalent_expressions() -> None:
    assert parse_topic("Russians -Sports").canonical == parse_topic("russia NOT sport").canonical
    assert parse_topic("assad OR erdogan").canonical == parse_topic("erdogan|assad").canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "can't be empty"),
        ("   ", "can't be empty"),
        ("!!!", "can't be empty"),
        ("-sports", "not only exclusions"),
        ("NOT sports -football", "not only exclusions"),
        ("x" * (MAX_EXPRESSION_CHARS + 1), "limited to 100 characters"),
        ("a b c d e f g h i j k", "limited to 10 words"),
        ('"vladimir putin', "quote is not closed"),
        ('putin "', "quote is not closed"),
        ("OR putin", "OR needs"),
        ("putin OR", "OR needs"),
        ("putin NOT", "NOT needs"),
        ('""', "no words"),
        ("syria -syria", "both include and exclude"),
    ],
)
def test_validation_messages(text: str, message: str) -> None:
    with pytest.raises(TopicError) as info:
        parse_topic(text)
    assert message in info.value.user_message
    assert len(info.value.user_message) < 100


def test_ten_terms_is_allowed() -> None:
    assert len(parse_topic("a b c d e f g h i j").groups) == 10


@given(st.text(max_size=200))
def test_normalise_never_fails(text: str) -> None:
    tokens = normalise(text)
    assert all(token and " " not in token for token in tokens)


@given(st.text(max_size=120))
def test_parse_raises_only_topic_error(text: str) -> None:
    try:
        expr = parse_topic(text)
    except TopicError:
        return
    assert expr.groups
    # the canonical spelling parses back to the same meaning
    again = parse_topic(expr.canonical) if len(expr.canonical) <= 100 else expr
    assert set(again.terms) == set(expr.terms)
