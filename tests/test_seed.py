"""The France 24 seed page, as its plain text and as two HTML pages rebuilt from that text.

``tests/data/seed_france24_putin_syria.txt`` is the text of a real page: "Don't miss" links,
the section, the headline, a photo credit, the date line, the article with three subheads,
"Date created" and a "Read more" list of related stories. The HTML versions put those same
lines in their usual markup: one with full metadata, one with no meta tags at all. All three
must give the same card, and none may pick up the surrounding links.
"""

from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.article.parse import parse_article
from bot.card import Card

SEED = Path(__file__).parent / "data" / "seed_france24_putin_syria.txt"

HEADLINE = "Putin orders partial withdrawal of Russian troops in Syria"
SECTION = "Middle East"
CLEAN_URL = (
    "https://www.france24.com/en/20171211-putin-orders-partial-withdrawal-russian-troops-syria"
)
SHARED_URL = CLEAN_URL + "?utm_source=twitter&utm_medium=social&fbclid=IwAR0x"
SUBHEADS = {"Homeward bound", "Electoral Boost?", "Missile defence"}

FORBIDDEN = [
    "Venezuela",
    "Saudi Arabia",
    "midterms",
    "Cameroon",
    "Khaled Desouki",
    "Read more",
    "six-year term",
    "Sochi",
    "election meddling",
]

ARTICLE_PHRASES = [
    "President Vladimir Putin flew into Syria and ordered",
    "surprise visit to Russia's Hmeymim air base in Syria",
    "The Motherland awaits you.",
    "less than 50 Russian service personnel have been killed",
    "it had begun withdrawing 25 aircraft",
    "this announcement may have more to do with Russian politics than the Syrian situation",
]


@dataclass(frozen=True)
class SeedPage:
    """The seed text cut into the parts a reader sees."""

    nav: list[tuple[str | None, str]]  # (group label or None, story title)
    section: str
    headline: str
    credit: str
    update_line: str
    body: list[str]
    created_line: str
    related: list[str]


def _split_seed(text: str) -> SeedPage:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    h = lines.index(HEADLINE)
    section, credit = lines[h - 1], lines[h + 1]
    update = next(i for i, line in enumerate(lines) if line.startswith("Latest update"))
    created = next(i for i, line in enumerate(lines) if line.startswith("Date created"))

    nav: list[tuple[str | None, str]] = []
    group: str | None = None
    head = lines[: h - 1]
    for i, line in enumerate(head):
        if line == "Read more" or line == "Don't miss":
            continue
        if i + 1 < len(head) and head[i + 1] == "Read more":
            nav.append((group, line))
        else:
            group = line  # a label such as "#THE 51%"
    related = [line for line in lines[created + 1 :] if line != "Read more"]
    return SeedPage(
        nav=nav,
        section=section,
        headline=lines[h],
        credit=credit,
        update_line=lines[update],
        body=lines[update + 1 : created],
        created_line=lines[created],
        related=related,
    )


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def _is_subhead(line: str) -> bool:
    return len(line.split()) <= 4 and not line.endswith((".", '"', "”", ":"))


def build_html(page: SeedPage, *, metadata: bool) -> str:
    """The page as a news site would serve it; ``metadata`` adds the head's meta tags."""
    e = html.escape
    head = ""
    if metadata:
        head = f"""<head>
<meta charset="utf-8">
<title>{e(page.headline)} - France 24</title>
<meta property="og:type" content="article">
<meta property="og:title" content="{e(page.headline)} - France 24">
<meta property="og:site_name" content="France 24">
<meta property="og:url" content="{e(CLEAN_URL)}?utm_source=x">
<meta property="article:published_time" content="2017-12-11T14:32:00+00:00">
<meta property="article:section" content="Middle East">
<link rel="canonical" href="{e(CLEAN_URL)}?utm_source=x">
</head>
"""
    nav_items = []
    current: str | None = None
    for group, title in page.nav:
        if group != current and group is not None:
            nav_items.append(f'<li class="label">{e(group)}</li>')
            current = group
        nav_items.append(
            f'<li><a href="/en/{_slug(title)}">{e(title)}</a>'
            f' <a class="more" href="/en/{_slug(title)}">Read more</a></li>'
        )
    paragraphs = []
    for line in page.body:
        tag = "h2" if _is_subhead(line) else "p"
        paragraphs.append(f"<{tag}>{e(line)}</{tag}>")
    related = "\n".join(
        f'<li><a href="/en/{_slug(t)}">{e(t)}</a> <a href="/en/{_slug(t)}">Read more</a></li>'
        for t in page.related
    )
    return f"""<!DOCTYPE html>
<html lang="en">
{head}<body>
<header>
<nav class="main-menu"><ul><li><a href="/en/">Home</a></li><li><a href="/en/france/">France</a></li>
<li><a href="/en/africa/">Africa</a></li><li><a href="/en/middle-east/">Middle East</a></li>
<li><a href="/en/americas/">Americas</a></li><li><a href="/en/europe/">Europe</a></li></ul></nav>
<section class="dont-miss"><h2>Don't miss</h2><ul>
{chr(10).join(nav_items)}
</ul></section>
</header>
<main>
<article>
<p class="section"><a href="/en/middle-east/">{e(page.section)}</a></p>
<h1>{e(page.headline)}</h1>
<figure><img src="/media/putin-cairo.jpg" alt=""><figcaption>{e(page.credit)}</figcaption></figure>
<p class="date">{e(page.update_line)}</p>
<div class="article-body">
{chr(10).join(paragraphs)}
</div>
<p class="created">{e(page.created_line)}</p>
</article>
<aside class="related"><h3>Read more</h3><ul>
{related}
</ul></aside>
</main>
<footer><p>France Médias Monde</p></footer>
</body>
</html>
"""


