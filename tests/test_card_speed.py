"""What the card's speed work must keep: no state carried from one page to the next, and
the month-name trie matching exactly what the month-name list matches."""

from __future__ import annotations

import re
from pathlib import Path

from bot.article.dates import _MONTHS, MONTH_PATTERN, MONTH_TEST_PATTERN
from bot.article.parse import parse_article
from bot.card import Card
from bot.errors import ParseError

PAGES = Path(__file__).parent / "pages"


def _cards(paths: list[Path]) -> dict[str, Card | str]:
    out: dict[str, Card | str] = {}
    for path in paths:
        try:
            out[path.name] = parse_article(path.read_bytes(), "https://example.org/news/story")
        except ParseError as exc:
            out[path.name] = type(exc).__name__
    return out


def test_a_card_does_not_depend_on_the_pages_read_before_it() -> None:
    # The per-page memos (class names, name phrases, plain words, date lines) must start
    # empty for every page: the same pages read in the opposite order give the same cards.
    paths = sorted(PAGES.glob("*.html"))
    assert len(paths) > 20
    forward = _cards(paths)
    backward = _cards(paths[::-1])
    assert forward == backward


def test_the_same_page_twice_gives_the_same_card() -> None:
    page = (PAGES / "jsonld_full_en.html").read_bytes()
    first = parse_article(page, "https://example.org/a")
    parse_article((PAGES / "opengraph_only_en.html").read_bytes(), "https://example.org/b")
    assert parse_article(page, "https://example.org/a") == first


def _month_tests() -> list[str]:
    words = ["mayor", "marching", "junior", "decimal", "augur", "sep", "Sept.", "Sept..",
             "maio", "mai.", "ma", "m", "", "de", "dec ember", "2023", "Tuesday", "jan-feb"]
    for name in _MONTHS:
        words += [name, name.upper(), name.title(), f"{name}.", name[:-1], f"{name}s",
                  f"x{name}", f"{name} {name}", name[:3]]
    return words


def test_the_month_trie_matches_what_the_month_list_matches() -> None:
    listed = re.compile(rf"(?:{MONTH_PATTERN})\.?", re.I)
    trie = re.compile(rf"(?:{MONTH_TEST_PATTERN})\.?", re.I)
    for word in _month_tests():
        assert bool(listed.fullmatch(word)) == bool(trie.fullmatch(word)), word
    near = r"(?:\b{0}\.?,?\s*(?:de\s+|del\s+)?$)|(?:^\.?\s*(?:de\s+|di\s+)?{0}\b)"
    listed_near = re.compile(near.format(f"(?:{MONTH_PATTERN})"), re.I)
    trie_near = re.compile(near.format(f"(?:{MONTH_TEST_PATTERN})"), re.I)
    for text in ["on 5 March", "le 8 mars", "5. November", "Oct. 7", "de marzo de",
                 "the marching band", "Mayor said", "in 2023", "bis 12. Dezember,", "abc"]:
        assert bool(listed_near.search(text)) == bool(trie_near.search(text)), text
