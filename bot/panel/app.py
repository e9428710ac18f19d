"""The panel's pages, mounted under ``/admin`` on the bot's own HTTP server.

Every page needs a session; every form posts its session's CSRF token. Actions call the
same core functions as the chat commands (``SubscriptionStore``, ``FeedManager``, the
topic grammar, the matcher) with the session's tenant, never a tenant from the form.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import aiohttp_jinja2
import jinja2
import redis.asyncio as aioredis
from aiohttp import web
from markupsafe import Markup

from bot.card import Card
from bot.chat.contract import MODES, Destination, Mode, Subscription
from bot.errors import NewsbotError, TopicError
from bot.feeds import FeedManager, FeedPreview
from bot.subscriptions import DestinationMatch, Explanation, MatchIndex, SubscriptionStore

from . import data
from .auth import (
    COOKIE,
    FLASH_COOKIE,
    FLASH_TTL_S,
    Grant,
    LoginTokens,
    OpenSessions,
    Session,
    Sessions,
)
from .opml import OpmlError, OpmlFeed, export_opml, parse_opml

log = logging.getLogger(__name__)

PREFIX = "/admin"
PREVIEW_ITEMS = 5
PREVIEW_CARDS = 3
PREVIEW_CARD_TIMEOUT_S = 8.0
IMPORT_CONCURRENCY = 4
MAX_FORM_BYTES = 1_100_000
_DURATIONS = {"1h": 3600, "8h": 8 * 3600, "24h": 86400, "1w": 7 * 86400}

Health = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class PanelDeps:
    """What the panel uses of the running bot."""

    redis: aioredis.Redis
    subscriptions: SubscriptionStore
    feeds: FeedManager
    summarize: Callable[[str], Awaitable[Card]]
    match: Callable[[Card], Sequence[DestinationMatch]]
    health: Health
    secret: str
    secure_cookie: bool = False
    min_body_mentions: int = 2
    delivery_shards: int = 1
    clock: Callable[[], float] = field(default=time.time)


def _when(ts: float | None) -> str:
    if not ts:
        return "–"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ago(ts: float | None, now: float) -> str:
    if not ts:
        return "never"
    delta = now - ts
    future = delta < 0
    delta = abs(delta)
    if delta < 90:
        text = f"{int(delta)} s"
    elif delta < 5400:
        text = f"{int(delta // 60)} min"
    elif delta < 2 * 86400:
        text = f"{delta / 3600:.1f} h"
    else:
        text = f"{int(delta // 86400)} d"
    return f"in {text}" if future else f"{text} ago"


@web.middleware
async def _headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """No caching, no framing, no referrer (a sign-in link must not leak), own assets only."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    except Exception:
        log.exception("panel page %s failed", request.path)
        response = web.Response(
            status=500, content_type="text/html", charset="utf-8",
            text="<!doctype html><title>Error</title><p>Something went wrong on this page; "
                 "it is in the bot's log. Go back and try again.</p>")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
    return response


Handler = Callable[["Panel", web.Request, Session], Awaitable[web.StreamResponse]]


def page(handler: Handler) -> Callable[[Panel, web.Request], Awaitable[web.StreamResponse]]:
    """A handler that needs a session (and, for POST, the session's CSRF token)."""

    async def wrapped(self: Panel, request: web.Request) -> web.StreamResponse:
        session = self.sessions.read(request.cookies.get(COOKIE))
        if session is not None and not await self.open_sessions.alive(session):
            session = None  # signed out (or the data was reset)
        if session is None:
            return self.message(request, 401, "Please sign in",
                                "Type /news dashboard in your workspace (managers only): "
                                "the bot answers with a sign-in link for you alone.")
        if request.method == "POST":
            # The server's default body cap suits /v1/links; an OPML file may be larger.
            request = request.clone(client_max_size=MAX_FORM_BYTES)
            form = await request.post()
            if not self.sessions.csrf_ok(session, cast(str | None, form.get("_csrf"))):
                return self.message(request, 403, "Refused",
                                    "This form was missing its security token (CSRF). "
                                    "Reload the page and try again.", session)
        return await handler(self, request, session)

    return wrapped


