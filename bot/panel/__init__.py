"""The panel wing: a web control panel for workspace admins, signed in from chat.

Face: ``Panel`` (the ``/admin`` pages, mounted on the bot's own HTTP server, and the
one-time sign-in links ``/news dashboard`` answers with), ``PanelDeps`` (what it uses of
the running bot), ``Grant`` (who a link is for) and ``load_secret`` (the cookie-signing
secret). The panel sits at the top of the core: it calls the stores, the feed manager and
the matcher through their faces, and nothing imports it but the composition root.
"""

from .app import Panel, PanelDeps
from .auth import LOGIN_TTL_S, SESSION_TTL_S, Grant, LoginTokens, Sessions, load_secret
from .opml import OpmlError, OpmlFeed, export_opml, parse_opml

__all__ = [
    "LOGIN_TTL_S",
    "SESSION_TTL_S",
    "Grant",
    "LoginTokens",
    "OpmlError",
    "OpmlFeed",
    "Panel",
    "PanelDeps",
    "Sessions",
    "export_opml",
    "load_secret",
    "parse_opml",
]
