"""An Elgato Key Light speaking its HTTP API on port 9123 (/elgato/accessory-info, /elgato/lights)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from aiohttp import web
from zeroconf import ServiceInfo

from claw_sim.devices.base import SimDevice, colon_mac, service_info, stable_mac

PRODUCT = "Elgato Key Light"
MODEL = "Elgato Key Light 20GAK9901"
BRIGHTNESS_RANGE = (3, 100)
TEMPERATURE_RANGE = (143, 344)  # mired: 143 = 7000 K, 344 = 2900 K


class ElgatoKeyLight(SimDevice):
    """One Key Light: `on` 0/1, `brightness` 3-100, `temperature` 143-344; out-of-range values clamp."""

    default_port: ClassVar[int] = 9123

    def __init__(
        self,
        *,
        name: str,
        room: str,
        ip: str,
        port: int | None = None,
        mac: str | None = None,
        on: bool = False,
        brightness: int = 40,
        temperature: int = 213,
    ) -> None:
        self.mac = colon_mac(mac or stable_mac(f"elgato/{room}/{name}"))
        super().__init__(ip=ip, name=name, room=room, device_id=self.mac, port=port)
        self.serial = "BW" + self.mac.replace(":", "")[-10:]
        self.light: dict[str, int] = {"on": int(on), "brightness": brightness, "temperature": temperature}

    def accessory_info(self) -> dict[str, Any]:
        """The /elgato/accessory-info document."""
        return {
            "productName": PRODUCT,
            "hardwareBoardType": 53,
            "hardwareRevision": "1",
            "macAddress": self.mac,
            "firmwareBuildNumber": 218,
            "firmwareVersion": "1.0.3",
            "serialNumber": self.serial,
            "displayName": self.name,
            "features": ["lights"],
            "wifi-info": {"ssid": "ClawHome", "frequencyMHz": 2400, "rssi": -48},
        }

    def lights(self) -> dict[str, Any]:
        """The /elgato/lights document."""
        return {"numberOfLights": 1, "lights": [dict(self.light)]}

    def apply(self, body: object) -> None:
        """Apply a PUT /elgato/lights body; raises ValueError on a malformed one (nothing is changed then)."""
        if not isinstance(body, dict) or not isinstance(body.get("lights"), list) or not body["lights"]:
            raise ValueError("body must be {'numberOfLights': 1, 'lights': [{...}]}")
        update = body["lights"][0]
        if not isinstance(update, dict):
            raise ValueError("lights[0] must be an object")
        changes: dict[str, int] = {}
        for key, (low, high) in (
            ("on", (0, 1)),
            ("brightness", BRIGHTNESS_RANGE),
            ("temperature", TEMPERATURE_RANGE),
        ):
            if key not in update:
                continue
            value = update[key]
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, int | float):
                raise ValueError(f"lights[0].{key} must be a number, got {value!r}")
            changes[key] = max(low, min(int(value), high))
        self.light.update(changes)

    # ----------------------------------------------------------------- HTTP
    def add_routes(self, app: web.Application) -> None:
        """GET /elgato/accessory-info, GET|PUT /elgato/lights, GET .../settings, POST /elgato/identify."""
        app.router.add_get("/elgato/accessory-info", self._get_info)
        app.router.add_get("/elgato/lights", self._get_lights)
        app.router.add_put("/elgato/lights", self._put_lights)
        app.router.add_get("/elgato/lights/settings", self._get_settings)
        app.router.add_post("/elgato/identify", self._identify)

    async def _get_info(self, _request: web.Request) -> web.Response:
        return web.json_response(self.accessory_info())

    async def _get_lights(self, _request: web.Request) -> web.Response:
        return web.json_response(self.lights())

    async def _put_lights(self, request: web.Request) -> web.Response:
        try:
            self.apply(json.loads(await request.read()))
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(self.lights())

    async def _get_settings(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "powerOnBehavior": 1,
                "powerOnBrightness": 20,
                "powerOnTemperature": 213,
                "switchOnDurationMs": 100,
                "switchOffDurationMs": 300,
                "colorChangeDurationMs": 100,
            }
        )

    async def _identify(self, _request: web.Request) -> web.Response:
        return web.Response(status=200)

    def service_infos(self) -> list[ServiceInfo]:
        """`_elg._tcp` with TXT mf, dt, id (MAC), md (model), pv."""
        instance = f"{PRODUCT} {self.mac.replace(':', '')[-4:]}"
        return [
            service_info(
                service_type="_elg._tcp.local.",
                instance=instance,
                ip=self.ip,
                port=self.port,
                server=f"elgato-key-light-{self.mac.replace(':', '')[-4:].lower()}.local.",
                properties={"mf": "Elgato", "dt": "53", "id": self.mac, "md": MODEL, "pv": "1.0"},
            )
        ]
