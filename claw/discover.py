"""`claw discover`: what answers on the network, and what Claw would do with each."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from aiomqtt import MqttError

from claw.core.config import Config
from claw.daemon import build, load_config, parse_config
from claw.home.capabilities import SENSITIVE_KINDS
from claw.home.device import Found
from claw.home.discovery import Announcement, Discovery
from claw.home.drivers.sonos import SonosDriver
from claw.home.hass.client import HassError
from claw.home.hass.link import HomeAssistantLink
from claw.home.mqtt.survey import survey


async def discover(args: argparse.Namespace) -> int:
    """Browse for `--seconds`, then print one line per device (and per unknown service)."""
    config: Config = load_config(args.config) if args.config else parse_config({})
    interfaces = tuple(args.interface or config.home.interfaces)
    house = build(config, parts={"home"})
    assert house.home is not None
    home = house.home
    house.skills.load()  # built-in and the owner's skills bring their matchers
    matchers = home.matchers
    found: dict[tuple[str, str], Found] = {}  # by what the network said: (id, host)
    drivers = {**home.drivers, "sonos": SonosDriver(config.home.device_timeout)}

    async def on_found(f: Found) -> None:
        if not in_subnets(f.address, config.home.subnets):
            return  # another network's device: the daemon would not take it either
        key = (f.id, _host(f.address))
        found.setdefault(key, f)  # listed even if it does not answer the identify below in time
        driver = drivers.get(f.driver)
        if driver is not None:  # ask the device its own name and room, as the daemon would
            with contextlib.suppress(Exception):
                found[key] = await asyncio.wait_for(driver.identify(f), config.home.device_timeout)

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
    devices = listed(found.values())
    for line in table(devices, config):
        print(line)
    if house.hass is not None:  # [home_assistant] configured (or a token and HA on mDNS): what it exposes
        for line in await home_assistant_lines(house.hass, config, args.seconds):
            print(line)
    if config.mqtt.enabled:  # [mqtt]: what the broker's retained discovery configs offer
        for line in await mqtt_lines(config, args.seconds):
            print(line)
    seen = [a for a in discovery.seen.values() if in_subnets(f"{a.host}:{a.port}", config.home.subnets)]
    others = _unclaimed(seen, devices)
    if others:
        print("Also answering (no skill claims them):")
        for a in others[:30]:
            label = a.name or a.headers.get("server", "") or a.headers.get("st", "")
            kind = a.service_type or a.headers.get("st", "")
            print(f"  {a.via:5} {shown(kind, 45)} {a.host}:{a.port}  {shown(label, 60).rstrip()}")
    return 0


def in_subnets(address: str, subnets: Sequence[str]) -> bool:
    """Whether the device at "ip:port" is on one of `[home] subnets` (all are, when none are set)."""
    if not subnets:
        return True
    try:
        host = ipaddress.ip_address(_host(address))
    except ValueError:
        return False
    return any(host in ipaddress.ip_network(net, strict=False) for net in subnets)


def _host(address: str) -> str:
    return address.rsplit(":", 1)[0].strip("[]")


def listed(found: Iterable[Found]) -> list[Found]:
    """One entry per device id and address (the same id at two addresses is two devices), sorted for the table."""
    unique = {(f.id, _host(f.address)): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.kind, f.name, f.address))


def table(devices: Sequence[Found], config: Config) -> list[str]:
    """The printed lines: one per device, every column from the network made safe to print."""
    if not devices:
        return ["Nothing Claw knows how to control answered. Check the interface, or add a skill (claw skills new)."]
    overrides = {o.id for o in config.home.devices}
    return [
        f"  {shown(f.kind, 12)} {shown(f.name, 28)} {shown(f.address, 22)} via {shown(f.via or '?', 5)} "
        f"[{shown(f.driver, 20).rstrip()}] -> {_plan(f, config, f.id in overrides)}"
        for f in devices
    ]


def shown(text: str, width: int) -> str:
    """`text` on one line, exactly `width` wide: control characters become "?", newlines and tabs spaces."""
    clean = "".join(" " if c.isspace() else "?" if unicodedata.category(c)[0] == "C" else c for c in text)
    clean = " ".join(clean.split())
    if len(clean) > width:
        clean = clean[: width - 1] + "…"
    return clean.ljust(width)


async def home_assistant_lines(link: HomeAssistantLink, config: Config, wait: float) -> list[str]:
    """One line per entity Home Assistant exposes to assistants: the device Claw makes of it, or why not."""
    try:
        offered = await link.survey(wait)
    except (HassError, TimeoutError) as exc:
        return [f"Home Assistant: {exc or 'none found on the network'}"]
    overrides = {o.id for o in config.home.devices}
    lines = [f"Home Assistant at {link.url} exposes {len(offered)} entities to assistants:"]
    for o in offered:
        if o.found is None:
            lines.append(f"  {shown(o.entity_id, 36)} {shown(o.name, 28)} -> leave alone ({o.reason})")
            continue
        f = o.found
        where = " / ".join(x for x in (f.floor, f.room) if x) or "no area"
        lines.append(
            f"  {shown(o.entity_id, 36)} {shown(f.name, 28)} {shown(f.kind, 12)} {shown(where, 28)} "
            f"-> {_plan(f, config, f.id in overrides)}"
        )
    return lines


async def mqtt_lines(config: Config, wait: float) -> list[str]:
    """One line per discovery config on the broker: the device Claw makes of each entity, or why it refuses it."""
    where = f"{config.mqtt.host}:{config.mqtt.port}"
    try:
        offers = await survey(config.mqtt, wait)
    except MqttError as exc:
        return [f"MQTT broker at {where}: can't connect ({exc})"]
    overrides = {o.id for o in config.home.devices}
    lines = [f"MQTT broker at {where} offers {len(offers)} discovery configs under {config.mqtt.discovery_prefix}/:"]
    for offer in offers:
        topic = offer.topic.removeprefix(config.mqtt.discovery_prefix + "/").removesuffix("/config")
        if offer.reason:
            lines.append(f"  {shown(topic, 44)} -> leave alone ({offer.reason})")
        for e in offer.entities:
            f = Found(e.id, e.name, e.kind, "mqtt", where, e.room)
            keys = ", ".join(c.key for c in e.capabilities)
            lines.append(
                f"  {shown(topic, 44)} {shown(e.name, 28)} {shown(e.kind, 12)} {shown(e.room or 'no area', 16)} "
                f"{shown(keys, 30)} -> {_plan(f, config, e.id in overrides)}"
            )
    return lines


def _plan(f: Found, config: Config, overridden: bool) -> str:
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
