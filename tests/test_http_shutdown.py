"""A request still open when the bot stops does not hold the shutdown for a minute."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from aiohttp import web

from bot.httpserver import HttpServer


async def test_an_open_request_delays_shutdown_by_at_most_about_a_second() -> None:
    started = asyncio.Event()

    answered = False

    async def slow(_: web.Request) -> web.Response:
        nonlocal answered
        started.set()
        await asyncio.sleep(60)
        answered = True
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/slow", slow)
    server = HttpServer(app, "127.0.0.1", 0)
    await server.start()
    async with aiohttp.ClientSession() as http:
        request = asyncio.ensure_future(http.get(server.url + "/slow"))
        await asyncio.wait_for(started.wait(), 5)
        # stop() ends while the request is still open (it would take 60 s); the ceiling
        # is generous so that a loaded machine cannot fail it.
        await asyncio.wait_for(server.stop(), 30)
        request.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
            await request
    assert not answered
