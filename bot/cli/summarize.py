"""newsbot summarize SOURCE... [--url URL] [--json] [--explain]: summary cards for pages.

Web pages are fetched several at once (at most --concurrency), and the cards are
printed in the order the sources were given. On a terminal a progress display on
stderr names the pages still loading. A source that fails prints one line on stderr
(newsbot: SOURCE: reason) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, Protocol
from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from adapters.console.card import render_card
from bot.article import ParsePool
from bot.background import cancel_and_wait
from bot.card import Card
from bot.errors import NewsbotError
from bot.fetch import Fetcher, FetchPolicy, is_url, make_session, read_source
from bot.settings import Settings

from .args import http_url, positive_int, subcommand

#: pages fetched at once by default: a handful, polite to any one site
DEFAULT_CONCURRENCY = 6


class ProgressLike(Protocol):
    """What summarize_all reports progress to (rich's Progress, or a test's recorder)."""

    def add_task(self, description: str, *, total: float | None = ...) -> Any: ...

    def advance(self, task_id: Any, advance: float = ...) -> None: ...

    def remove_task(self, task_id: Any) -> None: ...


def add_parser(subparsers: Any) -> None:
    """Register the ``summarize`` subcommand."""
    parser = subcommand(
        subparsers, "summarize", __doc__, help="turn pages into summary cards",
        examples=["newsbot summarize https://example.com/news/story",
                  "newsbot summarize --json page1.html page2.html > cards.jsonl",
                  "newsbot summarize --explain page.html",
                  "curl -s https://example.com/story | newsbot summarize - "
                  "--url https://example.com/story"],
    )
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE",
        help="an http(s) URL, a local .html/.htm or .txt file, or '-' for stdin",
    )
    parser.add_argument("--url", type=http_url,
                        help="the page's URL, when SOURCE is a file or stdin")
    parser.add_argument("--json", action="store_true", help="one JSON object per source")
    parser.add_argument(
        "--explain", action="store_true",
        help="also show how each field was chosen: the candidates and which one won "
             "(with --json: an extra key 'explain')",
    )
    parser.add_argument("--concurrency", type=positive_int, default=DEFAULT_CONCURRENCY,
                        metavar="N", help=f"pages fetched at once (default {DEFAULT_CONCURRENCY})")
    parser.set_defaults(func=run, one_shot=True)


def _label(source: str) -> str:
    if is_url(source):
        parts = urlsplit(source)
        return f"{parts.hostname}{parts.path}"[:60]
    return source[-60:]


async def summarize_all(
    sources: list[str], settings: Settings, url: str | None = None,
    progress: ProgressLike | None = None, *, concurrency: int = DEFAULT_CONCURRENCY,
) -> list[Card | NewsbotError]:
    """A card (or the error that stopped it) for each source, in order."""
    return [r if isinstance(r, NewsbotError) else r[0]
            for r in await explain_all(sources, settings, url, progress,
                                       concurrency=concurrency)]


async def explain_all(
    sources: list[str], settings: Settings, url: str | None = None,
    progress: ProgressLike | None = None, *, concurrency: int = DEFAULT_CONCURRENCY,
) -> list[tuple[Card, dict[str, Any]] | NewsbotError]:
    """A card and the account of its choices (or the error) for each source, in order;
    at most ``concurrency`` pages are read at once."""
    policy = FetchPolicy.from_settings(settings)
    overall = progress.add_task("Summarizing", total=len(sources)) if progress else None
    session = make_session(policy) if any(is_url(s) for s in sources) else None
    gate = asyncio.Semaphore(concurrency)
    # Pages are parsed as the bot parses them: in worker processes, within the parse
    # deadline and memory cap. The workers start while the first pages download.
    parser = ParsePool.from_settings(settings, consumers=min(concurrency, len(sources)))
    booting = asyncio.ensure_future(parser.start())

    async def one(source: str) -> tuple[Card, dict[str, Any]] | NewsbotError:
        async with gate:
            loading = progress.add_task(f"reading {_label(source)}", total=None) \
                if progress is not None else None
            try:
                page = await read_source(source, fetcher)
                await booting
                return await parser.explain(page.content, url or page.url)
            except NewsbotError as exc:
                return exc
            finally:
                if progress is not None:
                    progress.remove_task(loading)
                    progress.advance(overall)

    try:
        fetcher = Fetcher(session, policy) if session is not None else None
        return list(await asyncio.gather(*(one(source) for source in sources)))
    finally:
        await cancel_and_wait(booting)
        await parser.close()
        if session is not None:
            await session.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print each card (JSON lines with --json); errors go to stderr, exit 1 if any."""
    err = Console(stderr=True)
    progress: Progress | None = None
    if err.is_terminal:
        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                            TextColumn("{task.completed}/{task.total}"),
                            console=err, transient=True)
    if progress is not None:
        with progress:
            results = asyncio.run(explain_all(args.sources, settings, args.url, progress,
                                              concurrency=args.concurrency))
    else:
        results = asyncio.run(explain_all(args.sources, settings, args.url,
                                          concurrency=args.concurrency))
    out = Console(soft_wrap=False)
    failed = 0
    for source, result in zip(args.sources, results, strict=True):
        if isinstance(result, NewsbotError):
            failed += 1
            # Plain print: one error is one line, whatever the terminal width.
            print(f"newsbot: {source}: {result.user_message}", file=sys.stderr)
            continue
        card, why = result
        if args.json:
            data = card.to_dict()
            if args.explain:
                data["explain"] = why
            print(json.dumps(data, ensure_ascii=False))
        else:
            out.print(render_card(card))
            if args.explain:
                for line in explanation_lines(why):
                    print(line)  # plain: one field per line, whatever the terminal width
    sys.stdout.flush()  # a closed pipe is reported here, inside main's handler
    return 1 if failed else 0


def explanation_lines(why: dict[str, Any]) -> list[str]:
    """One line per field: the source that won and the candidates it beat."""
    lines: list[str] = []
    for field in ("headline", "published", "authors"):
        part = why.get(field) or {}
        others = [f"{c.get('source')}={c.get('value', c.get('names'))!r}"
                  for c in part.get("candidates") or [] if isinstance(c, dict)]
        line = f"{field}: {part.get('value')!r} from {part.get('won', 'none')}"
        lines.append(line + (f" (candidates: {'; '.join(others)})" if others else ""))
    body = why.get("body") or {}
    reason = body.get("fallback_reason")
    lines.append(f"body: {body.get('path')} reading, {body.get('paragraphs')} paragraphs"
                 + (f"; re-read because: {reason}" if reason else ""))
    return lines
