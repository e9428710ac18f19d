"""The Discord adapter starts without discord.py's warnings about voice libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import asyncio, logging
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
from adapters.discord.client import NewsClient

async def main():
    client = NewsClient(core=None, defer_after=2.0, dev_guild=None, read_messages=False)
    await client.close()
    logging.getLogger("discord.client").warning("a real warning still shows")

asyncio.run(main())
"""


def test_no_voice_library_warnings_at_start() -> None:
    # A fresh process: discord.py warns once per process, so an earlier test's client
    # in this one would hide the warning.
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "voice will NOT be supported" not in res.stderr
    assert "a real warning still shows" in res.stderr
