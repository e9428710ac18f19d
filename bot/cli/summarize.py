"""``newsbot summarize SOURCE... [--url URL] [--json] [--explain]``: summary cards for pages."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from rich.console import Console
from rich.progress import Progress

from adapters.console.card import render_card
from bot.article import explain_article
from bot.card import Card
from bot.errors import NewsbotError
from bot.fetch import Fetcher, FetchPolicy, is_url, make_session, read_source
from bot.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Register the ``summarize`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "summarize", help="turn pages into summary cards", description=__doc__
    )
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE",
        help="an http(s) URL, a local .html/.htm or .txt file, or '-' for stdin",
    )
    parser.add_argument("--url", help="the page's URL, when SOURCE is a file or stdin")
    parser.add_argument("--json", action="store_true", help="one JSON object per source")
    parser.add_argument(
        "--explain", action="store_true",
        help="also show how each field was chosen: the candidates and which one won "
             "(with --json: an extra key 'explain')",
    )
    parser.set_defaults(func=run)


async def summarize_all(
    sources: list[str], settings: Settings, url: str | None = None,
    progress: Progress | None = None,
) -> list[Card | NewsbotError]:
    """A card (or the error that stopped it) for each source, in order."""
    return [r if isinstance(r, NewsbotError) else r[0]
            for r in await explain_all(sources, settings, url, progress)]


async def explain_all(
    sources: list[str], settings: Settings, url: str | None = None,
    progress: Progress | None = None,
) -> list[tuple[Card, dict[str, Any]] | NewsbotError]:
    """A card and the account of its choices (or the error) for each source, in order."""
    policy = FetchPolicy.from_settings(settings)
    results: list[tuple[Card, dict[str, Any]] | NewsbotError] = []
    task = progress.add_task("Summarizing", total=len(sources)) if progress else None
    session = make_session(policy) if any(is_url(s) for s in sources) else None
    try:
        fetcher = Fetcher(session, policy) if session is not None else None
        for source in sources:
            try:
                page = await read_source(source, fetcher)
                results.append(explain_article(page.content, url or page.url))
            except NewsbotError as exc:
                results.append(exc)
            if progress is not None and task is not None:
                progress.advance(task)
    finally:
        if session is not None:
            await session.close()
    return results


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print each card (JSON lines with --json); errors go to stderr, exit 1 if any."""
    err = Console(stderr=True)
    progress: Progress | None = None
    if len(args.sources) > 1 and sys.stderr.isatty():
        progress = Progress(console=err, transient=True)
    if progress is not None:
        with progress:
            results = asyncio.run(explain_all(args.sources, settings, args.url, progress))
    else:
        results = asyncio.run(explain_all(args.sources, settings, args.url))
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
