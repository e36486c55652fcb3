"""A Philips Hue bridge (BSB002): link-button pairing on POST /api and the CLIP v2 resource API.

A real bridge serves CLIP v2 over HTTPS only; the simulator serves plain HTTP unless given an
`ssl_context`, so a client must let the scheme be configured.
"""

from __future__ import annotations

import copy
import json
import secrets
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from zeroconf import ServiceInfo

from claw_sim.devices.base import SimDevice, colon_mac, service_info, stable_mac

MODEL_ID = "BSB002"
API_VERSION = "1.66.0"
SW_VERSION = "1966060010"
LINK_WINDOW_S = 30.0
MIREK_RANGE = (153, 500)
_ROOM_ARCHETYPES = {"living_room", "kitchen", "dining", "bedroom", "bathroom", "office", "hallway", "garage"}


@dataclass(frozen=True, slots=True)
class HueLightSpec:
    """A bulb behind the bridge: its name, room and initial state; mirek None = dimmable white only."""

    name: str
    room: str
    on: bool = False
    brightness: float = 100.0
    mirek: int | None = 366


DEFAULT_LIGHTS: tuple[HueLightSpec, ...] = (
    HueLightSpec("Sofa lamp", "Living Room", on=True, brightness=80.0),
    HueLightSpec("Ceiling", "Living Room"),
    HueLightSpec("Bedside lamp", "Bedroom", mirek=None),
)


