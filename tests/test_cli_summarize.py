"""``newsbot summarize``: sources, JSON lines, terminal cards and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli.summarize import summarize_all
from bot.errors import NewsbotError
from bot.settings import Settings
from tests.fakes import LocalServer

DATA = Path(__file__).parent / "data"
PAGES = Path(__file__).parent / "pages"
SEED = DATA / "seed_france24_putin_syria.txt"
KEYS = {
    "url", "canonical_url", "headline", "published", "updated", "site", "section", "authors",
    "language", "summary", "key_figures", "topics", "image", "body", "paywalled",
}


def newsbot(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console script entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args],
        input=stdin.decode() if stdin else None, capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).parent.parent,
    )


def test_json_lines_have_exactly_the_documented_keys() -> None:
    res = newsbot("summarize", "--json", str(SEED), str(PAGES / "jsonld_full_en.html"))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == KEYS
    assert first["headline"] == "Putin orders partial withdrawal of Russian troops in Syria"
    assert first["url"] is None
    assert set(json.loads(lines[1])) == KEYS


def test_url_option_and_stdin() -> None:
    url = "https://www.france24.com/en/20171211-putin-syria?utm_source=x"
    res = newsbot("summarize", "--json", "--url", url, "-", stdin=SEED.read_bytes())
    assert res.returncode == 0, res.stderr
    card = json.loads(res.stdout)
    assert card["url"] == url
    assert card["canonical_url"] == "https://www.france24.com/en/20171211-putin-syria"


def test_terminal_card_is_readable() -> None:
    res = newsbot("summarize", str(SEED))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Putin orders partial withdrawal of Russian troops in Syria" in out
    assert "aircraft being withdrawn" in out
    assert "Middle East" in out


def test_bad_sources_give_one_line_each_and_exit_1() -> None:
    res = newsbot("summarize", "--json", "missing.html", str(PAGES / "error_404.html"), str(SEED))
    assert res.returncode == 1
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 2
    assert "Can't read missing.html" in errors[0]
    assert "error page" in errors[1]
    # The good source is still summarised.
    assert json.loads(res.stdout)["section"] == "Middle East"


@pytest.fixture
async def page_server() -> AsyncIterator[str]:
    """A local server with the seed page as HTML and a PDF."""
    html = "<html><head><title>T</title></head><body><h1>Putin orders partial withdrawal of " \
           "Russian troops in Syria</h1>" + "".join(
               f"<p>{p}</p>" for p in SEED.read_text().split("\n\n")[40:60] if len(p) > 80)
    html += "</body></html>"

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    async def pdf(_: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.4", content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/article", page)
    app.router.add_get("/doc.pdf", pdf)
    server = await LocalServer(app).start()
    yield server.base_url
    await server.stop()


async def test_urls_are_fetched_and_errors_kept_per_source(page_server: str) -> None:
    settings = Settings(fetch_allow_hosts=["127.0.0.1"])
    results = await summarize_all(
        [f"{page_server}/article", f"{page_server}/doc.pdf"], settings
    )
    card, error = results
    assert not isinstance(card, NewsbotError)
    assert card.url == f"{page_server}/article"
    assert isinstance(error, NewsbotError)
    assert "not a web page" in error.user_message


async def test_private_addresses_are_refused_by_default(page_server: str) -> None:
    (result,) = await summarize_all([f"{page_server}/article"], Settings())
    assert isinstance(result, NewsbotError)
    assert "private or local address" in result.user_message


def test_explain_shows_which_candidate_won_each_field() -> None:
    page = PAGES / "headline_kicker_in_h1.html"
    res = newsbot("summarize", "--json", "--explain", str(page),
                  "--url", "https://www.seelaender-nachrichten.ch/schweiz/svp-parteitag")
    assert res.returncode == 0, res.stderr
    card = json.loads(res.stdout)
    assert set(card) == KEYS | {"explain"}
    why = card["explain"]
    assert why["headline"]["value"] == card["headline"]
    assert why["headline"]["won"] == "h1"
    assert {c["source"] for c in why["headline"]["candidates"]} >= {"og:title", "h1", "title"}
    assert why["published"]["won"] == "meta:article:published_time"
    assert why["body"]["path"] in ("fast", "unpruned", "slow", "recall")
    # On the terminal: one line per field after the card.
    res = newsbot("summarize", "--explain", str(page))
    assert res.returncode == 0, res.stderr
    assert "headline: 'Die Partei will eine Obergrenze in die Verfassung schreiben' from h1" in (
        res.stdout)
