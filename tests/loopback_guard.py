"""Tests may talk to this machine only: every socket connect, bind and sendto must name a loopback address."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
import zeroconf._engine
from zeroconf._listener import AsyncListener

# python-zeroconf's mDNS listener binds ("", 5353): on Linux a socket bound to an address receives no
# multicast, so every mDNS responder and browser needs it. It only receives; what it sends is checked.
WILDCARD_BINDS_ALLOWED = {(socket.SOCK_DGRAM, 5353)}
GUARDED = ("connect", "connect_ex", "bind", "sendto")


class NonLoopbackSocket(RuntimeError):
    """A test tried to reach (or listen beyond) this machine; not an OSError, so no library retries it."""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def refusal(operation: str, family: int, kind: int, address: Any, multicast_if: str = "") -> str:
    """Why `operation` on `address` would leave this machine, or "" when it stays on loopback."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return ""  # unix sockets, netlink: never a network peer
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return f"{operation} to {address!r}: not an (ip, port) address"
    host, port = address[0], address[1] if len(address) > 1 else None
    if host == "localhost":
        return ""
    ip = _ip(host)
    if operation == "bind":
        if ip is not None and (ip.is_loopback or ip.is_multicast):  # a group address only filters what arrives
            return ""
        if host in ("", "0.0.0.0", "::") and (kind & 0xF, port) in WILDCARD_BINDS_ALLOWED:
            return ""
        return f"bind to {address!r}: listen on 127.0.0.x or ::1, not on every interface or a LAN address"
    if ip is None:
        return f"{operation} to {address!r}: give a loopback IP, not a name (it could resolve anywhere)"
    if ip.is_loopback:
        return ""
    out = _ip(multicast_if) if multicast_if else None
    if ip.is_multicast and out is not None and out.is_loopback:
        return ""  # a multicast datagram sent out of the loopback interface stays on this machine
    via = f" (multicast interface {multicast_if})" if ip.is_multicast else ""
    return f"{operation} to {address!r}{via}: tests may only reach 127.0.0.0/8 or ::1"


def _multicast_if(sock: socket.socket) -> str:
    if sock.family != socket.AF_INET:
        return ""
    try:
        return socket.inet_ntoa(sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))
    except OSError:
        return ""


class Guard:
    """Wraps socket.socket's address-taking methods; refusals raise and are kept for the test's teardown."""

    def __init__(self) -> None:
        self.originals: dict[str, Callable[..., Any]] = {}
        self.refused: list[str] = []

    def install(self) -> None:
        for name in GUARDED:
            self.originals[name] = getattr(socket.socket, name)
            setattr(socket.socket, name, self._wrap(name))

    def uninstall(self) -> None:
        for name, original in self.originals.items():
            setattr(socket.socket, name, original)
        self.originals.clear()

    def _wrap(self, name: str) -> Callable[..., Any]:
        guard = self

        def guarded(sock: socket.socket, *args: Any) -> Any:
            address = args[-1]  # sendto(data, address) and sendto(data, flags, address); the others take one
            mif = _multicast_if(sock) if name == "sendto" else ""
            if problem := refusal(name, sock.family, sock.type, address, mif):
                guard.refused.append(problem)
                raise NonLoopbackSocket(f"refused by tests/loopback_guard.py: {problem}")
            return guard.originals[name](sock, *args)

        guarded.__name__ = name
        return guarded


class LoopbackListener(AsyncListener):
    """zeroconf's listener, deaf to every sender beyond loopback: the shared 0.0.0.0:5353 socket also hears
    whatever the machine's LAN carries, and zeroconf would answer a LAN query by unicast (refused above)."""

    __slots__ = ()
    heard_beyond: ClassVar[list[str]] = []  # what was dropped, for the test that proves it

    def datagram_received(self, data: bytes, addrs: tuple[str, int] | tuple[str, int, int, int]) -> None:
        ip = _ip(addrs[0])
        if ip is None or not ip.is_loopback:
            LoopbackListener.heard_beyond.append(addrs[0])
            return
        super().datagram_received(data, addrs)


@pytest.fixture(autouse=True, scope="session")
def mdns_loopback_only() -> Iterator[None]:
    """Every Zeroconf the tests start (the daemon's, the simulated home's, the tests' own) hears loopback only."""
    original = zeroconf._engine.AsyncListener
    zeroconf._engine.AsyncListener = LoopbackListener  # type: ignore[misc]  # the engine's protocol factory
    try:
        yield
    finally:
        zeroconf._engine.AsyncListener = original  # type: ignore[misc]


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[Guard]:
    """From the first test to the last, no socket in this process reaches beyond loopback."""
    guard = Guard()
    guard.install()
    try:
        yield guard
    finally:
        guard.uninstall()


@pytest.fixture(autouse=True)
def no_refused_socket(loopback_only: Guard) -> Iterator[None]:
    """Fail the test even when a library swallowed the refusal (discovery logs and goes on, for one)."""
    before = len(loopback_only.refused)
    yield
    refused = loopback_only.refused[before:]
    if refused:
        pytest.fail("non-loopback socket use: " + "; ".join(dict.fromkeys(refused)), pytrace=False)
