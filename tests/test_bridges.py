"""A bridge's devices follow the bridge: what it no longer lists is removed, not left lingering unavailable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claw.home.capabilities import POWER, Capability
from claw.home.device import Device, Found
from tests.home_fixtures import HomeOnly


class Bridge:
    """A hub that lists whatever lights it holds right now (as Hue or a declarative skill's `expand` does)."""

    name = "testbridge"

    def __init__(self, lights: list[str]) -> None:
        self.lights = lights

    async def identify(self, found: Found) -> Found:
        return found

    async def expand(self, found: Found) -> list[Found]:
        return [
            Found(f"{found.id}.{n}", n.title(), "light", self.name, found.address, "", {"bridge": found.id}, found.via)
            for n in self.lights
        ]

    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        return (POWER,)

    async def read(self, device: Device) -> dict[str, Any]:
        return {"on": False}

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        return dict(changes)

    async def act(
        self, device: Device, action: str, params: Mapping[str, Any], *, cleared: bool = False
    ) -> dict[str, Any]:
        return {}


async def test_a_light_the_bridge_no_longer_lists_is_removed(home_only: HomeOnly) -> None:
    home = home_only.home
    bridge = Bridge(["porch", "shed"])
    home.drivers[bridge.name] = bridge
    address = next(iter(home.registry.devices())).address  # inside the home's subnet
    hub = Found("hub-1", "Garden hub", "bridge", bridge.name, address)
    await home.on_found(hub)
    assert {d.id for d in home.registry.devices() if d.driver == bridge.name} == {"hub-1.porch", "hub-1.shed"}

    bridge.lights = ["porch"]  # the shed light was removed from the hub
    await home.on_found(hub)
    assert {d.id for d in home.registry.devices(include_ignored=True) if d.driver == bridge.name} == {"hub-1.porch"}

    bridge.lights = []  # a hub that lists nothing may be restarting: nothing is removed on that
    await home.on_found(hub)
    assert {d.id for d in home.registry.devices() if d.driver == bridge.name} == {"hub-1.porch"}
