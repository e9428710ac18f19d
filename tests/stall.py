"""Parse functions for the parse pool's tests, importable by its worker processes.

Pages that contain one of the markers below misbehave the way a hostile page could;
anything else is parsed for real.
"""

from __future__ import annotations

import os
import time

from bot.article.pool import parse_in_worker
from bot.card import Card

STALL = "<!-- stall -->"  # spins forever
SLEEP = "<!-- sleep -->"  # sleeps forever (no bytecode runs: only a signal ends it)
CRASH = "<!-- crash -->"  # the process dies
GREEDY = "<!-- greedy -->"  # allocates until the memory cap stops it


def parse_or_misbehave(content: str | bytes, url: str | None) -> Card:
    """``parse_in_worker`` unless the page carries a marker."""
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    if STALL in text:
        while True:
            pass
    if SLEEP in text:
        time.sleep(3600)
    if CRASH in text:
        os._exit(3)
    if GREEDY in text:
        hoard = []
        while True:
            hoard.append(bytearray(50_000_000))
    return parse_in_worker(content, url)
