"""One embedded Valkey per data dir, shared by the processes that use it, with real processes.

``newsbot worker`` beside ``newsbot run`` joins the running server; a server orphaned by a
SIGKILLed bot is taken over by the next start; the last process to leave stops it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: a ceiling for a loaded machine, never a speed target
PATIENCE_S = 60.0


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update({"NEWSBOT_DATA_DIR": str(data), "NEWSBOT_HTTP_PORT": "0", "COLUMNS": "100"})
    return env


class Proc:
    """A ``newsbot`` process whose stderr and stdout are collected by reader threads."""

    def __init__(self, data: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(data),
            cwd=ROOT)
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    def _pump(self, stream: object, sink: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._changed:
                sink.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, *, stdout: bool = False) -> None:
        sink = self.out if stdout else self.err
        deadline = time.monotonic() + PATIENCE_S
        with self._changed:
            while not any(text in line for line in sink):
                remaining = deadline - time.monotonic()
                assert remaining > 0 and self.proc.poll() is None, (
                    f"no {text!r}; stderr: {''.join(self.err)}")
                self._changed.wait(min(remaining, 0.5))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=PATIENCE_S)

    def kill(self) -> None:
        """End it if a test failed midway: SIGTERM first (a SIGKILLed bot would leave its
        embedded Valkey running), SIGKILL if that does not do."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=PATIENCE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=PATIENCE_S)


def _server_pid(data: Path) -> int:
    return int(json.loads((data / "valkey" / "server.json").read_text())["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rpartition(")")[2].split()[0] == "Z")


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while _alive(pid):
        assert time.monotonic() < deadline, f"valkey-server {pid} still runs"
        time.sleep(0.1)


def test_a_worker_beside_the_bot_joins_its_embedded_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bot = Proc(data, "run")
    worker: Proc | None = None
    try:
        bot.wait_for("newsbot running")
        server = _server_pid(data)
        worker = Proc(data, "worker")
        worker.wait_for("pipeline running")
        assert "joined the server already running" in "".join(worker.err)
        assert worker.stop() == 0, "".join(worker.err)
        assert "Traceback" not in "".join(worker.err)
        assert _alive(server), "the worker stopped the server the bot still uses"
        # The bot still talks to it.
        bot.send("/news subscribe syria")
        bot.wait_for("Subscribed", stdout=True)
        assert bot.stop() == 0, "".join(bot.err)
        _wait_gone(server)  # the last one out stopped it
        assert "embedded Valkey stopped" in "".join(bot.err)
    finally:
        bot.kill()
        if worker is not None:
            worker.kill()


def test_a_server_orphaned_by_a_killed_bot_does_not_block_the_next_start(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Proc(data, "run")
    try:
        first.wait_for("newsbot running")
        first.send("/news subscribe syria")
        first.wait_for("Subscribed", stdout=True)
        orphan = _server_pid(data)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=PATIENCE_S)
    finally:
        first.kill()
    assert _alive(orphan), "the test needs the orphaned server"
    try:
        res = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run"], input="/news list\n",
            capture_output=True, text=True, timeout=PATIENCE_S * 2, env=_env(data), cwd=ROOT)
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        assert "syria" in res.stdout  # the data the killed bot wrote is there
        _wait_gone(orphan)  # taken over, then stopped at the end: nothing left running
    finally:
        if _alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_a_worker_can_serve_its_health_for_a_container_check(tmp_path: Path) -> None:
    import re
    import urllib.request

    worker = Proc(tmp_path / "data", "worker", "--workers", "1", "--http")
    try:
        worker.wait_for("pipeline running: 1 worker,")
        line = next(x for x in worker.err if "pipeline running" in x)
        url = re.search(r"HTTP on (\S+)", line)
        assert url, line
        with urllib.request.urlopen(f"{url.group(1)}/healthz", timeout=30) as resp:
            assert resp.status == 200
        assert worker.stop() == 0
    finally:
        worker.kill()
