"""newsbot backup FILE / newsbot restore FILE: the bot's data as one portable file.

Every subscription, feed, feed item already seen, queued link and setting the bot keeps in
Redis (the embedded Valkey under NEWSBOT_DATA_DIR, or NEWSBOT_REDIS_URL), as JSON lines.
A backup may be taken while the bot runs. Restore into an empty store (or pass --replace),
with the bot stopped; a backup moves between the embedded Valkey and any Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.redis_server import open_redis
from bot.settings import Settings
from bot.upkeep import BackupError, backup, restore

from .args import subcommand


def add_parser(subparsers: Any) -> None:
    """Register the ``backup`` and ``restore`` subcommands."""
    save = subcommand(
        subparsers, "backup", __doc__, help="write the bot's data to a file",
        examples=["newsbot backup newsbot-$(date +%F).backup",
                  "docker compose exec -T bot newsbot backup - > newsbot.backup"],
    )
    save.add_argument("file", metavar="FILE", help="where to write it ('-': stdout)")
    save.set_defaults(func=run_backup)
    load = subcommand(
        subparsers, "restore", __doc__, help="load the bot's data from a backup file",
        examples=["newsbot restore newsbot-2026-11-29.backup",
                  "docker compose exec -T bot newsbot restore --replace - < newsbot.backup"],
    )
    load.add_argument("file", metavar="FILE", help="the backup ('-': stdin)")
    load.add_argument("--replace", action="store_true",
                      help="delete the newsbot data the store holds first")
    load.set_defaults(func=run_restore)


async def _backup(settings: Settings, file: str) -> int:
    async with open_redis(settings) as redis:
        if file == "-":
            return await backup(redis, sys.stdout)
        target = Path(file)
        # Written beside the target, then renamed: a failed backup never leaves half a file
        # where a good one was.
        fd, tmp = tempfile.mkstemp(prefix=".newsbot-backup-", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                count = await backup(redis, out)
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
        return count


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Entry of ``newsbot backup``."""
    count = asyncio.run(_backup(settings, args.file))
    where = "stdout" if args.file == "-" else args.file
    print(f"newsbot: backed up {count} keys to {where}", file=sys.stderr)
    return 0


def _read_lines(file: str) -> list[str]:
    if file == "-":
        return sys.stdin.read().splitlines()
    try:
        return Path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BackupError(f"Cannot read {file}: {reason}") from None


async def _restore(settings: Settings, lines: list[str], replace: bool) -> int:
    async with open_redis(settings) as redis:
        return await restore(redis, lines, replace=replace)


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Entry of ``newsbot restore``."""
    count = asyncio.run(_restore(settings, _read_lines(args.file), args.replace))
    print(f"newsbot: restored {count} keys", file=sys.stderr)
    return 0
