"""One-shot commands print their one-line error and nothing else: no library's warning
("WARNING trafilatura.core: discarding data: None") under it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A title and no text: trafilatura warns that it discards the page, then we say so too.
NO_TEXT = ("<html><head><title>A headline of some length</title></head>"
           "<body><div><img src='a.png'></div></body></html>")


@pytest.mark.parametrize("command", [["summarize"], ["match", "--json"]])
def test_a_one_shot_command_says_one_line(tmp_path: Path, command: list[str]) -> None:
    page = tmp_path / "page.html"
    page.write_text(NO_TEXT, encoding="utf-8")
    args = [*command, str(page)] + (["syria"] if command[0] == "match" else [])
    res = subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert res.returncode != 0
    where = f"{page}: " if command[0] == "summarize" else ""
    assert res.stderr == f"newsbot: {where}I couldn't find an article on that page.\n"
