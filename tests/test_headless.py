"""``newsbot run`` as a container runs it: no terminal, no input, no platform token."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATIENCE_S = 60.0


def test_no_tokens_and_no_input_runs_headless_and_says_which_tokens_to_set(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update({"NEWSBOT_DATA_DIR": str(tmp_path / "data"), "NEWSBOT_HTTP_PORT": "0"})
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + PATIENCE_S
        running = None
        while running is None:
            # Before the fix the bot read an empty input and exited 0 at once (a restart
            # loop under compose); now it keeps running.
            assert proc.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, err_path.read_text()
            running = re.search(r"newsbot running: headless; HTTP on (\S+)",
                                err_path.read_text())
            time.sleep(0.1)
        with urllib.request.urlopen(f"{running.group(1)}/healthz", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=PATIENCE_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err_path.read_text()
    assert text.count("NEWSBOT_DISCORD_TOKEN") == 1  # said once, clearly
    assert "NEWSBOT_SLACK_BOT_TOKEN" in text and "headless" in text
    assert f"data in {tmp_path / 'data'}" in text  # where the data lives
    assert "Traceback" not in text
