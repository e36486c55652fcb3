"""Home Assistant devices pinned to their entity registry entry: the real client against the simulated HA."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from claw.core.bus import Outbound
from claw.core.config import Config
from claw.daemon import Daemon, build
from claw.home.device import Device, Found
from claw.home.hass.pins import judge
from claw_sim.devices import DEFAULT_ENTITIES, HAEntitySpec, HomeAssistant
from tests.test_hass import TOKEN, device, ip, link, wait_for

APPROVED = [{"id": "ha.lock.back_door", "controllable": True}, {"id": "ha.cover.garage_door", "controllable": True}]


@pytest.fixture
async def hub(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[], Awaitable[tuple[HomeAssistant, Daemon, list[str]]]]]:
    """The simulated HA with its default entities, the daemon linked to it (lock and garage approved), and the
    notices every owner got."""
    monkeypatch.setenv("HASS_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    started: list[tuple[HomeAssistant, Daemon]] = []

    async def start() -> tuple[HomeAssistant, Daemon, list[str]]:
        ha = HomeAssistant(ip=ip(), port=0, token=TOKEN, entities=DEFAULT_ENTITIES)
        await ha.start()
        config = make_config(home_assistant={"url": ha.base_url, "timeout": 3.0}, home={"devices": APPROVED})
        app = build(config, parts={"home"})
        told: list[str] = []

        async def listen(message: Outbound) -> None:
            if message.recipient is None and message.kind != "reply":
                told.append(message.text)

        app.bus.listen(listen)
        await app.start()
        started.append((ha, app))
        await wait_for(lambda: link(app).syncs >= 1, "the first sync")
        return ha, app, told

    yield start
    for ha, app in started:
        await app.stop()
        await ha.stop()


async def test_a_new_entity_named_like_the_approved_lock_is_held(hub: Any) -> None:
    ha, app, told = await hub()
    syncs = link(app).syncs
    ha.add_entity(HAEntitySpec("lock.side_door", "unlocked", {"friendly_name": "Back Door"}, "Hallway"))
    await wait_for(lambda: link(app).syncs > syncs, "the sync after the new entity")
    assert device(app, "lock.side_door") is None
    assert [d.id for d in app.home.registry.devices(include_ignored=True) if d.name == "Back Door"] == [
        "ha.lock.back_door"
    ]
    await wait_for(lambda: any("lock.side_door" in t and "Back Door" in t for t in told), "the owners told")
    ha.set_state("lock.back_door", "unlocked")  # the real one, unlocked by hand: "lock" goes to it, not the newcomer
    await wait_for(lambda: device(app, "lock.back_door").state.get("locked") is False, "the push")
    assert "Locked" in (await app.local.ask("lock the back door")).text
    assert ha.entities["lock.back_door"].state == "locked" and ha.entities["lock.side_door"].state == "unlocked"


async def test_a_kind_change_from_home_assistant_waits_for_the_owners_code(hub: Any) -> None:
    """The garage door re-announced as a curtain would lose its code: held, unavailable, applied only with it."""
    ha, app, told = await hub()
    garage = device(app, "cover.garage_door")
    assert garage.kind == "garage_door"
    ha.set_state("cover.garage_door", "closed", device_class="curtain")
    ha.set_exposed("light.living_room_lamp", True)  # any registry change makes the link read everything again
    await wait_for(lambda: any("Garage Door" in t and "Reply OK" in t for t in told), "the owners told, with a code")
    assert garage.kind == "garage_door" and not garage.available
    assert "Opened" not in (await app.local.ask("open the garage door")).text
    assert ha.entities["cover.garage_door"].state == "closed"
    notice = next(t for t in told if "Garage Door" in t and "Reply OK" in t)
    code = re.search(r"Reply OK (\w+)", notice)
    assert code is not None
    assert "Done" in (await app.local.ask(f"OK {code.group(1)}")).text
    assert device(app, "cover.garage_door").kind == "shade"


def _lock(registry_id: str, name: str = "Back Door") -> Found:
    info = {"entity_id": "lock.back_door", "domain": "lock", "registry_id": registry_id}
    return Found("ha.lock.back_door", name, "lock", "hass", "127.0.0.1:8123", "Kitchen", info)


def test_another_registry_entry_under_the_same_entity_id_is_held() -> None:
    """An entity_id given to another entity (the old one deleted, a new integration's lock renamed to it)."""
    before = _lock("entry-1")
    known = Device(before.id, before.name, before.kind, before.driver, before.address, info=dict(before.info))
    assert judge(_lock("entry-1"), known, [known], commandable=True) is None
    held = judge(_lock("entry-2"), known, [known], commandable=True)
    assert held is not None and "registry_id entry-2, was entry-1" in held.source
    assert held.action == "let it be the Back Door"


def test_a_read_only_namesake_is_not_held_but_a_commandable_one_is() -> None:
    lock = Device("ha.lock.front", "Front Door", "lock", "hass", "127.0.0.1:8123")
    sensor = Found("ha.binary_sensor.front", "Front Door", "sensor", "hass", "127.0.0.1:8123")
    switch = Found("ha.switch.front", "front  door", "switch", "hass", "127.0.0.1:8123")
    assert judge(sensor, None, [lock], commandable=False) is None
    held = judge(switch, None, [lock], commandable=True)
    assert held is not None and "like your lock Front Door" in held.source and held.victim == "Front Door"
