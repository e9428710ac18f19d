"""The console adapter: the terminal as one chat channel, for trying the bot locally.

Type the same commands as on Discord or Slack (``/news subscribe syria``,
``/news https://...``, ``/news feed add URL``); replies and the cards the bot would post
are rendered with rich. Commands may also come from a pipe
(``printf '/news subscribe syria\\n' | newsbot run``): each is answered in order and the
session ends with the input. Being local, the console may summarise local files
(``/news summarize page.html``); chat adapters never read local files.

On a terminal the prompt is prompt_toolkit's: line editing, history (kept in the data
dir), and posts that arrive while you type are printed above the prompt, which is drawn
again below them. From a pipe, lines are read by a daemon thread, so SIGTERM ends the bot
even while a writer keeps the pipe open.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from adapters.console.card import render_card, render_post_card
from bot.card import Card
from bot.chat import CommandHandler, Post, Reply, Request, split_args
from bot.errors import NewsbotError
from bot.fetch import is_url, read_local
from bot.redis_server import describe_data
from bot.settings import Settings

log = logging.getLogger(__name__)

TENANT = "console:local"
USER = "you"
CHANNEL = "terminal"
_PREFIX = re.compile(r"^/?news\b\s*", re.I)
_QUIT = frozenset({"quit", "exit", "/quit", "/exit", ":q"})
_CONSOLE_HELP = "• `quit` (or Ctrl-D) – leave the console"


def _inline(text: str) -> Text:
    """Chat-style text (`code`, **bold**) as rich text, without interpreting markup."""
    out = Text()
    for part in re.split(r"(`[^`]+`|\*\*[^*]+\*\*)", text):
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part[1:-1], style="cyan")
        elif part.startswith("**") and part.endswith("**") and len(part) > 3:
            out.append(part[2:-2], style="bold")
        else:
            out.append(part)
    return out


class ConsoleAdapter:
    """One local user in one channel; posts and replies are printed to the terminal."""

    platform = "console"

    def __init__(
        self,
        settings: Settings,
        core: CommandHandler,
        *,
        stdin: TextIO | None = None,
        console: Console | None = None,
        interactive: bool | None = None,
        history: Path | None = None,
        parse: Callable[[str | bytes, str | None], Awaitable[Card]] | None = None,
    ) -> None:
        self.settings = settings
        self.core = core
        # How a local file becomes a card: the core's bounded parser (Newsbot.parse).
        self.parse = parse if parse is not None else getattr(core, "parse", None)
        self.stdin = stdin if stdin is not None else sys.stdin
        self.interactive = self.stdin.isatty() if interactive is None else interactive
        # No file of its own: rich writes to whatever sys.stdout is at the time, which is
        # prompt_toolkit's proxy (printing above the prompt) while the prompt is up.
        self.console = console or Console(highlight=False,
                                           force_terminal=self.interactive or None)
        self.history = history
        self._started = False
        self._print_lock = asyncio.Lock()

    # --- the Adapter protocol ---------------------------------------------------------

    @property
    def connected(self) -> bool:
        """The terminal is there as long as the adapter runs."""
        return self._started

    async def start(self) -> None:
        """Nothing to connect; the input loop is ``run_input``."""
        self._started = True

    async def close(self) -> None:
        """Nothing to disconnect."""
        self._started = False

    async def post(self, post: Post) -> str:
        """Print a delivered card, digest or note as the channel would show it."""
        where = "your DMs" if post.destination.kind == "dm" else f"#{post.destination.id}"
        async with self._print_lock:
            if post.note:
                self.console.print(Text(f"[bot → {where}] ", style="dim") + _inline(post.note))
            if post.card is not None:
                label = "matched: " + ", ".join(post.matched) if post.matched else "feed"
                who = f" as {post.persona.name}" if post.persona is not None else ""
                pings = "".join(f" @{p}" for p in post.pings)
                what = "updated article" if post.revision else "new article"
                self.console.print(Text(f"[bot{who} → {where}]{pings} {what} ({label})",
                                        style="dim"))
                self.console.print(render_post_card(post.card, post.format, post.matched))
                if post.also_reported_by:
                    self.console.print(
                        Text("Also reported by " + ", ".join(post.also_reported_by), style="dim"))
            if post.digest:
                self.console.print(Text(f"[bot → {where}] {post.digest_title or 'Digest'}",
                                        style="bold"))
                for item in post.digest:
                    line = Text("• ") + Text(item.headline, style="bold")
                    if item.site:
                        line.append(f" ({item.site})", style="dim")
                    if item.matched:
                        line.append("  matched: " + ", ".join(item.matched), style="magenta")
                    self.console.print(line)
                    if item.link:
                        self.console.print(Text("  " + item.link, style="blue"))
        return f"console-{post.key}"

    async def edit(self, post: Post, message_id: str) -> None:
        """Print the post again, marked updated (a terminal cannot change what it showed)."""
        async with self._print_lock:
            self.console.print(Text(f"[bot edits {message_id}]", style="dim"))
        await self.post(post)

    # --- input --------------------------------------------------------------------------

    def request(self, text: str) -> Request:
        """The neutral request for one typed command (the local user manages the channel)."""
        return Request(TENANT, USER, CHANNEL, True, text=text)

    async def run_input(self) -> None:
        """Answer commands until the input ends (or ``quit``)."""
        if self.interactive:
            await self._run_prompt()
            return
        lines = self._read_lines()
        while True:
            line = await lines.get()
            if not line:
                return
            if not await self._answer(line):
                return

    async def _answer(self, line: str) -> bool:
        """Run one input line; False when it asks to leave."""
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        if text.lower() in _QUIT:
            return False
        await self.execute(text)
        return True

    async def _run_prompt(self) -> None:
        """The interactive loop: prompt_toolkit's prompt, with posts printed above it."""
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, History, InMemoryHistory
        from prompt_toolkit.patch_stdout import patch_stdout

        history: History = InMemoryHistory()
        if self.history is not None:
            try:
                self.history.parent.mkdir(parents=True, exist_ok=True)
                history = FileHistory(str(self.history))
            except OSError:
                log.warning("no console history: cannot write %s", self.history)
        session: PromptSession[str] = PromptSession(history=history)
        self.console.print(Text.assemble(
            ("newsbot console", "bold"), " – type ", ("help", "cyan"),
            " for the commands, ", ("quit", "cyan"), " to leave."))
        self.console.print(Text(describe_data(self.settings), style="dim"))
        with patch_stdout(raw=True):
            while True:
                try:
                    line = await session.prompt_async("news> ")
                except KeyboardInterrupt:
                    continue  # Ctrl-C clears the line, as in a shell
                except EOFError:
                    return
                if not await self._answer(line):
                    return

    def _read_lines(self) -> asyncio.Queue[str]:
        """Lines of the input, read by a daemon thread ("" at the end of the input).

        Not the default executor: a thread blocked on a terminal that is never answered
        would keep ``asyncio.run`` from returning, and SIGTERM from ending the bot.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str] = asyncio.Queue()

        def pump() -> None:
            while True:
                try:
                    line = self.stdin.readline()
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, line)
                except RuntimeError:
                    return  # the loop is closed: the bot has stopped
                if not line:
                    return

        threading.Thread(target=pump, name="console-input", daemon=True).start()
        return queue

    async def execute(self, text: str) -> Reply:
        """Run one typed command and print its reply (a card is printed as a card)."""
        command = _PREFIX.sub("", text).strip() or "help"
        reply = await self._local_summary(command)
        if reply is None:
            reply = await self.core.handle(self.request(command))
        async with self._print_lock:
            if reply.card is not None:
                self.console.print(render_card(reply.card))
            if reply.text and (reply.card is None or not reply.ok):
                style = "" if reply.ok else "red"
                text = reply.text
                if command.split(maxsplit=1)[0].casefold() == "help":
                    text += "\n" + _CONSOLE_HELP
                self.console.print(_inline(text), style=style)
        return reply

    async def _local_summary(self, command: str) -> Reply | None:
        """``summarize FILE`` for a local file: read and parsed here, never by chat adapters."""
        args = split_args(command)
        if not args or args[0].casefold() != "summarize" or len(args) != 2:
            return None
        source = args[1]
        if is_url(source):
            return None
        if self.parse is None or (
                source != "-" and not await asyncio.to_thread(os.path.exists, source)):
            return None
        try:
            page = read_local(source)
            card = await self.parse(page.content, None)
        except NewsbotError as exc:
            return Reply(exc.user_message, ok=False)
        return Reply("", card=card)
