"""Continuous mDNS browsing and periodic SSDP searches; matchers map what answers to a driver."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from claw.home.device import Found
from claw.home.mdns import zeroconf_on

log = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"
RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0, 300.0)  # seconds before trying a device that did not answer again


@dataclass(frozen=True, slots=True)
class Announcement:
    """One device answering: an mDNS service or an SSDP response."""

    via: str  # "mdns" or "ssdp"
    host: str
    port: int
    name: str = ""  # mDNS instance name
    service_type: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)  # TXT records
    headers: Mapping[str, str] = field(default_factory=dict)  # SSDP headers, lower-case keys


@dataclass(frozen=True, slots=True)
class Matcher:
    """Binds announcements to a driver: by mDNS type and name glob, or by SSDP header globs."""

    driver: str
    to_found: Callable[[Announcement], Found | None]
    mdns_type: str = ""
    name_glob: str = "*"
    ssdp_st: str = ""
    ssdp_headers: Mapping[str, str] = field(default_factory=dict)
    source: str = ""  # the skill that declared it

    def accepts(self, a: Announcement) -> bool:
        if a.via == "mdns":
            return (
                bool(self.mdns_type)
                and a.service_type == self.mdns_type
                and fnmatch.fnmatch(a.name.lower(), self.name_glob.lower())
            )
        if not self.ssdp_st or a.headers.get("st", "") != self.ssdp_st:
            return False
        return all(fnmatch.fnmatch(a.headers.get(k.lower(), ""), v) for k, v in self.ssdp_headers.items())


OnFound = Callable[[Found], Awaitable[None]]


class Discovery:
    """Runs the browsers; each accepted announcement becomes a Found handed to `on_found`."""

    def __init__(
        self,
        matchers: Callable[[], Sequence[Matcher]],
        on_found: OnFound,
        *,
        interfaces: Sequence[str] = (),
        ssdp_interval: float = 300.0,
        ssdp_port: int = 1900,
    ) -> None:
        self.matchers = matchers
        self.on_found = on_found
        self.interfaces = list(interfaces)
        self.ssdp_interval = ssdp_interval
        self.ssdp_port = ssdp_port
        self.seen: dict[tuple[str, str], Announcement] = {}
        self._retrying: dict[tuple[str, str], asyncio.Future[None]] = {}  # announcements whose device failed to add
        self._tries: dict[tuple[str, str], int] = {}
        self._zc: AsyncZeroconf | None = None
        self._browsers: dict[str, AsyncServiceBrowser] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Browse mDNS continuously and search SSDP periodically, until cancelled."""
        self._zc = await zeroconf_on(self.interfaces)  # named interfaces only: the LAN is not even heard
        try:
            while True:
                self._browse_new_types()
                await self.search_ssdp()
                await asyncio.sleep(self.ssdp_interval)
        finally:
            for task in list(self._tasks):
                task.cancel()
            for browser in self._browsers.values():
                await browser.async_cancel()
            self._browsers.clear()
            await self._zc.async_close()
            self._zc = None

    def refresh(self) -> None:
        """New matchers (a skill was added): start browsing their service types now."""
        if self._zc is not None:
            self._browse_new_types()

    def _browse_new_types(self) -> None:
        assert self._zc is not None
        for matcher in self.matchers():
            kind = matcher.mdns_type
            if kind and kind not in self._browsers:
                self._browsers[kind] = AsyncServiceBrowser(self._zc.zeroconf, [kind], handlers=[self._on_change])

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            self._spawn(self._resolve(service_type, name))
        elif state_change is ServiceStateChange.Removed:  # it said goodbye: stop trying to add it
            instance = name.removesuffix("." + service_type)
            for key in [k for k in self._retrying if k[0] == "mdns" and k[1].endswith(f":{instance}:")]:
                self._retrying.pop(key).cancel()

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _resolve(self, service_type: str, name: str) -> None:
        assert self._zc is not None
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(self._zc.zeroconf, 3000):
            return
        addresses = info.parsed_addresses(IPVersion.V4Only)
        if not addresses or info.port is None:
            return
        props = {
            (k.decode(errors="replace") if isinstance(k, bytes) else str(k)): (
                v.decode(errors="replace") if isinstance(v, bytes) else ""
            )
            for k, v in info.properties.items()
        }
        instance = name.removesuffix("." + service_type)
        await self._offer(Announcement("mdns", addresses[0], info.port, instance, service_type, props))

    async def _offer(self, a: Announcement) -> None:
        key = (a.via, f"{a.host}:{a.port}:{a.name}:{a.headers.get('usn', '')}")
        self.seen[key] = a
        retrying = self._retrying.pop(key, None)
        if retrying is not None and retrying is not asyncio.current_task():
            retrying.cancel()  # announced again: this offer is the next try
        for matcher in self.matchers():
            if matcher.accepts(a):
                found = matcher.to_found(a)
                if found is not None:
                    try:
                        await self.on_found(found)
                    except Exception as exc:  # one odd device must not stop discovery
                        self._try_again(key, a, found, exc)
                    else:
                        self._tries.pop(key, None)
                return

    def _try_again(self, key: tuple[str, str], a: Announcement, found: Found, exc: Exception) -> None:
        """A device that failed to answer when it announced itself (busy, rebooting) is tried again later:
        an mDNS device may not announce itself again for an hour."""
        tries = self._tries.get(key, 0) + 1
        self._tries[key] = tries
        delay = RETRY_DELAYS[min(tries, len(RETRY_DELAYS)) - 1]
        if tries == 1:
            log.warning("could not add %s at %s: %s; trying again in %.0f s", found.name, found.address, exc, delay)
        else:
            log.debug("could not add %s at %s (try %d): %s", found.name, found.address, tries, exc)

        async def later() -> None:
            await asyncio.sleep(delay)
            await self._offer(a)

        earlier = self._retrying.get(key)
        if earlier is not None and earlier is not asyncio.current_task():
            earlier.cancel()  # offers of one announcement that failed side by side: one retry, not one each
        self._retrying[key] = self._spawn(later())

    async def search_ssdp(self, timeout: float = 1.5) -> list[Announcement]:
        """One M-SEARCH round per search target and interface; answers are offered to the matchers."""
        targets = sorted({m.ssdp_st for m in self.matchers() if m.ssdp_st})
        if not targets:
            return []
        found: list[Announcement] = []
        for iface in self.interfaces or ["0.0.0.0"]:
            found += await self._search_on(iface, targets, timeout)
        for a in found:
            await self._offer(a)
        return found

    async def _search_on(self, iface: str, targets: list[str], timeout: float) -> list[Announcement]:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setblocking(False)
        answers: list[Announcement] = []
        try:
            sock.bind((iface, 0))
            loopback = ipaddress.ip_address(iface).is_loopback
            if iface != "0.0.0.0":
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1 if loopback else 2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            broadcast = "127.255.255.255" if loopback else "255.255.255.255"
            for st in targets:
                message = (
                    "M-SEARCH * HTTP/1.1\r\n"
                    f"HOST: {SSDP_GROUP}:1900\r\n"
                    'MAN: "ssdp:discover"\r\n'
                    "MX: 1\r\n"
                    f"ST: {st}\r\n\r\n"
                ).encode()
                for destination in (SSDP_GROUP, broadcast):
                    with contextlib.suppress(OSError):
                        await loop.sock_sendto(sock, message, (destination, self.ssdp_port))
            deadline = loop.time() + timeout
            while (left := deadline - loop.time()) > 0:
                try:
                    data, (host, _) = await asyncio.wait_for(loop.sock_recvfrom(sock, 4096), left)
                except TimeoutError:
                    break
                headers = parse_ssdp(data)
                if headers:
                    port = _port_of(headers.get("location", ""))
                    answers.append(Announcement("ssdp", host, port, headers=headers))
        except OSError as exc:
            log.warning("SSDP search on %s failed: %s", iface, exc)
        finally:
            sock.close()
        return answers


def parse_ssdp(data: bytes) -> dict[str, str]:
    lines = data.decode(errors="replace").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 200"):
        return {}
    out = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def _port_of(location: str) -> int:
    hostport = location.split("://", 1)[-1].split("/", 1)[0]
    _, _, port = hostport.rpartition(":")
    return int(port) if port.isdigit() else 80
