"""Matching in the article's language: endings, compounds, aliases and names of places."""

from __future__ import annotations

import pytest

from bot.card import Card
from bot.subscriptions import MatchIndex, normalise, parse_topic, weak_topic
from bot.subscriptions.normaliser import split_compound


def matches(expression: str, headline: str, lang: str | None, body: str = "") -> bool:
    index = MatchIndex()
    index.add_raw("t/1", "u", "t\x00dm:u", expression)
    card = Card(headline=headline, body=body or "Text.", language=lang)
    return len(index.match(card)) == 1


@pytest.mark.parametrize(
    ("expression", "headline", "lang"),
    [
        # German endings
        ("grün", "Die Grünen gewinnen in Bayern", "de"),
        ("muslime", "Muslimen wird das Fasten erleichtert", "de"),
        ("us-militär", "Abzug des US-Militärs aus Syrien", "de"),
        # German compounds: the halves of a noun compound
        ("drogen", "Drogenszene am Bahnhof wächst", "de"),
        ("immobilien", "Immobilienriese meldet Insolvenz an", "de"),
        ("prognose", "Neue Wachstumsprognosen für 2025", "de"),
        # Norwegian and Danish endings
        ("regjering", "Regjeringen legger fram budsjettet", "nb"),
        ("valg", "Valget i Danmark: regeringen faldt", "da"),
        ("regering", "Regeringen faldt efter valget", "da"),
        # French and Spanish plurals
        ("journal", "Les journaux régionaux en crise", "fr"),
        ("hôpital", "Les hôpitaux débordés", "fr"),
        ("bateau", "Les bateaux restent au port", "fr"),
        ("france", "Los franceses votan", "es"),
        # The US/UK alias in any case in a topic
        ("us", "US troops leave Syria", "en"),
        ("u.s", "The U.S. has long been heralded", "en"),
        # (guards for the short-stem rule) a name and a noun still meet their forms
        ("ford", "Ford schließt das Werk in Saarlouis", "de"),
        ("wahl", "Wahlen in Thüringen: die Ergebnisse", "de"),
        # English folds plurals: "apples" is the word "apple" (the company's name is the
        # fruit's; salience, not the stemmer, has to tell them apart)
        ("apple", "Apples are cheaper this autumn", "en"),
    ],
)
def test_language_rules_meet(expression: str, headline: str, lang: str) -> None:
    assert matches(expression, headline, lang)


@pytest.mark.parametrize(
    ("expression", "headline", "lang"),
    [
        # the trap: "radio" is not inside the adjective "radioaktive" (a guard: today's
        # code never splits, so these two pass on it too)
        ("radio", "Wohin mit dem radioaktiven Müll aus der Schweiz?", "de"),
        ("radio", "Radioaktive Abfälle lagern im Bergwerk", "de"),
        ("radio", "Het radioactieve afval blijft in Borssele", "nl"),
        # Norwegian "some" (social media) is not "som" ("that")
        ("some", "Det er ikke noe som skjer", "nb"),
        # English: "news" is not "new", "politics" is not "political"
        ("news", "New phones are out", "en"),
        ("politics", "A political row", "en"),
        # the pronoun in running text is not the country, even when a topic says "us"
        ("tell us", "Tell us what you think", None),
        # a German verb cut to a short stem is not a name: "fordern" → ford
        ("ford", "Gewerkschaften fordern höhere Löhne", "de"),
        ("Ford", "Die Bauern fordern mehr Geld", "de"),
    ],
)
def test_language_rules_keep_apart(expression: str, headline: str, lang: str | None) -> None:
    assert not matches(expression, headline, lang)


def test_a_lowercase_tag_of_a_german_card_is_read_as_a_noun() -> None:
    # Tags have no reliable case: "stars" among a German card's topics is "Stars".
    index = MatchIndex()
    index.add_raw("t/1", "u", "t\x00dm:u", "stars")
    card = Card(headline="Ein Abend in Berlin", body="Text.", language="de", topics=("stars",))
    assert len(index.match(card)) == 1


