"""Home Assistant over its WebSocket API: the real aiohttp client against the simulated HA on loopback."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from zeroconf.asyncio import AsyncZeroconf

from claw.core.backoff import Backoff
from claw.core.config import Config
from claw.core.errors import ConfigError
from claw.core.store import devices as devices_db
from claw.daemon import Daemon, build
from claw.discover import home_assistant_lines
from claw.home.hass.catalogue import Snapshot, offers
from claw.home.hass.link import REFUSED, HomeAssistantLink
from claw_sim.devices import DEFAULT_ENTITIES, HAEntitySpec, HomeAssistant

TOKEN = "long-lived-token"
PORCH = HAEntitySpec(
    "light.porch_light",
    "off",
    {"supported_color_modes": ["color_temp"], "min_color_temp_kelvin": 2200, "max_color_temp_kelvin": 6500},
    "Outside",
)
HIDDEN = HAEntitySpec("switch.server_rack", "on", {}, "Study", exposed=False)
SCENE = HAEntitySpec("scene.movie_night", "scening", {}, "Living Room")
MOTION = HAEntitySpec("binary_sensor.hall_motion", "off", {"device_class": "motion"}, "Hallway")
ENTITIES = (*DEFAULT_ENTITIES, PORCH, HIDDEN, SCENE, MOTION)


def ip() -> str:
    return f"127.0.{random.randint(231, 250)}.{random.randint(2, 250)}"


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def sim() -> AsyncIterator[Callable[..., Awaitable[HomeAssistant]]]:
    started: list[HomeAssistant] = []

    async def start(**options: Any) -> HomeAssistant:
        ha = HomeAssistant(ip=ip(), port=0, token=TOKEN, entities=options.pop("entities", ENTITIES), **options)
        await ha.start()
        started.append(ha)
        return ha

    yield start
    await asyncio.gather(*(ha.stop() for ha in started), return_exceptions=True)


@pytest.fixture
async def claw(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    apps: list[Daemon] = []
    monkeypatch.setenv("HASS_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)

    async def start(
        ha: HomeAssistant, *, synced: bool = True, before: Callable[[Daemon], None] = lambda app: None, **home: Any
    ) -> Daemon:
        config = make_config(home_assistant={"url": ha.base_url, "timeout": 3.0}, home=home)
        app = build(config, parts={"home"})
        before(app)
        await app.start()
        apps.append(app)
        if synced:
            await wait_for(lambda: link(app).syncs >= 1, "the first sync")
        return app

    yield start
    for app in apps:
        await app.stop()


def link(app: Daemon) -> HomeAssistantLink:
    assert app.hass is not None
    return app.hass


def device(app: Daemon, entity_id: str) -> Any:
    assert app.home is not None
    return app.home.registry.get(f"ha.{entity_id}")


async def test_sync_takes_only_exposed_entities_in_their_areas_and_floors(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    ids = {d.id for d in app.home.registry.devices(include_ignored=True)}
    assert ids == {f"ha.{e.entity_id}" for e in ENTITIES if e not in (HIDDEN, SCENE)}  # unexposed, unsupported: left
    lamp = device(app, "light.living_room_lamp")
    assert (lamp.kind, lamp.name, lamp.room, lamp.floor) == ("light", "Living Room Lamp", "Living Room", "Ground Floor")
    assert lamp.state == {"on": True, "brightness": 71} and lamp.available  # 180 of 255
    assert lamp.driver == "hass" and lamp.info["model"] == "Simulated Light"
    porch = device(app, "light.porch_light")
    assert (porch.room, porch.floor) == ("Outside", "")  # an area on no floor
    assert [c.key for c in porch.capabilities] == ["on", "brightness", "color_temp"]
    assert device(app, "cover.garage_door").kind == "garage_door"
    assert device(app, "cover.garage_door").state == {"state": "closed"}
    assert device(app, "lock.back_door").state == {"locked": True}
    assert device(app, "lock.back_door").controllable is False  # a lock waits for the owner's yes
    climate = device(app, "climate.hallway")
    assert climate.kind == "thermostat"
    assert climate.state == {"mode": "heat", "target_temp": 21.0, "current_temp": 20.5}
    assert climate.capability("target_temp").max == 35.0
    assert device(app, "sensor.outdoor_temperature").state == {"current_temp": 12.5}
    assert device(app, "binary_sensor.hall_motion").state == {"motion": False}
    assert not [r for r in ha.requests if r[1].startswith("/api/states")]  # no REST polling
    read = {"homeassistant/expose_entity/list", "config/floor_registry/list", "get_states"}
    assert read <= set(ha.websocket.commands)


async def test_a_token_without_admin_reads_the_expose_settings_from_the_entity_registry(sim: Any, claw: Any) -> None:
    ha = await sim(admin=False)
    app = await claw(ha)
    assert device(app, "switch.server_rack") is None and device(app, "light.porch_light") is not None


async def test_state_changes_arrive_by_push(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    ha.set_state("sensor.outdoor_temperature", "14.5")
    ha.set_state("light.living_room_lamp", "off", brightness=None)
    ha.set_state("binary_sensor.hall_motion", "on")
    await wait_for(lambda: device(app, "binary_sensor.hall_motion").state == {"motion": True}, "the motion push")
    assert device(app, "sensor.outdoor_temperature").state == {"current_temp": 14.5}
    assert device(app, "light.living_room_lamp").state == {"on": False, "brightness": 0}
    ha.set_state("light.living_room_lamp", "unavailable")
    await wait_for(lambda: not device(app, "light.living_room_lamp").available, "HA's unavailable")
    rows = {r["id"]: r for r in await app.store.run(devices_db.all_rows)}
    assert rows["ha.sensor.outdoor_temperature"]["state"] == {"current_temp": 14.5}  # persisted


async def test_turn_on_the_porch_light_by_text_is_a_service_call(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    reply = (await app.local.ask("turn on the porch light")).text
    assert reply == "Turned on the Porch Light."
    assert ha.entities["light.porch_light"].state == "on"
    assert device(app, "light.porch_light").state["on"] is True
    assert "already on" in (await app.local.ask("turn on the porch light")).text
    await app.local.ask("set the porch light to 40%")
    assert ha.entities["light.porch_light"].attributes["brightness"] == 102
    await app.local.ask("turn off the porch light")
    assert ha.entities["light.porch_light"].state == "off"
    assert ha.websocket.commands.count("call_service") == 3


async def test_a_refused_service_call_says_what_home_assistant_said(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    climate = device(app, "climate.hallway")
    ha.entities["climate.hallway"].attributes["max_temp"] = 25.0  # HA's limit is lower than Claw knew
    reply = (await app.local.ask("set the hallway to 30°")).text
    assert "refused by Home Assistant" in reply and "between" in reply
    assert climate.state["target_temp"] == 21.0


async def test_a_lock_is_unlocked_only_with_the_owners_code(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha, devices=[{"id": "ha.lock.back_door", "controllable": True}])
    reply = (await app.local.ask("unlock the back door")).text
    code = re.search(r"Reply OK (\w+)", reply)
    assert code is not None and ha.entities["lock.back_door"].state == "locked"
    assert "call_service" not in ha.websocket.commands
    answer = (await app.local.ask(f"OK {code.group(1)}")).text
    assert "Unlocked" in answer and ha.entities["lock.back_door"].state == "unlocked"


async def test_removed_and_unexposed_entities_leave_the_registry(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    ha.remove_entity("switch.coffee_maker")
    await wait_for(lambda: device(app, "switch.coffee_maker") is None, "the removal")
    ha.set_exposed("light.porch_light", False)
    await wait_for(lambda: device(app, "light.porch_light") is None, "the un-exposed light to go")
    ha.add_entity(HAEntitySpec("switch.kettle", "off", {}, "Kitchen"))
    await wait_for(lambda: device(app, "switch.kettle") is not None, "the new kettle")
    assert device(app, "switch.kettle").floor == "Ground Floor"
    rows = {r["id"] for r in await app.store.run(devices_db.all_rows)}
    assert "ha.switch.coffee_maker" not in rows and "ha.light.porch_light" not in rows and "ha.switch.kettle" in rows


async def test_a_restart_of_home_assistant_reconnects_and_resyncs(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    assert ha.websocket.logins == 1

    def meanwhile() -> None:  # what changed while Claw could not hear it
        ha.entities["switch.coffee_maker"].state = "on"
        del ha.entities["sensor.outdoor_temperature"]
        ha.entities["light.porch_light"].area = "Bedroom"
        ha.entities["climate.hallway"].attributes["max_temp"] = 25.0

    await ha.restart(meanwhile)
    await wait_for(lambda: link(app).syncs >= 2, "the re-sync after the restart")
    assert ha.websocket.logins == 2
    assert device(app, "switch.coffee_maker").state == {"on": True} and device(app, "switch.coffee_maker").available
    assert device(app, "sensor.outdoor_temperature") is None
    assert (device(app, "light.porch_light").room, device(app, "light.porch_light").floor) == ("Bedroom", "First Floor")
    assert device(app, "climate.hallway").capability("target_temp").max == 25.0  # what HA allows now
    assert (await app.local.ask("turn on the porch light")).text == "Turned on the Porch Light."
    assert ha.entities["light.porch_light"].state == "on"


async def test_home_assistant_down_marks_its_devices_unavailable(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    await ha.stop()
    await wait_for(lambda: not device(app, "switch.coffee_maker").available, "the devices to go unavailable")
    reply = (await app.local.ask("turn on the coffee maker")).text
    assert "Turned on" not in reply


async def test_a_refused_token_is_logged_and_told_once(
    sim: Any, claw: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ha = await sim()
    monkeypatch.setenv("HASS_TOKEN", "an-old-token")

    def quick(app: Daemon) -> None:  # retry fast here, to see several refusals
        link(app).auth_backoff = Backoff(0.01, 0.05)

    with caplog.at_level(logging.ERROR, logger="claw.home.hass.link"):
        app = await claw(ha, synced=False, before=quick)
        await wait_for(lambda: ha.websocket.refused >= 3, "three refused logins")
    told = [n.text for n in app.local.notifications if "refused the token" in n.text]
    assert len(told) == 1 and "HASS_TOKEN" in told[0]
    assert "Invalid access token" in caplog.text
    assert app.home.registry.devices() == [] and ha.websocket.logins == 0
    assert REFUSED.delay(1) >= 60  # in a real house a refused token is retried slowly, not in a tight loop


async def test_malformed_messages_are_skipped(sim: Any, claw: Any, caplog: pytest.LogCaptureFixture) -> None:
    ha = await sim()
    app = await claw(ha)
    subscription = 1  # the state_changed subscription is the first command
    for raw in (
        "not json",
        "[1, 2, 3]",
        '{"type": "event"}',
        '{"id": 99999, "type": "result", "success": true}',
        f'{{"id": {subscription}, "type": "event", "event": "x"}}',
        f'{{"id": {subscription}, "type": "event", "event": {{"event_type": "state_changed", "data": 5}}}}',
        f'{{"id": {subscription}, "type": "event", "event": {{"event_type": "state_changed", '
        '"data": {"entity_id": "switch.coffee_maker", "new_state": {"entity_id": "switch.coffee_maker", '
        '"state": "on", "attributes": "garbage", "last_updated": "never"}}}}',
    ):
        ha.inject(raw)
    ha.set_state("sensor.outdoor_temperature", "3.0")
    await wait_for(lambda: device(app, "sensor.outdoor_temperature").state == {"current_temp": 3.0}, "a good push")
    assert ha.websocket.logins == 1  # the link stayed up
    assert "not JSON" in caplog.text


def test_a_garbled_full_read_offers_only_what_makes_sense() -> None:
    snapshot = Snapshot(
        states=[1, None, {"entity_id": 5}, {"entity_id": "light.a", "state": "on", "attributes": "x"}],
        entities="nope",
        areas=[{"area_id": None}],
        exposed={"exposed_entities": {"light.a": {"conversation": True}, "switch.b": "yes"}},
    )
    (offer,) = offers(snapshot, "127.0.0.1:8123")
    assert offer.found is not None and offer.found.kind == "light" and offer.found.room == ""


def test_config_names_the_key(make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"home_assistant\.url"):
        make_config(home_assistant={"url": "homeassistant.local"})
    with pytest.raises(ConfigError, match=r"home_assistant\.token_env"):
        make_config(home_assistant={"token_env": "my token"})
    monkeypatch.delenv("HASS_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError, match=r"home_assistant\.token_env names HASS_TOKEN, which is not set"):
        build(make_config(home_assistant={"url": "http://127.0.0.1:8123"}), parts={"home"})
    assert build(make_config(), parts={"home"}).hass is None  # no url, no token: Home Assistant is left alone


async def test_discover_lists_what_home_assistant_offers(
    sim: Any, make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    ha = await sim()
    monkeypatch.setenv("HASS_TOKEN", TOKEN)
    config = make_config(home_assistant={"url": ha.base_url})
    house = build(config, parts={"home"})
    assert house.hass is not None
    lines = await home_assistant_lines(house.hass, config, 2.0)
    assert lines[0] == f"Home Assistant at {ha.base_url} exposes 9 entities to assistants:"
    by_entity = {line.split()[0]: line for line in lines[1:]}
    assert "switch.server_rack" not in by_entity  # not exposed: not even listed
    assert "leave alone (Claw does not drive scene entities)" in by_entity["scene.movie_night"]
    assert "wait for the owner's yes" in by_entity["lock.back_door"]
    assert "Ground Floor / Living Room" in by_entity["light.living_room_lamp"]
    assert by_entity["light.porch_light"].endswith("-> add and control")
    assert "call_service" not in ha.websocket.commands and "subscribe_events" not in ha.websocket.commands


async def test_with_discover_and_no_url_the_home_assistant_announced_on_mdns_is_used(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    zeroconf = AsyncZeroconf(interfaces=["127.0.0.1"])
    ha = HomeAssistant(ip=ip(), port=0, token=TOKEN, entities=ENTITIES, name=f"Home {random.randrange(10**6)}")
    monkeypatch.setenv("HASS_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    home = {"discovery": True, "interfaces": ["127.0.0.1"], "subnets": [f"{ha.ip}/32"], "ssdp_interval": 3600.0}
    assert build(make_config(home=home), parts={"home"}).hass is None  # by default the token goes nowhere unasked
    app = build(make_config(home=home, home_assistant={"discover": True}), parts={"home"})  # only its own sim
    try:
        await ha.start(zeroconf)
        await app.start()
        await wait_for(lambda: link(app).syncs >= 1, "Home Assistant found by mDNS", 15)
        assert link(app).url == ha.base_url  # the address that answered, not a URL from the TXT records
        assert device(app, "light.porch_light").room == "Outside"
    finally:
        await app.stop()
        await ha.stop()
        await zeroconf.async_close()


async def test_devices_of_the_retired_polling_skill_are_replaced(sim: Any, claw: Any) -> None:
    ha = await sim()
    app = await claw(ha)
    old = {"id": f"{ha.uuid}.switch.coffee_maker", "name": "Coffee Maker", "room": "Kitchen", "floor": ""}
    old |= {"aliases": (), "kind": "switch", "driver": "home-assistant", "address": "127.0.0.1:8123", "info": {}}
    old |= {"state": {}, "available": False, "controllable": True, "ignored": False, "owner_named": False}
    await app.store.run(devices_db.save, {**old, "first_seen": 0.0, "last_seen": 0.0})
    await app.home.registry.load()  # as after an upgrade: the skill's device is still in the store
    assert app.home.registry.get(old["id"]) is not None
    syncs = link(app).syncs
    ha.set_exposed("light.porch_light", True)  # any registry change makes the link read everything again
    await wait_for(lambda: link(app).syncs > syncs, "a re-sync")
    assert app.home.registry.get(old["id"]) is None and device(app, "switch.coffee_maker") is not None
    assert old["id"] not in {r["id"] for r in await app.store.run(devices_db.all_rows)}
