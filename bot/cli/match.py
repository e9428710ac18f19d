"""newsbot match SOURCE EXPR...: which topic expressions a page would match, and why."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.article import ParsePool
from bot.card import Card
from bot.errors import CommandError, TopicError
from bot.fetch import Fetcher, FetchPolicy, Source, is_url, make_session, read_local, read_source
from bot.settings import Settings
from bot.subscriptions import Explanation, MatchIndex

from .args import http_url, subcommand


def add_parser(subparsers: Any) -> None:
    """Register the ``match`` subcommand."""
    parser = subcommand(
        subparsers, "match", __doc__, help="show which topic expressions a page matches, and why",
        examples=["newsbot match page.html syria 'russia -sports' '\"vladimir putin\"'",
                  "newsbot match https://example.com/story 'assad OR erdogan' --json"],
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per expression")
    parser.add_argument("--url", type=http_url,
                        help="the page's URL, when SOURCE is a file")
    parser.add_argument("source", help="a local .html/.txt file, '-' for stdin, or a URL")
    # Everything after SOURCE is an expression, even "-sports" (no "--" needed); only
    # this command's own --json and --url are still read there.
    parser.add_argument(
        "expressions", nargs=argparse.REMAINDER, metavar="EXPR", help="topic expressions"
    )
    parser.set_defaults(func=run, one_shot=True)


def _own_options(args: argparse.Namespace) -> list[str]:
    """Take --json and --url out of the expressions (they may follow SOURCE)."""
    rest: list[str] = []
    words = list(args.expressions)
    while words:
        word = words.pop(0)
        if word == "--json":
            args.json = True
        elif word == "--url" and words:
            args.url = words.pop(0)
        elif word.startswith("--url="):
            args.url = word.partition("=")[2]
        else:
            rest.append(word)
    if not rest:
        raise CommandError("Give at least one topic expression after the page.")
    if args.url is not None:
        try:
            args.url = http_url(args.url)
        except argparse.ArgumentTypeError as exc:
            raise CommandError(f"--url: {exc}") from None
    return rest


async def _read(source: str, settings: Settings) -> Source:
    if not is_url(source):
        return read_local(source)
    policy = FetchPolicy.from_settings(settings)
    async with make_session(policy) as session:
        return await read_source(source, Fetcher(session, policy))


async def read_card(source: str, settings: Settings, url: str | None = None) -> Card:
    """The card of ``source``, parsed as the bot parses pages (deadline, memory cap)."""
    async with ParsePool.from_settings(settings, consumers=1) as parser:
        page = await _read(source, settings)
        return await parser.parse(page.content, url or page.url, chat=True)


def explain_all(
    card: Card, expressions: list[str], settings: Settings
) -> list[Explanation | TopicError]:
    """Explain every expression against the card (an invalid one gives its error)."""
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
    """Print, per expression, whether the page matches, which terms, where, and the score.

    An invalid expression prints its error and makes the exit status 2 (in ``--json``
    mode the error is a row of the output and the status stays 0).
    """
    args.expressions = _own_options(args)
    card = asyncio.run(read_card(args.source, settings, args.url))
    results = explain_all(card, args.expressions, settings)
    if args.json:
        for expression, result in zip(args.expressions, results, strict=True):
            print(json.dumps(_row(expression, result), ensure_ascii=False))
        return 0
    width = max(len(e) for e in args.expressions)
    status = 0
    for expression, result in zip(args.expressions, results, strict=True):
        if isinstance(result, TopicError):
            print(f"{expression:<{width}}  invalid: {result.user_message}")
            print(f"newsbot match: invalid expression {expression!r}: {result.user_message}",
                  file=sys.stderr)
            status = 2
            continue
        mark = "MATCH" if result.matched else "no   "
        why = "; ".join(f"{h.term} ({h.describe()})" for h in result.terms) or "-"
        line = f"{expression:<{width}}  {mark}  score {result.score:5.1f}  {why}"
        if result.excluded_by:
            line += "  excluded by: " + ", ".join(h.term for h in result.excluded_by)
        print(line)
    return status
