"""The simulated home for `claw demo`, the tests and benchmarks: real protocols on 127.0.0.N."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zeroconf.asyncio import AsyncZeroconf

from claw.home.mdns import zeroconf_on
from claw_sim.devices import HAEntitySpec, HomeAssistant, HttpJsonDevice, make_device, stable_mac
from claw_sim.mosquitto import Mosquitto, mosquitto_missing
from claw_sim.mqtt_devices import MqttDevices
from claw_sim.sonos import SimSonos, SonosSystem

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Spec:
    kind: str
    name: str
    room: str
    options: tuple[tuple[str, Any], ...] = ()


# The demo house: 18 HTTP-JSON devices and 3 Sonos speakers.
DEVICES: tuple[Spec, ...] = (
    Spec("light", "Kitchen Ceiling", "Kitchen", (("on", True),)),
    Spec("light", "Kitchen Island", "Kitchen"),
    Spec("light", "Living Room Lamp", "Living Room", (("on", True), ("brightness", 60))),
    Spec("light", "Living Room Ceiling", "Living Room"),
    Spec("light", "Bedroom Lamp", "Bedroom", (("on", True),)),
    Spec("light", "Bedroom Ceiling", "Bedroom"),
    Spec("light", "Desk Lamp", "Study", (("on", True),)),
    Spec("light", "Hallway Light", "Hallway"),
    Spec("light", "Porch Light", "Outside", (("dimmable", False),)),
    Spec("thermostat", "Thermostat", "Hallway"),
    Spec("shade", "Living Room Shades", "Living Room"),
    Spec("shade", "Bedroom Shades", "Bedroom"),
    Spec("pump", "Pool Pump", "Garden", (("on", True),)),
    Spec("heater", "Spa Heater", "Garden"),
    Spec("garage_door", "Garage Door", "Garage"),
    Spec("lock", "Front Door", "Hallway"),
    Spec("alarm", "Alarm Panel", "Hallway"),
    Spec("sensor", "Back Door Sensor", "Kitchen", (("sensor", "contact"),)),
)
SPEAKERS = ("Study", "Living Room", "Kitchen")
SENSITIVE = ("garage_door", "lock", "alarm")
# The demo's Home Assistant: what it exposes to assistants reaches Claw over its WebSocket API.
HASS_ENTITIES: tuple[HAEntitySpec, ...] = (
    HAEntitySpec(
        "light.landing_light",
        "off",
        {"supported_color_modes": ["color_temp"], "min_color_temp_kelvin": 2200, "max_color_temp_kelvin": 6500},
        "Landing",
    ),
    HAEntitySpec("fan.bedroom_fan", "off", {}, "Bedroom"),
    HAEntitySpec("switch.dehumidifier", "on", {}, "Cellar"),
    HAEntitySpec("lock.side_door", "locked", {}, "Utility Room"),
    HAEntitySpec("sensor.cellar_humidity", "61", {"unit_of_measurement": "%", "device_class": "humidity"}, "Cellar"),
    HAEntitySpec("switch.server_rack", "on", {}, "Cellar", exposed=False),  # not exposed: Claw never sees it
)
HASS_FLOORS = {"Landing": "First Floor", "Bedroom": "First Floor", "Cellar": "Basement", "Utility Room": "Ground Floor"}
HASS_TOKEN_ENV = "CLAW_SIM_HASS_TOKEN"  # the demo hands Claw the simulated Home Assistant's token through it


def device_ip(index: int, subnet: int = 0) -> str:
    """127.0.<subnet>.20 upwards, spilling into the next subnets for large benchmark homes."""
    n = 20 + index
    return f"127.0.{subnet}.{n}" if n < 250 else f"127.0.{subnet + n // 250}.{n % 250 + 1}"


class SimHome:
    """Starts every simulated device, announced over mDNS on 127.0.0.1 (Sonos also on SSDP)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        extra_lights: int = 0,
        cameras: bool = True,
        speakers: bool = True,
        latency: float = 0.0,
        port: int | None = 80,
        subnet: int = 0,
        progress: Callable[[str], None] = lambda _: None,
        hass: bool = False,
        mqtt: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.progress = progress
        specs = list(DEVICES) + [Spec("light", f"Light {i + 1}", f"Wing {i // 10 + 1}") for i in range(extra_lights)]
        self.devices: dict[str, HttpJsonDevice] = {}
        for i, spec in enumerate(specs):
            options: dict[str, Any] = dict(spec.options)
            if subnet:  # each test home its own ids, so a demo running beside it can't be mistaken for it
                options["device_id"] = f"claw-{stable_mac(f'{subnet}/{spec.kind}/{spec.name}').lower()}"
            device = make_device(spec.kind, spec.name, spec.room, device_ip(i, subnet), port=port, **options)
            device.latency = latency
            self.devices[spec.name] = device
        self.sonos = (
            SonosSystem([SimSonos(room, room, f"127.0.{subnet}.{2 + i}") for i, room in enumerate(SPEAKERS)])
            if speakers
            else None
        )
        self.hass = (
            HomeAssistant(
                ip=f"127.0.{subnet}.11",
                port=8123 if port else 0,
                name="Demo Home",
                entities=HASS_ENTITIES,
                floors=HASS_FLOORS,
            )
            if hass
            else None
        )
        # Zigbee2MQTT and Tasmota devices on a private Mosquitto, where Debian's mosquitto is installed
        self.mqtt_missing = mosquitto_missing() if mqtt else ""
        self.broker = Mosquitto(state_dir / "mosquitto") if mqtt and not self.mqtt_missing else None
        self.mqtt = MqttDevices(self.broker.host, self.broker.port) if self.broker else None
        self.want_cameras = cameras
        self.subnet = subnet
        self.cameras: list[Any] = []
        self.zeroconf: AsyncZeroconf | None = None

    @property
    def device_count(self) -> int:
        exposed = sum(1 for e in self.hass.entities.values() if e.exposed) if self.hass else 0
        mqtt = self.mqtt.entity_count if self.mqtt else 0
        return len(self.devices) + (len(self.sonos.speakers) if self.sonos else 0) + exposed + mqtt

    def device(self, name: str) -> HttpJsonDevice:
        return self.devices[name]

    async def start(self) -> None:
        self.progress(f"  starting the simulated home: {self.device_count} devices on 127.0.{self.subnet}.x …")
        self.zeroconf = await zeroconf_on(["127.0.0.1"])  # answers loopback only, whatever the LAN carries
        for device in self.devices.values():
            await device.start(self.zeroconf)
        if self.sonos is not None:
            await self.sonos.start(zeroconf=self.zeroconf)
        if self.hass is not None:
            await self.hass.start(self.zeroconf)
        if self.mqtt_missing:
            self.progress(f"  MQTT devices skipped: {self.mqtt_missing}")
        if self.broker is not None and self.mqtt is not None:
            await self.broker.start()
            await self.mqtt.start()
        if self.want_cameras:
            await self._start_cameras()

    async def _start_cameras(self) -> None:
        try:  # OpenCV is the [eyes] extra: a house without it has no cameras, and says so
            from claw_sim.driveway import is_rendered, start_driveway_camera  # noqa: PLC0415
        except ImportError:
            self.progress("  driveway camera skipped: cameras need pip install 'claw-home[eyes]'")
            return
        if not is_rendered(self.state_dir / "camera"):
            self.progress("  rendering the driveway camera's scenes (first run only, about 10 s) …")
        self.cameras.append(await start_driveway_camera(self.state_dir / "camera", ip=f"127.0.{self.subnet}.10"))

    def config_extra(self) -> dict[str, Any]:
        """Config sections that point the daemon at this home."""
        sensitive = [d for d in self.devices.values() if d.kind in SENSITIVE]
        extra: dict[str, Any] = {
            "home": {
                "interfaces": ["127.0.0.1"],
                "subnets": [f"127.0.{self.subnet}.0/24"],
                "ssdp_interval": 30.0,
                "poll_interval": 10.0,
                "ssdp_port": (self.sonos.ssdp_port or 1900) if self.sonos else 1900,
                # the demo owner said yes to the lock, alarm and garage in advance
                "devices": [{"id": d.device_id, "controllable": True} for d in sensitive],
                "rooms": [{"name": "Living Room", "aliases": ["lounge", "front room"]}],
            }
        }
        if self.hass is not None:  # the token goes through the environment (see HASS_TOKEN_ENV), never the config
            extra["home_assistant"] = {"url": self.hass.base_url, "token_env": HASS_TOKEN_ENV}
            extra["home"]["devices"].append({"id": "ha.lock.side_door", "controllable": True})
        if self.broker is not None and self.mqtt is not None:  # the demo owner approved the Zigbee lock too
            extra["mqtt"] = {"enabled": True, "host": self.broker.host, "port": self.broker.port}
            extra["home"]["devices"] += [{"id": i, "controllable": True} for i in self.mqtt.sensitive_ids]
        cameras = [c.camera_config() for c in self.cameras]
        if cameras:
            extra["cameras"] = cameras
        return extra

    async def stop(self) -> None:
        """Stop everything at once: each mDNS withdrawal waits out its goodbye packets (~0.25 s), so in turn
        they would add up to a second."""

        async def mqtt() -> None:
            if self.mqtt is not None:
                await self.mqtt.stop()
            if self.broker is not None:
                await self.broker.stop()

        parts = [camera.stop() for camera in self.cameras] + [mqtt()]
        parts += [part.stop() for part in (self.sonos, self.hass) if part is not None]
        parts += [device.stop() for device in self.devices.values()]
        await asyncio.gather(*parts, return_exceptions=True)
        if self.zeroconf is not None:
            await self.zeroconf.async_close()
