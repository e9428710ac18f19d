"""The neutral summary card: what every adapter renders, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class KeyFigure:
    """A number that matters in the article, with a short label from its context."""

    value: str
    label: str
    sentence: str

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
