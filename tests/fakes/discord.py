"""A local Discord for tests: REST routes and the gateway websocket, on 127.0.0.1.

The real discord.py talks to it over HTTP and a websocket. Shapes follow Discord's API
reference (v10): users, guilds, channels, messages, interactions, application commands.
Every request is recorded; tests wait for the ones they expect with ``wait_for``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .base import LocalServer

APP_ID = 111111111111111111
BOT_ID = APP_ID
GUILD_ID = 222222222222222222
CHANNEL_ID = 333333333333333333
OTHER_CHANNEL_ID = 333333333333333334
ADMIN_ID = 444444444444444441
MEMBER_ID = 444444444444444442
#: Manage Channels (1 << 4) with View Channel and Send Messages
MANAGER_PERMS = (1 << 4) | (1 << 10) | (1 << 11)
MEMBER_PERMS = (1 << 10) | (1 << 11)
TIMESTAMP = "2024-05-01T12:00:00.000000+00:00"

_snowflakes = itertools.count(1_200_000_000_000_000_000)


def snowflake() -> str:
    """A fresh id, as Discord gives them (a string)."""
    return str(next(_snowflakes))


def user_obj(user_id: int, *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id),
        "username": f"user{user_id % 1000}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


BOT_USER = {**user_obj(BOT_ID, bot=True), "username": "newsbot", "verified": True,
            "mfa_enabled": False}


def member_obj(user_id: int, perms: int) -> dict[str, Any]:
    """A guild member as it appears in an interaction (with ``permissions``)."""
    return {
        "user": user_obj(user_id),
        "roles": [],
        "joined_at": TIMESTAMP,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "communication_disabled_until": None,
        "permissions": str(perms),
    }


def channel_obj(channel_id: int, name: str = "news") -> dict[str, Any]:
    """A guild text channel."""
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(GUILD_ID),
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def guild_obj(guild_id: int = GUILD_ID) -> dict[str, Any]:
    """A GUILD_CREATE payload: the guild with its channels, roles and the bot as member."""
    return {
        "id": str(guild_id),
        "name": "Newsroom",
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(ADMIN_ID),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [{
            "id": str(guild_id), "name": "@everyone", "permissions": str(MEMBER_PERMS),
            "position": 0, "color": 0, "hoist": False, "managed": False,
            "mentionable": False, "flags": 0,
        }],
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "joined_at": TIMESTAMP,
        "large": False,
        "unavailable": False,
        "member_count": 3,
        "voice_states": [],
        "members": [{**member_obj(BOT_ID, MEMBER_PERMS), "user": BOT_USER}],
        "channels": [channel_obj(CHANNEL_ID), channel_obj(OTHER_CHANNEL_ID, "other")],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


APPLICATION = {
    "id": str(APP_ID),
    "name": "newsbot",
    "icon": None,
    "description": "",
    "bot_public": True,
    "bot_require_code_grant": False,
    "owner": user_obj(ADMIN_ID),
    "verify_key": "0" * 64,
    "flags": 0,
    "team": None,
}


@dataclass
class Recorded:
    """One REST request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 200


@dataclass
class Session:
    """A gateway session: its events (for RESUME) and the socket currently live."""

    id: str
    shard: tuple[int, int]
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


