"""One table of places serves both the card's topics and the subscription matcher."""

from __future__ import annotations

import pytest

from bot.language import PLACES, place_of
from bot.subscriptions import normalise, parse_topic


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.name)
def test_every_name_of_a_place_means_the_same_on_cards_and_in_matching(place: object) -> None:
    from bot.language import Place

    assert isinstance(place, Place)
    for alias in (place.name, *place.aliases):
        # the card folds it into the place's name ...
        assert place_of(alias) == place.name, alias
        # ... and the matcher into the place's token, in text and in a topic alike
        assert normalise(alias) == [place.token], alias
        assert parse_topic(f'"{alias}"').terms == ((place.token,),), alias


def test_capitalised_aliases_count_only_as_written() -> None:
    assert normalise("US troops") == normalise("American troops")
    assert normalise("tell us") == ["tell", "us"]
    assert normalise("The UK and Britain") == ["the", "uk", "and", "uk"]


def test_one_table_for_both_uses() -> None:
    """The two tables that drifted apart are gone: the card and the matcher agree."""
    assert place_of("South Koreans") == "south korea"
    assert normalise("South Koreans") == normalise("Korea") == ["southkorea"]
    assert place_of("scots") == "scotland" and normalise("Scots") == ["scotland"]
    assert place_of("europeans") == "europe" and normalise("Europeans") == ["europe"]
