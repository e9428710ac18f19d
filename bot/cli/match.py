"""``newsbot match SOURCE EXPR...``: which topic expressions a page would match, and why."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from bot.errors import TopicError
from bot.fetch import Fetcher, FetchPolicy, Source, is_url, make_session, read_local, read_source
from bot.settings import Settings
from bot.subscriptions import Explanation, MatchIndex


def add_parser(subparsers: Any) -> None:
    """Register the ``match`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "match",
        help="show which topic expressions a page matches, and why",
        description=__doc__,
    )
    parser.add_argument("source", help="a local .html/.txt file, '-' for stdin, or a URL")
    parser.add_argument("expressions", nargs="+", metavar="EXPR", help="topic expressions")
    parser.add_argument("--json", action="store_true", help="one JSON object per expression")
    parser.add_argument("--url", help="the page's URL, when SOURCE is a file")
    parser.set_defaults(func=run)


async def _read(source: str, settings: Settings) -> Source:
    if not is_url(source):
        return read_local(source)
    policy = FetchPolicy.from_settings(settings)
    async with make_session(policy) as session:
        return await read_source(source, Fetcher(session, policy))


def explain_all(
    content: str | bytes, expressions: list[str], settings: Settings, url: str | None = None
) -> list[Explanation | TopicError]:
    """Parse the page once and explain every expression (an invalid one gives its error)."""
    from bot.article import parse_article

    card = parse_article(content, url)
    index = MatchIndex(settings.match_min_body_mentions)
    out: list[Explanation | TopicError] = []
    for expression in expressions:
        try:
            out.append(index.explain(card, expression))
        except TopicError as exc:
            out.append(exc)
    return out


def _row(expression: str, result: Explanation | TopicError) -> dict[str, Any]:
    if isinstance(result, TopicError):
        return {"expression": expression, "error": result.user_message}
    data = result.to_dict()
    data["expression"] = expression
    return data


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print, per expression, whether the page matches, which terms, where, and the score."""
    page = asyncio.run(_read(args.source, settings))
    results = explain_all(page.content, args.expressions, settings, args.url or page.url)
    if args.json:
        for expression, result in zip(args.expressions, results, strict=True):
            print(json.dumps(_row(expression, result), ensure_ascii=False))
        return 0
    width = max(len(e) for e in args.expressions)
    for expression, result in zip(args.expressions, results, strict=True):
        if isinstance(result, TopicError):
            print(f"{expression:<{width}}  invalid: {result.user_message}")
            continue
        mark = "MATCH" if result.matched else "no   "
        why = "; ".join(f"{h.term} ({h.describe()})" for h in result.terms) or "-"
        line = f"{expression:<{width}}  {mark}  score {result.score:5.1f}  {why}"
        if result.excluded_by:
            line += "  excluded by: " + ", ".join(h.term for h in result.excluded_by)
        print(line)
    return 0
