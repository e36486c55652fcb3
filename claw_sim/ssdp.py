"""A loopback SSDP responder: answers M-SEARCH for simulated UPnP devices, each from its own 127.0.0.N."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_LOG = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
LOOPBACK_BROADCAST = "127.255.255.255"
_MAX_SEARCHES_KEPT = 1000
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)  # Linux; missing from older stubs


@dataclass(frozen=True, slots=True)
class SsdpAdvert:
    """What one device answers to M-SEARCH: its description URL, identity and the search targets it matches."""

    ip: str  # the device's own loopback address; answers are sent from it
    location: str
    uuid: str  # "uuid:RINCON_..."
    search_targets: tuple[str, ...]  # e.g. ("urn:schemas-upnp-org:device:ZonePlayer:1", "upnp:rootdevice")
    server: str
    headers: tuple[tuple[str, str], ...] = ()  # extra vendor headers, e.g. ("X-RINCON-HOUSEHOLD", "Sonos_...")

    def answers(self, search_target: str) -> list[str]:
        """The ST values this device answers with for one M-SEARCH ST (empty: stay quiet)."""
        targets = (*self.search_targets, self.uuid)
        if search_target == "ssdp:all":
            return list(dict.fromkeys(targets))
        return [search_target] if search_target in targets else []

    def response(self, search_target: str) -> bytes:
        """The unicast `HTTP/1.1 200 OK` datagram for one ST."""
        usn = self.uuid if search_target == self.uuid else f"{self.uuid}::{search_target}"
        lines = [
            "HTTP/1.1 200 OK",
            "CACHE-CONTROL: max-age = 1800",
            "EXT:",
            f"LOCATION: {self.location}",
            f"SERVER: {self.server}",
            f"ST: {search_target}",
            f"USN: {usn}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(frozen=True, slots=True)
class MSearch:
    """One M-SEARCH the responder received: who asked and for what."""

    sender: tuple[str, int]
    search_target: str


def parse_msearch(data: bytes) -> str | None:
    """Return the ST of a well-formed `M-SEARCH * HTTP/1.1` with `MAN: "ssdp:discover"`, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip().upper() != "M-SEARCH * HTTP/1.1":
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().upper()] = value.strip()
    if headers.get("MAN", "").strip('"') != "ssdp:discover":
        return None
    return headers.get("ST") or None


class _Listener(asyncio.DatagramProtocol):
    """Hands every datagram to the responder."""

    def __init__(self, on_datagram: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._on_datagram(data, (str(addr[0]), int(addr[1])))


class SsdpResponder:
    """Answers M-SEARCH sent to 239.255.255.250 (joined on 127.0.0.1 only) or to 127.255.255.255.

    Port 1900 is shared (SO_REUSEADDR/SO_REUSEPORT) so several simulated systems can answer at once;
    if it cannot be bound, an ephemeral port is used and reported by `port`.
    """

    def __init__(self, *, interface: str = "127.0.0.1", port: int = SSDP_PORT) -> None:
        if not ipaddress.ip_address(interface).is_loopback:
            raise ValueError(f"SSDP simulation must stay on loopback, not {interface}")
        self._interface = interface
        self._wanted_port = port
        self._port: int | None = None
        self._adverts: list[tuple[SsdpAdvert, Callable[[], bool]]] = []
        self._listeners: list[asyncio.DatagramTransport] = []
        self._senders: dict[str, socket.socket] = {}
        self.searches: deque[MSearch] = deque(maxlen=_MAX_SEARCHES_KEPT)

    @property
    def port(self) -> int:
        """The UDP port M-SEARCH is received on (1900 unless it was unavailable)."""
        if self._port is None:
            raise RuntimeError("SsdpResponder is not started")
        return self._port

    def add(self, advert: SsdpAdvert, *, alive: Callable[[], bool] = lambda: True) -> None:
        """Answer for `advert` while `alive()` is true (before or after `start()`)."""
        if not ipaddress.ip_address(advert.ip).is_loopback:
            raise ValueError(f"simulated device {advert.ip} is not on loopback")
        self._adverts.append((advert, alive))
        if self._port is not None:
            self._sender(advert.ip)

    async def start(self) -> None:
        """Bind the listening sockets and one answering socket per device address."""
        loop = asyncio.get_running_loop()
        try:
            sockets = _listening_sockets(self._interface, self._wanted_port)
        except OSError as err:
            _LOG.warning("SSDP port %d unavailable (%s); using an ephemeral port", self._wanted_port, err)
            sockets = _listening_sockets(self._interface, 0)
        self._port = sockets[0].getsockname()[1]
        for sock in sockets:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Listener(self._on_datagram), sock=sock)
            self._listeners.append(transport)
        for advert, _ in self._adverts:
            self._sender(advert.ip)
        _LOG.info("SSDP responder on port %d for %d device(s)", self._port, len(self._adverts))

    async def stop(self) -> None:
        """Close every socket."""
        for transport in self._listeners:
            transport.close()
        for sender in self._senders.values():
            sender.close()
        self._listeners.clear()
        self._senders.clear()
        self._port = None
        await asyncio.sleep(0)  # let the transports finish closing

    def _sender(self, ip: str) -> socket.socket:
        # Answers leave from the device's own address: that is where soco then connects.
        sender = self._senders.get(ip)
        if sender is None:
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
            sender.setblocking(False)
            sender.bind((ip, 0))
            self._senders[ip] = sender
        return sender

    def _on_datagram(self, data: bytes, sender: tuple[str, int]) -> None:
        search_target = parse_msearch(data)
        if search_target is None:
            return
        # Answers go to loopback only, whatever arrives.
        if not ipaddress.ip_address(sender[0]).is_loopback:
            return
        self.searches.append(MSearch(sender, search_target))
        for advert, alive in self._adverts:
            if not alive():
                continue
            for target in advert.answers(search_target):
                try:
                    self._sender(advert.ip).sendto(advert.response(target), sender)
                except OSError as err:  # UDP is lossy anyway; a full buffer drops the answer
                    _LOG.debug("SSDP answer from %s to %s dropped: %s", advert.ip, sender, err)


def _listening_sockets(interface: str, port: int) -> list[socket.socket]:
    """A multicast socket joined on `interface` and a loopback-broadcast socket, on one shared port."""
    broadcast = _reusable_udp_socket()
    multicast = _reusable_udp_socket()
    try:
        broadcast.bind((LOOPBACK_BROADCAST, port))
        port = broadcast.getsockname()[1]
        # Bound to the group address, not 0.0.0.0, so only SSDP multicast reaches it.
        multicast.bind((SSDP_GROUP, port))
        membership = socket.inet_aton(SSDP_GROUP) + socket.inet_aton(interface)
        multicast.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        # Only groups this socket joined, on the interface it joined them on.
        with contextlib.suppress(OSError):
            multicast.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
    except OSError:
        broadcast.close()
        multicast.close()
        raise
    return [multicast, broadcast]


def _reusable_udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setblocking(False)
    return sock
