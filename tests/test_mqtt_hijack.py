"""A hostile client on the real broker tries to take over an approved lock through discovery and state messages.

Each test is one hole of issue 19 (1 and 2), driven end to end: Zigbee2MQTT's lock, the attacker's own aiomqtt
client, the daemon, and the owner's words through the understanding fast path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest_asyncio

from claw.core.bus import Outbound
from claw.core.config import Config
from claw.core.store import devices as devices_db
from claw.home.control import Change
from claw_sim.mosquitto import Mosquitto
from claw_sim.mqtt_devices import PREFIX, MqttDevices, ZigbeeDevice
from tests.home_fixtures import wait_for
from tests.mqtt_fixtures import (
    OWNER,
    MqttHouse,
    mqtt_config,
    start_mqtt_home,
    start_mqtt_house,
    stop_mqtt_home,
    stop_mqtt_house,
)

DOOR = "Front Door"


class Attacker:
    """Any client the broker lets in (a compromised plug, a guest's laptop): publishes and listens like one."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.heard: list[tuple[str, str, bool]] = []  # (topic, payload, retained) on the topics it follows

    async def say(self, topic: str, payload: Any, *, retain: bool = True) -> None:
        body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        await self.client.publish(topic, body, qos=1, retain=retain)

    async def follow(self, topic: str) -> None:
        await self.client.subscribe(topic, qos=1)


@contextlib.asynccontextmanager
async def attacker(broker: Mosquitto) -> AsyncIterator[Attacker]:
    async with aiomqtt.Client(broker.host, broker.port, identifier="mallory", bind_address=broker.host) as client:
        one = Attacker(client)

        async def listen() -> None:
            async for message in client.messages:
                payload = message.payload
                text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
                one.heard.append((message.topic.value, text, bool(message.retain)))

        task = asyncio.get_running_loop().create_task(listen())
        try:
            yield one
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest_asyncio.fixture
async def door(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> AsyncIterator[tuple[MqttHouse, list[str]]]:
    """The daemon with Zigbee2MQTT's Front Door lock (approved, really unlocked) and a plug; the owners' notices."""
    zigbee = (
        ZigbeeDevice("lock", DOOR, "Hallway", {"state": "UNLOCK", "lock_state": "unlocked"}),
        ZigbeeDevice("plug", "Kettle Plug", "Kitchen"),
    )
    house = await start_mqtt_house(
        tmp_path, make_config, mosquitto, MqttDevices(mosquitto.host, mosquitto.port, zigbee, ())
    )
    told: list[str] = []

    async def listen(message: Outbound) -> None:
        if message.recipient is None and message.kind != "reply":  # told to every owner, not a chat reply
            told.append(message.text)

    house.app.bus.listen(listen)
    try:
        yield house, told
    finally:
        await stop_mqtt_house(house)


def _lock(sim: MqttDevices) -> dict[str, str]:
    """The real lock's discovery identity and topics, as Zigbee2MQTT announces them."""
    ieee = sim.zigbee.devices[DOOR].ieee
    return {
        "identifiers": f"zigbee2mqtt_{ieee}",
        "unique_id": f"{ieee}_lock_zigbee2mqtt",
        "config": f"{PREFIX}/lock/{ieee}/lock/config",
        "command": f"zigbee2mqtt/{DOOR}/set",
        "state": f"zigbee2mqtt/{DOOR}",
    }


async def _settled(house: MqttHouse, mallory: Attacker, tag: str) -> None:
    """Everything mallory published before has been handled: Claw takes one client's messages in order."""
    name = f"Marker {tag}"
    config = {"name": name, "unique_id": f"marker-{tag}", "state_topic": f"marker/{tag}", "device": {"name": name}}
    await mallory.say(f"{PREFIX}/sensor/marker_{tag}/config", config)
    await wait_for(lambda: any(d.name == name for d in house.home.registry.devices(include_ignored=True)), 10, name)


def _held(told: list[str], *words: str) -> list[str]:
    return [t for t in told if all(w in t for w in words)]


async def test_a_config_on_another_topic_reusing_the_locks_ids_is_held_and_told_once(
    door: tuple[MqttHouse, list[str]],
) -> None:
    house, told = door
    real, ids = house.sim.zigbee.devices[DOOR], _lock(house.sim)
    lock = house.device(DOOR)
    fake_topic = f"{PREFIX}/lock/mallory/door/config"
    fake = {
        "name": None,
        "unique_id": ids["unique_id"],
        "command_topic": "mallory/door/set",
        "state_topic": "mallory/door",
        "device": {"identifiers": [ids["identifiers"]], "name": DOOR},
    }
    async with attacker(house.broker) as mallory:
        await mallory.follow("mallory/door/set")
        await mallory.say("mallory/door", "LOCKED")
        await mallory.say(fake_topic, fake)
        await _settled(house, mallory, "a")
        assert "unlocked" in (await house.say("is the front door locked?")).lower()  # the real door answers
        assert await house.say("lock the front door") == "Locked the Front Door."
        assert real.state["state"] == "LOCK"
        assert not [h for h in mallory.heard if h[0] == "mallory/door/set"]  # nothing went to the attacker's topic
        await wait_for(lambda: bool(_held(told, fake_topic, DOOR)), 10, "the owners told of the held config")
        await mallory.say(fake_topic, fake)  # again, and again without retain: told once
        await mallory.say(fake_topic, fake, retain=False)
        await _settled(house, mallory, "b")
        assert len(_held(told, fake_topic)) == 1
        assert "Reply OK" in _held(told, fake_topic)[0]  # a lock: taking its place needs the owners' code
        await mallory.say(fake_topic, b"")  # clearing the attacker's config leaves the real lock alone
        await _settled(house, mallory, "c")
    assert house.home.registry.get(lock.id) is lock
    assert lock.available and lock.controllable and lock.kind == "lock"
    assert lock.info["mqtt"]["topic"] == ids["config"]


async def test_the_locks_ids_as_a_switch_on_its_command_topic_cannot_unlock_it(
    door: tuple[MqttHouse, list[str]],
) -> None:
    house, told = door
    real, ids = house.sim.zigbee.devices[DOOR], _lock(house.sim)
    assert await house.say("lock the front door") == "Locked the Front Door."
    fake_topic = f"{PREFIX}/switch/mallory/door/config"
    fake = {
        "name": None,
        "unique_id": ids["unique_id"],
        "command_topic": ids["command"],
        "payload_on": '{"state": "UNLOCK"}',
        "payload_off": '{"state": "LOCK"}',
        "device": {"identifiers": [ids["identifiers"]], "name": DOOR},
    }
    async with attacker(house.broker) as mallory:
        await mallory.say(fake_topic, fake)
        await _settled(house, mallory, "a")
        reply = await house.say("turn on the front door")
        assert real.state["state"] == "LOCK"
        assert "Unlocked" not in reply and "Turned on" not in reply
        lock = house.device(DOOR)
        assert lock.kind == "lock" and [c.key for c in lock.capabilities] == ["locked"]
        await wait_for(lambda: bool(_held(told, fake_topic)), 10, "the owners told")


async def test_a_new_switch_on_the_locks_command_topic_is_held(door: tuple[MqttHouse, list[str]]) -> None:
    house, told = door
    real, ids = house.sim.zigbee.devices[DOOR], _lock(house.sim)
    assert await house.say("lock the front door") == "Locked the Front Door."
    fountain = {
        "name": "Garden Fountain",
        "unique_id": "fountain-1",
        "command_topic": ids["command"],
        "payload_on": '{"state": "UNLOCK"}',
        "payload_off": '{"state": "LOCK"}',
        "device": {"identifiers": ["mallory-fountain"], "name": "Garden Fountain", "suggested_area": "Garden"},
    }
    async with attacker(house.broker) as mallory:
        await mallory.say(f"{PREFIX}/switch/mallory/fountain/config", fountain)
        await _settled(house, mallory, "a")
        await house.say("turn on the garden fountain")
        assert real.state["state"] == "LOCK"
        assert not any(d.name == "Garden Fountain" for d in house.home.registry.devices(include_ignored=True))
        await wait_for(lambda: bool(_held(told, "Garden Fountain", ids["command"], DOOR)), 10, "the owners told")


async def test_a_second_lock_called_front_door_is_held_and_the_real_one_still_locks(
    door: tuple[MqttHouse, list[str]],
) -> None:
    house, told = door
    real = house.sim.zigbee.devices[DOOR]
    impostor = {
        "name": None,
        "unique_id": "mallory-door",
        "command_topic": "mallory/door2/set",
        "state_topic": "mallory/door2",
        "device": {"identifiers": ["mallory-door"], "name": DOOR},
    }
    async with attacker(house.broker) as mallory:
        await mallory.say(f"{PREFIX}/lock/mallory/door2/config", impostor)
        await _settled(house, mallory, "a")
        assert await house.say("lock the front door") == "Locked the Front Door."
        assert real.state["state"] == "LOCK"
        assert [d.kind for d in house.home.registry.devices(include_ignored=True) if d.name == DOOR] == ["lock"]
        await wait_for(lambda: bool(_held(told, f"called '{DOOR}'", "like your lock")), 10, "the owners told")


async def test_an_emptied_config_keeps_the_approved_lock_unavailable_and_tells_the_owners(
    door: tuple[MqttHouse, list[str]],
) -> None:
    house, told = door
    real, ids = house.sim.zigbee.devices[DOOR], _lock(house.sim)
    lock = house.device(DOOR)
    async with attacker(house.broker) as mallory:
        await mallory.say(ids["config"], b"")
        await wait_for(lambda: not lock.available, 10, "the lock shown unavailable")
        await wait_for(lambda: bool(_held(told, DOOR, "removed")), 10, "the owners told")
    assert house.home.registry.get(lock.id) is lock and lock.controllable
    assert lock.id in {r["id"] for r in await house.app.store.run(devices_db.all_rows)}
    assert "Locked" not in await house.say("lock the front door")
    assert real.state["state"] == "UNLOCK"
    zigbee = house.sim.zigbee
    assert zigbee.client is not None
    await zigbee.announce_device(zigbee.client, real)  # the bridge announces it again: back, still approved
    await wait_for(lambda: lock.available, 10, "the lock back")
    assert house.home.registry.get(lock.id) is lock and lock.controllable
    assert await house.say("lock the front door") == "Locked the Front Door."
    assert real.state["state"] == "LOCK"


async def test_a_command_topic_change_on_the_locks_own_topic_waits_for_the_code(
    door: tuple[MqttHouse, list[str]],
) -> None:
    """Even from the lock's own config topic, redirecting its commands needs the owners' code; with it, it applies."""
    house, told = door
    ids = _lock(house.sim)
    lock = house.device(DOOR)
    moved = dict(house.sim.zigbee.configs(house.sim.zigbee.devices[DOOR])[0][1])
    moved["command_topic"] = "zigbee2mqtt/Porch Door/set"
    async with attacker(house.broker) as mallory:
        await mallory.say(ids["config"], moved)
        await wait_for(lambda: bool(_held(told, "Porch Door", "Reply OK")), 10, "the owners told, with a code")
    assert lock.info["mqtt"]["config"]["command_topic"] == ids["command"]
    notice = _held(told, "Porch Door", "Reply OK")[0]
    code = notice.split("Reply OK ")[1][:4]
    assert "now applies" in await house.say(f"OK {code}")
    assert lock.info["mqtt"]["config"]["command_topic"] == "zigbee2mqtt/Porch Door/set"
    assert lock.controllable and lock.kind == "lock"


async def test_claw_never_publishes_a_command_retained(door: tuple[MqttHouse, list[str]]) -> None:
    house, _ = door
    bubbles = {
        "name": "Bubble Machine",
        "unique_id": "bubbles-1",
        "command_topic": "party/bubbles/set",
        "state_topic": "party/bubbles",
        "retain": True,
        "device": {"identifiers": ["bubbles"], "name": "Bubble Machine", "suggested_area": "Garden"},
    }
    async with attacker(house.broker) as firmware:
        await firmware.follow("party/bubbles/set")
        await firmware.say("party/bubbles", "OFF")
        await firmware.say(f"{PREFIX}/switch/bubbles/config", bubbles)
        await wait_for(lambda: any(d.name == "Bubble Machine" and d.state for d in house.home.registry.devices()), 10)

        async def answer() -> None:  # the firmware: obey and report
            await wait_for(lambda: any(h[0] == "party/bubbles/set" for h in firmware.heard), 10, "the command")
            await firmware.say("party/bubbles", "ON")

        obey = asyncio.get_running_loop().create_task(answer())
        assert await house.say("turn on the bubble machine") == "Turned on the Bubble Machine."
        await obey
        await firmware.say("test/sentinel", "last")
    async with aiomqtt.Client(house.broker.host, house.broker.port, identifier="late", bind_address="127.0.0.1") as c:
        await c.subscribe([("party/bubbles/set", 1), ("test/sentinel", 1)])  # retained ones come in this order
        seen = []
        async for message in c.messages:
            seen.append(message.topic.value)
            if message.topic.value == "test/sentinel":
                break
    assert seen == ["test/sentinel"]  # nothing kept on the command topic for the next device to connect


async def test_a_spoofed_locked_report_does_not_stop_the_lock_command(door: tuple[MqttHouse, list[str]]) -> None:
    house, _ = door
    real, ids = house.sim.zigbee.devices[DOOR], _lock(house.sim)
    lock = house.device(DOOR)
    assert real.state["state"] == "UNLOCK" and lock.state["locked"] is False
    async with attacker(house.broker) as mallory:
        await mallory.say(ids["state"], {"state": "LOCK"}, retain=False)
        await wait_for(lambda: lock.state.get("locked") is True, 10, "the spoofed report taken in")
    sent = house.sim.zigbee.commands
    await house.say("lock the front door")
    assert house.sim.zigbee.commands == sent + 1  # LOCK went to the real lock
    assert real.state["state"] == "LOCK"


async def test_a_report_that_contradicts_the_command_is_said(door: tuple[MqttHouse, list[str]]) -> None:
    """A jammed lock answers LOCK with UNLOCKED: the owner hears that, not "Locked"."""
    house, _ = door
    shed = {
        "name": "Shed Lock",
        "unique_id": "shed-1",
        "command_topic": "shed/lock/set",
        "state_topic": "shed/lock",
        "device": {"identifiers": ["shed"], "name": "Shed Lock", "suggested_area": "Garden"},
    }
    async with attacker(house.broker) as jammed:
        await jammed.follow("shed/lock/set")
        await jammed.say("shed/lock", "UNLOCKED")
        await jammed.say(f"{PREFIX}/lock/shed/config", shed)
        await wait_for(lambda: any(d.name == "Shed Lock" and d.state for d in house.home.registry.devices()), 10)
        await house.home.registry.update(house.device("Shed Lock"), controllable=True)

        async def answer() -> None:
            await wait_for(lambda: any(h[0] == "shed/lock/set" for h in jammed.heard), 10, "the command")
            await jammed.say("shed/lock", "UNLOCKED")

        task = asyncio.get_running_loop().create_task(answer())
        reply = await house.say("lock the shed lock")
        await task
    assert "Locked" not in reply and "reports it is unlocked" in reply


async def test_same_named_devices_are_told_apart_in_the_question(door: tuple[MqttHouse, list[str]]) -> None:
    house, _ = door
    async with attacker(house.broker) as bridge:
        for room in ("Study", "Kitchen"):
            config = {
                "name": "Lamp",
                "unique_id": f"lamp-{room}",
                "command_topic": f"lamps/{room}/set",
                "state_topic": f"lamps/{room}",
                "device": {"identifiers": [f"lamp-{room}"], "name": "Lamp", "suggested_area": room},
            }
            await bridge.say(f"lamps/{room}", "OFF")
            await bridge.say(f"{PREFIX}/light/lamp_{room}/config", config)
        await wait_for(lambda: sum(1 for d in house.home.registry.devices() if d.name == "Lamp") == 2, 10, "lamps")
    reply = await house.say("turn on the lamp")
    assert "Lamp (Study)" in reply and "Lamp (Kitchen)" in reply


async def test_after_a_restart_the_pin_comes_from_the_store(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> None:
    """Claw restarts with the attacker's config retained on the broker: still held, the real lock still locks; a
    lock config cleared while Claw was down leaves the approved lock unavailable (told), never dropped."""
    zigbee = (
        ZigbeeDevice("lock", DOOR, "Hallway", {"state": "UNLOCK", "lock_state": "unlocked"}),
        ZigbeeDevice("lock", "Shed Door", "Garden"),
    )
    sim = MqttDevices(mosquitto.host, mosquitto.port, zigbee, ())
    await sim.start()
    approved = [{"id": i, "controllable": True} for i in sim.sensitive_ids]
    config = mqtt_config(make_config, mosquitto, home={"devices": approved})
    h = await start_mqtt_home(tmp_path, config, mosquitto)
    try:
        await h.wait_for(lambda: all((d := h.named(n)) is not None and d.state for n in (DOOR, "Shed Door")), "both")
        door, shed = h.device(DOOR), h.device("Shed Door")
    finally:
        await stop_mqtt_home(h)
    ids = _lock(sim)
    fake = {
        "name": None,
        "unique_id": ids["unique_id"],
        "command_topic": "mallory/door/set",
        "device": {"identifiers": [ids["identifiers"]], "name": DOOR},
    }
    async with attacker(mosquitto) as mallory:  # while Claw is down
        await mallory.say(f"{PREFIX}/lock/mallory/door/config", fake)
    await sim.zigbee.remove("Shed Door")  # its bridge clears the shed lock's config while Claw is down
    h = await start_mqtt_home(tmp_path, config, mosquitto)
    try:
        await h.wait_for(lambda: any("lock/mallory/door/config" in t for t in h.told), "the owners told of it")
        await h.wait_for(lambda: any("Shed Door" in t and "removed" in t for t in h.told), "the shed lock", 40)
        lock = h.home.registry.get(door.id)
        assert lock is not None and lock.info["mqtt"]["topic"] == ids["config"]
        await h.wait_for(lambda: lock.available and bool(lock.state), "the real lock answering")
        results = await h.home.control.apply([lock], Change(values={"locked": True}), OWNER)
        assert results[0].status == "done" and sim.zigbee.devices[DOOR].state["state"] == "LOCK"
        kept = h.home.registry.get(shed.id)
        assert kept is not None and kept.controllable and not kept.available  # kept, unavailable, still approved
        assert shed.id in {r["id"] for r in await h.store.run(devices_db.all_rows)}
    finally:
        await stop_mqtt_home(h)
        await sim.stop()