class HueError(Exception):
    """A CLIP v2 error: HTTP `status` and a description for the `errors` list."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class HueBridge(SimDevice):
    """A Hue bridge with lights grouped in rooms; every CLIP v2 call needs a paired `hue-application-key`."""

    def __init__(
        self,
        *,
        ip: str,
        name: str = "Hue Bridge",
        room: str = "Hallway",
        port: int | None = None,
        mac: str | None = None,
        lights: Sequence[HueLightSpec] = DEFAULT_LIGHTS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        raw_mac = (mac or "001788" + stable_mac(f"hue/{room}/{name}")[6:]).upper()
        self.mac = colon_mac(raw_mac).lower()
        self.bridge_id = f"{raw_mac[:6]}FFFE{raw_mac[6:]}"
        super().__init__(ip=ip, name=name, room=room, device_id=self.bridge_id, port=port, ssl_context=ssl_context)
        self.app_keys: set[str] = set()
        self.link_window_s = LINK_WINDOW_S
        self._link_until = 0.0
        self.resources: dict[str, dict[str, Any]] = {}
        self._build(lights)

    # ----------------------------------------------------------------- sim controls
    def press_link_button(self) -> None:
        """Press the bridge's link button: POST /api pairs clients for the next `link_window_s` seconds."""
        self._link_until = time.monotonic() + self.link_window_s

    def add_application_key(self, key: str | None = None) -> str:
        """Register an application key without the button dance (for a pre-paired demo); returns it."""
        key = key or secrets.token_urlsafe(30)[:40]
        self.app_keys.add(key)
        return key

    def by_type(self, rtype: str) -> list[dict[str, Any]]:
        """Every resource of `rtype`, live (grouped lights computed from their room's lights)."""
        return [self._render(res) for res in self.resources.values() if res["type"] == rtype]

    def light_named(self, name: str) -> dict[str, Any]:
        """The light resource named `name`; KeyError if none."""
        for light in self.by_type("light"):
            if light["metadata"]["name"] == name:
                return light
        raise KeyError(name)

    # ----------------------------------------------------------------- model
    def _rid(self, kind: str, key: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hue://{self.bridge_id}/{kind}/{key}"))

    def _add(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.resources[resource["id"]] = resource
        return resource

    def _build(self, lights: Sequence[HueLightSpec]) -> None:
        bridge_device = self._rid("device", "bridge")
        bridge = self._add(
            {
                "id": self._rid("bridge", "bridge"),
                "owner": {"rid": bridge_device, "rtype": "device"},
                "bridge_id": self.bridge_id.lower(),
                "time_zone": {"time_zone": "Europe/Amsterdam"},
                "type": "bridge",
            }
        )
        self._add(
            _device(
                bridge_device,
                name=self.name,
                archetype="bridge_v2",
                model=MODEL_ID,
                product="Hue Bridge",
                services=[bridge],
            )
        )
        rooms: dict[str, list[str]] = {}
        for index, spec in enumerate(lights, start=1):
            device_id = self._rid("device", spec.name)
            light: dict[str, Any] = {
                "id": self._rid("light", spec.name),
                "id_v1": f"/lights/{index}",
                "owner": {"rid": device_id, "rtype": "device"},
                "metadata": {"name": spec.name, "archetype": "sultan_bulb"},
                "on": {"on": spec.on},
                "dimming": {"brightness": float(spec.brightness), "min_dim_level": 0.2},
                "mode": "normal",
                "type": "light",
            }
            product = ("LCT015", "Hue color lamp") if spec.mirek is not None else ("LWA001", "Hue white lamp")
            if spec.mirek is not None:
                light["color_temperature"] = {
                    "mirek": spec.mirek,
                    "mirek_valid": True,
                    "mirek_schema": {"mirek_minimum": MIREK_RANGE[0], "mirek_maximum": MIREK_RANGE[1]},
                }
            self._add(light)
            self._add(
                _device(
                    device_id,
                    name=spec.name,
                    archetype="sultan_bulb",
                    model=product[0],
                    product=product[1],
                    services=[light],
                )
            )
            rooms.setdefault(spec.room, []).append(device_id)
        for index, (room_name, devices) in enumerate(rooms.items(), start=1):
            room_id = self._rid("room", room_name)
            grouped = self._add(
                {
                    "id": self._rid("grouped_light", room_name),
                    "id_v1": f"/groups/{index}",
                    "owner": {"rid": room_id, "rtype": "room"},
                    "type": "grouped_light",
                }
            )
            archetype = room_name.lower().replace(" ", "_")
            self._add(
                {
                    "id": room_id,
                    "id_v1": f"/groups/{index}",
                    "children": [{"rid": rid, "rtype": "device"} for rid in devices],
                    "services": [{"rid": grouped["id"], "rtype": "grouped_light"}],
                    "metadata": {
                        "name": room_name,
                        "archetype": archetype if archetype in _ROOM_ARCHETYPES else "other",
                    },
                    "type": "room",
                }
            )

    def _room_lights(self, grouped: dict[str, Any]) -> list[dict[str, Any]]:
        room = self.resources[grouped["owner"]["rid"]]
        device_ids = {child["rid"] for child in room["children"]}
        return [res for res in self.resources.values() if res["type"] == "light" and res["owner"]["rid"] in device_ids]

    def _render(self, resource: dict[str, Any]) -> dict[str, Any]:
        if resource["type"] != "grouped_light":
            return copy.deepcopy(resource)  # callers must not mutate the model
        lights = self._room_lights(resource)
        lit = [light["dimming"]["brightness"] for light in lights if light["on"]["on"]]
        return {
            **copy.deepcopy(resource),
            "on": {"on": bool(lit)},
            "dimming": {"brightness": round(sum(lit) / len(lit), 2) if lit else 0.0},
        }

    def _update(self, resource: dict[str, Any], body: object) -> None:
        """Validate a PUT body for a light or grouped light fully, then apply it."""
        if not isinstance(body, dict) or not body:
            raise HueError(400, "body must be a non-empty JSON object")
        targets = [resource] if resource["type"] == "light" else self._room_lights(resource)
        allowed = {"on", "dimming", "color_temperature", "type"}
        for key in body:
            if key not in allowed:
                raise HueError(400, f"invalid property: {key}")
        on = _nested(body, "on", "on")
        if on is not None and not isinstance(on, bool):
            raise HueError(400, "on.on must be a boolean")
        brightness = _nested(body, "dimming", "brightness")
        if brightness is not None and (
            isinstance(brightness, bool) or not isinstance(brightness, int | float) or not 0 <= brightness <= 100
        ):
            raise HueError(400, "dimming.brightness must be a number from 0 to 100")
        mirek = _nested(body, "color_temperature", "mirek")
        if mirek is not None:
            if isinstance(mirek, bool) or not isinstance(mirek, int) or not MIREK_RANGE[0] <= mirek <= MIREK_RANGE[1]:
                raise HueError(
                    400,
                    f"color_temperature.mirek must be an integer from {MIREK_RANGE[0]} to {MIREK_RANGE[1]}",
                )
            if resource["type"] == "light" and "color_temperature" not in resource:
                raise HueError(400, "this light has no color temperature")
        for light in targets:
            if on is not None:
                light["on"]["on"] = on
            if brightness is not None:
                light["dimming"]["brightness"] = float(brightness)
            if mirek is not None and "color_temperature" in light:
                light["color_temperature"]["mirek"] = mirek

    # ----------------------------------------------------------------- HTTP
    def add_routes(self, app: web.Application) -> None:
        """POST /api, GET /api/config, GET /clip/v2/resource[/{rtype}[/{rid}]], PUT .../{rtype}/{rid}."""
        app.router.add_post("/api", self._pair)
        app.router.add_get("/api/config", self._config)
        app.router.add_get("/clip/v2/resource", self._get_all)
        app.router.add_get("/clip/v2/resource/{rtype}", self._get_type)
        app.router.add_get("/clip/v2/resource/{rtype}/{rid}", self._get_one)
        app.router.add_put("/clip/v2/resource/{rtype}/{rid}", self._put_one)

    async def _pair(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _v1_error(2, "/", "body contains invalid json")
        if not isinstance(body, dict) or not isinstance(body.get("devicetype"), str) or not body["devicetype"]:
            return _v1_error(5, "/", "invalid/missing parameters in body")
        if time.monotonic() > self._link_until:
            return _v1_error(101, "", "link button not pressed")
        success: dict[str, str] = {"username": self.add_application_key()}
        if body.get("generateclientkey") is True:
            success["clientkey"] = secrets.token_hex(16).upper()
        return web.json_response([{"success": success}])

    async def _config(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "name": self.name,
                "datastoreversion": "166",
                "swversion": SW_VERSION,
                "apiversion": API_VERSION,
                "mac": self.mac,
                "bridgeid": self.bridge_id,
                "factorynew": False,
                "replacesbridgeid": None,
                "modelid": MODEL_ID,
                "starterkitid": "",
            }
        )

    def _authorize(self, request: web.Request) -> None:
        if request.headers.get("hue-application-key") not in self.app_keys:
            raise HueError(403, "unauthorized user")

    def _find(self, rtype: str, rid: str) -> dict[str, Any]:
        resource = self.resources.get(rid)
        if resource is None or resource["type"] != rtype:
            raise HueError(404, "Not Found")
        return resource

    async def _get_all(self, request: web.Request) -> web.Response:
        try:
            self._authorize(request)
        except HueError as exc:
            return _clip_error(exc)
        return _clip([self._render(res) for res in self.resources.values()])

    async def _get_type(self, request: web.Request) -> web.Response:
        try:
            self._authorize(request)
        except HueError as exc:
            return _clip_error(exc)
        return _clip(self.by_type(request.match_info["rtype"]))

    async def _get_one(self, request: web.Request) -> web.Response:
        try:
            self._authorize(request)
            resource = self._find(request.match_info["rtype"], request.match_info["rid"])
        except HueError as exc:
            return _clip_error(exc)
        return _clip([self._render(resource)])

    async def _put_one(self, request: web.Request) -> web.Response:
        try:
            self._authorize(request)
            resource = self._find(request.match_info["rtype"], request.match_info["rid"])
            if resource["type"] not in {"light", "grouped_light"}:
                raise HueError(405, f"cannot modify a {resource['type']} in this simulator")
            try:
                body = json.loads(await request.read())
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise HueError(400, "body contains invalid json") from exc
            self._update(resource, body)
        except HueError as exc:
            return _clip_error(exc)
        return _clip([{"rid": resource["id"], "rtype": resource["type"]}])

    def service_infos(self) -> list[ServiceInfo]:
        """`_hue._tcp` with TXT bridgeid and modelid."""
        return [
            service_info(
                service_type="_hue._tcp.local.",
                instance=f"Hue Bridge - {self.bridge_id[-6:]}",
                ip=self.ip,
                port=self.port,
                server=f"hue-{self.bridge_id[-6:].lower()}.local.",
                properties={"bridgeid": self.bridge_id.lower(), "modelid": MODEL_ID},
            )
        ]


def _device(
    rid: str, *, name: str, archetype: str, model: str, product: str, services: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": rid,
        "product_data": {
            "model_id": model,
            "manufacturer_name": "Signify Netherlands B.V.",
            "product_name": product,
            "product_archetype": archetype,
            "certified": True,
            "software_version": "1.108.7",
        },
        "metadata": {"name": name, "archetype": archetype},
        "identify": {},
        "services": [{"rid": service["id"], "rtype": service["type"]} for service in services],
        "type": "device",
    }


def _nested(body: dict[str, Any], outer: str, inner: str) -> object:
    """body[outer][inner], None when absent; HueError when `outer` is not an object with `inner`."""
    if outer not in body:
        return None
    value = body[outer]
    if not isinstance(value, dict) or inner not in value:
        raise HueError(400, f"{outer} must be an object with {inner!r}")
    return value[inner]


def _clip(data: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"errors": [], "data": data})


def _clip_error(exc: HueError) -> web.Response:
    return web.json_response({"errors": [{"description": exc.description}], "data": []}, status=exc.status)


def _v1_error(kind: int, address: str, description: str) -> web.Response:
    # The v1 API reports errors in a 200 answer, as a list of error objects.
    return web.json_response([{"error": {"type": kind, "address": address, "description": description}}])