def test_real_compounds_split_into_their_halves() -> None:
    assert split_compound("Drogenszene", "de") == ("drogen", "szene")
    assert split_compound("Immobilienriese", "de") == ("immobilien", "riese")
    assert normalise("Wachstumsprognosen", "de")[-2:] == ["wachstum", "prognos"]
    assert normalise("Die Drogenszene", "de")[-2:] == ["drog", "szen"]
    # an adjective inside a sentence is not split; neither is a country
    assert normalise("der radioaktive Müll", "de") == ["der", "radioaktiv", "mull"]
    assert normalise("in Russland", "de") == ["in", "russia"]


@pytest.mark.parametrize(
    ("expression", "headline", "lang"),
    [
        ("russia", "La Russie et l'Ukraine", "fr"),
        ("russia", "Russland droht mit Gegenmaßnahmen", "de"),
        ("russia", "Rusia y Ucrania negocian", "es"),
        ("russia", "Россия и Украина", "ru"),
        ("germany", "L'Allemagne vote", "fr"),
        ("germany", "Tyskland velger", "nb"),
        ("usa", "Les États-Unis votent", "fr"),
        ("usa", "Estados Unidos vota", "es"),
        ("moscow", "Moskau bestellt Botschafter ein", "de"),
        ("russie", "Russia and Ukraine talk", "en"),
        ("russia", "Le gouvernement russe", "fr"),
    ],
)
def test_names_of_places_meet_across_languages(expression: str, headline: str, lang: str) -> None:
    assert matches(expression, headline, lang)


def test_a_name_of_several_words_said_once_is_a_subject() -> None:
    body = "\n\n".join(["Filler paragraph about markets."] * 6 + [
        "Yahoo's chief executive, Marissa Mayer, spoke."] + ["More filler text."] * 6)
    card = Card(headline="Markets", body=body, language="en")
    index = MatchIndex()
    index.add_raw("t/1", "u", "t\x00dm:u", "marissa mayer")
    index.add_raw("t/2", "u", "t\x00dm:v", "markets -yahoo")
    assert {d.destination.key for d in index.match(card)} == {"dm:u"}


@pytest.mark.parametrize("topic", ["the", "new", "news", "2024", "breaking news", '"the new"'])
def test_topics_of_only_common_words_are_refused(topic: str) -> None:
    reply = weak_topic(parse_topic(topic))
    assert reply is not None and "nearly every article" in reply


@pytest.mark.parametrize("topic", ["climate", "climate news", "us", "trump", "health"])
def test_topics_with_a_subject_are_kept(topic: str) -> None:
    assert weak_topic(parse_topic(topic)) is None


def test_the_phrase_of_bare_words_follows_adds_and_removes() -> None:
    body = "\n\n".join(["Filler paragraph about markets."] * 6 + [
        "Yahoo's chief executive, Marissa Mayer, spoke."] + ["More filler text."] * 6)
    card = Card(headline="Markets", body=body, language="en")
    index = MatchIndex()
    index.build([])
    index.add_raw("t/1", "u", "t\x00dm:u", "marissa mayer")
    index.add_raw("t/2", "u", "t\x00dm:v", "Marissa  Mayer")  # the same expression
    assert {d.destination.key for d in index.match(card)} == {"dm:u", "dm:v"}
    hits = {h.term: h for h in next(iter(index.match(card))).subscriptions[0].terms}
    assert hits["marissa mayer"].where == ("body",) and hits["marissa mayer"].body_mentions == 1
    index.remove("t", "1")
    assert {d.destination.key for d in index.match(card)} == {"dm:v"}
    index.remove("t", "2")
    assert len(index.match(card)) == 0


def test_a_language_joins_an_index_that_already_has_topics() -> None:
    index = MatchIndex()
    index.add_raw("t/1", "u", "t\x00dm:u", "drogen")
    english = Card(headline="Drugs on the rise", body="Text.", language="en")
    assert len(index.match(english)) == 0
    german = Card(headline="Drogenszene am Bahnhof wächst", body="Text.", language="de")
    assert len(index.match(german)) == 1
    # a topic added after German articles arrived is filed for German at once
    index.add_raw("t/2", "u", "t\x00dm:v", "grün")
    greens = Card(headline="Die Grünen gewinnen", body="Text.", language="de")
    assert {d.destination.key for d in index.match(greens)} == {"dm:v"}
