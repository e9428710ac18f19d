"""Headline choice: site names and labels go, the story's own words stay."""

from __future__ import annotations

import pytest

from bot import parse_article
from bot.article.parse import strip_site

SITE = {"bizwest", "bbc", "bbcnews", "theverge", "france24"}


@pytest.mark.parametrize(
    ("title", "headline"),
    [
        ("Putin orders partial withdrawal of Russian troops in Syria - France 24",
         "Putin orders partial withdrawal of Russian troops in Syria"),
        # A one-word headline beside a longer site name: the site name goes, not the story.
        ("Loft – BizWest", "Loft"),
        # A headline that mentions the site keeps it; the section label and site go.
        ("BBC faces criticism | Health | BBC", "BBC faces criticism"),
        ("The Verge | Apple unveils a new iPhone with a titanium frame",
         "Apple unveils a new iPhone with a titanium frame"),
        ("海外留学生看两会：出国前后关注点大不同_教育频道_中国青年网",
         "海外留学生看两会：出国前后关注点大不同"),
        ("No separator here at all", "No separator here at all"),
    ],
)
def test_strip_site(title: str, headline: str) -> None:
    assert strip_site(title, SITE, []) == headline


def test_a_short_headline_is_not_replaced_by_the_site_name() -> None:
    body = "".join(
        f"<p>The loft conversion on {street} Street drew a crowd of neighbours on Saturday, "
        "and the builders said the work would take another three weeks to finish.</p>"
        for street in ("Pearl", "Walnut", "Spruce", "Canyon")
    )
    page = ("<html><head><title>Loft – BizWest</title>"
            "<meta property='og:site_name' content='BizWest'>"
            "<meta property='og:title' content='Loft – BizWest'></head>"
            f"<body><h1>Loft</h1>{body}</body></html>")
    assert parse_article(page, "https://bizwest.com/2020/01/02/loft/").headline == "Loft"


def _short_story(title: str, site: str) -> str:
    body = "".join(
        f"<p>The council met on {day} to discuss the plan, and members said the vote on the "
        "new budget would come after a public consultation next month.</p>"
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday")
    )
    return (f"<html><head><title>{title} | {site}</title>"
            f"<meta property='og:site_name' content='{site}'></head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>")


@pytest.mark.parametrize(
    ("title", "site", "url"),
    [
        # A short headline that names the site is a story about it, not its name: it was
        # dropped, and with no headline left the whole page was refused.
        ("BBC cuts jobs", "BBC", "https://www.bbc.co.uk/news/articles/c123"),
        # A page served from an IP address: its numbers are not a site name.
        ("Syria one 127", "Example News", "http://127.0.0.1/one/127"),
    ],
)
def test_a_short_headline_naming_the_site_or_its_address_is_kept(
        title: str, site: str, url: str) -> None:
    assert parse_article(_short_story(title, site), url).headline == title


def test_the_site_name_with_one_word_more_is_still_the_site() -> None:
    page = _short_story("BBC News", "BBC")
    with pytest.raises(Exception, match="couldn't find an article"):
        parse_article(page, "https://www.bbc.co.uk/news")
