"""Home Assistant MQTT discovery: every component type Claw takes, abbreviations, ids, rooms, and refusals."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from claw.core.config import Config
from claw.discover import mqtt_lines
from claw.home.mqtt.client import credentials
from claw.home.mqtt.discovery import Refused, parse
from claw_sim.mosquitto import Mosquitto, free_port
from tests.mqtt_fixtures import MqttHome

PREFIX = "homeassistant"
DEVICE = {"identifiers": ["board-17"], "name": "Workshop Board", "suggested_area": "Workshop", "manufacturer": "ACME"}

# One config per component, as bridges publish them (topic under the prefix, then the payload).
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "light_default": (
        "light/board-17/strip/config",
        {
            "name": "Strip",
            "unique_id": "board17-strip",
            "command_topic": "ws/strip/set",
            "state_topic": "ws/strip/state",
            "brightness_command_topic": "ws/strip/bri/set",
            "brightness_state_topic": "ws/strip/bri",
            "color_temp_command_topic": "ws/strip/ct/set",
            "color_temp_state_topic": "ws/strip/ct",
            "device": DEVICE,
        },
    ),
    "light_json": (
        "light/board-17/panel/config",
        {
            "name": "Panel",
            "unique_id": "board17-panel",
            "schema": "json",
            "command_topic": "ws/panel/set",
            "state_topic": "ws/panel",
            "supported_color_modes": ["color_temp"],
            "device": DEVICE,
        },
    ),
    "switch": (
        "switch/board-17/fan_relay/config",
        {"name": "Saw", "uniq_id": "board17-saw", "cmd_t": "ws/saw/set", "stat_t": "ws/saw", "dev": DEVICE},
    ),
    "cover": (
        "cover/board-17/blind/config",
        {
            "name": "Blind",
            "unique_id": "board17-blind",
            "command_topic": "ws/blind/set",
            "set_position_topic": "ws/blind/pos/set",
            "position_topic": "ws/blind/pos",
            "device": DEVICE,
        },
    ),
    "garage": (
        "cover/board-17/garage/config",
        {
            "name": "Roller Door",
            "unique_id": "board17-garage",
            "device_class": "garage",
            "command_topic": "ws/garage/set",
            "state_topic": "ws/garage",
            "device": DEVICE,
        },
    ),
    "lock": (
        "lock/board-17/lock/config",
        {
            "name": "Cabinet Lock",
            "unique_id": "board17-lock",
            "command_topic": "ws/lock/set",
            "state_topic": "ws/lock",
            "device": DEVICE,
        },
    ),
    "climate": (
        "climate/board-17/heater/config",
        {
            "name": "Heater",
            "unique_id": "board17-heater",
            "temperature_command_topic": "ws/heat/target/set",
            "temperature_state_topic": "ws/heat/target",
            "mode_command_topic": "ws/heat/mode/set",
            "mode_state_topic": "ws/heat/mode",
            "current_temperature_topic": "ws/heat/current",
            "modes": ["off", "heat"],
            "min_temp": 10,
            "max_temp": 28,
            "device": DEVICE,
        },
    ),
    "fan": (
        "fan/board-17/extractor/config",
        {
            "name": "Extractor",
            "unique_id": "board17-fan",
            "command_topic": "ws/fan/set",
            "state_topic": "ws/fan",
            "percentage_command_topic": "ws/fan/pct/set",
            "percentage_state_topic": "ws/fan/pct",
            "device": DEVICE,
        },
    ),
    "binary_sensor": (
        "binary_sensor/board-17/motion/config",
        {
            "name": "Motion",
            "unique_id": "board17-motion",
            "device_class": "motion",
            "state_topic": "ws/motion",
            "device": DEVICE,
        },
    ),
    "sensor": (
        "sensor/board-17/temp/config",
        {
            "name": "Temperature",
            "unique_id": "board17-temp",
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "state_topic": "ws/env",
            "value_template": "{{ value_json.temp | float }}",
            "device": DEVICE,
        },
    ),
    "alarm": (
        "alarm_control_panel/board-17/alarm/config",
        {
            "name": "Alarm",
            "unique_id": "board17-alarm",
            "command_topic": "ws/alarm/set",
            "state_topic": "ws/alarm",
            "device": DEVICE,
        },
    ),
}
# (kind, capability keys, which are writable) per config above.
EXPECTED = {
    "light_default": ("light", ["on", "brightness", "color_temp"]),
    "light_json": ("light", ["on", "brightness", "color_temp"]),
    "switch": ("switch", ["on"]),
    "cover": ("shade", ["position", "cover"]),
    "garage": ("garage_door", ["state"]),
    "lock": ("lock", ["locked"]),
    "climate": ("thermostat", ["target_temp", "mode", "current_temp"]),
    "fan": ("fan", ["on", "speed"]),
    "binary_sensor": ("sensor", ["motion"]),
    "sensor": ("sensor", ["current_temp"]),
    "alarm": ("alarm", ["mode"]),
}


def one(name: str) -> Any:
    topic, payload = CONFIGS[name]
    (entity,) = parse(f"{PREFIX}/{topic}", json.dumps(payload), PREFIX)
    return entity


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_each_component_becomes_a_device_of_the_right_kind(name: str) -> None:
    entity = one(name)
    kind, keys = EXPECTED[name]
    assert entity.kind == kind
    assert [c.key for c in entity.capabilities] == keys
    assert entity.room == "Workshop"


def test_names_ids_and_sensitivity_come_from_the_payload() -> None:
    strip = one("light_default")
    assert strip.name == "Workshop Board Strip"  # the entity's name after its device's, as Home Assistant names it
    assert strip.id == "mqtt:board-17:board17-strip"
    assert one("lock").capabilities[0].sensitive == (False,)  # unlocking needs the owner's code
    assert one("garage").capabilities[0].sensitive == ("open",)
    assert one("alarm").capabilities[0].sensitive == ("disarmed",)
    climate = one("climate")
    assert (climate.capabilities[0].min, climate.capabilities[0].max) == (10, 28)
    assert climate.capabilities[1].options == ("off", "heat")


def test_abbreviations_and_the_base_topic_expand() -> None:
    payload = {
        "~": "tele/plug_1",
        "name": "Plug",
        "uniq_id": "plug-1",
        "cmd_t": "cmnd/plug_1/POWER",
        "stat_t": "~/STATE",
        "val_tpl": "{{value_json.POWER}}",
        "avty_t": "~/LWT",
        "pl_avail": "Online",
        "pl_not_avail": "Offline",
        "dev": {"ids": ["AABB"], "name": "Plug", "sa": "Porch"},
    }
    (entity,) = parse(f"{PREFIX}/switch/AABB/config", json.dumps(payload), PREFIX)
    assert entity.config["state_topic"] == "tele/plug_1/STATE"
    assert entity.availability[0].topic == "tele/plug_1/LWT"
    assert (entity.availability[0].available, entity.availability[0].not_available) == ("Online", "Offline")
    assert entity.room == "Porch" and entity.id == "mqtt:AABB:plug-1"


def test_a_device_config_carries_several_components() -> None:
    payload = {
        "dev": {"ids": "multi-1", "name": "Multi"},
        "o": {"name": "bla2mqtt"},
        "cmps": {
            "t": {
                "p": "sensor",
                "device_class": "temperature",
                "stat_t": "multi/env",
                "uniq_id": "multi-t",
                "val_tpl": "{{ value_json.t }}",
            },
            "r": {
                "p": "switch",
                "name": "Relay",
                "cmd_t": "multi/relay/set",
                "stat_t": "multi/relay",
                "uniq_id": "multi-r",
            },
        },
    }
    entities = parse(f"{PREFIX}/device/multi-1/config", json.dumps(payload), PREFIX)
    assert sorted(e.kind for e in entities) == ["sensor", "switch"]
    assert {e.name for e in entities} == {"Multi", "Multi Relay"}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"name": "X", "command_topic": "x", "value_template": "{% if x %}"}).encode(), "value_template"),
        (json.dumps({"name": "X", "command_topic": "x", "schema": "template"}).encode(), "schema"),
        (json.dumps({"command_topic": "x"}).encode(), "no name"),
        (json.dumps({"name": "X", "command_topic": "x", "availability": 7}).encode(), "availability"),
        (json.dumps({"name": "X", "command_topic": "x", "command_template": "{{ value * 2 }}"}).encode(), "command"),
        (json.dumps({"name": "X"}).encode(), "no topic"),
        (json.dumps({"name": "X", "command_topic": "x", "enabled_by_default": False}).encode(), "disabled by default"),
        (json.dumps({"name": "X", "command_topic": "x", "entity_category": "config"}).encode(), "configuration"),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        parse(f"{PREFIX}/light/x/config", payload, PREFIX)


def test_unsupported_components_are_refused_by_name() -> None:
    with pytest.raises(Refused, match="'vacuum' is not supported"):
        parse(f"{PREFIX}/vacuum/x/config", b'{"name": "Robot"}', PREFIX)


async def publish(broker: Mosquitto, *messages: tuple[str, str | bytes]) -> None:
    async with aiomqtt.Client(broker.host, broker.port, identifier="test-publisher", bind_address=broker.host) as c:
        for topic, payload in messages:
            await c.publish(topic, payload, qos=1, retain=True)


async def test_every_component_is_discovered_from_the_broker(mqtt_home: MqttHome) -> None:
    """Retained configs on the real broker: each becomes a registry device with its kind, room and capabilities."""
    await publish(mqtt_home.broker, *((f"{PREFIX}/{t}", json.dumps(p)) for t, p in CONFIGS.values()))
    ids = {one(name).id: name for name in CONFIGS}
    registry = mqtt_home.home.registry
    await mqtt_home.wait_for(lambda: set(ids) <= {d.id for d in registry.devices(include_ignored=True)}, "discovery")
    for device_id, name in ids.items():
        device = registry.get(device_id)
        assert device is not None
        assert (device.kind, [c.key for c in device.capabilities]) == EXPECTED[name]
        assert device.room == "Workshop" and device.driver == "mqtt"
    for sensitive in ("lock", "garage", "alarm"):  # a new lock, garage or alarm waits for the owner's yes
        device = registry.get(one(sensitive).id)
        assert device is not None and device.controllable is False
    assert registry.get(one("switch").id).controllable is True  # type: ignore[union-attr]


async def test_malformed_discovery_is_logged_once_per_topic_and_never_stops_the_bridge(
    mqtt_home: MqttHome, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="claw.home.mqtt.driver")
    bad = f"{PREFIX}/light/junk/config"
    good_topic, good = CONFIGS["switch"]
    async with aiomqtt.Client(
        mqtt_home.broker.host, mqtt_home.broker.port, identifier="junk", bind_address="127.0.0.1"
    ) as c:
        for payload in (b"{oops", b"{oops", b"\xff\xfe", json.dumps({"name": 5, "schema": "template"}).encode()):
            await c.publish(bad, payload, qos=1)
        await c.publish(f"{PREFIX}/{good_topic}", json.dumps(good), qos=1)
    await mqtt_home.wait_for(lambda: mqtt_home.named("Workshop Board Saw") is not None, "the good config after the bad")
    refusals = [r.getMessage() for r in caplog.records if bad in r.getMessage()]
    assert len(refusals) == 3  # the same reason twice is logged once
    assert "not JSON" in refusals[0] and "schema" in refusals[-1]
    assert mqtt_home.driver.refused[bad].startswith("light schema")
    assert mqtt_home.driver.link.connected


async def test_claw_discover_lists_what_the_broker_offers(
    mosquitto: Mosquitto, make_config: Callable[..., Config]
) -> None:
    """`claw discover` with [mqtt]: each retained config, the kind and capabilities Claw would give it, or why not."""
    await publish(
        mosquitto,
        *((f"{PREFIX}/{t}", json.dumps(p)) for t, p in (CONFIGS["light_json"], CONFIGS["lock"])),
        (f"{PREFIX}/vacuum/robo/config", json.dumps({"name": "Robo", "command_topic": "robo/set"})),
    )
    config = make_config(mqtt={"enabled": True, "host": mosquitto.host, "port": mosquitto.port})
    lines = await mqtt_lines(config, 5.0)
    assert lines[0].startswith(f"MQTT broker at {mosquitto.host}:{mosquitto.port} offers 3 discovery configs")
    panel = next(line for line in lines if "Workshop Board Panel" in line)
    assert "light" in panel and "on, brightness, color_temp" in panel and "-> add and control" in panel
    lock = next(line for line in lines if "Cabinet Lock" in line)
    assert "wait for the owner's yes" in lock
    assert any("vacuum/robo" in line and "'vacuum' is not supported" in line for line in lines)


async def test_claw_discover_says_when_the_broker_is_unreachable(make_config: Callable[..., Config]) -> None:
    port = free_port()  # nothing listens there
    config = make_config(mqtt={"enabled": True, "host": "127.0.0.1", "port": port})
    (line,) = await mqtt_lines(config, 1.0)
    assert line.startswith(f"MQTT broker at 127.0.0.1:{port}: can't connect")


def test_the_broker_login_comes_from_the_environment_or_systemd_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_config: Callable[..., Config]
) -> None:
    config = make_config(mqtt={"enabled": True, "password_env": "HOUSE_MQTT_PASSWORD"}).mqtt
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("CLAW_MQTT_USER", raising=False)
    monkeypatch.delenv("HOUSE_MQTT_PASSWORD", raising=False)
    assert credentials(config) == (None, None)  # anonymous
    monkeypatch.setenv("CLAW_MQTT_USER", "claw")
    monkeypatch.setenv("HOUSE_MQTT_PASSWORD", "from-env")
    assert credentials(config) == ("claw", "from-env")
    (tmp_path / "mqtt_password").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert credentials(config) == ("claw", "from-systemd")
