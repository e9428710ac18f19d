"""The benchmarks' data: where the development set is, and the refusal when it is not.

Figures in the README come from ``../shared/devset`` (the project's development set of
real article pages: ``cases/<name>/page.html`` + ``truth.json``), which a plain clone of
the repository does not have. A benchmark asked to run without its data stops with one
line saying where to put it, instead of measuring something else under the same name.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared next to the checkout (or next to a folder holding several worktrees).
DEVSET_CASES = next((p / "shared" / "devset" / "cases" for p in ROOT.parents
                     if (p / "shared" / "devset" / "cases").is_dir()),
                    ROOT.parent / "shared" / "devset" / "cases")
HOW_TO_GET = (
    "the development set ships with the project's shared data, not with the repository: "
    "put it at ../shared/devset beside the checkout (README, Benchmarks)"
)


def has_pages(directory: Path) -> bool:
    """Whether ``directory`` holds pages (``*/page.html`` cases or ``*.html`` files)."""
    return directory.is_dir() and (
        any(directory.glob("*/page.html")) or any(directory.glob("*.html")))


def require(directory: Path, script: str, other: str) -> Path:
    """``directory`` if it has pages; else one line on stderr and exit status 2."""
    if has_pages(directory):
        return directory
    print(f"{script}: no pages at {directory}: {HOW_TO_GET}; {other}", file=sys.stderr)
    raise SystemExit(2)
