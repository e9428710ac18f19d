"""OPML export and import of a workspace's feeds (channels become outline groups)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from bot.errors import NewsbotError

MAX_OPML_BYTES = 1_000_000
MAX_FEEDS = 500


class OpmlError(NewsbotError):
    """An OPML file that cannot be read."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed of an OPML file: its URL, title and the group (channel) it sat in."""

    url: str
    title: str = ""
    group: str = ""


def export_opml(title: str, feeds: Iterable[OpmlFeed]) -> bytes:
    """An OPML 2.0 document; feeds of one group sit in one outline."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    groups: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.group:
            if feed.group not in groups:
                groups[feed.group] = ET.SubElement(body, "outline", text=feed.group,
                                                   title=feed.group)
            parent = groups[feed.group]
        ET.SubElement(parent, "outline", type="rss", text=feed.title or feed.url,
                      title=feed.title or feed.url, xmlUrl=feed.url)
    ET.indent(root)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML file (no entities, no network: the file is a stranger's)."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError("That OPML file is too large (1 MB at most).")
    if b"<!ENTITY" in data:
        raise OpmlError("That OPML file declares a DTD; export it again without one.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise OpmlError("That file is not OPML (it is not even XML).") from None
    if root is not None and root.getroottree().docinfo.internalDTD is not None:
        # OPML needs no DTD; one with entities is at best odd and at worst an attack.
        raise OpmlError("That OPML file declares a DTD; export it again without one.")
    if root is None or root.tag != "opml":
        raise OpmlError("That file is not OPML.")
    found: dict[str, OpmlFeed] = {}
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if not url or url in found:
            continue
        parent = node.getparent()
        group = ""
        if parent is not None and parent.tag == "outline" and not parent.get("xmlUrl"):
            group = parent.get("text") or parent.get("title") or ""
        found[url] = OpmlFeed(url, node.get("title") or node.get("text") or "", group)
        if len(found) > MAX_FEEDS:
            raise OpmlError(f"That OPML file lists more than {MAX_FEEDS} feeds.")
    return list(found.values())
