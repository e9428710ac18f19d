"""The one way a local fake listens: an aiohttp application on a free port of 127.0.0.1.

Built on the bot's own ``bot.httpserver.HttpServer`` (the same start-up, port discovery
and short shutdown the bot's HTTP side uses), so a fake only adds its routes.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web

from bot.httpserver import HttpServer

HOST = "127.0.0.1"


class LocalServer:
    """An aiohttp application on 127.0.0.1; subclasses add their routes to ``self.app``.

    ``port`` is 0 until ``start``; a test may set it by hand to build URLs without
    listening. ``async with Fake() as fake:`` starts and stops it.
    """

    def __init__(self, app: web.Application | None = None) -> None:
        self.app = app if app is not None else web.Application()
        self.port = 0
        self._server: HttpServer | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def ws_base_url(self) -> str:
        """``ws://127.0.0.1:PORT``, for websocket routes."""
        return f"ws://{HOST}:{self.port}"

    def url(self, path: str = "/") -> str:
        """Absolute URL of ``path`` (which starts with ``/``) on this server."""
        return self.base_url + path

    async def start(self) -> Self:
        """Listen on a free port; returns the server itself (``await Fake().start()``)."""
        server = HttpServer(self.app, HOST, 0)
        self.port = await server.start()
        self._server = server
        return self

    async def stop(self) -> None:
        """Stop listening (a fake with open websockets closes them first, then calls this)."""
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
