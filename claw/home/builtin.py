"""The matchers for built-in drivers: Sonos (mDNS and SSDP); every other protocol comes from a skill."""

from __future__ import annotations

import re

from claw.home.device import Found
from claw.home.discovery import Announcement, Matcher

_RINCON = re.compile(r"(RINCON_[0-9A-Fa-f]+)")


def _sonos(a: Announcement) -> Found | None:
    text = a.properties.get("info", "") if a.via == "mdns" else a.headers.get("usn", "")
    match = _RINCON.search(text) or _RINCON.search(a.name)
    if not match:
        return None
    # soco always speaks to port 1400, whatever port the announcement named
    return Found(
        id=match.group(1),
        name=a.name.split("@")[-1] or "Sonos",
        kind="speaker",
        driver="sonos",
        address=f"{a.host}:1400",
        via=a.via,
    )


BUILTIN_MATCHERS = (
    Matcher("sonos", _sonos, mdns_type="_sonos._tcp.local."),
    Matcher("sonos", _sonos, ssdp_st="urn:schemas-upnp-org:device:ZonePlayer:1"),
)
