"""``newsbot run`` in a child process that can reach nothing outside 127.0.0.1.

``python -m tests.guarded_run`` (with ``NEWSBOT_*`` in the environment) installs the
tests' ``NetworkGuard`` (``tests/netguard.py``): every connection to another host and
every lookup of another name is refused before it is made, with one ``GUARD_MARK`` line
written to stderr so the test that started the process can fail on it; Unix sockets (the
embedded Valkey) are local by definition.
"""

from __future__ import annotations

import sys

from bot.cli.main import main
from tests.netguard import GUARD_MARK, NetworkGuard

__all__ = ["GUARD_MARK", "install_guard"]


def _report(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def install_guard() -> NetworkGuard:
    """Install the guard for the rest of the process; refusals are reported on stderr."""
    guard = NetworkGuard(on_refuse=_report)
    guard.install()
    return guard


if __name__ == "__main__":
    install_guard()
    sys.exit(main(["run"]))