class Panel:
    """The panel's routes and what they call."""

    def __init__(self, deps: PanelDeps) -> None:
        self.deps = deps
        self.tokens = LoginTokens(deps.redis)
        self.sessions = Sessions(deps.secret)
        self.open_sessions = OpenSessions(deps.redis)

    # --- building ------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The sub-application to mount at ``/admin``."""
        app = web.Application(middlewares=[_headers])
        templates = files("bot.panel").joinpath("templates")
        aiohttp_jinja2.setup(
            app, loader=jinja2.FileSystemLoader(str(templates)),
            autoescape=jinja2.select_autoescape(default=True),
        )
        env = aiohttp_jinja2.get_env(app)
        env.filters["when"] = _when
        static = Path(str(files("bot.panel").joinpath("static")))
        r = app.router
        r.add_get("/", self.overview)
        r.add_get("/login", self.login_page)
        r.add_post("/login", self.login)
        r.add_post("/logout", self.logout)
        r.add_get("/subscriptions", self.subscriptions)
        r.add_post("/subscriptions/add", self.subscription_add)
        r.add_post("/subscriptions/remove", self.subscription_remove)
        r.add_post("/subscriptions/mute", self.subscription_mute)
        r.add_post("/subscriptions/unmute", self.subscription_unmute)
        r.add_get("/feeds", self.feeds)
        r.add_post("/feeds/preview", self.feed_preview)
        r.add_post("/feeds/add", self.feed_add)
        r.add_post("/feeds/remove", self.feed_remove)
        r.add_post("/feeds/pause", self.feed_pause)
        r.add_post("/feeds/resume", self.feed_resume)
        r.add_get("/feeds/export.opml", self.feed_export)
        r.add_post("/feeds/import", self.feed_import)
        r.add_get("/deliveries", self.deliveries)
        r.add_post("/deliveries/retry", self.retry)
        r.add_get("/try", self.try_page)
        r.add_post("/try", self.try_link)
        r.add_static("/static", static)
        return app

    def mount(self, root: web.Application) -> None:
        """Mount the panel under ``/admin`` of the bot's server."""

        async def to_panel(request: web.Request) -> web.Response:
            return web.Response(status=308, headers={"Location": f"{PREFIX}/"})

        root.router.add_get(PREFIX, to_panel)  # before the sub-app, which would take it
        root.add_subapp(PREFIX, self.app())

    async def login_link(self, base_url: str, grant: Grant) -> str:
        """A one-time sign-in link for ``grant`` (what ``/news dashboard`` answers)."""
        token = await self.tokens.issue(grant)
        return f"{base_url.rstrip('/')}{PREFIX}/login?t={token}"

    # --- rendering -----------------------------------------------------------------------

    def render(
        self, request: web.Request, name: str, session: Session | None,
        context: dict[str, Any], status: int = 200,
    ) -> web.Response:
        """A page with the layout's context (workspace, CSRF token, navigation)."""
        base = {
            "prefix": PREFIX, "session": session, "now": self.deps.clock(),
            "csrf": self.sessions.csrf_token(session) if session is not None else "",
            "tenant": session.grant.tenant if session is not None else "",
            "path": request.path, "notice": "", "error": "",
        }
        base.update(context)
        flash = request.cookies.get(FLASH_COOKIE)
        if flash and request.method == "GET" and not base["notice"]:
            base["notice"] = self.sessions.read_flash(flash)
        response = aiohttp_jinja2.render_template(name, request, base, status=status)
        if flash and request.method == "GET":
            response.del_cookie(FLASH_COOKIE, path=PREFIX)
        return response

    def done(self, page: str, notice: str) -> web.Response:
        """After an action: back to ``page`` with a notice (a reload does not repeat it)."""
        response = web.Response(status=303, headers={"Location": f"{PREFIX}{page}"})
        response.set_cookie(FLASH_COOKIE, self.sessions.flash(notice), max_age=FLASH_TTL_S,
                            path=PREFIX, httponly=True, samesite="Strict",
                            secure=self.deps.secure_cookie)
        return response

    def message(
        self, request: web.Request, status: int, title: str, text: str,
        session: Session | None = None,
    ) -> web.Response:
        """A page that only says something (refusals, expired links)."""
        return self.render(request, "message.html", session,
                           {"title": title, "text": text}, status)

    # --- sign-in -------------------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        """The link from chat: a button that uses it (link previewers only GET)."""
        token = request.query.get("t", "")
        grant = await self.tokens.peek(token)
        if grant is None:
            return self._bad_link(request)
        return self.render(request, "login.html", None, {"token": token, "grant": grant})

    def _bad_link(self, request: web.Request) -> web.Response:
        return self.message(
            request, 410, "This sign-in link can't be used",
            "It has expired (links last 10 minutes), was already used (each works once), "
            "or is not a link the bot made. Type /news dashboard for a new one.")

    async def login(self, request: web.Request) -> web.StreamResponse:
        """Use the link up and open a session."""
        form = await request.post()
        grant = await self.tokens.take(str(form.get("t", "")))
        if grant is None:
            return self._bad_link(request)
        session, cookie = self.sessions.open(grant)
        await self.open_sessions.add(session)
        response = web.Response(status=303, headers={"Location": f"{PREFIX}/"})
        response.set_cookie(COOKIE, cookie, max_age=self.sessions.max_age_s, path=PREFIX,
                            httponly=True, samesite="Strict", secure=self.deps.secure_cookie)
        log.info("panel session opened", extra={"tenant": grant.tenant})
        return response

    @page
    async def logout(self, request: web.Request, session: Session) -> web.StreamResponse:
        """End the session (the cookie goes)."""
        response = self.message(request, 200, "Signed out",
                                "Type /news dashboard for a new sign-in link.")
        await self.open_sessions.end(session)
        response.del_cookie(COOKIE, path=PREFIX)
        return response

    # --- overview ------------------------------------------------------------------------

    @page
    async def overview(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Counts, posts per channel in 24 h, queues, dead letters, connections."""
        tenant = session.grant.tenant
        deps = self.deps
        n_subs = await deps.subscriptions.count(tenant)
        feeds = await self._tenant_feeds(tenant)
        per_dest = await data.posts_per_destination(deps.redis, tenant, now=deps.clock())
        queues = await data.queue_depths(deps.redis, tenant.partition(":")[0],
                                         deps.delivery_shards)
        dead = await data.dead_letters(deps.redis, tenant)
        health = await deps.health()
        return self.render(request, "overview.html", session, {
            "n_subs": n_subs, "n_feeds": sum(len(f["feeds"]) for f in feeds),
            "per_dest": sorted(per_dest.items(), key=lambda kv: -kv[1]),
            "queues": queues, "n_dead": sum(1 for d in dead if not d.retried),
            "adapters": health.get("adapters", {}), "redis_ok": health.get("redis", False),
        })

    # --- subscriptions -------------------------------------------------------------------

    async def _subscriptions_page(
        self, request: web.Request, session: Session, *, notice: str = "",
        error: str = "", form: dict[str, str] | None = None, status: int = 200,
    ) -> web.Response:
        tenant = session.grant.tenant
        subs = await self.deps.subscriptions.tenant_subscriptions(tenant)
        by_dest: dict[str, list[Subscription]] = {}
        by_user: dict[str, list[Subscription]] = {}
        for sub in subs:
            by_dest.setdefault(sub.destination.key, []).append(sub)
            by_user.setdefault(sub.owner, []).append(sub)
        channels = sorted({k.partition(":")[2] for k in by_dest if k.startswith("channel:")}
                          | {d.id for d in await self.deps.feeds.channels(tenant)})
        by = "user" if request.query.get("by") == "user" else "channel"
        options = Markup("".join(f"<option>{d}</option>" for d in _DURATIONS))
        return self.render(request, "subscriptions.html", session, {
            "groups": sorted((by_user if by == "user" else by_dest).items()), "by": by,
            "duration_options": options,
            # Markup: written once, not escaped again on each of a thousand rows.
            "act": Markup(f"{PREFIX}/subscriptions/"),
            "hidden": Markup('<input type="hidden" name="_csrf" value="{}">').format(
                self.sessions.csrf_token(session)),
            "channels": channels, "modes": MODES, "durations": list(_DURATIONS),
            "notice": notice, "error": error, "form": form or {}, "n": len(subs),
        }, status)

    @page
    async def subscriptions(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Subscriptions by channel and by user, with the add form."""
        return await self._subscriptions_page(request, session)

    @page
    async def subscription_add(
        self, request: web.Request, session: Session
    ) -> web.StreamResponse:
        """Subscribe a channel (or the admin's DMs) to a topic: the store's own ``add``."""
        form = await request.post()
        values = {k: str(form.get(k, "")).strip() for k in ("topic", "channel", "mode")}
        grant = session.grant
        mode: Mode = "instant"
        for known in MODES:
            if values["mode"] == known:
                mode = known
        channel = values["channel"].lstrip("#")
        destination = (Destination(grant.tenant, "channel", channel) if channel
                       else Destination(grant.tenant, "dm", grant.user))
        try:
            sub = await self.deps.subscriptions.add(
                grant.tenant, grant.user, destination, values["topic"], mode,
                now=self.deps.clock())
        except NewsbotError as exc:
            return await self._subscriptions_page(
                request, session, error=exc.user_message, form=values, status=422)
        where = f"channel {channel}" if channel else "your DMs"
        return self.done("/subscriptions",
                         f"Subscribed {where} to “{sub.expression}” (#{sub.id}).")

    async def _own_sub(self, session: Session, sub_id: str) -> Subscription | None:
        return await self.deps.subscriptions.get(session.grant.tenant, sub_id.lstrip("#"))

    @page
    async def subscription_remove(
        self, request: web.Request, session: Session
    ) -> web.StreamResponse:
        """Remove one subscription of the workspace."""
        form = await request.post()
        sub = await self._own_sub(session, str(form.get("id", "")))
        if sub is None:
            return await self._subscriptions_page(
                request, session, error="No such subscription here.", status=404)
        await self.deps.subscriptions.remove_ids(session.grant.tenant, [sub.id])
        return self.done("/subscriptions", f"Removed “{sub.expression}” (#{sub.id}).")

    @page
    async def subscription_mute(
        self, request: web.Request, session: Session
    ) -> web.StreamResponse:
        """Mute one subscription for a while."""
        form = await request.post()
        sub = await self._own_sub(session, str(form.get("id", "")))
        seconds = _DURATIONS.get(str(form.get("duration", "")), 0)
        if sub is None or not seconds:
            return await self._subscriptions_page(
                request, session, error="No such subscription here.", status=404)
        until = self.deps.clock() + seconds
        await self.deps.subscriptions.mute(sub.tenant, sub.owner, sub.id, until)
        return self.done("/subscriptions", f"Muted “{sub.expression}” until {_when(until)}.")

    @page
    async def subscription_unmute(
        self, request: web.Request, session: Session
    ) -> web.StreamResponse:
        """Lift a mute."""
        form = await request.post()
        sub = await self._own_sub(session, str(form.get("id", "")))
        if sub is None:
            return await self._subscriptions_page(
                request, session, error="No such subscription here.", status=404)
        await self.deps.subscriptions.unmute(sub.tenant, sub.owner, sub.id)
        return self.done("/subscriptions", f"Unmuted “{sub.expression}”.")

    # --- feeds ---------------------------------------------------------------------------

    async def _tenant_feeds(self, tenant: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for channel in await self.deps.feeds.channels(tenant):
            if channel.kind != "channel":
                continue
            records = await self.deps.feeds.list(channel)
            paused = await self.deps.feeds.paused(channel)
            if records or paused:
                out.append({"channel": channel.id, "feeds": records,
                            "paused": sorted(paused.items())})
        return out

    async def _feeds_page(
        self, request: web.Request, session: Session, *, notice: str = "", error: str = "",
        preview: FeedPreview | None = None, cards: Sequence[Card | None] = (),
        form: dict[str, str] | None = None, status: int = 200,
    ) -> web.Response:
        groups = await self._tenant_feeds(session.grant.tenant)
        return self.render(request, "feeds.html", session, {
            "groups": groups, "notice": notice, "error": error, "preview": preview,
            "cards": list(cards), "form": form or {},
            "items": preview.items[:PREVIEW_ITEMS] if preview else (),
            "ago": lambda ts: _ago(ts, self.deps.clock()),
        }, status)

    @page
    async def feeds(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Every feed of the workspace by channel, with its polling state."""
        return await self._feeds_page(request, session)

    async def _feed_form(
        self, request: web.Request, session: Session
    ) -> tuple[Destination | None, str, dict[str, str]]:
        form = await request.post()
        values = {k: str(form.get(k, "")).strip() for k in ("channel", "url")}
        channel = values["channel"].lstrip("#")
        dest = Destination(session.grant.tenant, "channel", channel) if channel else None
        return dest, values["url"], values

    async def _card(self, url: str | None) -> Card | None:
        if not url:
            return None
        try:
            async with asyncio.timeout(PREVIEW_CARD_TIMEOUT_S):
                return await self.deps.summarize(url)
        except (NewsbotError, TimeoutError):
            return None

    @page
    async def feed_preview(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Read the feed without adding it; its newest articles as cards."""
        dest, url, values = await self._feed_form(request, session)
        if dest is None:
            return await self._feeds_page(request, session, form=values, status=422,
                                          error="Say which channel the feed is for.")
        try:
            preview = await self.deps.feeds.preview(url)
        except NewsbotError as exc:
            return await self._feeds_page(request, session, error=exc.user_message,
                                          form=values, status=422)
        links = [item.link for item in preview.items[:PREVIEW_CARDS]]
        cards = await asyncio.gather(*(self._card(link) for link in links))
        values["url"] = preview.url
        return await self._feeds_page(request, session, preview=preview, cards=cards,
                                      form=values)

    @page
    async def feed_add(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Add a feed to a channel: ``FeedManager.add``, as ``feed add`` does."""
        dest, url, values = await self._feed_form(request, session)
        if dest is None:
            return await self._feeds_page(request, session, form=values, status=422,
                                          error="Say which channel the feed is for.")
        try:
            done = await self.deps.feeds.add(dest, url)
        except NewsbotError as exc:
            return await self._feeds_page(request, session, error=exc.user_message,
                                          form=values, status=422)
        name = done.record.title or done.record.url
        text = {"already": f"Channel {dest.id} already has “{name}”.",
                "enabled": f"Turned “{name}” back on in channel {dest.id}."}.get(
                    done.status, f"Added “{name}” to channel {dest.id}.")
        return self.done("/feeds", text)

    @page
    async def feed_remove(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Stop a feed in a channel for good (a paused one is forgotten)."""
        dest, url, _ = await self._feed_form(request, session)
        if dest is None:
            return await self._feeds_page(request, session, error="No such feed.", status=404)
        removed = await self.deps.feeds.remove(dest, url)
        forgotten = await self.deps.feeds.forget_paused(dest, url)
        if removed is None and not forgotten:
            return await self._feeds_page(request, session, error="No such feed.", status=404)
        return self.done("/feeds", f"Removed {url} from channel {dest.id}.")

    @page
    async def feed_pause(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Stop posting a feed in a channel, keeping it listed there."""
        dest, url, _ = await self._feed_form(request, session)
        record = await self.deps.feeds.pause(dest, url) if dest is not None else None
        if record is None or dest is None:
            return await self._feeds_page(request, session, error="No such feed.", status=404)
        return self.done("/feeds", f"Paused {record.url} in channel {dest.id}.")

    @page
    async def feed_resume(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Post a paused feed again."""
        dest, url, _ = await self._feed_form(request, session)
        try:
            done = await self.deps.feeds.resume(dest, url) if dest is not None else None
        except NewsbotError as exc:
            return await self._feeds_page(request, session, error=exc.user_message,
                                          status=422)
        if done is None or dest is None:
            return await self._feeds_page(request, session, error="No such feed.", status=404)
        return self.done("/feeds", f"Resumed {done.record.url} in channel {dest.id}.")

    @page
    async def feed_export(self, request: web.Request, session: Session) -> web.StreamResponse:
        """The workspace's feeds as OPML, one group per channel."""
        feeds: list[OpmlFeed] = []
        for group in await self._tenant_feeds(session.grant.tenant):
            group_name = f"#{group['channel']}"
            feeds.extend(OpmlFeed(r.url, r.title, group_name) for r in group["feeds"])
            feeds.extend(OpmlFeed(url, title, group_name) for url, title in group["paused"])
        body = export_opml(f"newsbot feeds of {session.grant.tenant}", feeds)
        return web.Response(body=body, content_type="text/x-opml", charset="utf-8", headers={
            "Content-Disposition": 'attachment; filename="newsbot-feeds.opml"'})

    @page
    async def feed_import(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Add every feed of an OPML file to one channel (each read as ``feed add`` does)."""
        form = await request.post()
        channel = str(form.get("channel", "")).strip().lstrip("#")
        upload = form.get("file")
        if not channel or not isinstance(upload, web.FileField):
            return await self._feeds_page(request, session, status=422,
                                          error="Choose an OPML file and a channel.")
        try:
            listed = parse_opml(upload.file.read())
        except OpmlError as exc:
            return await self._feeds_page(request, session, error=exc.user_message,
                                          status=422)
        dest = Destination(session.grant.tenant, "channel", channel)
        limit = asyncio.Semaphore(IMPORT_CONCURRENCY)

        async def one(feed: OpmlFeed) -> str | None:
            async with limit:
                try:
                    await self.deps.feeds.add(dest, feed.url)
                    return None
                except NewsbotError as exc:
                    return f"{feed.url}: {exc.user_message}"

        failures = [f for f in await asyncio.gather(*(one(f) for f in listed)) if f]
        added = len(listed) - len(failures)
        notice = f"Imported {added} of {len(listed)} feeds into channel {channel}."
        if not failures:
            return self.done("/feeds", notice)
        return await self._feeds_page(request, session, notice=notice,
                                      error="; ".join(failures))

    # --- deliveries ----------------------------------------------------------------------

    async def _deliveries_page(
        self, request: web.Request, session: Session, *, notice: str = "", error: str = "",
        status: int = 200,
    ) -> web.Response:
        tenant = session.grant.tenant
        posts = await data.recent_posts(self.deps.redis, tenant)
        dead = await data.dead_letters(self.deps.redis, tenant)
        return self.render(request, "deliveries.html", session, {
            "posts": posts, "dead": dead, "notice": notice, "error": error}, status)

    @page
    async def deliveries(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Recent posts and dead letters."""
        return await self._deliveries_page(request, session)

    @page
    async def retry(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Requeue one dead letter, once."""
        form = await request.post()
        entry_id = str(form.get("id", ""))
        status = await data.retry_dead_letter(self.deps.redis, session.grant.tenant, entry_id)
        if status == "requeued":
            log.info("dead letter %s requeued from the panel", entry_id,
                     extra={"tenant": session.grant.tenant})
            return self.done("/deliveries", "Requeued: it will be tried again.")
        if status == "already":
            return await self._deliveries_page(request, session, status=409,
                                               error="That one was already retried.")
        return await self._deliveries_page(request, session, status=404,
                                           error="No such dead letter here.")

    # --- try a link ----------------------------------------------------------------------

    @page
    async def try_page(self, request: web.Request, session: Session) -> web.StreamResponse:
        """The form."""
        return self.render(request, "try.html", session,
                           {"form": {}, "card": None, "matches": [], "explained": None})

    @page
    async def try_link(self, request: web.Request, session: Session) -> web.StreamResponse:
        """A link's card and which of this workspace's subscriptions it would match, why."""
        form = await request.post()
        values = {k: str(form.get(k, "")).strip() for k in ("url", "expression")}
        context: dict[str, Any] = {"form": values, "card": None, "matches": [],
                                   "explained": None}
        try:
            card = await self.deps.summarize(values["url"])
        except NewsbotError as exc:
            context["error"] = exc.user_message
            return self.render(request, "try.html", session, context, 422)
        context["card"] = card
        tenant = session.grant.tenant
        context["matches"] = [m for m in self.deps.match(card)
                              if m.destination.tenant == tenant]
        if values["expression"]:
            try:
                index = MatchIndex(self.deps.min_body_mentions)
                explained: Explanation | None = index.explain(card, values["expression"])
                context["explained"] = explained
            except TopicError as exc:
                context["error"] = exc.user_message
        return self.render(request, "try.html", session, context)
