"""The publication date, chosen by agreement between the page's independent date sources.

Sources: the page's own JSON-LD article and its meta tags (a live blog's start first), the
date in the URL, the date lines a reader sees near the headline, and htmldate's fast mode
as the last resort. Values from JSON-LD teasers (other stories listed on the page) only
count when nothing else is known. When the metadata disagrees with itself, the day the
URL or the visible date line confirms wins; a UTC timestamp that falls on a neighbouring
day of the one the page shows (or its URL) gives way to that day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .dates import parse_timestamp
from .htmlmeta import PageMeta

# Votes of each kind of source for a day.
_WEIGHTS = {"url": 1.5, "shown": 1.5, "json-ld live blog start": 3.0, "itemprop": 0.7,
            "meta:date": 0.7, "meta:dc.date": 0.7}


@dataclass
class DateChoice:
    """The chosen publication and update stamps, and the account of the choice."""

    published: str | None
    updated: str | None
    source: str = "none"
    candidates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def explain(self) -> dict[str, Any]:
        """JSON-ready account of the choice."""
        return {"value": self.published, "won": self.source, "candidates": self.candidates,
                "notes": self.notes}


def is_utc(stamp: str) -> bool:
    """True for a bare day or a UTC timestamp: values that may not be the local day."""
    return len(stamp) == 10 or stamp.endswith(("+00:00", "Z"))


def _day(stamp: str) -> date:
    return date.fromisoformat(stamp[:10])


def choose_published(
    meta: PageMeta, from_url: date | None,
    shown: Callable[[bool], tuple[date | None, date | None]],
    htmldate_guess: Callable[[], str | None], latest: date,
    title_date: date | None = None,
) -> DateChoice:
    """The publication date by agreement; ``shown(update_counts)`` reads the date lines."""
    updated = parse_timestamp(meta.updated, latest)
    stated: list[tuple[str, str]] = []
    teasers: list[tuple[str, str]] = []
    for source, raw in meta.date_sources:
        stamp = parse_timestamp(raw, latest)
        if stamp:
            (teasers if source == "json-ld teaser" else stated).append((source, stamp))
    candidates = [{"source": s, "value": v} for s, v in stated + teasers]
    if from_url:
        candidates.append({"source": "url", "value": from_url.isoformat()})
    choice = DateChoice(None, updated, candidates=candidates)
    if stated:
        source, published = _by_agreement(stated, from_url, shown, choice)
        published = _local_day(published, stated, from_url, shown, choice)
        choice.published, choice.source = published, source
        return choice
    seen, seen_upd = shown(True)
    if seen is not None:
        choice.candidates.append({"source": "shown", "value": seen.isoformat()})
    if from_url is not None:
        # A date line off by a day is the local day of the same publication; any other
        # date line near the headline is a sidebar's or an update's, the URL's is the
        # story's own.
        if seen is not None and abs((seen - from_url).days) <= 1:
            choice.published, choice.source = seen.isoformat(), "shown (the URL's day +-1)"
        else:
            choice.published, choice.source = from_url.isoformat(), "url"
    elif seen is not None:
        choice.published, choice.source = seen.isoformat(), "shown"
    elif title_date is not None:
        choice.published, choice.source = title_date.isoformat(), "title"
    elif teasers:
        choice.published, choice.source = teasers[0][1], teasers[0][0]
    else:
        found = htmldate_guess()
        if found:
            choice.published, choice.source = found, "htmldate"
            choice.candidates.append({"source": "htmldate", "value": found})
    if choice.published is None and updated:
        choice.published, choice.source = updated[:10], "updated"
    if choice.updated is None and seen_upd is not None:
        choice.updated = seen_upd.isoformat()
    return choice


def _by_agreement(
    stated: list[tuple[str, str]], from_url: date | None,
    shown: Callable[[bool], tuple[date | None, date | None]], choice: DateChoice,
) -> tuple[str, str]:
    """The stated value whose day most sources confirm (the first source on a tie)."""
    if stated[0][0] == "json-ld live blog start":
        return stated[0]
    days: dict[date, float] = {}
    for source, stamp in stated:
        days[_day(stamp)] = days.get(_day(stamp), 0.0) + _WEIGHTS.get(source, 1.0)
    if len(days) == 1 and (from_url is None or abs((next(iter(days)) - from_url).days) <= 2):
        return stated[0]
    stated_best = max(days.values())
    if from_url is not None:
        days[from_url] = days.get(from_url, 0.0) + _WEIGHTS["url"]
    seen, _ = shown(False)
    if seen is not None:
        choice.candidates.append({"source": "shown", "value": seen.isoformat()})
        days[seen] = days.get(seen, 0.0) + _WEIGHTS["shown"]
    order = {_day(stamp): i for i, (_, stamp) in reversed(list(enumerate(stated)))}
    # A day no metadata states wins only with the URL behind it (a date line alone may be
    # a re-publication or a header clock) and with more support than any stated day.
    for day in list(days):
        if day not in order and (day != from_url or days[day] <= stated_best):
            del days[day]
    best = max(days, key=lambda d: (days[d], -order.get(d, len(stated))))
    for source, stamp in stated:
        if _day(stamp) == best:
            if best != _day(stated[0][1]):
                choice.notes.append(f"metadata disagree; {best} has the most support")
            return source, stamp
    # No stated value has that day: the URL and the date line outvote the metadata.
    choice.notes.append("the URL and the date line outvote the metadata")
    return ("url" if best == from_url else "shown"), best.isoformat()


def _local_day(
    published: str, stated: list[tuple[str, str]], from_url: date | None,
    shown: Callable[[bool], tuple[date | None, date | None]], choice: DateChoice,
) -> str:
    """A UTC stamp's day corrected to the publisher's own, when the page says which."""
    if not is_utc(published):
        return published
    # A sibling value with a local offset, or the day the page shows or its URL gives.
    local = [p for _, p in stated if len(p) > 10 and not is_utc(p)
             and abs((_day(p) - _day(published)).days) <= 1]
    if local:
        return local[0]
    if from_url is not None and from_url == _day(published):
        return published  # the URL confirms the UTC day
    seen, _ = shown(False)
    hour = int(published[11:13]) if len(published) > 10 else None
    for other, label in ((seen, "the date line"), (from_url, "the URL")):
        if other is None or other == _day(published):
            continue
        gap = (_day(published) - other).days
        if label == "the date line":
            # Only a day the clock allows: the day before for an early UTC hour (a
            # publisher west of Greenwich), the day after for a late one (east of it).
            if hour is None or not ((gap == 1 and hour < 10) or (gap == -1 and hour >= 12)):
                continue
        elif not -1 <= gap <= 2:
            continue
        choice.notes.append(f"UTC stamp {published} read as the local day {label} shows")
        return other.isoformat()
    return published
