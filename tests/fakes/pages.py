"""Article pages for tests: generated text (``story``, ``article_html``) and a server for it.

``PageServer`` serves ``pages[path]`` as text/html on 127.0.0.1 and counts hits per path.
"""

from __future__ import annotations

import html
import random

from aiohttp import web

from .base import LocalServer

WORDS = (
    "government minister talks border city council report economy market energy price "
    "water school hospital court election vote police army region river harbour bridge "
    "factory farmers union strike budget tax museum festival weather storm rail airport "
    "contract company shares bank inflation housing rent doctors nurses teachers science"
).split()


def story(seed: int, topic: str, paragraphs: int = 6) -> list[str]:
    """Deterministic article paragraphs about ``topic`` (mentioned in the lead)."""
    rng = random.Random(seed)
    out = []
    for p in range(paragraphs):
        words = [rng.choice(WORDS) for _ in range(rng.randint(28, 40))]
        if p < 2:
            words.insert(3, topic)
        sentence = " ".join(words)
        out.append(sentence[0].upper() + sentence[1:] + f" (ref {seed}-{p}).")
    return out


def article_html(
    headline: str, paragraphs: list[str], *, site: str = "Example News", chrome: int = 0,
    canonical: str | None = None,
) -> str:
    """An article page; ``chrome`` varies the navigation, sidebar and footer around it."""
    nav = " ".join(f'<a href="/s{chrome}-{i}">Section {chrome}-{i}</a>' for i in range(6))
    side = "".join(
        f"<li><a href='/o{chrome}{i}'>Other story {chrome}{i}</a></li>" for i in range(5)
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(headline)} | {html.escape(site)}</title>"
        f"<meta property='og:site_name' content='{html.escape(site)}'>{link}</head><body>"
        f"<header><nav>{nav}</nav></header><main><article><h1>{html.escape(headline)}</h1>"
        f"{body}</article></main><aside><h2>Most read</h2><ul>{side}</ul></aside>"
        f"<footer>© {html.escape(site)} {chrome} · Contact · Privacy</footer></body></html>"
    )


class PageServer(LocalServer):
    """Serves ``pages[path]`` as text/html on 127.0.0.1; counts hits per path."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, str] = {}
        self.hits: dict[str, int] = {}
        self.app.router.add_get("/{tail:.*}", self._page)

    async def _page(self, request: web.Request) -> web.Response:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        text = self.pages.get(path)
        if text is None:
            return web.Response(status=404, text="not found")
        return web.Response(text=text, content_type="text/html")
