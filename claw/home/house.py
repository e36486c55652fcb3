"""The home: registry, drivers, discovery, polling and the verbs that act on devices."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from claw.core.config import Config
from claw.core.findings import Check
from claw.core.principals import system
from claw.core.ratelimit import CommandLimits
from claw.core.request import unattended
from claw.core.safety import Guard, KillSwitch
from claw.core.store import Store
from claw.core.supervisor import Supervisor
from claw.core.tasks import OwnedTasks
from claw.home.actions import Actions
from claw.home.builtin import BUILTIN_MATCHERS
from claw.home.capabilities import SENSITIVE_KINDS
from claw.home.checks import home_checks
from claw.home.control import Control
from claw.home.device import Device, Driver, Found
from claw.home.discovery import Discovery, Matcher
from claw.home.drivers.sonos import SonosDriver
from claw.home.registry import Registry
from claw.home.routines import RoutineBook

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]


class Home:
    """Everything about devices; built once by the daemon with exactly what it uses."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        guard: Guard,
        killswitch: KillSwitch,
        supervisor: Supervisor,
        notify: Notify,
    ) -> None:
        self.config = config
        self.store, self.supervisor, self.notify = store, supervisor, notify
        self.version = 0  # bumps when names, rooms or routines change (the fast path rebuilds its vocabulary)
        self.room_aliases = {alias: room.name for room in config.home.rooms for alias in room.aliases}
        self.room_floors = {room.name: room.floor for room in config.home.rooms if room.floor}
        self.routines = RoutineBook()
        self.matchers: list[Matcher] = list(BUILTIN_MATCHERS)
        self.drivers: dict[str, Driver] = {}  # by name: the built-in ones and one per skill that drives devices
        timeout = config.home.device_timeout
        self.drivers["sonos"] = SonosDriver(timeout, peers=lambda: self.registry.devices())
        self.registry = Registry(store, config.home, self.drivers)
        limits = CommandLimits(config.limits.agent_commands_per_minute, config.limits.owner_commands_per_minute)
        self.control = Control(self.registry, self.drivers, guard, store, timeout=timeout, limits=limits)
        self.actions = Actions(
            self.registry, self.control, self.routines, guard, killswitch, store, self.room_aliases, self.room_floors
        )
        self.discovery = Discovery(
            lambda: self.matchers,
            self.on_found,
            interfaces=config.home.interfaces,
            ssdp_interval=config.home.ssdp_interval,
            ssdp_port=config.home.ssdp_port,
        )
        self.guard = guard
        self._told: set[str] = set()  # "id@address" moves the owners heard about, once each
        self._announce: list[Device] = []
        self._tasks = OwnedTasks("home")
        # hubs that push their devices (Home Assistant, MQTT): started once the registry is loaded
        self.bridges: dict[str, Callable[[], Awaitable[None]]] = {}

    def checks(self) -> Check:
        """The home's heartbeat checks (offline devices, batteries, doors open at night)."""
        return home_checks(self.registry, self.config)

    async def start(self) -> None:
        """Read the known devices, then keep discovering and polling (the skills are loaded before this)."""
        await self.registry.load()
        self.registry.listeners.append(self._on_registry)
        if self.config.home.discovery:
            self.supervisor.start("discovery", self.discovery.run)
        self.supervisor.start("device polling", self._poll_forever)
        for name, run in self.bridges.items():
            self.supervisor.start(name, run)

    async def stop(self) -> None:
        await self._tasks.stop()
        for driver in self.drivers.values():
            close = getattr(driver, "close", None)
            if close is not None:
                await close()

    async def on_found(self, found: Found) -> None:
        """Discovery saw a device: identify new or moved ones, then hand it to the registry."""
        if not self._accepts(found.address):
            return
        known = self.registry.get(found.id)
        if known is not None and (known.address, known.driver) == (found.address, found.driver) and known.capabilities:
            known.last_seen = time.time()
            if not known.available:  # it announced itself: read it now, not at the next poll
                await self.refresh(known)
            return
        driver = self.drivers.get(found.driver)
        if driver is None:
            return
        found = await driver.identify(found)
        expand = getattr(driver, "expand", None)
        children = await expand(found) if expand is not None else None
        for one in [found] if children is None else children:
            await self._add(one)
        if children:  # what the bridge no longer lists goes (an empty list may be a bridge still starting)
            listed = {c.id for c in children}
            for gone in [
                d for d in self.registry.devices(include_ignored=True) if _child_of(d, found) and d.id not in listed
            ]:
                await self.registry.forget(gone.id)

    async def _add(self, found: Found) -> None:
        known = self.registry.get(found.id)
        if known is not None and known.driver != found.driver:
            await self.registry.update(known, driver=found.driver, capabilities=())  # now served by a skill
        elif known is not None and known.address == found.address and known.capabilities:
            known.last_seen = time.time()
            return
        elif known is not None and known.address != found.address and not await self._may_move(known, found):
            return
        device = await self.registry.found(found)
        await self.refresh(device)

    async def _may_move(self, known: Device, found: Found) -> bool:
        """A known id at a new address: an impostor, unless the old address went quiet (a DHCP move, a restart).

        A device that still answers at its old address while something else claims its id keeps its address:
        for a lock, an alarm, a garage door, a gate or a camera the move waits for an owner's code; the owners
        are told once either way.
        """
        key = f"{known.id}@{found.address}"
        if not await self._answers(known):
            if key not in self._told:
                self._told.add(key)
                await self.notify(f"The {known.name} now answers at {found.address} (was {known.address}).")
            return True
        if key in self._told:
            return False
        self._told.add(key)
        log.warning(
            "%s (%s) still answers at %s, but %s claims its id", known.name, known.id, known.address, found.address
        )
        if known.kind not in SENSITIVE_KINDS:
            await self.notify(
                f"Something at {found.address} claims to be the {known.name}, which still answers at "
                f"{known.address}. I keep using {known.address}."
            )
            return False

        async def move() -> str:
            await self.registry.found(found)
            return f"The {known.name} is now at {found.address}."

        await self.guard.hold(
            f"let the {known.name} move to {found.address}", move, unattended(system("discovery"), "system")
        )
        return False

    async def _answers(self, device: Device) -> bool:
        driver = self.drivers.get(device.driver)
        if driver is None:
            return False
        try:
            async with asyncio.timeout(self.config.home.device_timeout):
                await driver.read(device)
        except Exception:
            return False
        return True

    def _accepts(self, address: str) -> bool:
        if not self.config.home.subnets:
            return True
        host = ipaddress.ip_address(address.rsplit(":", 1)[0])
        return any(host in ipaddress.ip_network(net, strict=False) for net in self.config.home.subnets)

    async def refresh(self, device: Device) -> None:
        """Read one device's state; a failure marks it unavailable (logged once)."""
        driver = self.drivers.get(device.driver)
        if driver is None:
            return
        try:
            async with asyncio.timeout(self.config.home.device_timeout):
                state = await driver.read(device)
        except Exception:
            self.registry.mark(device, available=False)
            return
        before = dict(device.state)
        self.registry.mark(device, available=True, state=state)
        if state != before:
            await self.registry.persist_state(device)

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.home.poll_interval)
            devices = self.registry.devices()
            await asyncio.gather(*(self.refresh(d) for d in devices))

    def _on_registry(self, what: str, device: Device) -> None:
        if what in ("new", "changed", "moved", "removed"):
            self.version += 1
        if what == "new":
            self._announce.append(device)
            if not self._tasks:
                self._tasks.start(self._announce_soon(), name="announce new devices")

    async def _announce_soon(self) -> None:
        """New devices are told to the owner in one message, not twenty."""
        await asyncio.sleep(5.0)
        devices, self._announce = self._announce, []
        if devices:
            await self.notify(announcement(devices))

    async def snapshot(self) -> list[dict[str, Any]]:
        return [d.describe() for d in self.registry.devices(include_ignored=True)]

    async def routines_snapshot(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self.routines.all()]


def _child_of(device: Device, bridge: Found) -> bool:
    return device.info.get("bridge") == bridge.id and device.driver == bridge.driver


def announcement(devices: Sequence[Device]) -> str:
    def one(d: Device) -> str:
        where = f" in the {d.room}" if d.room else ""
        return f"a {d.info.get('model') or d.kind.replace('_', ' ')} called {d.name}{where}"

    waiting = [d for d in devices if not d.controllable and not d.ignored]
    if len(devices) <= 3:
        text = "I found " + "; ".join(one(d) for d in devices) + "."
    else:
        text = f"I found {len(devices)} new devices: " + ", ".join(d.name for d in devices[:12])
        text += ", …" if len(devices) > 12 else "."
    if waiting:
        names = ", ".join(d.name for d in waiting)
        text += f' I won\'t control {names} until you say "allow" and the name (they guard the house).'
    return text
