"""The tests' network guard: no connection and no name lookup beyond this machine.

``NetworkGuard.install`` wraps ``socket.socket.connect``/``connect_ex`` (asyncio, aiohttp,
redis and the platform SDKs all connect through them) and ``socket.getaddrinfo`` /
``gethostbyname`` (asyncio's and aiohttp's default resolvers look names up through them).
A connection to anything but a loopback host, or a lookup of any other name, is refused
*before* it happens (no packet, no DNS wait) with an ``OSError`` (``ConnectionRefusedError``
or ``socket.gaierror``, what a real failure looks like) and recorded in ``refused``, so a
test fails even when the code under test swallows the error. Unix sockets (the embedded
Valkey) are local by definition; looking up a numeric address does no I/O and is allowed
(connecting to it is what is checked).

``tests/conftest.py`` installs one guard for the whole session of in-process tests;
``tests/guarded_run.py`` installs one in the ``newsbot run`` child process.
"""

from __future__ import annotations

import _socket
import errno
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

GUARD_MARK = "test network guard: refused"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

_Connect = Callable[[_socket.socket, Any], None]
_ConnectEx = Callable[[_socket.socket, Any], int]
_GetAddrInfo = Callable[..., list[Any]]
_GetHostByName = Callable[[str], str]


def _host_name(host: object) -> str | None:
    if host is None:
        return None
    text = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    return text.strip("[]").lower()


def _is_numeric(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class NetworkGuard:
    """Refuses connections and name lookups outside ``allowed`` hosts; see the module doc."""

    def __init__(
        self,
        allowed: Iterable[str] = LOOPBACK_HOSTS,
        on_refuse: Callable[[str], None] | None = None,
    ) -> None:
        self.allowed = frozenset(h.lower() for h in allowed)
        self.on_refuse = on_refuse
        #: every refused attempt, as ``"connect ('192.0.2.1', 80)"`` or ``"lookup 'x.org'"``
        self.refused: list[str] = []
        # What the guard lets through goes to these (the functions it replaced).
        self.real_connect: _Connect = socket.socket.connect
        self.real_connect_ex: _ConnectEx = socket.socket.connect_ex
        self.real_getaddrinfo: _GetAddrInfo = socket.getaddrinfo
        self.real_gethostbyname: _GetHostByName = socket.gethostbyname
        self.installed = False

    def allows(self, host: str | None) -> bool:
        """Whether a connection to ``host`` may be made."""
        return host is not None and host in self.allowed

    def _refuse(self, what: str) -> str:
        message = f"{GUARD_MARK} {what}"
        self.refused.append(what)
        if self.on_refuse is not None:
            self.on_refuse(message)
        return message

    def _check_connect(self, sock: _socket.socket, address: Any) -> None:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        host = _host_name(address[0] if isinstance(address, tuple) else address)
        if not self.allows(host):
            raise ConnectionRefusedError(errno.ECONNREFUSED, self._refuse(f"connect {address!r}"))

    def _check_lookup(self, host: object) -> None:
        name = _host_name(host)
        if not name or _is_numeric(name) or self.allows(name):
            return
        raise socket.gaierror(socket.EAI_NONAME, self._refuse(f"lookup {name!r}"))

    def install(self) -> None:
        """Put the checks in front of the socket module's connect and lookup functions."""
        if self.installed:
            return
        guard = self

        def connect(sock: _socket.socket, address: Any) -> None:
            guard._check_connect(sock, address)
            guard.real_connect(sock, address)

        def connect_ex(sock: _socket.socket, address: Any) -> int:
            guard._check_connect(sock, address)
            return guard.real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> list[Any]:
            guard._check_lookup(host)
            return guard.real_getaddrinfo(host, *args, **kwargs)

        def gethostbyname(host: str) -> str:
            guard._check_lookup(host)
            return guard.real_gethostbyname(host)

        # Replacing a method is the point here (mypy flags any method assignment).
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        self.installed = True

    def uninstall(self) -> None:
        """Put the socket module's own functions back."""
        if not self.installed:
            return
        socket.socket.connect = self.real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = self.real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = self.real_getaddrinfo
        socket.gethostbyname = self.real_gethostbyname
        self.installed = False
