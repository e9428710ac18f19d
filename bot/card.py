"""The neutral summary card: what every adapter renders, whatever the platform.

Every field a platform shows is capped here, once, whenever a card is built (parsed, read
back from Redis, or made by hand), so that no page can make a card, a delivery or a digest
line larger than a platform could show. The body is the exception: the matcher reads all of
it, and it is never stored with deliveries nor shown (only its first paragraphs, the lead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CardLimits:
    """The longest each card field may be, in characters (counts for the tuples)."""

    #: Discord's embed title; Slack's header block is shorter still and cut by its adapter
    headline: int = 256
    #: Slack's section text (Discord's embed description allows 4,096)
    summary: int = 3000
    #: one-line texts: the site, the section, an author, a topic, a key figure's label
    name: int = 256
    #: the language tag and the ISO dates
    code: int = 64
    #: longer URLs are dropped rather than cut (a cut URL points somewhere else)
    url: int = 2048
    authors: int = 10
    topics: int = 20
    #: Slack shows at most 10 fields in a section
    key_figures: int = 10
    figure_value: int = 100
    sentence: int = 500
    #: the first paragraphs kept when a card is stored for delivery (the body is not)
    lead: int = 3000


CARD_LIMITS = CardLimits()


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _clip_optional(text: str | None, limit: int) -> str | None:
    return None if text is None else clip(text, limit)


def _url(url: str | None) -> str | None:
    return url if url is None or len(url) <= CARD_LIMITS.url else None


@dataclass(frozen=True, slots=True)
class KeyFigure:
    """A number that matters in the article, with a short label from its context."""

    value: str
    label: str
    sentence: str

    def __post_init__(self) -> None:
        limits = CARD_LIMITS
        object.__setattr__(self, "value", clip(self.value, limits.figure_value))
        object.__setattr__(self, "label", clip(self.label, limits.name))
        object.__setattr__(self, "sentence", clip(self.sentence, limits.sentence))

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"value": self.value, "label": self.label, "sentence": self.sentence}


@dataclass(frozen=True, slots=True)
class Card:
    """A summary card for one article; ``to_dict()`` gives the documented JSON."""

    headline: str
    body: str
    url: str | None = None
    canonical_url: str | None = None
    published: str | None = None
    updated: str | None = None
    site: str | None = None
    section: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    summary: str = ""
    key_figures: tuple[KeyFigure, ...] = ()
    topics: tuple[str, ...] = ()
    image: str | None = None
    paywalled: bool = False

    def __post_init__(self) -> None:
        limits = CARD_LIMITS
        capped: dict[str, Any] = {
            "headline": clip(self.headline, limits.headline),
            "url": _url(self.url),
            "canonical_url": _url(self.canonical_url),
            "image": _url(self.image),
            "published": _clip_optional(self.published, limits.code),
            "updated": _clip_optional(self.updated, limits.code),
            "language": _clip_optional(self.language, limits.code),
            "site": _clip_optional(self.site, limits.name),
            "section": _clip_optional(self.section, limits.name),
            "authors": tuple(clip(a, limits.name) for a in self.authors[: limits.authors]),
            "summary": clip(self.summary, limits.summary),
            "key_figures": tuple(self.key_figures[: limits.key_figures]),
            "topics": tuple(clip(t, limits.name) for t in self.topics[: limits.topics]),
        }
        for name, value in capped.items():
            if value != getattr(self, name):
                object.__setattr__(self, name, value)

    @property
    def lead(self) -> str:
        """The first two paragraphs of the body, which readers (and the matcher) weigh most."""
        return "\n\n".join(self.body.split("\n\n")[:2])

    @property
    def link(self) -> str | None:
        """The best URL to link to: canonical when known, else the one given."""
        return self.canonical_url or self.url

    def to_dict(self) -> dict[str, Any]:
        """The card as the JSON object documented in the README (exact keys)."""
        return {
            "url": self.url,
            "canonical_url": self.canonical_url,
            "headline": self.headline,
            "published": self.published,
            "updated": self.updated,
            "site": self.site,
            "section": self.section,
            "authors": list(self.authors),
            "language": self.language,
            "summary": self.summary,
            "key_figures": [k.to_dict() for k in self.key_figures],
            "topics": list(self.topics),
            "image": self.image,
            "body": self.body,
            "paywalled": self.paywalled,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Card:
        """Rebuild a card from ``to_dict()`` output (used to pass cards through Redis)."""
        return cls(
            url=data.get("url"),
            canonical_url=data.get("canonical_url"),
            headline=data.get("headline") or "",
            published=data.get("published"),
            updated=data.get("updated"),
            site=data.get("site"),
            section=data.get("section"),
            authors=tuple(data.get("authors") or ()),
            language=data.get("language"),
            summary=data.get("summary") or "",
            key_figures=tuple(
                KeyFigure(k["value"], k["label"], k["sentence"])
                for k in data.get("key_figures") or ()
            ),
            topics=tuple(data.get("topics") or ()),
            image=data.get("image"),
            body=data.get("body") or "",
            paywalled=bool(data.get("paywalled")),
        )