@functools.cache
def seed_page() -> SeedPage:
    return _split_seed(SEED.read_text(encoding="utf-8"))


@functools.cache
def card_for(version: str) -> Card:
    """Parse one version once: the text (bytes), bare HTML (str), metadata HTML (bytes)."""
    if version == "text":
        return parse_article(SEED.read_bytes(), None)
    if version == "html_bare":
        return parse_article(build_html(seed_page(), metadata=False), None)
    if version == "html_meta":
        return parse_article(build_html(seed_page(), metadata=True).encode("utf-8"), SHARED_URL)
    raise AssertionError(version)


VERSIONS = ["text", "html_bare", "html_meta"]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _topic_has(word: str, topics: tuple[str, ...]) -> bool:
    return any(t == word or word in t.split() for t in topics)


# --- the fixture itself ----------------------------------------------------------------------


def test_seed_split_is_faithful() -> None:
    page = seed_page()
    assert page.section == SECTION
    assert page.credit.startswith("© Khaled Desouki")
    assert page.update_line == "Latest update : 2017-12-11"
    assert {line for line in page.body if _is_subhead(line)} == SUBHEADS
    assert len(page.nav) == 9 and len(page.related) == 3
    bare = build_html(page, metadata=False)
    assert "<meta" not in bare and "<title" not in bare
    assert "<figcaption>© Khaled Desouki" in bare


# --- each version ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_headline(version: str) -> None:
    assert card_for(version).headline == HEADLINE


@pytest.mark.parametrize("version", VERSIONS)
def test_published(version: str) -> None:
    published = card_for(version).published
    assert published is not None
    assert published.startswith("2017-12-11")


@pytest.mark.parametrize("version", VERSIONS)
def test_section(version: str) -> None:
    assert card_for(version).section == SECTION


@pytest.mark.parametrize("version", VERSIONS)
def test_body_has_the_article(version: str) -> None:
    body = _norm(card_for(version).body)
    missing = [p for p in ARTICLE_PHRASES if p not in body]
    assert not missing


@pytest.mark.parametrize("version", VERSIONS)
def test_key_figures(version: str) -> None:
    figures = card_for(version).key_figures
    seen = [(f.value, f.label) for f in figures]
    assert any(
        re.fullmatch(r"\D*25\D*", f.value) and "aircraft" in f.label.lower() for f in figures
    ), seen
    assert any(
        re.fullmatch(r"\D*50\D*", f.value)
        and ("personnel" in f.label.lower() or "killed" in f.label.lower())
        for f in figures
    ), seen


@pytest.mark.parametrize("version", VERSIONS)
def test_topics(version: str) -> None:
    topics = card_for(version).topics
    for word in ("putin", "syria", "russia"):
        assert _topic_has(word, topics), f"{word!r} not in {list(topics)}"


@pytest.mark.parametrize("version", VERSIONS)
def test_no_clutter(version: str) -> None:
    card = card_for(version)
    body, summary = _norm(card.body), _norm(card.summary)
    topics = " | ".join(card.topics)
    leaks = [
        (where, phrase)
        for phrase in FORBIDDEN
        for where, text in (("body", body), ("summary", summary), ("topics", topics))
        if phrase.lower() in text.lower()
    ]
    assert not leaks


@pytest.mark.parametrize("version", VERSIONS)
def test_summary(version: str) -> None:
    card = card_for(version)
    assert card.summary.strip()
    assert len(card.summary) <= 500
    body = _norm(card.body)
    pieces = re.split(r"(?<=[.!?…])\s+|(?<=[.!?…][\"'”’»)])\s+", card.summary.strip())
    for piece in pieces:
        piece = piece.strip().removesuffix("...").removesuffix("…").strip()
        if piece:
            assert _norm(piece) in body, piece


@pytest.mark.parametrize("version", VERSIONS)
def test_card_serialises(version: str) -> None:
    data = card_for(version).to_dict()
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    assert data["paywalled"] is False


def test_metadata_version_site_and_canonical() -> None:
    card = card_for("html_meta")
    assert card.site == "France 24"
    assert card.canonical_url == CLEAN_URL
    assert card.language == "en"


# --- the versions agree ----------------------------------------------------------------------


@pytest.mark.parametrize("other", ["html_bare", "html_meta"])
def test_versions_agree(other: str) -> None:
    text, html_card = card_for("text"), card_for(other)
    assert html_card.headline == text.headline
    assert (html_card.published or "")[:10] == (text.published or "")[:10]
    assert html_card.section == text.section
    a, b = _tokens(text.body), _tokens(html_card.body)
    jaccard = len(a & b) / len(a | b) if a | b else 0.0
    assert jaccard >= 0.9, f"body token Jaccard {jaccard:.2f} between text and {other}"
