"""The bot's HTTP side: ``POST /v1/links``, ``GET /healthz`` and ``GET /metrics`` (aiohttp).

``build_app`` returns a plain ``web.Application`` so that other parts (the Slack adapter's
``/slack/events``) can add routes to the same server before it starts.

Body sizes are limited per route: the application's own limit (``MAX_BODY``) is what
``/v1/links`` needs, and a route that must accept more (Slack's, whose button presses carry
the whole App Home view) reads its body through ``read_body`` with its own limit.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr
from redis.exceptions import RedisError

from bot.errors import BacklogFullError, ConfigError, NewsbotError
from bot.metrics import Metrics
from bot.pipeline import Ingest

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
"""The largest body ``/v1/links`` (and any route without a limit of its own) accepts."""

#: seconds a client is asked to wait when Redis does not answer
REDIS_RETRY_AFTER_S = 5

Health = Callable[[], Awaitable[dict[str, Any]]]
Refresh = Callable[[], Awaitable[None]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes | None:
    """The whole body however many segments it arrives in, or None when over ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        return None
    try:
        return await request.clone(client_max_size=limit).read()
    except web.HTTPRequestEntityTooLarge:
        return None


def parse_json(raw: bytes) -> Any:
    """JSON from a request body; ValueError for anything else (deep nesting included)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class _Handlers:
    """The route handlers, holding their dependencies."""

    def __init__(
        self,
        ingest: Ingest,
        metrics: Metrics,
        health: Health,
        refresh: Refresh | None,
        token: SecretStr | None,
    ) -> None:
        self.ingest = ingest
        self.metrics = metrics
        self.health = health
        self.refresh = refresh
        self.token = token

    def _authorised(self, request: web.Request) -> bool:
        if self.token is None:
            return False
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        expected = self.token.get_secret_value().encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)

    async def links(self, request: web.Request) -> web.Response:
        """``POST /v1/links`` ``{"url": ..., "tenant": ...}`` → 202 ``{"job": id}``."""
        if self.token is None:
            return _error(404, "ingest is off: set NEWSBOT_INGEST_TOKEN")
        if not self._authorised(request):
            return web.json_response(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        raw = await read_body(request)
        if raw is None:
            return _error(413, f"body too large (at most {MAX_BODY} bytes)")
        try:
            data = parse_json(raw)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "body must be JSON: {\"url\": ..., \"tenant\": ...}")
        if not isinstance(data, dict):
            return _error(400, "body must be a JSON object")
        url, tenant = data.get("url"), data.get("tenant")
        if not isinstance(url, str) or not url.strip():
            return _error(400, "\"url\" must be a string")
        if tenant is not None and (not isinstance(tenant, str) or not tenant.strip()):
            return _error(400, "\"tenant\" must be a non-empty string when given")
        try:
            job = await self.ingest.submit(url, tenant, origin="http")
        except BacklogFullError as exc:
            response = _error(503, exc.user_message)
            response.headers["Retry-After"] = "60"
            return response
        except NewsbotError as exc:
            return _error(400, exc.user_message)
        except (RedisError, OSError) as exc:
            # An outage is the server's state, not the request's fault: say when to retry.
            log.warning("ingest refused a link: Redis is unavailable (%s)", exc)
            response = _error(503, "the link queue is unavailable; try again shortly")
            response.headers["Retry-After"] = str(REDIS_RETRY_AFTER_S)
            return response
        return web.json_response({"job": job}, status=202)

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when Redis answers and every adapter is connected, else 503."""
        report = await self.health()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        """The metrics in the Prometheus text format."""
        if self.refresh is not None:
            await self.refresh()
        body = self.metrics.render()
        content_type, _, charset = CONTENT_TYPE_LATEST.partition("; charset=")
        return web.Response(body=body, content_type=content_type, charset=charset or "utf-8")


def build_app(
    *,
    ingest: Ingest,
    metrics: Metrics,
    health: Health,
    refresh: Refresh | None = None,
    token: SecretStr | None = None,
) -> web.Application:
    """The application with the three routes; add more routes before starting it."""
    handlers = _Handlers(ingest, metrics, health, refresh, token)
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/v1/links", handlers.links)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/metrics", handlers.metrics_page)
    return app


class HttpServer:
    """Runs an application on ``host:port`` (port 0 picks a free one; see ``port``)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Bind and serve; returns the bound port."""
        # A request still open at shutdown gets a second, not aiohttp's default minute:
        # SIGTERM must stop the bot within 5 s.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.requested_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"can't listen on {self.host}:{self.requested_port} ({exc.strerror or exc}); "
                "set NEWSBOT_HTTP_PORT (0 picks a free port)"
            ) from None
        self._runner = runner
        server: Any = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.requested_port
        log.info("HTTP server listening on %s:%d", self.host, self.port)
        return self.port

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
