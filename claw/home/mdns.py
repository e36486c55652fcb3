"""mDNS on the interfaces the owner named, and only there: what other interfaces carry is not even heard."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from typing import Any

from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncZeroconf

# Linux delivers a multicast datagram to every socket bound to its port whose group is joined on *any*
# interface by *any* program (IP_MULTICAST_ALL, on by default): zeroconf's shared 0.0.0.0:5353 socket then
# hears the LAN even when told to use 127.0.0.1 only, and answers LAN hosts by unicast. Off: only the groups
# this socket joined, on the interfaces it joined them on.
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)


async def zeroconf_on(interfaces: Sequence[str]) -> AsyncZeroconf:
    """An AsyncZeroconf (IPv4) on `interfaces` (every one when empty) that hears nothing from the others."""
    choice: Any = list(interfaces) or InterfaceChoice.All
    zc = AsyncZeroconf(interfaces=choice, ip_version=IPVersion.V4Only)
    if interfaces:
        await zc.zeroconf.async_wait_for_start()
        for reader in zc.zeroconf.engine.readers:
            sock = reader.transport.get_extra_info("socket")
            with contextlib.suppress(OSError, AttributeError):  # not Linux: the option does not exist
                sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
    return zc
