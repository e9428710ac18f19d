"""Build ``publisher_tags.json``: the tags each development page declares about itself.

Usage: python bench/data/make_tag_labels.py [--cases DIR]

Reads ``../shared/devset/cases/<name>/page.html`` (the pages are not copied) and keeps, per
case, the union of the publisher's own tags: every ``article:tag`` meta value,
``news_keywords`` and the JSON-LD ``keywords`` of the page's article objects. Values are
normalised the way the hidden evaluation describes it: HTML entities decoded, NFKC, lists
split at commas, lower-cased, whitespace collapsed, surrounding punctuation and ``#``
removed, duplicates dropped. Cases that declare no tag are left out. Nothing is cleaned
beyond that (no site names or section names removed): the labels are what the publisher
wrote, so a card is scored against what it could have missed.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parents[2]
# ../shared next to the checkout (or next to a folder holding several worktrees).
DEFAULT_CASES = next((p / "shared" / "devset" / "cases" for p in ROOT.parents
                      if (p / "shared" / "devset" / "cases").is_dir()),
                     ROOT.parent / "shared" / "devset" / "cases")
OUT = Path(__file__).with_name("publisher_tags.json")
_ARTICLE = re.compile(r"article|posting|report", re.I)


def normalise(tag: str) -> str:
    """The comparable form of one tag."""
    tag = unicodedata.normalize("NFKC", html.unescape(tag))
    tag = " ".join(tag.lower().split())
    return tag.strip(" \t#.,;:!?\"'“”‘’«»()[]{}|-–—")


def split(values: list[str]) -> list[str]:
    """Each value split at commas, normalised, empty and repeated ones dropped."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            tag = normalise(part)
            if tag and tag not in out:
                out.append(tag)
    return out


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [d for item in node for d in _walk(item)]
    if isinstance(node, dict):
        out = [node]
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if key in node:
                out.extend(_walk(node[key]))
        return out
    return []


def declared(page: str) -> list[str]:
    """The tags one page declares (article:tag, news_keywords, JSON-LD keywords)."""
    tree = lxml_html.document_fromstring(page)
    values: list[str] = []
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in ("article:tag", "news_keywords") and meta.get("content"):
            values.append(meta.get("content") or "")
    for script in tree.xpath('//script[contains(@type, "ld+json")]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in _walk(data):
            kind = item.get("@type")
            kinds = " ".join(kind) if isinstance(kind, list) else str(kind or "")
            keywords = item.get("keywords")
            if not keywords or not _ARTICLE.search(kinds):
                continue
            values.extend([keywords] if isinstance(keywords, str)
                          else [str(k) for k in keywords if isinstance(k, str | int)])
    return split(values)


def main() -> None:
    """Write the labels file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    args = ap.parse_args()
    labels: dict[str, list[str]] = {}
    for case in sorted(p for p in args.cases.iterdir() if (p / "page.html").exists()):
        tags = declared((case / "page.html").read_text(encoding="utf-8"))
        if tags:
            labels[case.name] = tags
    OUT.write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(labels)} cases with tags -> {OUT}")


if __name__ == "__main__":
    main()
