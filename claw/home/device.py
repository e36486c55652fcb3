"""A device in the home: stable id, names, room, kind, capabilities, state and availability."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from claw.home.capabilities import Capability

KIND_WORDS: Mapping[str, tuple[str, ...]] = {
    "light": ("light", "lights", "lamp", "lamps", "bulb", "bulbs", "lighting"),
    "switch": ("switch", "switches", "plug", "plugs", "socket", "sockets", "outlet"),
    "speaker": ("speaker", "speakers", "sonos", "music", "radio"),
    "thermostat": ("thermostat", "heating", "temperature"),
    "shade": ("shade", "shades", "blind", "blinds", "curtain", "curtains"),
    "pump": ("pump", "pool pump"),
    "fan": ("fan", "fans", "ceiling fan", "extractor"),
    "heater": ("heater", "spa", "hot tub", "spa heater"),
    "garage_door": ("garage", "garage door"),
    "gate": ("gate",),
    "valve": ("valve", "valves", "water valve"),
    "lock": ("lock", "locks", "door lock"),
    "alarm": ("alarm", "alarm panel", "security"),
    "camera": ("camera", "cameras"),
    "sensor": ("sensor", "sensors"),
}


@dataclass(frozen=True, slots=True)
class Found:
    """What discovery learned about a device on the network, before the registry knows it."""

    id: str
    name: str
    kind: str
    driver: str
    address: str  # "ip:port"
    room: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)
    via: str = ""  # mdns, ssdp, static
    floor: str = ""  # a hub that knows its floors (Home Assistant) says which


@dataclass(slots=True)
class Device:
    """The registry's live record of one device (mutable: state and availability change)."""

    id: str
    name: str
    kind: str
    driver: str
    address: str
    room: str = ""
    floor: str = ""
    aliases: tuple[str, ...] = ()
    capabilities: tuple[Capability, ...] = ()
    state: dict[str, Any] = field(default_factory=dict)
    available: bool = True
    controllable: bool = True
    ignored: bool = False
    owner_named: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    first_seen: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)

    def capability(self, key: str) -> Capability | None:
        return next((c for c in self.capabilities if c.key == key), None)

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        _, _, port = self.address.rpartition(":")
        return int(port) if port.isdigit() else 80

    def describe(self) -> dict[str, Any]:
        """The device as the API and dashboard show it."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "room": self.room,
            "floor": self.floor,
            "aliases": list(self.aliases),
            "address": self.address,
            "driver": self.driver,
            "available": self.available,
            "controllable": self.controllable,
            "ignored": self.ignored,
            "state": dict(self.state),
            "capabilities": [c.describe() for c in self.capabilities],
            "last_seen": self.last_seen,
        }


class Driver(Protocol):
    """Speaks one protocol; every call is bounded by the caller's timeout and raises DeviceError."""

    name: str

    async def identify(self, found: Found) -> Found:
        """Fill in what announcements lack (room, model); may return `found` unchanged."""

    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        """What a device of this kind can do."""

    async def read(self, device: Device) -> dict[str, Any]:
        """The device's current state."""

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply validated changes; return the new state."""

    async def act(
        self, device: Device, action: str, params: Mapping[str, Any], *, cleared: bool = False
    ) -> dict[str, Any]:
        """Run an action capability (media controls); `cleared`: an owner released it with a code."""
