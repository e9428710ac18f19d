"""Bolt listeners: the ``/news`` command, card buttons, App Home and link unfurls.

Each listener acks first (Slack wants an answer within 3 s), then translates the payload
into a neutral ``Request``, calls the core and renders the ``Reply`` back as blocks.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat import CommandHandler, Reply, Request, parse_command

from . import blocks

log = logging.getLogger(__name__)

COMMAND = "/news"
#: commands after which the user's App Home is published again
CHANGES_SUBSCRIPTIONS = frozenset({"subscribe", "sub", "unsubscribe", "unsub", "mute", "unmute"})
MANAGER_CACHE_S = 300.0
MAX_UNFURLS = 5
_SLACK_LINK = re.compile(r"<((?:https?://)[^|>\s]+)(?:\|[^>]*)?>")
_SUB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: "/news subscribe x" typed into a DM out of habit: the prefix is not a command
_DM_PREFIX = re.compile(r"^/?news\b\s*", re.I)
#: a user group typed by its handle where the grammar takes a role
_GROUP_CLAUSE = re.compile(r"(?i)(\bping\s+|\bmanagers\s+(?:add|remove|rm)\s+)@([a-z0-9._-]{1,80})")
_FAILED = Reply("Something went wrong on my side; please try again later.", ok=False)


def api_error(exc: SlackApiError) -> str:
    """Slack's error code, also when the answer was not JSON (a proxy's HTML 502)."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, Mapping):
        return str(data.get("error") or "unknown error")
    return f"HTTP {getattr(exc.response, 'status_code', '?')}, not a Slack API answer"


#: what a Web API call can fail with besides Slack's own error answers
CALL_ERRORS = (SlackApiError, aiohttp.ClientError, TimeoutError)


def tenant_of(team_id: str) -> str:
    """The core's tenant for a Slack workspace."""
    return f"slack:{team_id}"


def command_text(raw: str) -> str:
    """Slash command text as the core reads it: Slack's link markup and escaping undone."""
    return unescape_links(raw).strip()


def unescape_links(raw: str) -> str:
    """Turn Slack's ``<https://x|label>`` links back into URLs and undo its escaping."""
    return blocks.unescape(_SLACK_LINK.sub(lambda m: m.group(1), raw))


def _team(body: Mapping[str, Any]) -> str:
    """The workspace id of any Slack payload."""
    team = body.get("team_id") or body.get("team")
    if isinstance(team, Mapping):
        team = team.get("id")
    if not team:
        user = body.get("user")
        team = user.get("team_id") if isinstance(user, Mapping) else None
    return str(team or "")


