"""The page-shape corpus: every ``tests/pages/NAME.{html,txt}`` against the truths in NAME.json.

Each JSON file holds only what a careful human reader of the page is sure of; a field that
is absent is not checked. See ``tests/pages/README.md`` for what each page represents.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from bot.article.parse import parse_article
from bot.card import Card
from bot.errors import NotAnArticleError, ParseError

PAGES = Path(__file__).parent / "pages"

CARD_KEYS = {
    "url",
    "canonical_url",
    "headline",
    "published",
    "updated",
    "site",
    "section",
    "authors",
    "language",
    "summary",
    "key_figures",
    "topics",
    "image",
    "body",
    "paywalled",
}

# ISO date, or a full timestamp with an offset (Z counts as one).
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$")


def _load() -> dict[str, tuple[Path, dict[str, Any]]]:
    pages: dict[str, tuple[Path, dict[str, Any]]] = {}
    for truth in sorted(PAGES.glob("*.json")):
        candidates = [p for p in PAGES.glob(truth.stem + ".*") if p.suffix in (".html", ".txt")]
        assert len(candidates) == 1, f"{truth.name}: expected one page file, got {candidates}"
        pages[truth.stem] = (candidates[0], json.loads(truth.read_text(encoding="utf-8")))
    return pages


CORPUS = _load()


def _with(field: str) -> list[str]:
    """Names of the pages whose truth file states ``field``."""
    return [name for name, (_, truth) in CORPUS.items() if field in truth]


def _articles() -> list[str]:
    """Pages that are expected to parse (no ``error`` truth)."""
    return [name for name, (_, truth) in CORPUS.items() if "error" not in truth]


@functools.cache
def card_for(name: str) -> Card:
    """Parse a page once per session: bytes exactly as stored, with the URL the truth gives."""
    path, truth = CORPUS[name]
    return parse_article(path.read_bytes(), truth.get("url"))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _stem(word: str) -> str:
    word = word.lower().strip()
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def topic_matches(expected: str, topics: tuple[str, ...] | list[str]) -> bool:
    """``expected`` is a topic, or a word of a multi-word topic (plural 's' ignored)."""
    want = _stem(expected)
    for topic in topics:
        if _stem(topic) == want or want in {_stem(w) for w in topic.split()}:
            return True
    return False


def phrase_in_topics(phrase: str, topics: tuple[str, ...] | list[str]) -> bool:
    """Whole-word, case-insensitive occurrence of a clutter phrase in any topic."""
    pattern = re.compile(rf"(?<!\w){re.escape(phrase.lower())}(?!\w)")
    return any(pattern.search(t.lower()) for t in topics)


_NUMBER = re.compile(
    r"(\d[\d,]*(?:\.\d+)?)(?:\s*(thousand|million|billion|trillion|mn|bn|tn|k|m|b)(?![a-z]))?",
    re.IGNORECASE,
)
_SCALE = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
}


def numbers_in(text: str) -> set[float]:
    """Every number in ``text``, bare and scaled: '£3.2bn' gives 3.2 and 3.2e9."""
    found: set[float] = set()
    for match in _NUMBER.finditer(text):
        digits, scale = match.group(1).rstrip(",").replace(",", ""), match.group(2)
        try:
            value = float(digits)
        except ValueError:
            continue
        found.add(value)
        if scale:
            found.add(value * _SCALE[scale.lower()])
    return found


def figure_found(card: Card, value: str, label_any: list[str] | None = None) -> bool:
    """A key figure has the same number as ``value`` (and, if given, a label naming one word)."""
    wanted = numbers_in(value)
    assert wanted, f"truth {value!r} holds no number"
    for figure in card.key_figures:
        got = numbers_in(figure.value)
        if not any(math.isclose(a, b, rel_tol=1e-9) for a in wanted for b in got):
            continue
        if label_any is None or any(w.lower() in figure.label.lower() for w in label_any):
            return True
    return False


def summary_sentences(summary: str) -> list[str]:
    """Split a summary into sentences; over-splitting is harmless (pieces are substrings too)."""
    parts = re.split(r"(?<=[.!?…])\s+|(?<=[.!?…][\"'”’»)])\s+", summary.strip())
    out = []
    for part in parts:
        part = part.strip()
        # A summary cut at the length cap may end with an ellipsis the body does not have.
        part = part.removesuffix("...").removesuffix("…").strip()
        if part:
            out.append(part)
    return out


def _fmt(figures: tuple[Any, ...]) -> list[tuple[str, str]]:
    return [(f.value, f.label) for f in figures]


# --- every article page ------------------------------------------------------------------


@pytest.mark.parametrize("name", _articles())
def test_card_has_documented_shape(name: str) -> None:
    card = card_for(name)
    data = card.to_dict()
    assert set(data) == CARD_KEYS
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    assert isinstance(data["headline"], str)
    assert isinstance(data["body"], str)
    assert isinstance(data["paywalled"], bool)
    assert all(isinstance(a, str) and a.strip() for a in data["authors"])
    assert all(t == t.lower() for t in data["topics"]), data["topics"]
    for key in ("published", "updated"):
        if data[key] is not None:
            assert ISO_DATE.match(data[key]), f"{key}={data[key]!r} is not ISO 8601"
    if data["language"] is not None:
        assert re.fullmatch(r"[a-z]{2}", data["language"]), data["language"]


@pytest.mark.parametrize("name", _with("error"))
def test_error_page_raises(name: str) -> None:
    path, truth = CORPUS[name]
    expected = {"ParseError": ParseError, "NotAnArticleError": NotAnArticleError}[truth["error"]]
    with pytest.raises(expected):
        parse_article(path.read_bytes(), truth.get("url"))


# --- field by field ------------------------------------------------------------------------


@pytest.mark.parametrize("name", _with("headline"))
def test_headline(name: str) -> None:
    assert card_for(name).headline == CORPUS[name][1]["headline"]


@pytest.mark.parametrize("name", _with("published"))
def test_published(name: str) -> None:
    expected = CORPUS[name][1]["published"]
    published = card_for(name).published
    if expected is None:
        # Unknown stays unknown: never a guess such as today's date.
        assert published is None
    else:
        assert published is not None, "no date found"
        assert published[:10] == expected


@pytest.mark.parametrize("name", _with("site"))
def test_site(name: str) -> None:
    assert card_for(name).site == CORPUS[name][1]["site"]


@pytest.mark.parametrize("name", _with("section"))
def test_section(name: str) -> None:
    section = card_for(name).section
    assert section is not None
    assert section.casefold() == CORPUS[name][1]["section"].casefold()


@pytest.mark.parametrize("name", _with("authors"))
def test_authors(name: str) -> None:
    got = {a.casefold().strip() for a in card_for(name).authors}
    assert got == {a.casefold() for a in CORPUS[name][1]["authors"]}


@pytest.mark.parametrize("name", _with("language"))
def test_language(name: str) -> None:
    assert card_for(name).language == CORPUS[name][1]["language"]


@pytest.mark.parametrize("name", _with("paywalled"))
def test_paywalled(name: str) -> None:
    assert card_for(name).paywalled is CORPUS[name][1]["paywalled"]


@pytest.mark.parametrize("name", _with("canonical_url"))
def test_canonical_url(name: str) -> None:
    assert card_for(name).canonical_url == CORPUS[name][1]["canonical_url"]


@pytest.mark.parametrize("name", _with("must_contain"))
def test_body_contains_article_text(name: str) -> None:
    body = _norm(card_for(name).body)
    missing = [p for p in CORPUS[name][1]["must_contain"] if _norm(p) not in body]
    assert not missing, f"article text missing from body: {missing}"


@pytest.mark.parametrize("name", _with("must_not_contain"))
def test_clutter_kept_out(name: str) -> None:
    card = card_for(name)
    body, summary = _norm(card.body), _norm(card.summary)
    leaks = []
    for phrase in CORPUS[name][1]["must_not_contain"]:
        if phrase in body:
            leaks.append(("body", phrase))
        if phrase in summary:
            leaks.append(("summary", phrase))
        if phrase_in_topics(phrase, card.topics):
            leaks.append(("topics", phrase))
    assert not leaks, f"page clutter leaked into the card: {leaks}"


@pytest.mark.parametrize("name", _with("must_contain"))
def test_summary_is_extractive(name: str) -> None:
    card = card_for(name)
    assert card.summary.strip(), "empty summary"
    assert len(card.summary) <= 500
    body = _norm(card.body)
    for sentence in summary_sentences(card.summary):
        assert _norm(sentence) in body, f"summary sentence not in body: {sentence!r}"


@pytest.mark.parametrize("name", _with("figures"))
def test_key_figures(name: str) -> None:
    card = card_for(name)
    for figure in CORPUS[name][1]["figures"]:
        if isinstance(figure, str):
            value, label_any = figure, None
        else:
            value, label_any = figure["value"], figure.get("label_any")
        assert figure_found(card, value, label_any), (
            f"no key figure {value!r} (label naming {label_any}) in {_fmt(card.key_figures)}"
        )


@pytest.mark.parametrize("name", _with("topics"))
def test_topics(name: str) -> None:
    topics = card_for(name).topics
    missing = [t for t in CORPUS[name][1]["topics"] if not topic_matches(t, topics)]
    assert not missing, f"topics {missing} not among {list(topics)}"


def test_corpus_is_complete() -> None:
    """The corpus keeps at least the shapes README.md lists (14 HTML shapes plus text)."""
    htmls = [p for p, _ in CORPUS.values() if p.suffix == ".html"]
    texts = [p for p, _ in CORPUS.values() if p.suffix == ".txt"]
    assert len(htmls) >= 14
    assert texts
    readme = (PAGES / "README.md").read_text(encoding="utf-8")
    for path, _ in CORPUS.values():
        assert path.name in readme, f"{path.name} not described in tests/pages/README.md"


def test_todays_date_in_the_site_header_is_not_taken_as_the_publication_date() -> None:
    """A page without any date of its own, whose header shows today's date (as news sites'
    headers do when fetched live), has an unknown publication date, not today."""
    from datetime import UTC, datetime

    today = datetime.now(UTC)
    header = f"{today:%A}, {today:%B} {today.day}, {today.year}"
    paragraphs = "".join(
        f"<p>The harbour board met again to discuss the dredging plan for the {n} berth, "
        "and members said they expected a decision on funding before the spring.</p>"
        for n in ("north", "south", "east", "west", "inner")
    )
    page = (f"<html><head><title>Harbour board weighs dredging plan | Bay News</title></head>"
            f"<body><header><p>{header}</p><nav><a href='/'>Home</a></nav></header>"
            f"<h1>Harbour board weighs dredging plan</h1>{paragraphs}</body></html>")
    card = parse_article(page, "https://baynews.example/harbour-board-dredging")
    assert card.published is None
