"""URL hygiene: tracking parameters, AMP and mobile variants, registered domains."""

from __future__ import annotations

import pytest

from bot.urls import canonical_key, clean_url, registered_domain


def test_clean_url_drops_tracking_and_fragment() -> None:
    url = "HTTPS://www.Example.com:443/a/b?id=7&utm_source=x&fbclid=y&gclid=z#top"
    assert clean_url(url) == "https://www.example.com/a/b?id=7"


def test_clean_url_resolves_relative_and_refuses_other_schemes() -> None:
    assert clean_url("/x?utm_medium=a", base="https://site.org/y") == "https://site.org/x"
    assert clean_url("javascript:alert(1)") is None
    assert clean_url("mailto:a@b.c") is None
    assert clean_url("") is None


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.site.org/news/story-1",
        "http://site.org/news/story-1/",
        "https://m.site.org/news/story-1?utm_campaign=rss",
        "https://amp.site.org/news/story-1",
        "https://www.site.org/news/story-1/amp",
        "https://www.site.org/news/story-1/amp/",
        "https://www.site.org/news/story-1?amp=1",
        "https://www.site.org/news/story-1#comments",
    ],
)
def test_variants_of_one_article_share_a_key(variant: str) -> None:
    assert canonical_key(variant) == canonical_key("https://site.org/news/story-1")


def test_different_articles_keep_different_keys() -> None:
    assert canonical_key("https://site.org/a?id=1") != canonical_key("https://site.org/a?id=2")
    assert canonical_key("https://site.org/a") != canonical_key("https://other.org/a")


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.france24.com/en/x", "france24.com"),
        ("https://news.bbc.co.uk/x", "bbc.co.uk"),
        ("https://www.abc.net.au/news", "abc.net.au"),
        ("example.org", "example.org"),
    ],
)
def test_registered_domain(url: str, domain: str) -> None:
    assert registered_domain(url) == domain
