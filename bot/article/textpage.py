"""Reading a page's plain text (navigation, article, related links) the way a person does.

The article is the longest run of prose that no page furniture interrupts; its headline
is the title-like line just above it, the section the short label above that, and its
dates the date lines around it. Everything outside the run is clutter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import (
    is_clutter_line,
    looks_like_prose,
    normalise_space,
    strip_link_notes,
    word_count,
)

BYLINE = re.compile(
    r"^(?i:by|par|von|por|di|door|av)\s+(?P<names>[A-ZÀ-Þ][\w'’.-]+(?:\s+[A-ZÀ-Þ][\w'’.-]+){0,3}"
    r"(?:\s*(?:,|and|und|et|y|&)\s*[A-ZÀ-Þ][\w'’.-]+(?:\s+[A-ZÀ-Þ][\w'’.-]+){0,3})*)"
    r"\s*(?:[,|·–—-].{0,60})?$",
)


@dataclass
class TextArticle:
    """What the plain-text reader found."""

    headline: str | None = None
    section: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    # The lines around the article where its dates are written (dateline, footer).
    date_lines: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)


def _blocks(text: str, hard_wrapped: bool = True) -> list[str]:
    """Lines of the page, with hard-wrapped paragraphs joined back together."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", normalise_space(text)):
        lines = [strip_link_notes(line) for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        wrapped = hard_wrapped and len(lines) > 1 and all(
            len(line) > 50 and not re.search(r"[.!?:\"”]$", line) for line in lines[:-1]
        )
        if wrapped:
            out.append(" ".join(lines))
        else:
            out.extend(lines)
    return out


def _title_like(line: str) -> bool:
    words = word_count(line)
    return 2 <= words <= 30 and not line.endswith((".", ":")) and not is_clutter_line(line)


def read_text_page(text: str, hard_wrapped: bool = True) -> TextArticle:
    """Find the article inside a page's text.

    ``hard_wrapped``: lines of one paragraph may be broken (a saved text file); the visible
    text of an HTML page has one block per line already, and joining its lines would make
    one paragraph of a whole article.
    """
    lines = _blocks(text, hard_wrapped)
    n = len(lines)
    clutter = [is_clutter_line(line) for line in lines]
    # An item of a "Read more" list: a short line followed by the "Read more" prompt.
    for i in range(n - 1):
        if clutter[i + 1] and re.match(r"^\s*read more\b", lines[i + 1], re.I):
            clutter[i] = True
    prose = [not clutter[i] and looks_like_prose(lines[i]) for i in range(n)]

    best: tuple[int, int, int] | None = None  # (words, start, end)
    i = 0
    while i < n:
        if not prose[i]:
            i += 1
            continue
        start = end = i
        words = 0
        j = i
        while j < n and not clutter[j]:
            if prose[j]:
                end = j
                words += word_count(lines[j])
            j += 1
        if best is None or words > best[0]:
            best = (words, start, end)
        i = j + 1
    result = TextArticle()
    if best is None:
        return result
    _, start, end = best
    result.paragraphs = [lines[k] for k in range(start, end + 1) if not clutter[k]]

    # Walk up from the body: date lines and captions, then the headline, then the section.
    k = start - 1
    while k >= 0 and k >= start - 8:
        line = lines[k]
        match = BYLINE.match(line)
        if match:
            result.authors = [a.strip() for a in re.split(r"\s*(?:,|\band\b|\bund\b|\bet\b|"
                                                          r"\by\b|&)\s*", match["names"])]
        elif re.search(r"\d", line) and len(line) <= 120 and not _title_like_headline(line):
            result.date_lines.append(line)
        elif _title_like(line) and not line.startswith(("©", "(")):
            result.headline = line
            if k > 0 and _is_section_label(lines[k - 1]):
                result.section = lines[k - 1]
            break
        k -= 1
    # Dates written right after the article ("Date created : ...") belong to it too.
    result.date_lines.extend(lines[end + 1 : end + 6])
    return result


def _title_like_headline(line: str) -> bool:
    # A headline may hold a number ("25 killed in ..."); a date line is mostly the date.
    letters = sum(c.isalpha() for c in line)
    return letters > 25 and _title_like(line)


def _is_section_label(line: str) -> bool:
    words = line.split()
    return (
        1 <= len(words) <= 4
        and not is_clutter_line(line)
        and not line.startswith("#")
        and all(w[:1].isupper() or w[:1] in "&-" for w in words)
        and not re.search(r"\d", line)
    )