Failure = tuple[int, dict[str, Any], dict[str, str]]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares the Content-Type with exactly "application/json".
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeDiscord(LocalServer):
    """The fake: start it, point discord.py at ``api_base`` and ``gateway_url``."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self.sessions: list[Session] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.dm_channels: dict[str, str] = {}
        self.closed_dms: set[str] = set()
        #: webhooks by id (made through POST /channels/{id}/webhooks)
        self.webhooks: dict[str, dict[str, Any]] = {}
        #: channels where the bot lacks Manage Webhooks (their webhook routes answer 403)
        self.no_webhook_channels: set[str] = set()
        self.failures: dict[str, list[Failure]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._interaction_types: dict[str, int] = {}
        self._changed = asyncio.Event()
        self.app.router.add_get("/gateway", self._gateway)
        self.app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)

    # --- lifecycle ---------------------------------------------------------------------

    async def stop(self) -> None:
        """Close every gateway socket and stop listening."""
        for session in self.sessions:
            if session.ws is not None and not session.ws.closed:
                await session.ws.close()
        await super().stop()

    @property
    def api_base(self) -> str:
        """The REST base for ``NEWSBOT_DISCORD_API_BASE``."""
        return self.url("/api/v10")

    @property
    def gateway_url(self) -> str:
        """The gateway for ``NEWSBOT_DISCORD_GATEWAY_URL``."""
        return f"{self.ws_base_url}/gateway"

    # --- waiting -----------------------------------------------------------------------

    def _record(self, rec: Recorded) -> None:
        self.requests.append(rec)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[Recorded], bool], *, count: int = 1, within: float = 5.0
    ) -> list[Recorded]:
        """The first ``count`` recorded requests matching ``predicate``, waiting for them."""
        async with asyncio.timeout(within):
            while True:
                found = [r for r in self.requests if predicate(r)]
                if len(found) >= count:
                    return found[:count]
                self._changed.clear()
                await self._changed.wait()

    async def wait_until(self, check: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``check()`` is true (re-checked on every request and gateway frame)."""
        async with asyncio.timeout(within):
            while not check():
                self._changed.clear()
                await self._changed.wait()

    def callbacks(self, interaction_id: str) -> list[Recorded]:
        """Interaction callbacks (initial responses) for one interaction."""
        return [r for r in self.requests
                if r.path.startswith(f"/interactions/{interaction_id}/")]

    async def callback(self, interaction_id: str, within: float = 5.0) -> dict[str, Any]:
        """The body of the interaction's initial response."""
        (rec,) = await self.wait_for(
            lambda r: r.path.startswith(f"/interactions/{interaction_id}/"), within=within
        )
        body: dict[str, Any] = rec.body
        return body

    async def followup(self, token: str, within: float = 5.0) -> dict[str, Any]:
        """The body of the first follow-up message sent with an interaction's token."""
        (rec,) = await self.wait_for(
            lambda r: r.method == "POST" and r.path == f"/webhooks/{APP_ID}/{token}",
            within=within,
        )
        body: dict[str, Any] = rec.body
        return body

    # --- gateway -----------------------------------------------------------------------

    def _session_for(self, shard: int) -> Session:
        for session in reversed(self.sessions):
            if session.shard[0] == shard:
                return session
        raise AssertionError(f"no gateway session for shard {shard}")

    async def dispatch(self, event: str, data: dict[str, Any], *, shard: int = 0) -> int:
        """Send a dispatch (op 0) on the shard's session; kept for RESUME when not live."""
        session = self._session_for(shard)
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(frame)
        if session.ws is not None and not session.ws.closed:
            await session.ws.send_str(json.dumps(frame))
        return session.seq

    async def request_reconnect(self, *, shard: int = 0) -> None:
        """Send op 7 RECONNECT; events dispatched until the RESUME are queued."""
        session = self._session_for(shard)
        ws, session.ws = session.ws, None
        assert ws is not None
        await ws.send_str(json.dumps({"op": 7, "d": None}))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, d = frame.get("op"), frame.get("d")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                await self._identify(ws, d)
            elif op == 6:
                await self._resume(ws, d)
            self._changed.set()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        self.identifies.append(d)
        shard_id, shard_count = d.get("shard") or [0, 1]
        session = Session(f"session-{len(self.sessions) + 1}", (shard_id, shard_count), ws=ws)
        self.sessions.append(session)
        guild_ids = [GUILD_ID] if (GUILD_ID >> 22) % shard_count == shard_id else []
        await self.dispatch("READY", {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "shard": [shard_id, shard_count],
            "application": {"id": str(APP_ID), "flags": 0},
        }, shard=shard_id)
        for g in guild_ids:
            await self.dispatch("GUILD_CREATE", guild_obj(g), shard=shard_id)

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        self.resumes.append(d)
        session = next(s for s in self.sessions if s.id == d["session_id"])
        session.ws = ws
        for frame in session.events:
            if frame["s"] > d["seq"]:
                await ws.send_str(json.dumps(frame))
        await self.dispatch("RESUMED", {}, shard=session.shard[0])

    # --- REST --------------------------------------------------------------------------

    def fail_next(self, path: str, status: int, body: dict[str, Any],
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next request to ``path`` (e.g. ``/channels/1/messages``) with an error."""
        self.failures.setdefault(path, []).append((status, body, headers or {}))

    def message_obj(self, channel_id: str, body: dict[str, Any],
                    author: dict[str, Any] | None = None) -> dict[str, Any]:
        """A message object as Discord returns it for a create."""
        return {
            "id": snowflake(),
            "channel_id": channel_id,
            "author": author or BOT_USER,
            "content": body.get("content") or "",
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            "nonce": body.get("nonce"),
        }

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        rec = Recorded(request.method, path, dict(request.query), body)
        queued = self.failures.get(path)
        if queued:
            status, data, headers = queued.pop(0)
            rec.status = status
            self._record(rec)
            return _json(data, status, headers)
        response = self._route(request.method, path, body, rec)
        self._record(rec)
        return response

    def _route(self, method: str, path: str, body: Any, rec: Recorded) -> web.Response:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/users/@me":
            return _json(BOT_USER)
        if method == "GET" and path == "/oauth2/applications/@me":
            return _json(APPLICATION)
        if method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            guild = parts[3] if len(parts) == 5 else None
            out = []
            for cmd in body or []:
                out.append({
                    "id": snowflake(), "application_id": str(APP_ID), "version": "1",
                    "type": 1, "description": "", "options": [], "nsfw": False,
                    "default_member_permissions": None, **cmd,
                    **({"guild_id": guild} if guild else {}),
                })
            self.commands[guild or "global"] = out
            return _json(out)
        if method == "POST" and parts[0] == "interactions" and parts[-1] == "callback":
            return self._interaction_callback(parts[1], body)
        if parts[0] == "webhooks" and method == "PATCH" and parts[1] in self.webhooks \
                and len(parts) == 5 and parts[3] == "messages":
            return self._edit_webhook_message(parts[1], parts[2], parts[4], body or {}, rec)
        if parts[0] == "webhooks" and method == "POST" and parts[1] in self.webhooks:
            return self._execute_webhook(parts[1], parts[2], body or {}, rec)
        if parts[0] == "webhooks" and method in ("POST", "PATCH"):
            return _json(self.message_obj(str(CHANNEL_ID), body or {}))
        if parts[0] == "channels" and parts[-1] == "webhooks" and method in ("GET", "POST"):
            return self._channel_webhooks(method, parts[1], body or {}, rec)
        if method == "POST" and path == "/users/@me/channels":
            recipient = str(body["recipient_id"])
            channel_id = self.dm_channels.setdefault(recipient, snowflake())
            return _json({"id": channel_id, "type": 1, "last_message_id": None,
                          "recipients": [user_obj(int(recipient))]})
        if method == "POST" and parts[0] == "channels" and parts[-1] == "messages":
            return self._create_message(parts[1], body or {}, rec)
        if method == "PATCH" and parts[0] == "channels" and len(parts) == 4 \
                and parts[2] == "messages":
            return self._edit_message(parts[1], parts[3], body or {}, rec)
        rec.status = 404
        return _json({"message": "404: Not Found", "code": 0}, 404)

    def _create_message(self, channel_id: str, body: dict[str, Any], rec: Recorded) -> web.Response:
        known = {str(CHANNEL_ID), str(OTHER_CHANNEL_ID), *self.dm_channels.values()}
        if channel_id not in known:
            rec.status = 404
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        dm_user = next((u for u, c in self.dm_channels.items() if c == channel_id), None)
        if dm_user is not None and dm_user in self.closed_dms:
            rec.status = 403
            return _json({"message": "Cannot send messages to this user", "code": 50007}, 403)
        sent = self.messages.setdefault(channel_id, [])
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce:
            for old in sent:
                if old.get("nonce") == nonce:
                    return _json(old)  # Discord returns the earlier message
        message = self.message_obj(channel_id, body)
        sent.append(message)
        return _json(message)

    def _channel_webhooks(self, method: str, channel_id: str, body: dict[str, Any],
                          rec: Recorded) -> web.Response:
        """GET / POST ``/channels/{id}/webhooks``: 403 (50013) where the bot lacks Manage
        Webhooks (``no_webhook_channels``)."""
        if channel_id in self.no_webhook_channels:
            rec.status = 403
            return _json({"message": "Missing Permissions", "code": 50013}, 403)
        if method == "GET":
            return _json([h for h in self.webhooks.values() if h["channel_id"] == channel_id])
        hook_id = snowflake()
        hook: dict[str, Any] = {"id": hook_id, "type": 1, "guild_id": str(GUILD_ID),
                "channel_id": channel_id, "name": body.get("name") or "hook", "avatar": None,
                "token": f"hooktoken{snowflake()}", "application_id": str(APP_ID),
                "user": BOT_USER}
        self.webhooks[hook_id] = hook
        return _json(hook)

    def _execute_webhook(self, hook_id: str, token: str, body: dict[str, Any],
                         rec: Recorded) -> web.Response:
        """POST ``/webhooks/{id}/{token}``: the message lands in the webhook's channel,
        under the username and avatar it was sent with."""
        hook = self.webhooks[hook_id]
        if token != hook["token"]:
            rec.status = 401
            return _json({"message": "Invalid Webhook Token", "code": 50027}, 401)
        author = {**user_obj(int(hook_id), bot=True),
                  "username": body.get("username") or hook["name"],
                  "avatar": body.get("avatar_url")}
        message = {**self.message_obj(hook["channel_id"], body, author),
                   "webhook_id": hook_id, "allowed_mentions": body.get("allowed_mentions"),
                   "username": body.get("username"), "avatar_url": body.get("avatar_url")}
        self.messages.setdefault(hook["channel_id"], []).append(message)
        return _json(message)
    def _edit_webhook_message(self, hook_id: str, token: str, message_id: str,
                              body: dict[str, Any], rec: Recorded) -> web.Response:
        """``PATCH /webhooks/{id}/{token}/messages/{id}``: a message the webhook sent."""
        hook = self.webhooks[hook_id]
        if token != hook["token"]:
            rec.status = 401
            return _json({"message": "Invalid Webhook Token", "code": 50027}, 401)
        return self._edit_message(hook["channel_id"], message_id, body, rec, by_webhook=True)

    def _edit_message(self, channel_id: str, message_id: str, body: dict[str, Any],
                      rec: Recorded, *, by_webhook: bool = False) -> web.Response:
        """``PATCH /channels/{id}/messages/{id}``: the fields given replace the message's."""
        for message in self.messages.get(channel_id, []):
            if message["id"] == message_id:
                if message.get("webhook_id") and not by_webhook:
                    rec.status = 403  # as Discord: a webhook's message is the webhook's
                    return _json({"message": "Cannot edit a message authored by another "
                                  "user", "code": 50005}, 403)
                for name in ("content", "embeds", "components", "flags", "allowed_mentions"):
                    if name in body:
                        message[name] = body[name]
                message["edited_timestamp"] = TIMESTAMP
                message["edits"] = int(message.get("edits") or 0) + 1
                return _json(message)
        rec.status = 404
        return _json({"message": "Unknown Message", "code": 10008}, 404)

    def edits(self) -> list[Recorded]:
        """The message edits (PATCH) made, in order."""
        return [r for r in self.requests if r.method == "PATCH" and r.path.startswith(
            ("/channels/", "/webhooks/")) and "/messages/" in r.path
            and not r.path.startswith(f"/webhooks/{APP_ID}/")]

    def _interaction_callback(self, interaction_id: str, body: dict[str, Any]) -> web.Response:
        kind = body["type"]
        data = body.get("data") or {}
        interaction: dict[str, Any] = {
            "id": interaction_id,
            "type": self._interaction_types.get(interaction_id, 2),
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
        }
        out: dict[str, Any] = {"interaction": interaction}
        if kind in (4, 5):
            message = self.message_obj(str(CHANNEL_ID), data)
            interaction["response_message_id"] = message["id"]
            out["resource"] = {"type": kind, "message": message}
        return _json(out)

    # --- interactions ------------------------------------------------------------------

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE; returns the payload (for its id and token)."""
        self._interaction_types[payload["id"]] = payload["type"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload


def interaction_base(
    kind: int, data: dict[str, Any], *, user_id: int = ADMIN_ID, perms: int = MANAGER_PERMS,
    guild: bool = True, channel_id: int = CHANNEL_ID, locale: str = "en-US",
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload with every field discord.py reads."""
    payload: dict[str, Any] = {
        "id": snowflake(),
        "application_id": str(APP_ID),
        "type": kind,
        "data": data,
        "token": f"token-{snowflake()}",
        "version": 1,
        "locale": locale,
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(GUILD_ID)} if guild else {"1": str(user_id)},
        "attachment_size_limit": 10 * 1024 * 1024,
        "app_permissions": str(MEMBER_PERMS | (1 << 14)),
    }
    if guild:
        payload.update(
            guild_id=str(GUILD_ID),
            guild={"id": str(GUILD_ID), "locale": "en-US", "features": []},
            guild_locale="en-US",
            channel_id=str(channel_id),
            channel=channel_obj(channel_id),
            member=member_obj(user_id, perms),
            context=0,
        )
        data.setdefault("guild_id", str(GUILD_ID))
    else:
        dm_channel = {"id": str(channel_id), "type": 1, "last_message_id": None,
                      "recipients": [user_obj(user_id)], "flags": 0}
        payload.update(channel_id=str(channel_id), channel=dm_channel,
                       user=user_obj(user_id), context=1)
    return payload


