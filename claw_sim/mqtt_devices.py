"""Simulated MQTT devices on a real broker: a Zigbee2MQTT bridge and Tasmota plugs and dimmers.

They speak what the real ones publish: retained Home Assistant discovery configs, retained state, availability
with a last will, and they obey commands on their command topics. When Home Assistant (or Claw) says
`homeassistant/status` "online", they announce themselves again, as Zigbee2MQTT and Tasmota do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from claw.core.tasks import OwnedTasks
from claw_sim.devices.base import stable_mac

log = logging.getLogger(__name__)
# aiomqtt's own logger for the simulated devices: it logs an answer that comes after a stop cancelled its request
# ("Unexpected message ID") as an error with a traceback; a simulated device has no one to tell.
CLIENT_LOG = logging.getLogger("claw_sim.mqtt_client")
CLIENT_LOG.setLevel(logging.CRITICAL)
PREFIX = "homeassistant"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class MqttPeer:
    """One MQTT client (a bridge or a Tasmota device): connects, announces, obeys; reconnects after a drop."""

    def __init__(self, host: str, port: int, client_id: str, will: tuple[str, str]) -> None:
        self.host, self.port, self.client_id, self.will = host, port, client_id, will
        self.client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self.commands = 0  # commands obeyed (tests and benchmarks read it)
        self._tasks = OwnedTasks(f"sim mqtt {client_id}")

    async def start(self) -> None:
        self._tasks.start(self._run(), name=f"sim mqtt {self.client_id}")
        async with asyncio.timeout(10):
            await self.connected.wait()

    async def stop(self) -> None:
        """A clean goodbye: offline (retained) like a device switched off on purpose, then disconnect."""
        client = self.client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self.will[0], self.will[1], qos=1, retain=True)
        await self._tasks.stop()

    async def _run(self) -> None:
        while True:
            will = aiomqtt.Will(self.will[0], self.will[1], qos=1, retain=True)
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.client_id,
                    logger=CLIENT_LOG,
                    will=will,
                    keepalive=10,
                    timeout=5,
                    bind_address=self.host,  # loopback only, never the wildcard address
                    socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],  # firmware answers at once
                ) as client:
                    await client.subscribe(f"{PREFIX}/status")
                    for topic in self.subscriptions():
                        await client.subscribe(topic)
                    self.client = client
                    await self.announce(client)
                    self.connected.set()
                    async for message in client.messages:
                        payload = message.payload
                        text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
                        topic = message.topic.value
                        if topic == f"{PREFIX}/status":
                            if text == "online" and not message.retain:
                                await self.announce(client)
                            continue
                        await self.command(client, topic, text)
            except aiomqtt.MqttError:
                pass
            finally:
                self.client = None
                self.connected.clear()
            await asyncio.sleep(0.2)  # the broker restarts: try again soon, as the real firmware does

    def subscriptions(self) -> list[str]:
        raise NotImplementedError

    async def announce(self, client: aiomqtt.Client) -> None:
        raise NotImplementedError

    async def command(self, client: aiomqtt.Client, topic: str, text: str) -> None:
        raise NotImplementedError


# --- Zigbee2MQTT ---------------------------------------------------------------------------------------


@dataclass
class ZigbeeDevice:
    """One device behind the bridge: `kind` is light, plug, lock, contact or climate_sensor."""

    kind: str
    name: str
    room: str
    state: dict[str, Any] = field(default_factory=dict)
    online: bool = True

    @property
    def ieee(self) -> str:
        return "0x" + stable_mac(f"zigbee/{self.name}").lower() + "ffff"

    def __post_init__(self) -> None:
        defaults: dict[str, dict[str, Any]] = {
            "light": {"state": "OFF", "brightness": 254, "color_temp": 370},
            "plug": {"state": "OFF"},
            "lock": {"state": "LOCK", "lock_state": "locked", "battery": 64},
            "contact": {"contact": True, "battery": 90},
            "climate_sensor": {"temperature": 21.5, "humidity": 48, "battery": 77},
        }
        self.state = {**defaults[self.kind], **self.state}


MODELS = {
    "light": ("IKEA", "LED2003G10"),
    "plug": ("IKEA", "E1603"),
    "lock": ("Yale", "YRD226HA2619"),
    "contact": ("Aqara", "MCCGQ11LM"),
    "climate_sensor": ("Aqara", "WSDCGQ11LM"),
}


class Zigbee2Mqtt(MqttPeer):
    """A Zigbee2MQTT bridge: `zigbee2mqtt/<name>` state, `zigbee2mqtt/<name>/set` commands, availability per device."""

    base = "zigbee2mqtt"

    def __init__(
        self, host: str, port: int, devices: list[ZigbeeDevice], *, client_id: str = "sim-zigbee2mqtt"
    ) -> None:
        super().__init__(host, port, client_id, (f"{self.base}/bridge/state", json.dumps({"state": "offline"})))
        self.devices = {d.name: d for d in devices}

    def subscriptions(self) -> list[str]:
        return [f"{self.base}/+/set"]

    def _availability(self, d: ZigbeeDevice) -> list[dict[str, str]]:
        tpl = "{{ value_json.state }}"
        return [
            {"topic": f"{self.base}/bridge/state", "value_template": tpl},
            {"topic": f"{self.base}/{d.name}/availability", "value_template": tpl},
        ]

    def configs(self, d: ZigbeeDevice) -> list[tuple[str, dict[str, Any]]]:
        """The discovery configs Zigbee2MQTT publishes for this device (a subset of its entities)."""
        maker, model = MODELS[d.kind]
        device = {
            "identifiers": [f"zigbee2mqtt_{d.ieee}"],
            "name": d.name,
            "manufacturer": maker,
            "model": model,
            "suggested_area": d.room,
            "via_device": "zigbee2mqtt_bridge_0x00124b0001",
        }
        common: dict[str, Any] = {
            "availability": self._availability(d),
            "availability_mode": "all",
            "device": device,
            "origin": {"name": "Zigbee2MQTT", "sw": "2.0.0"},
            "state_topic": f"{self.base}/{d.name}",
        }
        out: list[tuple[str, dict[str, Any]]] = []
        if d.kind == "light":
            out.append(
                (
                    "light",
                    {
                        **common,
                        "name": None,
                        "schema": "json",
                        "command_topic": f"{self.base}/{d.name}/set",
                        "brightness": True,
                        "brightness_scale": 254,
                        "supported_color_modes": ["color_temp"],
                        "min_mireds": 250,
                        "max_mireds": 454,
                        "unique_id": f"{d.ieee}_light_zigbee2mqtt",
                        "object_id": _slug(d.name),
                    },
                )
            )
        elif d.kind == "plug":
            out.append(
                (
                    "switch",
                    {
                        **common,
                        "name": None,
                        "command_topic": f"{self.base}/{d.name}/set",
                        "value_template": "{{ value_json.state }}",
                        "payload_on": "ON",
                        "payload_off": "OFF",
                        "unique_id": f"{d.ieee}_switch_zigbee2mqtt",
                    },
                )
            )
        elif d.kind == "lock":
            out.append(
                (
                    "lock",
                    {
                        **common,
                        "name": None,
                        "command_topic": f"{self.base}/{d.name}/set",
                        "command_template": '{"state": "{{ value }}"}',
                        "value_template": "{{ value_json.state }}",
                        "state_locked": "LOCK",
                        "state_unlocked": "UNLOCK",
                        "unique_id": f"{d.ieee}_lock_zigbee2mqtt",
                    },
                )
            )
        elif d.kind == "contact":
            out.append(
                (
                    "binary_sensor",
                    {
                        **common,
                        "name": None,
                        "device_class": "door",
                        "value_template": "{{ value_json.contact }}",
                        "payload_on": False,  # Zigbee2MQTT: contact false means open
                        "payload_off": True,
                        "unique_id": f"{d.ieee}_contact_zigbee2mqtt",
                    },
                )
            )
        elif d.kind == "climate_sensor":
            for key, unit in (("temperature", "°C"), ("humidity", "%")):
                out.append(
                    (
                        "sensor",
                        {
                            **common,
                            "name": key.capitalize(),
                            "device_class": key,
                            "unit_of_measurement": unit,
                            "state_class": "measurement",
                            "value_template": f"{{{{ value_json.{key} }}}}",
                            "unique_id": f"{d.ieee}_{key}_zigbee2mqtt",
                        },
                    )
                )
        if d.kind in ("contact", "climate_sensor", "lock"):
            out.append(
                (
                    "sensor",
                    {
                        **common,
                        "name": "Battery",
                        "device_class": "battery",
                        "unit_of_measurement": "%",
                        "value_template": "{{ value_json.battery }}",
                        "entity_category": "diagnostic",
                        "unique_id": f"{d.ieee}_battery_zigbee2mqtt",
                    },
                )
            )
        return out

    def config_topic(self, component: str, d: ZigbeeDevice, unique_id: str) -> str:
        return f"{PREFIX}/{component}/{d.ieee}/{unique_id.split('_')[1]}/config"

    async def announce(self, client: aiomqtt.Client) -> None:
        await client.publish(f"{self.base}/bridge/state", json.dumps({"state": "online"}), qos=1, retain=True)
        for d in self.devices.values():
            await self.announce_device(client, d)

    async def announce_device(self, client: aiomqtt.Client, d: ZigbeeDevice) -> None:
        for component, config in self.configs(d):
            topic = self.config_topic(component, d, str(config["unique_id"]))
            await client.publish(topic, json.dumps(config), qos=1, retain=True)
        await self.publish_availability(client, d)
        await client.publish(f"{self.base}/{d.name}", json.dumps(d.state), qos=1, retain=True)

    async def publish_availability(self, client: aiomqtt.Client, d: ZigbeeDevice) -> None:
        body = json.dumps({"state": "online" if d.online else "offline"})
        await client.publish(f"{self.base}/{d.name}/availability", body, qos=1, retain=True)

    async def command(self, client: aiomqtt.Client, topic: str, text: str) -> None:
        name = topic[len(self.base) + 1 : -len("/set")]
        d = self.devices.get(name)
        if d is None or not d.online:
            return  # an offline Zigbee device hears nothing
        try:
            body = json.loads(text)
        except ValueError:
            body = {"state": text}  # Zigbee2MQTT takes a bare "ON" as {"state": "ON"}
        if not isinstance(body, dict):
            return
        self.commands += 1
        if d.kind in ("light", "plug"):
            if body.get("state") in ("ON", "OFF", "TOGGLE"):
                on = body["state"] == "ON" or (body["state"] == "TOGGLE" and d.state["state"] == "OFF")
                d.state["state"] = "ON" if on else "OFF"
            if d.kind == "light" and isinstance(body.get("brightness"), int):
                d.state["brightness"] = max(0, min(254, body["brightness"]))
            if d.kind == "light" and isinstance(body.get("color_temp"), int):
                d.state["color_temp"] = max(250, min(454, body["color_temp"]))
        elif d.kind == "lock" and body.get("state") in ("LOCK", "UNLOCK"):
            d.state["state"] = body["state"]
            d.state["lock_state"] = "locked" if body["state"] == "LOCK" else "unlocked"
        else:
            return
        await client.publish(f"{self.base}/{d.name}", json.dumps(d.state), qos=0, retain=True)  # as Zigbee2MQTT: QoS 0

    async def set_online(self, name: str, online: bool) -> None:
        """Take one device off the Zigbee network (or back), as a pulled battery would."""
        d = self.devices[name]
        d.online = online
        if self.client is not None:
            await self.publish_availability(self.client, d)

    async def remove(self, name: str) -> None:
        """Remove a device from the bridge: its retained configs are cleared, as Zigbee2MQTT does."""
        d = self.devices.pop(name)
        if self.client is not None:
            for component, config in self.configs(d):
                await self.client.publish(self.config_topic(component, d, str(config["unique_id"])), b"", retain=True)

    async def report(self, name: str, **values: Any) -> None:
        """The device changes by itself (someone pressed its button, a door opened)."""
        d = self.devices[name]
        d.state.update(values)
        if self.client is not None:
            await self.client.publish(f"{self.base}/{d.name}", json.dumps(d.state), qos=1, retain=True)

    def light(self, name: str) -> Mapping[str, Any]:
        return self.devices[name].state


# --- Tasmota -------------------------------------------------------------------------------------------


class Tasmota(MqttPeer):
    """A Tasmota plug or dimmer: `cmnd/<topic>/POWER`, `stat/<topic>/RESULT`, `tele/<topic>/LWT` (legacy discovery)."""

    def __init__(self, host: str, port: int, name: str, room: str, *, dimmer: bool = False) -> None:
        self.mac = stable_mac(f"tasmota/{name}")
        self.topic = f"tasmota_{self.mac[-6:]}"
        super().__init__(host, port, f"sim-{self.topic}", (f"tele/{self.topic}/LWT", "Offline"))
        self.name, self.room, self.dimmer = name, room, dimmer
        self.power, self.level = "OFF", 100

    def subscriptions(self) -> list[str]:
        return [f"cmnd/{self.topic}/+"]

    def config(self) -> dict[str, Any]:
        """Tasmota's (SetOption19) discovery config, with Home Assistant's abbreviations and the `~` base."""
        config: dict[str, Any] = {
            "name": self.name,
            "~": f"tele/{self.topic}",
            "avty_t": "~/LWT",
            "pl_avail": "Online",
            "pl_not_avail": "Offline",
            "cmd_t": f"cmnd/{self.topic}/POWER",
            "stat_t": f"stat/{self.topic}/RESULT",
            "stat_val_tpl" if self.dimmer else "val_tpl": "{{value_json.POWER}}",
            "pl_off": "OFF",
            "pl_on": "ON",
            "uniq_id": f"{self.mac}_{'LI' if self.dimmer else 'RL'}_1",
            "dev": {
                "ids": [self.mac],
                "name": self.name,
                "mdl": "Sonoff Dimmer" if self.dimmer else "Sonoff S26",
                "sw": "13.4.0",
                "mf": "Tasmota",
                "sa": self.room,
            },
        }
        if self.dimmer:
            config |= {
                "bri_cmd_t": f"cmnd/{self.topic}/Dimmer",
                "bri_stat_t": f"stat/{self.topic}/RESULT",
                "bri_scl": 100,
                "bri_val_tpl": "{{value_json.Dimmer}}",
                "on_cmd_type": "brightness",
            }
        return config

    @property
    def config_topic(self) -> str:
        return f"{PREFIX}/{'light' if self.dimmer else 'switch'}/{self.mac}/config"

    def result(self) -> str:
        body: dict[str, Any] = {"POWER": self.power}
        if self.dimmer:
            body["Dimmer"] = self.level
        return json.dumps(body)

    async def announce(self, client: aiomqtt.Client) -> None:
        await client.publish(self.config_topic, json.dumps(self.config()), qos=1, retain=True)
        await client.publish(f"tele/{self.topic}/LWT", "Online", qos=1, retain=True)
        await client.publish(f"stat/{self.topic}/RESULT", self.result(), qos=1, retain=True)

    async def command(self, client: aiomqtt.Client, topic: str, text: str) -> None:
        what = topic.rsplit("/", 1)[-1].lower()
        word = text.strip().upper()
        if what == "power" and word in ("ON", "OFF", "TOGGLE", "1", "0"):
            on = word in ("ON", "1") or (word == "TOGGLE" and self.power == "OFF")
            self.power = "ON" if on else "OFF"
        elif what == "dimmer" and self.dimmer and text.strip().isdigit():
            self.level = max(0, min(100, int(text.strip())))
            self.power = "ON" if self.level else "OFF"  # Tasmota: a dimmer level switches the light on
        else:
            return
        self.commands += 1
        await client.publish(f"stat/{self.topic}/RESULT", self.result(), qos=0, retain=True)  # Tasmota: QoS 0


# --- the demo's MQTT devices ---------------------------------------------------------------------------

ZIGBEE = (
    ZigbeeDevice("light", "Hallway Pendant", "Hallway"),
    ZigbeeDevice("light", "Dining Lamp", "Dining Room", {"state": "ON", "brightness": 180}),
    ZigbeeDevice("plug", "Kettle Plug", "Kitchen"),
    ZigbeeDevice("lock", "Back Door Lock", "Kitchen"),
    ZigbeeDevice("contact", "Patio Door", "Dining Room"),
    ZigbeeDevice("climate_sensor", "Nursery Climate", "Nursery"),
)
TASMOTA = (("Coffee Machine", "Kitchen", False), ("Garden Lights", "Garden", True))


class MqttDevices:
    """The simulated home's MQTT side: one Zigbee2MQTT bridge and a few Tasmota devices on one broker."""

    def __init__(
        self,
        host: str,
        port: int,
        zigbee: tuple[ZigbeeDevice, ...] = ZIGBEE,
        tasmota: tuple[tuple[str, str, bool], ...] = TASMOTA,
        *,
        tag: str = "",
    ) -> None:
        devices = [ZigbeeDevice(d.kind, d.name, d.room, dict(d.state)) for d in zigbee]
        self.zigbee = Zigbee2Mqtt(host, port, devices, client_id=f"sim-zigbee2mqtt{tag}")
        self.tasmota = [Tasmota(host, port, name, room, dimmer=dimmer) for name, room, dimmer in tasmota]

    @property
    def peers(self) -> list[MqttPeer]:
        return [self.zigbee, *self.tasmota]

    @property
    def entity_count(self) -> int:
        """How many Claw devices they become (a Zigbee device may publish several entities)."""
        return sum(len(self.zigbee.configs(d)) for d in self.zigbee.devices.values()) + len(self.tasmota)

    @property
    def sensitive_ids(self) -> list[str]:
        """Claw ids of the locks (for the demo owner's yes given in advance)."""
        ids = []
        for d in self.zigbee.devices.values():
            if d.kind == "lock":
                ids.append(f"mqtt:zigbee2mqtt_{d.ieee}:{d.ieee}_lock_zigbee2mqtt")
        return ids

    async def start(self) -> None:
        await asyncio.gather(*(p.start() for p in self.peers))

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.peers), return_exceptions=True)
