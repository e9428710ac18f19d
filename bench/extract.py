"""Speed and memory of the full summary card, side by side with bare trafilatura.extract.

Usage: python bench/extract.py [--quick] [--pages DIR] [--passes N] [--interleaved]

Each side runs in its own child process over the same pages (so peak RSS is its own):
``newsbot`` = ``parse_article`` (metadata, body, dates, summary, figures, topics);
``trafilatura`` = ``trafilatura.extract(html)`` with default options. Pages come from
``../shared/devset/cases/*/page.html`` (see Data below). The last line
of output is a JSON object: pages_per_s, trafilatura_pages_per_s, ratio (full card time /
bare trafilatura time; target <= 1.5), peak_rss_mb (newsbot's child). Rates are pages per
CPU-second of the measuring process (both extractors are single-threaded). The children
take turns pass by pass. ``--interleaved`` times both in one process instead, page by
page, which a loaded machine disturbs least (no peak RSS then).

Data: the development set (``../shared/devset/cases``, see bench/devset.py). Without it
the script refuses to run; ``--pages DIR`` measures another folder of pages instead (such
as ``tests/pages`` for a smoke run), and the JSON names the folder it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.devset import DEVSET_CASES, require  # noqa: E402


def load_pages(directory: Path | None, quick: bool) -> list[tuple[str, str | None]]:
    """(html, url) pairs, sorted for a stable order."""
    pages: list[tuple[str, str | None]] = []
    if directory is None:
        directory = DEVSET_CASES
    if (directory / "README.md").exists() and list(directory.glob("*/page.html")):
        for page in sorted(directory.glob("*/page.html")):
            truth = page.with_name("truth.json")
            url = json.loads(truth.read_text()).get("url") if truth.exists() else None
            pages.append((page.read_text(encoding="utf-8"), url))
    else:
        for page in sorted(directory.glob("*/page.html")) + sorted(directory.glob("*.html")):
            pages.append((page.read_bytes().decode("utf-8", "replace"), None))
    return pages[::4] if quick else pages


def child(mode: str, directory: Path | None, quick: bool, passes: int) -> None:
    """Time one extractor over the pages and print its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    pages = load_pages(directory, quick)
    if mode == "newsbot":
        from bot import parse_article
        from bot.errors import NewsbotError

        def run(html: str, url: str | None) -> None:
            with contextlib.suppress(NewsbotError):  # error pages count: they are work too
                parse_article(html, url)
    else:
        import trafilatura

        def run(html: str, url: str | None) -> None:
            trafilatura.extract(html, url=url)

    # Warm-up over every page: imports, regex compilation, and the word lists loaded the
    # first time a language is met, which a long-running bot pays once.
    for html, url in pages:
        run(html, url)
    # CPU time of this process: the figure that other load on the machine disturbs least.
    start = time.process_time()
    for _ in range(passes):
        for html, url in pages:
            run(html, url)
    elapsed = time.process_time() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"pages": len(pages) * passes, "seconds": elapsed,
                      "pages_per_s": len(pages) * passes / elapsed,
                      "peak_rss_mb": peak_kb / 1024}))


def interleaved(directory: Path | None, quick: bool, passes: int) -> None:
    """Both sides in this one process, page by page, so that both see the same load."""
    sys.path.insert(0, str(ROOT))
    import trafilatura

    from bot import parse_article
    from bot.errors import NewsbotError

    pages = load_pages(directory, quick)
    for html, url in pages:  # warm-up, as in the children
        with contextlib.suppress(NewsbotError):
            parse_article(html, url)
        trafilatura.extract(html, url=url)
    ours = base = 0.0
    for _ in range(passes):
        for html, url in pages:
            t0 = time.process_time()
            with contextlib.suppress(NewsbotError):
                parse_article(html, url)
            t1 = time.process_time()
            trafilatura.extract(html, url=url)
            base += time.process_time() - t1
            ours += t1 - t0
    n = len(pages) * passes
    print(json.dumps({"pages": n, "pages_per_s": round(n / ours, 1),
                      "trafilatura_pages_per_s": round(n / base, 1),
                      "ratio": round(ours / base, 3), "mode": "interleaved",
                      "data": str(directory or DEVSET_CASES)}))


def main() -> None:
    """Run both children and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a quarter of the pages, one pass")
    ap.add_argument("--pages", type=Path, default=None)
    ap.add_argument("--passes", type=int, default=None)
    ap.add_argument("--interleaved", action="store_true",
                    help="time both page by page in one process (no peak RSS)")
    ap.add_argument("--child", choices=["newsbot", "trafilatura"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    passes = args.passes or (1 if args.quick else 3)
    pages = require(args.pages or DEVSET_CASES, "bench/extract.py",
                    "or pass --pages DIR to measure other pages (figures not comparable)")
    if args.child:
        child(args.child, args.pages, args.quick, passes)
        return
    if args.interleaved:
        interleaved(args.pages, args.quick, passes)
        return
    # One pass per child, the two sides taking turns: on a shared machine the load drifts,
    # and alternating spreads the drift over both sides instead of charging it to one.
    results: dict[str, dict[str, float]] = {}
    for _ in range(passes):
        for mode in ("trafilatura", "newsbot"):
            cmd = [sys.executable, __file__, "--child", mode, "--passes", "1"]
            if args.quick:
                cmd.append("--quick")
            if args.pages:
                cmd += ["--pages", str(args.pages)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            run = json.loads(out.strip().splitlines()[-1])
            total = results.setdefault(mode, {"pages": 0, "seconds": 0.0, "peak_rss_mb": 0.0})
            total["pages"] += run["pages"]
            total["seconds"] += run["seconds"]
            total["peak_rss_mb"] = max(total["peak_rss_mb"], run["peak_rss_mb"])
    for mode, r in results.items():
        r["pages_per_s"] = r["pages"] / r["seconds"]
        print(f"{mode:12} {int(r['pages']):5d} pages  {r['pages_per_s']:7.1f} pages/s  "
              f"peak RSS {r['peak_rss_mb']:6.1f} MB")
    ours, base = results["newsbot"], results["trafilatura"]
    summary = {
        "data": str(pages),
        "pages": int(ours["pages"]),
        "pages_per_s": round(ours["pages_per_s"], 1),
        "trafilatura_pages_per_s": round(base["pages_per_s"], 1),
        "ratio": round(base["pages_per_s"] / ours["pages_per_s"], 3),
        "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "trafilatura_peak_rss_mb": round(base["peak_rss_mb"], 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