def _id(value: Any) -> str:
    """An id given as a string or as an object with ``id`` (Slack uses both)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value or "")


def request_for(
    payload: Mapping[str, Any],
    *,
    can_manage: bool,
    text: str = "",
    args: tuple[str, ...] = (),
    channel: bool = True,
    roles: tuple[str, ...] = (),
) -> Request:
    """The neutral request behind any Slack payload: a slash command, a block action or an
    event (``user``/``user_id``, ``channel``/``channel_id`` in their several shapes).

    A conversation whose id starts with D is a DM with the bot: no channel there, so
    "subscribe" means "to my DMs". ``channel=False`` asks for no channel at all (App Home).
    """
    user = _id(payload.get("user_id") or payload.get("user"))
    where = _id(payload.get("channel_id") or payload.get("channel")) if channel else ""
    in_dm = where.startswith("D") or payload.get("channel_name") == "directmessage"
    return Request(
        tenant=tenant_of(_team(payload)),
        user=user,
        channel=None if in_dm or not where else where,
        can_manage=can_manage,
        args=args,
        text=text,
        roles=roles,
    )


class SlackListeners:
    """The bolt listeners, with what they need: the core, the Web API client, managers."""

    def __init__(
        self,
        core: CommandHandler,
        client: AsyncWebClient,
        managers: frozenset[str] = frozenset(),
        *,
        clock: Any = time.time,
    ) -> None:
        self.core = core
        self.client = client
        self.managers = managers
        self.clock = clock
        self._admin_cache: dict[tuple[str, str], tuple[float, bool]] = {}
        self._group_cache: dict[
            str, tuple[float, dict[str, tuple[str, ...]], dict[str, str]]] = {}

    def register(self, app: AsyncApp) -> None:
        """Attach every listener to ``app``."""
        app.command(COMMAND)(self.on_command)
        app.action(blocks.ACTION_UNSUBSCRIBE)(self.on_unsubscribe_button)
        app.action(blocks.ACTION_MUTE)(self.on_mute_button)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("link_shared")(self.on_link_shared)
        app.event("message")(self.on_message)

    # --- the core ---------------------------------------------------------------------

    async def ask(self, request: Request) -> Reply:
        """Run one request through the core; an unexpected failure becomes a polite reply."""
        try:
            return await self.core.handle(request)
        except Exception:
            log.exception("the core failed on a Slack request from %s", request.tenant)
            return _FAILED

    async def can_manage(self, team: str, user: str) -> bool:
        """Workspace admins and owners, and the configured managers, manage channels."""
        if user in self.managers or f"{team}:{user}" in self.managers:
            return True
        now = self.clock()
        cached = self._admin_cache.get((team, user))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            resp = await self.client.users_info(user=user)
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user, api_error(exc))
            return False
        except CALL_ERRORS as exc:
            log.warning("users.info failed for %s: %s", user, type(exc).__name__)
            return False
        info = resp.get("user") if isinstance(resp.data, Mapping) else None
        if not isinstance(info, Mapping):
            log.warning("users.info gave no user for %s", user)
            return False
        allowed = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        if len(self._admin_cache) > 10_000:
            self._admin_cache.clear()
        self._admin_cache[(team, user)] = (now + MANAGER_CACHE_S, allowed)
        return allowed

    async def _groups(self, team: str) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """The workspace's user groups: member -> group ids, and handle -> group id; one
        ``usergroups.list`` per workspace every few minutes."""
        now = self.clock()
        cached = self._group_cache.get(team)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        try:
            resp = await self.client.usergroups_list(include_users=True)
        except SlackApiError as exc:
            log.info("usergroups.list failed in %s: %s", team, api_error(exc))
            return {}, {}
        except CALL_ERRORS as exc:
            log.info("usergroups.list failed in %s: %s", team, type(exc).__name__)
            return {}, {}
        members: dict[str, list[str]] = {}
        handles: dict[str, str] = {}
        for group in resp.get("usergroups") or []:
            gid = str(group.get("id") or "")
            if group.get("handle"):
                handles[str(group["handle"]).casefold()] = gid
            for member in group.get("users") or []:
                members.setdefault(str(member), []).append(gid)
        if len(self._group_cache) > 1000:
            self._group_cache.clear()
        by_user = {u: tuple(g) for u, g in members.items()}
        self._group_cache[team] = (now + MANAGER_CACHE_S, by_user, handles)
        return by_user, handles

    async def user_groups(self, team: str, user: str) -> tuple[str, ...]:
        """The ids of the user groups ``user`` is in (a managers group grants rights in the
        core)."""
        by_user, _ = await self._groups(team)
        return by_user.get(user, ())

    async def group_mentions(self, team: str, text: str) -> str:
        """``ping @editors`` / ``managers add @editors`` typed as plain text (the command is
        not escaped by Slack) with the group's mention, ``<!subteam^S…|@editors>``, which
        is what the core reads; a handle that is no user group stays as typed."""
        if not _GROUP_CLAUSE.search(text):
            return text
        _, handles = await self._groups(team)

        def swap(m: re.Match[str]) -> str:
            gid = handles.get(m.group(2).casefold())
            return f"{m.group(1)}<!subteam^{gid}|@{m.group(2)}>" if gid else m.group(0)

        return _GROUP_CLAUSE.sub(swap, text)

    async def rights(self, team: str, user: str) -> tuple[bool, tuple[str, ...]]:
        """Whether the user is a workspace manager, else the user groups they are in."""
        if await self.can_manage(team, user):
            return True, ()
        return False, await self.user_groups(team, user)

    async def publish_home(self, team: str, user: str) -> None:
        """Publish the user's App Home: their subscriptions with remove and mute buttons."""
        home = {"team_id": team, "user": user}
        reply = await self.ask(request_for(home, can_manage=False, args=("list",), channel=False))
        subs = [s for s in reply.subscriptions if s.owner == user]
        view = blocks.home_view(subs, self.clock())
        try:
            await self.client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            log.warning("views.publish failed for %s: %s", user, api_error(exc))
        except CALL_ERRORS as exc:
            log.warning("views.publish failed for %s: %s", user, type(exc).__name__)

    # --- listeners --------------------------------------------------------------------

    async def on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """``/news …``: ack at once, then run the text through the core and answer."""
        text = command_text(str(command.get("text") or ""))
        name, args = parse_command(text)
        if name == "summarize" and args:
            await ack(text="Reading that page…", response_type="ephemeral")
        else:
            await ack()
        # Nothing may escape a listener after ack(): bolt (1.30) can then lose the ack
        # and answer Slack 404 if the failure wins the race with its ack polling.
        try:
            await self._command(command, text, name, respond)
        except Exception:
            log.exception("the /news command failed after ack")

    async def _command(
        self, command: dict[str, Any], text: str, name: str, respond: AsyncRespond
    ) -> None:
        team = _team(command)
        user = _id(command.get("user_id"))
        manage, groups = await self.rights(team, user)
        text = await self.group_mentions(team, text)
        reply = await self.ask(request_for(command, can_manage=manage, text=text, roles=groups))
        out_text, out_blocks = blocks.reply_message(reply)
        await respond(
            text=out_text,
            blocks=out_blocks,
            response_type="ephemeral" if reply.ephemeral else "in_channel",
        )
        if reply.ok and name in CHANGES_SUBSCRIPTIONS:
            await self.publish_home(team, user)

    async def on_unsubscribe_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        """The "Unsubscribe <topic>" / "Remove" button."""
        await ack()
        await self._guarded_button(body, action, ("unsubscribe", "#{id}"))

    async def on_mute_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        """The "Mute 24 h" button."""
        await ack()
        await self._guarded_button(body, action, ("mute", "#{id}", "24h"))

    async def _guarded_button(
        self, body: dict[str, Any], action: dict[str, Any], template: tuple[str, ...]
    ) -> None:
        try:
            await self._button(body, action, template)
        except Exception:
            log.exception("a button press failed after ack")

    async def _button(
        self, body: dict[str, Any], action: dict[str, Any], template: tuple[str, ...]
    ) -> None:
        sub_id = str(action.get("value") or "")
        if not _SUB_ID.fullmatch(sub_id):
            log.info("ignored a button with a malformed subscription id")
            return
        team = _team(body)
        user = _id(body.get("user"))
        manage, groups = await self.rights(team, user)
        args = tuple(word.format(id=sub_id) for word in template)
        reply = await self.ask(request_for(body, can_manage=manage, args=args, roles=groups))
        response_url = body.get("response_url")
        if isinstance(response_url, str) and response_url:
            out_text, out_blocks = blocks.reply_message(reply)
            respond = AsyncRespond(response_url=response_url)
            await respond(
                text=out_text,
                blocks=out_blocks,
                response_type="ephemeral",
                replace_original=False,
            )
        if reply.ok or (body.get("container") or {}).get("type") == "view":
            await self.publish_home(team, user)

    async def on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Publish the Home tab when the user opens it."""
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user") or "")
        if user:
            try:
                await self.publish_home(_team(body), user)
            except Exception:
                log.exception("publishing the App Home failed")

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A message to the bot in its Messages tab (``message.im``): the same commands as
        ``/news``, answered in that conversation. Other messages are not the bot's."""
        if (event.get("channel_type") != "im" or event.get("subtype")
                or event.get("bot_id") or not event.get("user")):
            return
        try:
            await self._direct_message(body, event)
        except Exception:
            log.exception("answering a direct message failed")

    async def _direct_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        text = _DM_PREFIX.sub("", command_text(str(event.get("text") or "")))
        team = _team(body) or _team(event)
        name, _ = parse_command(text)
        # A DM has no channel to manage: nothing here needs the users.info look-up.
        reply = await self.ask(request_for({**event, "team_id": team}, can_manage=False,
                                           text=text))
        out_text, out_blocks = blocks.reply_message(reply)
        try:
            await self.client.chat_postMessage(
                channel=str(event["channel"]), text=out_text, blocks=out_blocks)
        except SlackApiError as exc:
            log.warning("answering a DM failed: %s", api_error(exc))
            return
        if reply.ok and name in CHANGES_SUBSCRIPTIONS:
            await self.publish_home(team, str(event["user"]))

    async def on_link_shared(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Unfurl shared news links with their summary card (``chat.unfurl``)."""
        try:
            await self._unfurl(body, event)
        except Exception:
            log.exception("unfurling a shared link failed")

    async def _unfurl(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        team = _team(body)
        channel = str(event.get("channel") or "")
        unfurls: dict[str, dict[str, Any]] = {}
        for link in list(event.get("links") or [])[:MAX_UNFURLS]:
            url = str(link.get("url") or "")
            if not url.startswith(("http://", "https://")) or url in unfurls:
                continue
            reply = await self.ask(request_for(
                {**event, "team_id": team}, can_manage=False, args=("summarize", url)))
            card = reply.card
            if reply.ok and card is not None:
                unfurls[url] = blocks.unfurl(card)
        if not unfurls:
            return
        target: dict[str, Any]
        if event.get("unfurl_id") and event.get("source"):
            target = {"unfurl_id": event["unfurl_id"], "source": event["source"]}
        else:
            target = {"channel": channel, "ts": str(event.get("message_ts") or "")}
        try:
            await self.client.chat_unfurl(unfurls=unfurls, **target)
        except SlackApiError as exc:
            log.warning("chat.unfurl failed: %s", api_error(exc))