def _option(name: str, value: Any, focused: bool = False) -> dict[str, Any]:
    kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
    opt: dict[str, Any] = {"type": kind, "name": name, "value": value}
    if focused:
        opt["focused"] = True
    return opt


def slash(
    path: str, options: dict[str, Any] | None = None, *, focused: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """``/news subscribe topic:syria`` → an APPLICATION_COMMAND (or AUTOCOMPLETE) payload.

    ``path`` is ``"subscribe"`` or ``"feed add"`` (below ``/news``).
    """
    opts = [_option(k, v, k == focused) for k, v in (options or {}).items()]
    names = path.split()
    if len(names) == 1:
        inner = [{"type": 1, "name": names[0], "options": opts}]
    else:
        inner = [{"type": 2, "name": names[0],
                  "options": [{"type": 1, "name": names[1], "options": opts}]}]
    data = {"id": snowflake(), "name": "news", "type": 1, "options": inner}
    return interaction_base(4 if focused else 2, data, **kw)


def message_command(message: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """The "Summarize link" message context-menu command on ``message``."""
    data = {"id": snowflake(), "name": "Summarize link", "type": 3,
            "target_id": message["id"], "resolved": {"messages": {message["id"]: message}}}
    return interaction_base(2, data, **kw)


def button_press(message: dict[str, Any], custom_id: str, **kw: Any) -> dict[str, Any]:
    """A press on a button of ``message`` (a MESSAGE_COMPONENT interaction)."""
    payload = interaction_base(3, {"custom_id": custom_id, "component_type": 2}, **kw)
    payload["message"] = message
    return payload
