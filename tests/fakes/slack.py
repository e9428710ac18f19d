"""A local fake of Slack for tests: the Web API, response URLs and the Socket Mode websocket.

It listens on 127.0.0.1 only, records every call, and can be told to answer a method with
an error (``channel_not_found``) or a 429 with ``Retry-After``. Messages posted are kept per
channel (``posted``), with Slack-like ``ts`` and their metadata, and ``conversations.history``
answers from them. Requests into the bot are signed exactly as Slack signs them (``sign``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from .base import LocalServer

BOT_TOKEN = "xoxb-test-bot-token-0000"
APP_TOKEN = "xapp-test-app-token-0000"
SIGNING_SECRET = "test-signing-secret-5f2b"
TEAM = "T0TEAM"
BOT_USER = "UBOT"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class Scripted:
    """A canned answer for the next ``times`` calls of one method."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


class FakeSlack(LocalServer):
    """The fake server; ``start()`` it, point ``NEWSBOT_SLACK_API_URL`` at ``api_url``."""

    def __init__(self, *, admins: set[str] | None = None) -> None:
        super().__init__()
        self.admins: set[str] = admins if admins is not None else set()
        #: user groups, ``S…`` id -> (handle, member user ids), answered by usergroups.list
        self.usergroups: dict[str, tuple[str, list[str]]] = {}
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.scripted: dict[str, list[Scripted]] = {}
        #: calls of these methods are recorded on arrival, then answered once the event is set
        self.holds: dict[str, asyncio.Event] = {}
        #: messages created by chat.postMessage, per channel, oldest first
        self.posted: dict[str, list[dict[str, Any]]] = {}
        self._ws: web.WebSocketResponse | None = None
        self._ws_ready = asyncio.Event()
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_post("/response/{rid}", self._response)
        self.app.router.add_get("/ws", self._websocket)

    async def stop(self) -> None:
        """Close the websocket and the server."""
        if self._ws is not None:
            await self._ws.close()
        await super().stop()

    @property
    def api_url(self) -> str:
        """Base URL of the fake Web API."""
        return self.url("/api/")

    def response_url(self, name: str = "r1") -> str:
        """A response_url that records what the bot sends to it."""
        return self.url(f"/response/{name}")

    def script(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error or a 429."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 429 and error is None:
            error = "ratelimited"
        body = {"ok": False, "error": error or "internal_error"}
        self.scripted.setdefault(method, []).append(Scripted(status, body, headers, times))

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one Web API method."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, check: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait until ``check()`` is truthy (it is re-run after every recorded request)."""

        async def loop() -> Any:
            async with self._changed:
                while not (result := check()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(loop(), within)

    async def _record(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- handlers ---------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(await request.post())
        for name in ("blocks", "unfurls", "view", "attachments", "metadata"):
            value = params.get(name)
            if isinstance(value, str):
                params[name] = json.loads(value)
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        self.calls.append(Call(method, params, token))
        await self._record()
        if method == "chat.postMessage" and token == BOT_TOKEN and not self.scripted.get(method):
            # Slack has the message once it has the request, whatever becomes of the answer.
            self._keep(params)
        hold = self.holds.get(method)
        if hold is not None:
            await hold.wait()
        queue = self.scripted.get(method)
        if queue:
            canned = queue[0]
            canned.times -= 1
            if canned.times <= 0:
                queue.pop(0)
            return web.json_response(canned.body, status=canned.status, headers=canned.headers)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "team_id": TEAM, "user_id": BOT_USER, "bot_id": "BBOT"}
        if method == "users.info":
            user = str(params.get("user"))
            admin = user in self.admins
            return {"ok": True, "user": {"id": user, "is_admin": admin, "is_owner": False}}
        if method == "usergroups.list":
            with_users = str(params.get("include_users", "")).lower() in ("1", "true")
            return {"ok": True, "usergroups": [
                {"id": gid, "team_id": TEAM, "handle": handle,
                 **({"users": list(users)} if with_users else {})}
                for gid, (handle, users) in self.usergroups.items()]}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users"))}}
        if method == "chat.postMessage":
            kept = self.posted[str(params.get("channel"))][-1]
            return {"ok": True, "channel": params.get("channel"), "ts": kept["ts"]}
        if method == "conversations.history":
            return self._history(params)
        if method == "chat.update":
            return self._update(params)
        if method == "apps.connections.open":
            return {"ok": True, "url": f"{self.ws_base_url}/ws"}
        return {"ok": True}

    def _keep(self, params: dict[str, Any]) -> None:
        ts = f"{time.time():.6f}"[:-4] + f"{next(self._ts) % 10_000:04d}"  # unique, in order
        message = {"type": "message", "user": BOT_USER, "text": params.get("text"), "ts": ts,
                   "metadata": params.get("metadata"), "blocks": params.get("blocks")}
        self.posted.setdefault(str(params.get("channel")), []).append(message)

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        """``chat.update``: the message with that ``ts`` gets the new text and blocks."""
        channel, ts = str(params.get("channel")), str(params.get("ts"))
        for message in self.posted.get(channel, []):
            if message["ts"] == ts:
                message["text"] = params.get("text")
                message["blocks"] = params.get("blocks")
                message["edits"] = int(message.get("edits") or 0) + 1
                return {"ok": True, "channel": channel, "ts": ts, "text": params.get("text")}
        return {"ok": False, "error": "message_not_found"}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        oldest = float(params.get("oldest") or 0)
        metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [m for m in self.posted.get(str(params.get("channel")), [])
                 if float(m["ts"]) >= oldest]
        messages = [m if metadata else {k: v for k, v in m.items() if k != "metadata"}
                    for m in reversed(found)]
        return {"ok": True, "messages": messages, "has_more": False}

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["_rid"] = request.match_info["rid"]
        self.responses.append(body)
        await self._record()
        return web.Response(text="ok")

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"type": "hello", "num_connections": 1})
        self._ws_ready.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
                    await self._record()
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any], envelope_id: str) -> None:
        """Push one Socket Mode envelope (``slash_commands``, ``events_api`` …) to the bot."""
        await asyncio.wait_for(self._ws_ready.wait(), 5)
        assert self._ws is not None
        await self._ws.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
            }
        )


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack adds: ``v0=`` HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def command_body(text: str, *, user: str = "U1", channel: str = "C1", response_url: str) -> str:
    """A ``/news`` slash command as Slack form-encodes it."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/news",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def event_body(event: dict[str, Any]) -> str:
    """An Events API ``event_callback`` as JSON."""
    return json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": "Ev1",
            "event_time": int(time.time()),
            "event": event,
        }
    )


def action_payload(
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str | None = "C1",
    response_url: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for one button press (on a message, or in App Home)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0APP",
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"newsbot_sub_{value}",
                "value": value,
                "action_ts": "1.0",
            }
        ],
    }
    if channel is not None:
        payload["channel"] = {"id": channel}
        payload["container"] = {"type": "message", "channel_id": channel, "message_ts": "1.1"}
        payload["message"] = {"ts": "1.1", "text": "card"}
    else:
        payload["container"] = {"type": "view", "view_id": "V1"}
        payload["view"] = {"id": "V1", "type": "home"}
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def action_body(payload: dict[str, Any]) -> str:
    """Interactive payloads arrive form-encoded as ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)})
