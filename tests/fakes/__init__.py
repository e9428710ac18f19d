"""Local fakes at the network boundary, every one a ``LocalServer`` on 127.0.0.1.

* ``FakeDiscord`` (``tests.fakes.discord``): Discord's REST API and gateway websocket.
* ``FakeSlack`` (``tests.fakes.slack``): Slack's Web API, response URLs and Socket Mode.
* ``FakePlatform`` and its ``HttpAdapter`` (``tests.fakes.platform``): a generic chat
  platform with rate budgets, failures and nonce dedupe, for pipeline tests and benches.
* ``PageServer`` with ``story``/``article_html`` (``tests.fakes.pages``): article pages.
* ``FeedServer`` with ``Feed``/``Entry`` (``tests.fakes.feeds``): RSS, Atom and RSS 1.0.

The servers and page builders are re-exported here. Each platform's ids, tokens and
payload builders (``slash``, ``sign``, ``command_body`` ...) stay in its own module, since
both platforms have a ``BOT_USER``: import them from ``tests.fakes.discord`` or
``tests.fakes.slack``.
"""

from __future__ import annotations

from .base import LocalServer
from .discord import FakeDiscord
from .feeds import Entry, Feed, FeedServer
from .pages import PageServer, article_html, story
from .platform import FakePlatform, HttpAdapter
from .slack import FakeSlack

__all__ = [
    "Entry",
    "FakeDiscord",
    "FakePlatform",
    "FakeSlack",
    "Feed",
    "FeedServer",
    "HttpAdapter",
    "LocalServer",
    "PageServer",
    "article_html",
    "story",
]
