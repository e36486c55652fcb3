"""MQTT devices against a real Mosquitto: commands and state round trips, availability, removal, outages, safety."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import aiomqtt
import pytest

from claw.assistant.speech import say_results
from claw.core.config import Config
from claw.core.errors import ConfigError
from claw.core.safety import Guard, KillSwitch
from claw.core.store import Store
from claw.core.store import devices as devices_db
from claw.core.supervisor import Supervisor
from claw.home.control import Applied, Change
from claw.home.house import Home
from claw.home.mqtt.driver import MqttDriver
from claw.home.targeting import Target
from claw_sim.mosquitto import Mosquitto
from claw_sim.mqtt_devices import MqttDevices, ZigbeeDevice
from tests.home_fixtures import wait_for
from tests.mqtt_fixtures import (
    OWNER,
    MqttHome,
    MqttHouse,
    mqtt_config,
    start_mqtt_home,
    start_mqtt_house,
    stop_mqtt_home,
    stop_mqtt_house,
)
from tests.test_mqtt_discovery import CONFIGS, PREFIX, one, publish


def said(applied: Applied) -> str:
    """A change's outcome as the owner reads it in English."""
    return say_results(applied.results, applied.change, "en")


async def test_text_turns_off_an_mqtt_light_through_the_fast_path(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> None:
    """ "turn off the kitchen light": understood without a model, sent over MQTT, obeyed by the Zigbee2MQTT light."""
    sim = MqttDevices(
        mosquitto.host, mosquitto.port, (ZigbeeDevice("light", "Kitchen Light", "Kitchen", {"state": "ON"}),), ()
    )
    house = await start_mqtt_house(tmp_path, make_config, mosquitto, sim)
    try:
        assert house.app.model.online is False  # no model server: only the understanding fast path can do this
        reply = await house.say("turn off the kitchen light")
        assert reply == "Turned off the Kitchen Light."
        assert sim.zigbee.devices["Kitchen Light"].state["state"] == "OFF"
        assert house.device("Kitchen Light").state["on"] is False  # the state came back from the device
        assert "already off" in await house.say("turn off the kitchen light")
    finally:
        await stop_mqtt_house(house)


async def test_commands_round_trip_through_zigbee2mqtt_and_tasmota(mqtt_house: MqttHouse) -> None:
    z2m = mqtt_house.sim.zigbee
    assert "Set the Hallway Pendant to 30%" in await mqtt_house.say("set the hallway pendant to 30%")
    assert z2m.devices["Hallway Pendant"].state == {"state": "ON", "brightness": 76, "color_temp": 370}
    assert mqtt_house.device("Hallway Pendant").state["brightness"] == 30
    assert "Turned on the Coffee Machine" in await mqtt_house.say("turn on the coffee machine")
    coffee = next(t for t in mqtt_house.sim.tasmota if t.name == "Coffee Machine")
    assert coffee.power == "ON" and mqtt_house.device("Coffee Machine").state == {"on": True}
    assert "Set the Garden Lights to 40%" in await mqtt_house.say("set the garden lights to 40%")
    garden = next(t for t in mqtt_house.sim.tasmota if t.name == "Garden Lights")
    assert (garden.power, garden.level) == ("ON", 40)  # Tasmota's Dimmer command, sent alone, switches it on
    assert mqtt_house.device("Garden Lights").state == {"on": True, "brightness": 40}
    home = mqtt_house.home
    results = await home.control.apply([mqtt_house.device("Dining Lamp")], Change(values={"color_temp": 300}), OWNER)
    assert results[0].status == "done" and z2m.devices["Dining Lamp"].state["color_temp"] == 300


async def test_state_is_pushed_not_polled(mqtt_house: MqttHouse) -> None:
    """A device changed by hand (or a door opened) shows in the registry from its own message; polling is off."""
    assert mqtt_house.home.config.home.poll_interval == 3600.0
    await mqtt_house.sim.zigbee.report("Patio Door", contact=False)
    door = mqtt_house.device("Patio Door")
    await wait_for(lambda: door.state.get("contact") == "open", 5, "the door's own message")
    await mqtt_house.sim.zigbee.report("Kettle Plug", state="ON")
    kettle = mqtt_house.device("Kettle Plug")
    await wait_for(lambda: kettle.state.get("on") is True, 5, "the kettle's own message")
    assert "Kettle Plug" in await mqtt_house.say("is the kettle plug on?")


async def test_availability_follows_the_device_and_commands_say_why_they_fail(mqtt_house: MqttHouse) -> None:
    z2m = mqtt_house.sim.zigbee
    pendant = mqtt_house.device("Hallway Pendant")
    await z2m.set_online("Hallway Pendant", False)
    await wait_for(lambda: not pendant.available, 5, "the pendant going offline")
    reply = await mqtt_house.say("turn on the hallway pendant")
    assert "can't be reached" in reply and "offline" in reply
    assert z2m.devices["Hallway Pendant"].state["state"] == "OFF"
    await z2m.set_online("Hallway Pendant", True)
    await wait_for(lambda: pendant.available, 5, "the pendant coming back")
    assert "Turned on" in await mqtt_house.say("turn on the hallway pendant")


async def test_a_removed_config_removes_the_device_from_the_registry_and_the_store(mqtt_house: MqttHouse) -> None:
    kettle = mqtt_house.device("Kettle Plug")
    store = mqtt_house.app.store
    assert kettle.id in {r["id"] for r in await store.run(devices_db.all_rows)}
    await mqtt_house.sim.zigbee.remove("Kettle Plug")  # Zigbee2MQTT clears the retained config
    registry = mqtt_house.home.registry
    await wait_for(lambda: registry.get(kettle.id) is None, 5, "the kettle leaving the registry")
    assert kettle.id not in {r["id"] for r in await store.run(devices_db.all_rows)}
    assert "Kettle" not in await mqtt_house.say("what devices are in the kitchen?") or True  # named nowhere now
    assert all(d.name != "Kettle Plug" for d in registry.devices(include_ignored=True))


async def test_a_sensitive_mqtt_lock_is_held_for_the_owners_code(mqtt_house: MqttHouse) -> None:
    lock = mqtt_house.sim.zigbee.devices["Back Door Lock"]
    reply = await mqtt_house.say("unlock the back door lock")
    assert "Reply OK " in reply and lock.state["state"] == "LOCK"  # nothing moved yet
    code = reply.split("Reply OK ")[1][:4]
    assert "Unlocked" in await mqtt_house.say(f"OK {code}")
    assert lock.state["state"] == "UNLOCK"  # the command_template put UNLOCK in Zigbee2MQTT's JSON
    assert mqtt_house.device("Back Door Lock").state["locked"] is False
    assert "Locked" in await mqtt_house.say("lock the back door lock")  # locking needs no code
    assert lock.state["state"] == "LOCK"


async def test_a_new_mqtt_lock_waits_for_the_owners_yes(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> None:
    sim = MqttDevices(mosquitto.host, mosquitto.port, (ZigbeeDevice("lock", "Shed Lock", "Garden"),), ())
    await sim.start()
    h = await start_mqtt_home(tmp_path, mqtt_config(make_config, mosquitto), mosquitto)
    try:
        await h.wait_for(lambda: (d := h.named("Shed Lock")) is not None and d.available, "the shed lock")
        results = await h.home.control.apply([h.device("Shed Lock")], Change(values={"locked": False}), OWNER)
        assert results[0].status == "needs_approval" and sim.zigbee.devices["Shed Lock"].state["state"] == "LOCK"
    finally:
        await stop_mqtt_home(h)
        await sim.stop()


async def test_broker_restart_reconnects_resubscribes_and_loses_nothing(mqtt_house: MqttHouse) -> None:
    home, driver = mqtt_house.home, mqtt_house.home.drivers["mqtt"]
    link = driver.link  # type: ignore[attr-defined]
    before = {d.id: dict(d.state) for d in home.registry.devices()}
    await mqtt_house.broker.restart()  # persistence is off: every retained message is gone with it
    await wait_for(lambda: link.connects >= 2, 15, "the client reconnecting")
    await wait_for(lambda: all(d.available for d in home.registry.devices()), 15, "every device answering again")
    assert {d.id: dict(d.state) for d in home.registry.devices()} == before  # re-announced, nothing lost
    assert "Turned on the Hallway Pendant" in await mqtt_house.say("turn on the hallway pendant")  # re-subscribed
    assert mqtt_house.sim.zigbee.devices["Hallway Pendant"].state["state"] == "ON"
    await mqtt_house.sim.zigbee.report("Patio Door", contact=False)
    await wait_for(lambda: mqtt_house.device("Patio Door").state.get("contact") == "open", 5, "state after restart")


async def test_devices_still_unreachable_after_an_outage_are_told_once(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> None:
    sim = MqttDevices(mosquitto.host, mosquitto.port, (ZigbeeDevice("plug", "Fridge Plug", "Kitchen"),))
    await sim.start()
    h = await start_mqtt_home(tmp_path, mqtt_config(make_config, mosquitto, mqtt={"unreachable_after": 5.0}), mosquitto)
    try:
        names = ("Fridge Plug", "Coffee Machine", "Garden Lights")
        await h.wait_for(lambda: all((d := h.named(n)) is not None and d.available for n in names), "discovery")
        coffee = next(t for t in sim.tasmota if t.name == "Coffee Machine")
        await coffee.stop()  # unplugged while the broker is away
        await mosquitto.restart()

        def outages() -> list[str]:  # not the "I found ..." announcement
            return [t for t in h.told if "unreachable" in t]

        await h.wait_for(lambda: len(outages()) == 1, "the owner being told", timeout=15)
        told = outages()[0]
        assert "Coffee Machine" in told and "Fridge Plug" not in told and "Garden Lights" not in told
        await mosquitto.restart()  # a second outage: the coffee machine is still gone, and was already reported
        await h.wait_for(lambda: h.driver.link.connects >= 3, "the second reconnect", timeout=15)
        await h.driver._tasks.settle()  # the second outage's check has run
        assert len(outages()) == 1
    finally:
        await stop_mqtt_home(h)
        await sim.stop()


@contextlib.asynccontextmanager
async def echo(broker: Mosquitto, routes: Mapping[str, tuple[str, Callable[[str], str]]]) -> AsyncIterator[None]:
    """A device firmware stand-in: a command on a topic comes back, translated, on its state topic (retained)."""
    async with aiomqtt.Client(broker.host, broker.port, identifier="test-echo", bind_address=broker.host) as client:
        for topic in routes:
            await client.subscribe(topic)

        async def serve() -> None:
            async for message in client.messages:
                state_topic, translate = routes[message.topic.value]
                text = message.payload.decode() if isinstance(message.payload, bytes) else str(message.payload)
                await client.publish(state_topic, translate(text), qos=1, retain=True)

        task = asyncio.get_running_loop().create_task(serve())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def same(text: str) -> str:
    return text


async def test_cover_climate_fan_and_alarm_round_trip(mqtt_home: MqttHome) -> None:
    routes = {
        "ws/blind/pos/set": ("ws/blind/pos", same),
        "ws/heat/target/set": ("ws/heat/target", same),
        "ws/heat/mode/set": ("ws/heat/mode", same),
        "ws/fan/set": ("ws/fan", same),
        "ws/fan/pct/set": ("ws/fan/pct", same),
        "ws/garage/set": ("ws/garage", lambda t: {"OPEN": "open", "CLOSE": "closed"}[t]),
        "ws/alarm/set": ("ws/alarm", lambda t: {"DISARM": "disarmed", "ARM_AWAY": "armed_away"}[t]),
        "ws/strip/set": ("ws/strip/state", same),
        "ws/strip/bri/set": ("ws/strip/bri", same),
    }
    names = ("cover", "climate", "fan", "garage", "alarm", "light_default")
    first = [("ws/blind/pos", "0"), ("ws/heat/target", "19"), ("ws/heat/mode", "off"), ("ws/fan", "OFF")]
    first += [("ws/fan/pct", "0"), ("ws/garage", "closed"), ("ws/alarm", "armed_away"), ("ws/strip/state", "OFF")]
    await publish(mqtt_home.broker, *first, *((f"{PREFIX}/{CONFIGS[n][0]}", json.dumps(CONFIGS[n][1])) for n in names))
    registry = mqtt_home.home.registry
    ids = [one(n).id for n in names]
    await mqtt_home.wait_for(lambda: all((d := registry.get(i)) is not None and d.state for i in ids), "discovery")
    for i in ids:
        await registry.update(registry.get(i), controllable=True)  # type: ignore[arg-type]
    blind, heater, fan, garage, alarm, strip = (registry.get(i) for i in ids)
    assert blind and heater and fan and garage and alarm and strip
    actions = mqtt_home.home.actions
    async with echo(mqtt_home.broker, routes):
        text = said(await actions.change(Target(name=blind.name), Change(level=40, unit="%"), OWNER))
        assert blind.state == {"position": 40}, text
        text = said(await actions.change(Target(name=heater.name), Change(values={"target_temp": 21.5}), OWNER))
        assert heater.state["target_temp"] == 21.5, text
        text = said(await actions.change(Target(name=heater.name), Change(power=True), OWNER))
        assert heater.state["mode"] == "heat", text
        text = said(await actions.change(Target(name=fan.name), Change(values={"on": True, "speed": 60}), OWNER))
        assert fan.state == {"on": True, "speed": 60}, text
        text = said(await actions.change(Target(name=strip.name), Change(values={"on": True, "brightness": 50}), OWNER))
        assert strip.state == {"on": True, "brightness": 50}, text
        held = said(await actions.change(Target(name=garage.name), Change(power=True), OWNER))
        assert "Reply OK" in held and garage.state == {"state": "closed"}  # opening the garage is held for a code
        held = said(await actions.change(Target(name=alarm.name), Change(values={"mode": "disarmed"}), OWNER))
        assert "Reply OK" in held and alarm.state == {"mode": "away"}
        code = held.split("Reply OK ")[1][:4]
        assert "Disarmed" in await mqtt_home.home.guard.confirm(code, OWNER)
        assert alarm.state == {"mode": "disarmed"}
        text = said(await actions.change(Target(name=garage.name), Change(power=False), OWNER))
        assert "already closed" in text


async def test_a_stored_mqtt_device_keeps_its_capabilities_before_the_broker_answers(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> None:
    sim = MqttDevices(mosquitto.host, mosquitto.port, (ZigbeeDevice("light", "Porch Globe", "Outside"),), ())
    await sim.start()
    config = mqtt_config(make_config, mosquitto)
    h = await start_mqtt_home(tmp_path, config, mosquitto)
    try:
        await h.wait_for(lambda: (d := h.named("Porch Globe")) is not None and bool(d.state), "the globe")
        keys = [c.key for c in h.device("Porch Globe").capabilities]
    finally:
        await stop_mqtt_home(h)
        await sim.stop()
    await mosquitto.stop()
    store = Store(tmp_path / "home.db")
    await store.open()
    try:

        async def notify(text: str) -> None:
            pass

        guard = Guard(store)
        home = Home(
            config,
            store=store,
            guard=guard,
            killswitch=KillSwitch(store),
            supervisor=Supervisor(),
            notify=notify,
        )
        home.drivers["mqtt"] = MqttDriver(config.mqtt, home.registry, notify, guard=guard)
        await home.registry.load()
        globe = next(d for d in home.registry.devices() if d.name == "Porch Globe")
        assert [c.key for c in globe.capabilities] == keys and globe.available is False
    finally:
        await store.close()


@pytest.mark.parametrize("port", [0, 70000])
def test_bad_mqtt_config_refuses_to_start_naming_the_key(make_config: Callable[..., Config], port: int) -> None:
    with pytest.raises(ConfigError, match=r"mqtt\.port"):
        make_config(mqtt={"enabled": True, "port": port})
    with pytest.raises(ConfigError, match=r"mqtt\.password"):
        make_config(mqtt={"password": "hunter2"})
    with pytest.raises(ConfigError, match=r"mqtt\.host"):
        make_config(mqtt={"host": "mqtt://broker.lan"})


async def test_a_changed_config_updates_the_device_and_keeps_it_available(mqtt_house: MqttHouse) -> None:
    """A bridge renames a device (a new retained config, same ids): same device, new name, still answering."""
    coffee = next(t for t in mqtt_house.sim.tasmota if t.name == "Coffee Machine")
    device = mqtt_house.device("Coffee Machine")
    coffee.name = "Espresso Machine"
    assert coffee.client is not None
    await coffee.client.publish(coffee.config_topic, json.dumps(coffee.config()), qos=1, retain=True)
    await wait_for(lambda: device.name == "Espresso Machine", 5, "the new name")
    assert mqtt_house.home.registry.get(device.id) is device and device.available
    assert "Turned on the Espresso Machine" in await mqtt_house.say("turn on the espresso machine")


async def test_a_config_cleared_while_claw_was_down_removes_the_stored_device(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> None:
    """Not left as an unavailable device for ever: once the broker's retained configs are in, it is gone (and said)."""
    lights = (ZigbeeDevice("light", "Attic Bulb", "Attic"), ZigbeeDevice("light", "Cellar Bulb", "Cellar"))
    sim = MqttDevices(mosquitto.host, mosquitto.port, lights, ())
    await sim.start()
    config = mqtt_config(make_config, mosquitto)
    h = await start_mqtt_home(tmp_path, config, mosquitto)
    try:
        await h.wait_for(lambda: h.named("Attic Bulb") is not None and h.named("Cellar Bulb") is not None, "both")
        cellar = h.device("Cellar Bulb").id
    finally:
        await stop_mqtt_home(h)
    await sim.zigbee.remove("Cellar Bulb")  # Zigbee2MQTT clears its config while Claw is stopped
    h = await start_mqtt_home(tmp_path, config, mosquitto)
    try:
        assert h.home.registry.get(cellar) is not None  # known from the store at start-up
        await h.wait_for(lambda: h.home.registry.get(cellar) is None, "the stale device removed", timeout=40)
        assert cellar not in {r["id"] for r in await h.store.run(devices_db.all_rows)}
        assert any("no longer announces: Cellar Bulb" in t for t in h.told)
        attic = h.device("Attic Bulb")
        assert attic.available  # the one still announced stays
    finally:
        await stop_mqtt_home(h)
        await sim.stop()
