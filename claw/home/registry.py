"""The registry: every known device by stable id, persisted, with owner renames that stick."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from claw.core.config import DeviceOverride, HomeConfig
from claw.core.store import Store
from claw.core.store import devices as devices_db
from claw.core.untrusted import NAME_CHARS, clean_name
from claw.home.capabilities import SENSITIVE_KINDS
from claw.home.device import Device, Driver, Found

log = logging.getLogger(__name__)


def hub_aliases(found: Found) -> tuple[str, ...]:
    """The other names a hub gave the device (Home Assistant's entity aliases), cleaned like any announced name."""
    raw = found.info.get("aliases")
    if not isinstance(raw, list | tuple):
        return ()
    return tuple(dict.fromkeys(a for a in (clean_name(str(x)) for x in raw) if a))


# ("new" | "moved" | "unavailable" | "back" | "changed" (names, room) | "state" (a new reading)
#  | "removed" (its hub or bridge no longer has it), device)
Listener = Callable[[str, Device], None]


class Registry:
    """Known devices; discovery feeds it, intents read it, the store remembers it."""

    def __init__(self, store: Store, config: HomeConfig, drivers: Mapping[str, Driver]) -> None:
        self.store, self.config, self.drivers = store, config, drivers
        self._devices: dict[str, Device] = {}
        self._overrides: dict[str, DeviceOverride] = {o.id: o for o in config.devices}
        self.listeners: list[Listener] = []

    def devices(self, *, include_ignored: bool = False) -> list[Device]:
        return [d for d in self._devices.values() if include_ignored or not d.ignored]

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    async def load(self) -> None:
        """Read the persisted devices; they start unavailable until they answer again."""
        for row in await self.store.run(devices_db.all_rows):
            driver = self.drivers.get(row["driver"])
            found = Found(row["id"], row["name"], row["kind"], row["driver"], row["address"], row["room"], row["info"])
            device = Device(
                id=row["id"],
                name=row["name"],
                kind=row["kind"],
                driver=row["driver"],
                address=row["address"],
                room=row["room"],
                floor=row["floor"],
                aliases=row["aliases"],
                capabilities=driver.capabilities(found) if driver else (),
                state=row["state"],
                available=False,
                controllable=bool(row["controllable"]),
                ignored=bool(row["ignored"]),
                owner_named=bool(row["owner_named"]),
                info=row["info"],
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
            )
            self._apply_override(device)
            self._devices[device.id] = device

    async def found(self, found: Found) -> Device:
        """A device answered on the network: add it, or update its address if it moved."""
        now = time.time()
        device = self._devices.get(found.id)
        driver = self.drivers[found.driver]
        if device is None:
            device = Device(
                id=found.id,
                name=clean_name(found.name) or found.id[:NAME_CHARS],  # announced text: it reaches every prompt
                kind=found.kind,
                driver=found.driver,
                address=found.address,
                room=clean_name(found.room),
                floor=clean_name(found.floor),
                aliases=hub_aliases(found),
                capabilities=driver.capabilities(found),
                info=dict(found.info),
                controllable=self._policy_allows(found.kind),
                ignored=self.config.new_devices == "ignore",
            )
            self._apply_override(device)
            self._devices[device.id] = device
            await self._save(device)
            log.info("new %s %s (%s) at %s via %s", device.kind, device.name, device.id, device.address, found.via)
            self._emit("new", device)
            return device
        device.last_seen = now
        if device.address != found.address:
            log.info("%s moved from %s to %s", device.name, device.address, found.address)
            device.address = found.address
            await self._save(device)
            self._emit("moved", device)
        if not device.capabilities:
            device.capabilities = driver.capabilities(found)
        name, room = clean_name(found.name) or device.name, clean_name(found.room)
        if not device.owner_named and (name, room) != (device.name, device.room) and room:
            device.name, device.room = name, room
            await self._save(device)
        if added := tuple(a for a in hub_aliases(found) if a not in device.aliases):
            device.aliases = (*device.aliases, *added)  # a hub's aliases join the owner's; none is taken away
            await self._save(device)
        # the room's other names, as the hub has them now
        if found.info.get("area_aliases") != device.info.get("area_aliases"):
            device.info = {**device.info, "area_aliases": found.info.get("area_aliases") or []}
        if not device.owner_named and found.floor and clean_name(found.floor) != device.floor:
            device.floor = clean_name(found.floor)
            await self._save(device)
        return device

    async def forget(self, device_id: str) -> Device | None:
        """A hub or bridge removed the device: drop it from the registry and the store (not left unavailable)."""
        device = self._devices.pop(device_id, None)
        if device is None:
            return None
        await self.store.run(devices_db.delete, device_id)
        log.info("removed %s %s (%s): its hub no longer has it", device.kind, device.name, device.id)
        self._emit("removed", device)
        return device

    def mark(self, device: Device, available: bool, state: Mapping[str, Any] | None = None) -> None:
        """Record a poll or command result; availability changes are logged once each way."""
        if state is not None:
            changed = dict(state) != device.state
            device.state = dict(state)
            device.last_seen = time.time()
            if changed:  # a reading, not a rename: the grammar's vocabulary stays as it is
                self._emit("state", device)
        if available != device.available:
            device.available = available
            if available:
                log.info("%s (%s) is back", device.name, device.address)
                self._emit("back", device)
            else:
                log.warning("%s (%s) stopped answering", device.name, device.address)
                self._emit("unavailable", device)

    async def persist_state(self, device: Device) -> None:
        await self.store.run(devices_db.save_state, device.id, device.state, device.available, device.last_seen)

    async def update(self, device: Device, **changes: Any) -> Device:
        """Owner edits (rename, room, aliases, ignore, controllable); they survive rediscovery."""
        for key, value in changes.items():
            cleaned = value
            if key in ("name", "room", "floor") and isinstance(value, str):
                cleaned = clean_name(value)  # owner edits come through chat and the dashboard: one line too
            elif key == "aliases":
                cleaned = tuple(a for a in (clean_name(str(x)) for x in value) if a)
            setattr(device, key, cleaned)
        if "room" in changes and "floor" not in changes:
            device.floor = ""  # a moved device is on its new room's floor, not the one its hub gave the old room
        if changes.keys() & {"name", "room", "aliases", "floor"}:
            device.owner_named = True
        await self._save(device)
        self._emit("changed", device)
        return device

    def _policy_allows(self, kind: str) -> bool:
        if kind in SENSITIVE_KINDS:
            return False  # a new lock or alarm waits for the owner's yes, whatever the policy
        return self.config.new_devices == "controllable"

    def _apply_override(self, device: Device) -> None:
        override = self._overrides.get(device.id)
        if override is None:
            return
        if override.name:
            device.name = override.name
        if override.room:
            device.room = override.room
        if override.aliases:
            device.aliases = tuple(dict.fromkeys([*device.aliases, *override.aliases]))
        device.ignored = override.ignore
        if override.controllable is not None:
            device.controllable = override.controllable
        device.owner_named = True

    async def _save(self, device: Device) -> None:
        record = {
            "id": device.id,
            "name": device.name,
            "room": device.room,
            "floor": device.floor,
            "aliases": device.aliases,
            "kind": device.kind,
            "driver": device.driver,
            "address": device.address,
            "info": device.info,
            "state": device.state,
            "available": device.available,
            "controllable": device.controllable,
            "ignored": device.ignored,
            "owner_named": device.owner_named,
            "first_seen": device.first_seen,
            "last_seen": device.last_seen,
        }
        await self.store.run(devices_db.save, record)

    def _emit(self, what: str, device: Device) -> None:
        for listener in self.listeners:
            try:
                listener(what, device)
            except Exception:
                log.exception("registry listener failed")
