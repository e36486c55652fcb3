"""The test guard itself: loopback passes, anything that could leave the machine is refused and named."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.loopback_guard import Guard, NonLoopbackSocket, refusal

INET, INET6, UDP, TCP = socket.AF_INET, socket.AF_INET6, socket.SOCK_DGRAM, socket.SOCK_STREAM


@pytest.mark.parametrize(
    ("operation", "family", "kind", "address", "multicast_if"),
    [
        ("connect", INET, TCP, ("127.0.0.1", 8765), ""),
        ("connect", INET, TCP, ("127.0.42.7", 80), ""),
        ("connect", INET, TCP, ("localhost", 80), ""),
        ("connect", INET6, TCP, ("::1", 80, 0, 0), ""),
        ("connect", INET6, TCP, ("::ffff:127.0.0.1", 80, 0, 0), ""),
        ("bind", INET, TCP, ("127.0.0.1", 0), ""),
        ("bind", INET, UDP, ("239.255.255.250", 1900), ""),  # a group address: filters what arrives
        ("bind", INET, UDP, ("", 5353), ""),  # zeroconf's mDNS listener (see WILDCARD_BINDS_ALLOWED)
        ("sendto", INET, UDP, ("224.0.0.251", 5353), "127.0.0.1"),  # multicast out of the loopback interface
        ("sendto", INET, UDP, ("127.255.255.255", 1900), ""),
        ("connect", socket.AF_UNIX, TCP, "/run/claw.sock", ""),
    ],
)
def test_loopback_is_allowed(operation: str, family: int, kind: int, address: Any, multicast_if: str) -> None:
    assert refusal(operation, family, kind, address, multicast_if) == ""


@pytest.mark.parametrize(
    ("operation", "family", "kind", "address", "multicast_if", "words"),
    [
        ("connect", INET, TCP, ("192.168.1.40", 80), "", "192.168.1.40"),
        ("connect", INET, TCP, ("8.8.8.8", 53), "", "8.8.8.8"),
        ("connect", INET, TCP, ("api.twilio.com", 443), "", "not a name"),
        ("connect", INET6, TCP, ("2001:db8::1", 80, 0, 0), "", "2001:db8::1"),
        ("bind", INET, TCP, ("0.0.0.0", 8765), "", "every interface"),
        ("bind", INET, TCP, ("", 0), "", "every interface"),
        ("bind", INET, UDP, ("", 1900), "", "every interface"),
        ("bind", INET, TCP, ("10.0.0.5", 0), "", "10.0.0.5"),
        ("sendto", INET, UDP, ("239.255.255.250", 1900), "0.0.0.0", "multicast interface 0.0.0.0"),
        ("sendto", INET, UDP, ("255.255.255.255", 1900), "", "255.255.255.255"),
    ],
)
def test_anything_else_is_refused_and_named(
    operation: str, family: int, kind: int, address: Any, multicast_if: str, words: str
) -> None:
    assert words in refusal(operation, family, kind, address, multicast_if)


@pytest.fixture
def fenced() -> Iterator[tuple[Guard, list[tuple[str, Any]]]]:
    """A second guard whose "real" socket calls only record: nothing here can reach a network."""
    reached: list[tuple[str, Any]] = []
    guard = Guard()
    guard.install()
    underneath = dict(guard.originals)  # the session guard's wrappers, put back when this test ends
    for name in guard.originals:
        guard.originals[name] = lambda sock, *args, _name=name: reached.append((_name, args[-1]))
    try:
        yield guard, reached
    finally:
        guard.originals.update(underneath)
        guard.uninstall()


def test_the_installed_guard_raises_before_the_socket_call(fenced: tuple[Guard, list[tuple[str, Any]]]) -> None:
    guard, reached = fenced
    with socket.socket(INET, UDP) as sock:
        with pytest.raises(NonLoopbackSocket, match=r"192\.0\.2\.1"):
            sock.sendto(b"x", ("192.0.2.1", 9))
        with pytest.raises(NonLoopbackSocket, match="every interface"):
            sock.bind(("0.0.0.0", 0))
        sock.sendto(b"x", ("127.0.0.1", 9))
    with socket.socket(INET, TCP) as sock, pytest.raises(NonLoopbackSocket, match=r"198\.51\.100\.7"):
        sock.connect(("198.51.100.7", 80))
    assert reached == [("sendto", ("127.0.0.1", 9))]
    assert len(guard.refused) == 3


def test_sockets_work_again_after_the_fenced_test() -> None:
    with socket.socket(INET, TCP) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
