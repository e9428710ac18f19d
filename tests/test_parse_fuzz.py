"""Property tests: whatever comes in, ``parse_article`` gives a well-formed Card or ParseError.

Nothing else may escape: no UnicodeError, no lxml error, no RecursionError, no
ValueError from a date parser. A card must survive ``json.dumps`` and be encodable as UTF-8
(it is sent to Discord and Slack), with the documented types.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.article.parse import parse_article
from bot.card import Card
from bot.errors import ParseError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HEAVY = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$")

OPTIONAL_STR = (
    "url",
    "canonical_url",
    "published",
    "updated",
    "site",
    "section",
    "language",
    "image",
)


def check_card(card: Card) -> dict[str, Any]:
    """Assert the documented shape of ``card.to_dict()`` and return it."""
    assert isinstance(card, Card)
    data = card.to_dict()
    assert set(data) == {
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
    # Must go out as UTF-8 JSON: a lone surrogate in any field would make that fail.
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    for key in OPTIONAL_STR:
        assert data[key] is None or isinstance(data[key], str), (key, data[key])
    assert isinstance(data["headline"], str)
    assert isinstance(data["body"], str)
    assert isinstance(data["summary"], str)
    assert len(data["summary"]) <= 500
    assert isinstance(data["paywalled"], bool)
    assert isinstance(data["authors"], list)
    assert all(isinstance(a, str) for a in data["authors"])
    assert isinstance(data["topics"], list)
    assert all(isinstance(t, str) and t == t.lower() for t in data["topics"])
    assert isinstance(data["key_figures"], list)
    for figure in data["key_figures"]:
        assert set(figure) == {"value", "label", "sentence"}
        assert all(isinstance(v, str) for v in figure.values())
    for key in ("published", "updated"):
        if data[key] is not None:
            assert ISO_DATE.match(data[key]), (key, data[key])
    if data["language"] is not None:
        assert re.fullmatch(r"[a-z]{2}", data["language"]), data["language"]
    return data


def parse_or_parse_error(content: str | bytes, url: str | None = None) -> Card | None:
    """Run the parser; ParseError is an allowed outcome, any other exception fails the test."""
    try:
        card = parse_article(content, url)
    except ParseError as exc:
        assert isinstance(exc.user_message, str) and exc.user_message
        return None
    check_card(card)
    return card


# --- building blocks --------------------------------------------------------------------------

LONE_SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"])

any_text = st.text(
    alphabet=st.one_of(st.characters(codec=None, exclude_categories=()), LONE_SURROGATES),
    max_size=2000,
)

URLS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://example.org/2019/05/07/slug",
            "https://example.org/2019/13/45/impossible-date",
            "https://example.org/0000/00/00/zero-date",
            "https://example.org/news?utm_source=x&fbclid=1&gclid=2",
            "http://[::1]:99999/bad-port",
            "not a url",
            "",
            "https://ex\u00e4mple.org/\u2603?q=\ud800",
            "javascript:alert(1)",
            "https://example.org/" + "a" * 5000,
        ]
    ),
    st.text(max_size=200),
)

TAGS = [
    "div",
    "p",
    "span",
    "a",
    "article",
    "section",
    "main",
    "header",
    "footer",
    "nav",
    "aside",
    "h1",
    "h2",
    "h3",
    "ul",
    "ol",
    "li",
    "figure",
    "figcaption",
    "img",
    "time",
    "table",
    "tr",
    "td",
    "script",
    "style",
    "noscript",
    "iframe",
    "title",
    "meta",
    "link",
    "br",
    "b",
    "i",
    "blockquote",
    "template",
    "svg",
    "form",
    "button",
    "amp-img",
    "x-custom",
]
ATTR_NAMES = [
    "class",
    "id",
    "href",
    "src",
    "datetime",
    "content",
    "property",
    "name",
    "rel",
    "lang",
    "charset",
    "itemprop",
    "itemtype",
    "style",
    "data-x",
    "onclick",
    "http-equiv",
    "type",
]
WORDS = st.sampled_from(
    [
        "the",
        "minister",
        "said",
        "on",
        "Monday",
        "2021-03-03",
        "March 3, 2021",
        "12 mars 2019",
        "4. Oktober 2022",
        "15 de agosto de 2020",
        "By Jane Doe",
        "Read more",
        "Subscribe",
        "cookies",
        "404",
        "Page not found",
        "€4.8bn",
        "18%",
        "1,250",
        "<",
        ">",
        "&amp;",
        "&#0;",
        "&#xD800;",
        "&bogus;",
        "\x00",
        "\ufeff",
        "\u200b",
        "\u202e",
        "Ж",
        "漢字",
        "🦆",
        "'",
        '"',
    ]
)
TEXT_BITS = st.one_of(WORDS, st.text(max_size=40))
ATTR_VALUES = st.one_of(
    st.text(max_size=30),
    WORDS,
    st.sampled_from(
        [
            "og:title",
            "og:site_name",
            "article:published_time",
            "canonical",
            "application/ld+json",
            "2017-12-11T10:00:00+00:00",
            "9999-99-99",
            "-0001-01-01",
            "utf-8",
            "windows-1252",
            "x-unknown-charset",
            "javascript:void(0)",
        ]
    ),
)


def _attrs(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from(ATTR_NAMES), ATTR_VALUES), max_size=4))
    out = []
    for name, value in pairs:
        quote = draw(st.sampled_from(['"', "'", ""]))
        out.append(f"{name}={quote}{value}{quote}")
    return (" " + " ".join(out)) if out else ""


@st.composite
def html_node(draw: st.DrawFn, depth: int = 0) -> str:
    """One element with random attributes, text and children; sometimes left unclosed."""
    tag = draw(st.sampled_from(TAGS))
    parts = [f"<{tag}{_attrs(draw)}>"]
    for _ in range(draw(st.integers(0, 4 if depth < 4 else 0))):
        if draw(st.booleans()):
            parts.append(draw(TEXT_BITS))
        else:
            parts.append(draw(html_node(depth + 1)))
    if draw(st.integers(0, 9)) > 0:  # one in ten stays unclosed
        parts.append(f"</{tag}>")
    return "".join(parts)


JSON_LD_SNIPPETS = st.sampled_from(
    [
        '<script type="application/ld+json">{"@type":"NewsArticle","headline":',
        '<script type="application/ld+json">'
        '[{"@type":["NewsArticle",null],"author":{"name":[1,2]}}]</script>',
        '<script type="application/ld+json">{"@graph":[{"@type":"NewsArticle","datePublished":'
        '"2021-02-30T25:61:00+99:00","headline":{"x":1},"isAccessibleForFree":"maybe"}]}</script>',
        '<script type="application/ld+json">'
        '{"@type":"LiveBlogPosting","liveBlogUpdate":"x"}</script>',
        '<meta property="article:published_time" content="not a date">',
        '<meta property="og:title" content="">',
        '<meta charset="no-such-charset">',
        '<link rel="canonical" href="::::">',
        "<!--",
        "<![CDATA[",
        "<?xml version='1.0'?>",
        "<!DOCTYPE",
        "</html>",
        "<html ⚡>",
    ]
)


@st.composite
def html_document(draw: st.DrawFn) -> str:
    head = "".join(draw(st.lists(st.one_of(JSON_LD_SNIPPETS, html_node()), max_size=3)))
    body = "".join(draw(st.lists(st.one_of(html_node(), TEXT_BITS, JSON_LD_SNIPPETS), max_size=8)))
    doc = f"<html><head>{head}</head><body>{body}</body></html>"
    if draw(st.booleans()):  # broken markup: cut anywhere
        doc = doc[: draw(st.integers(0, len(doc)))]
    return doc


# --- properties -------------------------------------------------------------------------------


@FUZZ
@given(content=st.binary(max_size=4000), url=URLS)
def test_arbitrary_bytes(content: bytes, url: str | None) -> None:
    parse_or_parse_error(content, url)


@FUZZ
@given(content=any_text, url=URLS)
def test_arbitrary_text(content: str, url: str | None) -> None:
    parse_or_parse_error(content, url)


@FUZZ
@given(doc=html_document(), url=URLS, as_bytes=st.booleans())
def test_generated_html(doc: str, url: str | None, as_bytes: bool) -> None:
    content: str | bytes = doc.encode("utf-8", "surrogatepass") if as_bytes else doc
    parse_or_parse_error(content, url)


@FUZZ
@given(
    doc=html_document(),
    surrogate=LONE_SURROGATES,
    nul=st.sampled_from(["\x00", "\x00" * 50, "&#0;"]),
    where=st.floats(0, 1),
)
def test_nul_bytes_and_lone_surrogates_in_str(
    doc: str, surrogate: str, nul: str, where: float
) -> None:
    cut = int(len(doc) * where)
    parse_or_parse_error(doc[:cut] + surrogate + nul + doc[cut:], None)


@HEAVY
@given(
    depth=st.integers(500, 20_000),
    text=st.text(min_size=1, max_size=200),
    close=st.booleans(),
)
def test_deeply_nested_divs(depth: int, text: str, close: bool) -> None:
    doc = "<html><body>" + "<div>" * depth + f"<p>{text}</p>" + ("</div>" * depth if close else "")
    parse_or_parse_error(doc.encode("utf-8", "surrogatepass"), None)


@HEAVY
@given(
    size=st.integers(10_000, 1_000_000),
    attr=st.sampled_from(["content", "href", "class", "style", "data-x"]),
    char=st.sampled_from(["a", " ", '"', "<", "é", "\x00"]),
)
def test_huge_attribute_values(size: int, attr: str, char: str) -> None:
    value = char * size
    doc = (
        f'<html><head><meta property="og:title" {attr}="{value}">'
        f'<link rel="canonical" href="https://example.org/{value}"></head>'
        f'<body><h1 {attr}="{value}">Headline</h1><p>Some text here.</p></body></html>'
    )
    parse_or_parse_error(doc, None)


@HEAVY
@given(
    count=st.integers(1, 2000),
    paragraph=st.sampled_from(["Short.", "A sentence with 12% and €4bn in it. " * 20, "x" * 2_000]),
)
def test_many_or_huge_paragraphs(count: int, paragraph: str) -> None:
    doc = (
        "<html><body><article><h1>T</h1>"
        + f"<p>{paragraph}</p>" * count
        + "</article></body></html>"
    )
    parse_or_parse_error(doc, None)


NO_DIGIT_WORDS = st.lists(
    st.sampled_from(
        [
            "the",
            "council",
            "said",
            "harbour",
            "museum",
            "volunteers",
            "would",
            "open",
            "soon",
            "people",
            "town",
            "library",
            "after",
            "plan",
            "new",
            "road",
            "by",
            "a",
            "and",
            "to",
        ]
    ),
    min_size=5,
    max_size=80,
)


@FUZZ
@given(title=NO_DIGIT_WORDS, paragraphs=st.lists(NO_DIGIT_WORDS, min_size=1, max_size=6))
def test_no_date_means_no_published_date(title: list[str], paragraphs: list[list[str]]) -> None:
    """No date anywhere (no digits, no month names): ``published`` is None, never today."""
    body = "".join(f"<p>{' '.join(p).capitalize()}.</p>" for p in paragraphs)
    doc = f"<html><head><title>{' '.join(title)}</title></head><body><h1>{' '.join(title)}</h1>"
    doc += f"<article>{body}</article></body></html>"
    card = parse_or_parse_error(doc.encode("utf-8"), "https://example.org/news/story")
    if card is not None:
        assert card.published is None, card.published
        assert card.updated is None, card.updated
        today = dt.date.today().isoformat()
        assert today not in json.dumps(card.to_dict())
