"""Find Home Assistant on the local network by mDNS (`_home-assistant._tcp`) when no url is configured."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

from claw.home.mdns import zeroconf_on

log = logging.getLogger(__name__)

SERVICE = "_home-assistant._tcp.local."


async def find_home_assistant(interfaces: Sequence[str] = (), subnets: Sequence[str] = ()) -> str:
    """Wait for the first Home Assistant announced on `subnets` (any, when empty); its http://ip:port.

    The token only goes to the address that answered on the local network, never to a URL from the
    announcement's TXT records (those could point anywhere).
    """
    zc = await zeroconf_on(interfaces)
    names: asyncio.Queue[str] = asyncio.Queue()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            names.put_nowait(name)

    browser = AsyncServiceBrowser(zc.zeroconf, [SERVICE], handlers=[on_change])
    try:
        while True:
            name = await names.get()
            info = AsyncServiceInfo(SERVICE, name)
            if not await info.async_request(zc.zeroconf, 3000) or info.port is None:
                continue
            for address in info.parsed_addresses(IPVersion.V4Only):
                if _allowed(address, subnets):
                    return f"http://{address}:{info.port}"
                log.info("ignoring Home Assistant at %s: outside [home] subnets", address)
    finally:
        await browser.async_cancel()
        await zc.async_close()


def _allowed(address: str, subnets: Sequence[str]) -> bool:
    if not subnets:
        return True
    host = ipaddress.ip_address(address)
    return any(host in ipaddress.ip_network(net, strict=False) for net in subnets)
