"""`claw discover`: what answers on the network, and what Claw would do with each."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterable
from pathlib import Path

from claw.core.config import Config, load, parse
from claw.home.device import Found
from claw.home.discovery import Announcement, Discovery
from claw.home.part import Home


async def discover(args: argparse.Namespace) -> int:
    """Browse for `--seconds`, then print one line per device (and per unknown service)."""
    config: Config = load(args.config) if args.config else parse({})
    interfaces = tuple(args.interface or config.home.interfaces)
    home = Home(config)
    home.skills.load()  # built-in and the owner's skills bring their matchers
    matchers = home.matchers
    found: list[Found] = []

    from claw.home.drivers.sonos import SonosDriver

    drivers = {**home.drivers, "sonos": SonosDriver(config.home.device_timeout)}

    async def on_found(f: Found) -> None:
        driver = drivers.get(f.driver)
        if driver is not None:  # ask the device its own name and room, as the daemon would
            with contextlib.suppress(Exception):
                f = await asyncio.wait_for(driver.identify(f), config.home.device_timeout)
        found.append(f)

    discovery = Discovery(
        lambda: matchers, on_found, interfaces=interfaces, ssdp_interval=3600, ssdp_port=config.home.ssdp_port
    )
    where = ", ".join(interfaces) if interfaces else "every interface"
    print(
        f"Listening on {where} for {args.seconds:.0f} s (mDNS: {len({m.mdns_type for m in matchers if m.mdns_type})}"
        f" service types; SSDP: {len({m.ssdp_st for m in matchers if m.ssdp_st})} search targets) …"
    )
    task = asyncio.create_task(discovery.run())
    await asyncio.sleep(args.seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for driver in drivers.values():
        close = getattr(driver, "close", None)
        if close is not None:
            await close()
    overrides = {o.id: o for o in config.home.devices}
    unique = {f.id: f for f in found}
    if not unique:
        print("Nothing Claw knows how to control answered. Check the interface, or add a skill (claw skills new).")
    for f in sorted(unique.values(), key=lambda f: (f.kind, f.name)):
        action = _plan(f, config, overrides.get(f.id) is not None)
        print(f"  {f.kind:12} {f.name:28} {f.address:22} via {f.via or '?':5} [{f.driver}] -> {action}")
    others = _unclaimed(discovery.seen.values(), unique.values())
    if others:
        print("Also answering (no skill claims them):")
        for a in others[:30]:
            label = a.name or a.headers.get("server", "") or a.headers.get("st", "")
            print(f"  {a.via:5} {a.service_type or a.headers.get('st', ''):45} {a.host}:{a.port}  {label}")
    return 0


def _plan(f: Found, config: Config, overridden: bool) -> str:
    from claw.home.capabilities import SENSITIVE_KINDS

    if overridden:
        return "as configured in [[home.devices]]"
    if config.home.new_devices == "ignore":
        return "ignore (new_devices = ignore)"
    if f.kind in SENSITIVE_KINDS:
        return "add, but wait for the owner's yes before controlling it"
    if config.home.new_devices == "ask":
        return "add, and ask the owner first"
    return "add and control"


def _unclaimed(seen: Iterable[Announcement], claimed: Iterable[Found]) -> list[Announcement]:
    hosts = {f.address.rsplit(":", 1)[0] for f in claimed}
    return [a for a in seen if a.host not in hosts]


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(asyncio.run(discover(argparse.Namespace(config=Path("x"), interface=None, seconds=3))))
