"""One page per way extraction went wrong on real pages (issue 14), each of that shape.

The pages are in ``tests/pages/`` (written for the project; see its README). Each test
names the failure kind it guards against; the truths sit in the page's JSON file.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.article.parse import explain_article
from bot.card import Card

PAGES = Path(__file__).parent / "pages"


@functools.cache
def _load(name: str) -> tuple[Card, dict[str, Any], dict[str, Any]]:
    truth = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    card, why = explain_article((PAGES / f"{name}.html").read_bytes(), truth.get("url"))
    return card, why, truth


def card(name: str) -> Card:
    """The card of ``tests/pages/NAME.html``."""
    return _load(name)[0]


def truth(name: str) -> dict[str, Any]:
    """The truths of ``tests/pages/NAME.json``."""
    return _load(name)[2]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _authors(name: str) -> set[str]:
    return {a.casefold() for a in card(name).authors}


# --- headlines ----------------------------------------------------------------------------


def test_entities_are_decoded_in_headline_authors_and_body() -> None:
    c = card("headline_entities")
    assert c.headline == "Taylor Swift’s concert film breaks cinema records"
    assert c.authors == ("Jürgen Müller",)
    assert "£9 million" in c.body
    assert not re.search(r"&(#\d+|[a-z]+);", c.headline + c.body + c.summary)


def test_seo_title_loses_to_the_h1_and_og_title_that_agree() -> None:
    assert card("headline_seo_title").headline == truth("headline_seo_title")["headline"]


def test_subheadline_in_json_ld_is_not_the_headline() -> None:
    assert card("headline_subheadline").headline == "The case against “quiet quitting”"


def test_kicker_set_apart_in_the_h1_is_not_part_of_the_headline() -> None:
    assert card("headline_kicker_in_h1").headline == (
        "Die Partei will eine Obergrenze in die Verfassung schreiben")


def test_quoted_kicker_above_the_h1_is_not_part_of_the_headline() -> None:
    assert card("headline_quote_kicker").headline == (
        "Gemeinde startet Rückbau der alten Holzbrücke")


def test_extra_words_after_the_headline_go() -> None:
    assert card("headline_extra_words").headline == "Bahn streikt erneut"


def test_og_title_beats_a_lone_json_ld_variant() -> None:
    assert card("headline_og_title").headline == (
        "Ferry operator scraps winter sailings to the islands")


# --- dates ---------------------------------------------------------------------------------


def _day(name: str) -> str | None:
    published = card(name).published
    return published[:10] if published else None


def test_teasers_json_ld_dates_are_not_the_pages_own() -> None:
    assert _day("date_jsonld_teasers") == "2023-05-04"


def test_a_sidebar_time_from_another_year_is_not_the_date() -> None:
    assert _day("date_sidebar_time") == "2021-06-14"


def test_us_page_reads_numeric_dates_month_first() -> None:
    assert _day("date_us_month_first") == "2022-08-10"


def test_url_date_wins_over_a_sidebar_date_line() -> None:
    assert _day("date_url_vs_sidebar") == "2016-11-28"


def test_an_updated_line_below_the_headline_gives_the_date() -> None:
    assert _day("date_updated_line") == "2019-10-09"


def test_live_blog_is_dated_when_it_started_not_by_its_latest_update() -> None:
    assert _day("date_liveblog_latest") == "2023-01-14"


def test_utc_stamp_gives_way_to_the_local_day_the_page_shows() -> None:
    assert _day("date_utc_local_day") == "2020-06-29"


# --- bodies ---------------------------------------------------------------------------------


def _has_all(name: str) -> list[str]:
    body = _norm(card(name).body)
    return [p for p in truth(name)["must_contain"] if _norm(p) not in body]


def _leaks(name: str) -> list[str]:
    body = _norm(card(name).body)
    return [p for p in truth(name).get("must_not_contain", []) if p in body]


def test_inline_link_text_stays_in_its_sentence() -> None:
    assert not _has_all("body_inline_links")


def test_a_menu_is_not_taken_for_the_body() -> None:
    assert not _has_all("body_menu_instead_of_article")
    assert not _leaks("body_menu_instead_of_article")
    assert _load("body_menu_instead_of_article")[1]["body"]["fallback_reason"]


def test_a_body_cut_after_two_paragraphs_is_read_again() -> None:
    assert not _has_all("body_cut_after_two_paragraphs")


def test_related_bullets_and_a_teaser_link_do_not_push_the_lead_down() -> None:
    c = card("body_related_bullets_first")
    assert c.body.startswith(truth("body_related_bullets_first")["first_paragraph_starts"])
    assert not _leaks("body_related_bullets_first")


def test_a_dateline_stays_with_the_lead_it_opens() -> None:
    assert not _has_all("body_dateline")


def test_byline_comment_label_and_link_notes_leave_the_body_in_paragraphs() -> None:
    name = "body_byline_comments_link_notes"
    assert not _has_all(name)
    assert not _leaks(name)
    assert len(card(name).body.split("\n\n")) >= truth(name)["min_paragraphs"]
    assert card(name).authors == ("Lena Brandt",)


def test_footer_phone_numbers_are_not_article_text() -> None:
    assert not _has_all("body_footer_phone")
    assert not _leaks("body_footer_phone")


# --- authors --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["authors_agency", "authors_agency_jsonld"])
def test_an_agency_byline_is_the_author(name: str) -> None:
    assert _authors(name) == {a.casefold() for a in truth(name)["authors"]}


def test_a_byline_in_a_box_named_caption_is_still_found() -> None:
    assert _authors("authors_byline_in_caption_box") == {"rhiannon price"}


def test_two_authors_in_one_name_are_split() -> None:
    assert _authors("authors_two_in_one_name") == {"amira haddad", "oleksandra koval"}


def test_the_sites_name_is_never_the_author() -> None:
    assert _authors("authors_site_name") == {"klara winter"}


def test_initials_after_a_name_go() -> None:
    assert card("authors_initials_suffix").authors == ("Jonas Albrecht",)


def test_date_utc_page_agency_in_cyrillic() -> None:
    assert card("date_utc_local_day").authors == ("ТАСС",)


def test_a_standfirst_the_metadata_quotes_leads_the_body() -> None:
    name = "body_standfirst_in_header"
    assert card(name).body.startswith(truth(name)["first_paragraph_starts"])
    assert not _has_all(name)


def test_visible_text_of_a_page_keeps_its_paragraphs_apart() -> None:
    from bot.article.textpage import read_text_page

    lines = [
        "Die Stadtwerke erhöhen zum Jahreswechsel die Preise für Fernwärme um durchschnittlich "
        "38 Prozent, wie das Unternehmen am Mittwoch mitteilte; Einzelheiten nennt das neue "
        "Preisblatt für Haushaltskunden (öffnet im neuen Fenster)",
        "Betroffen sind rund 24.000 Haushalte im Stadtgebiet, die das Schreiben mit den neuen "
        "Preisen in den kommenden Tagen erhalten sollen, zusammen mit einem Merkblatt "
        "(Preisblatt als PDF)",
        "Der Mieterverein kritisierte die Erhöhung als unverhältnismäßig und kündigte an, die "
        "Preisformel der Stadtwerke rechtlich prüfen zu lassen, notfalls auch vor Gericht.",
    ]
    found = read_text_page("\n".join(lines), hard_wrapped=False)
    assert len(found.paragraphs) == 3
    assert "neuen Fenster" not in " ".join(found.paragraphs)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (["Von Anna Muster, dpa"], ["Anna Muster"]),  # beside a person, the agency is a source
        (["dpa/AFP"], ["dpa", "AFP"]),
        (["By JANE DOE | Updated March 3, 2021"], ["Jane Doe"]),
        (["Ben Silverman Games Editor"], ["Ben Silverman"]),
        (["Brenda Goodman, MA"], ["Brenda Goodman"]),
        (["محمد العلي"], ["محمد العلي"]),  # a script without capitals
        (["Martin Untersinger (avec Damien Leloup et Morgane Tual)"],
         ["Martin Untersinger", "Damien Leloup", "Morgane Tual"]),
        (["Richard (R.J.) Eskow"], ["Richard (R.J.) Eskow"]),
        (["Redaktion"], []),
    ],
)
def test_author_names_are_cleaned(raw: list[str], names: list[str]) -> None:
    from bot.article.authors import clean_names

    assert clean_names(raw, {"stadtbote"}, "Der Stadtbote") == names


def test_readers_comments_after_their_label_are_not_the_article() -> None:
    from bot.article.body import clean_blocks
    from bot.article.dates import find_dates

    article = [("p", "Der Gemeinderat hat am Mittwochabend mit knapper Mehrheit ein neues "
                     "Parkkonzept für die Innenstadt beschlossen, das höhere Gebühren und mehr "
                     "Anwohnerparkplätze vorsieht, wie die Stadt mitteilte.")] * 3
    comments = [("head", "Kommentare (2)"), ("p", "Vor 2 Stunden"),
                ("p", "Das ist doch eine Frechheit, schon wieder wird alles teurer und keiner "
                      "fragt die Bürger, die jeden Tag in die Stadt fahren müssen.")]
    body = clean_blocks(article + comments, "Neues Parkkonzept", find_dates)
    assert len(body.paragraphs) == 3
    assert "Frechheit" not in " ".join(body.paragraphs)
