"""``newsbot run`` in a child process that can reach nothing outside 127.0.0.1.

``python -m tests.guarded_run`` (with ``NEWSBOT_*`` in the environment) refuses every
TCP connection to another address before it is made, writing one ``GUARD_MARK`` line to
stderr so the test that started the process can fail on it; Unix sockets (the embedded
Valkey) are local by definition.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from bot.cli.main import main

GUARD_MARK = "test network guard: refused"
ALLOWED_HOSTS = frozenset({"127.0.0.1"})


def _checked(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if host not in ALLOWED_HOSTS:
        print(f"{GUARD_MARK} {address!r}", file=sys.stderr, flush=True)
        raise ConnectionRefusedError(f"{GUARD_MARK} {address!r}")


def install_guard() -> None:
    """Wrap ``socket.socket.connect``/``connect_ex`` (asyncio and aiohttp go through them)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        _checked(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _checked(self, address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    install_guard()
    sys.exit(main(["run"]))
