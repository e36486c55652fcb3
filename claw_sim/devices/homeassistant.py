"""A Home Assistant instance: its WebSocket API (see homeassistant_ws) and REST API, entities, areas and floors.

Sim controls change the house as HA would see it and push the events: `set_state`, `add_entity`,
`remove_entity`, `set_exposed`, `restart` (drops every connection), `inject` (raw text to the clients).

Templates: POST /api/template renders only two templates, whitespace-insensitively:
  * ``{{ area_name('<entity_id>') }}`` -> the area's name, or ``None`` (as HA renders it);
  * ``AREA_MAP_TEMPLATE`` (below) -> a JSON object entity_id -> area name or null.
Both are valid on a real Home Assistant, so a client written against the sim works there too.
Anything else answers 400, as HA does for a template error.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web
from zeroconf import ServiceInfo

from claw_sim.devices.base import SimDevice, service_info
from claw_sim.devices.homeassistant_services import GENERIC, ServiceError, ServiceHandler, table
from claw_sim.devices.homeassistant_ws import WebSocketApi

VERSION = "2024.6.4"
AREA_MAP_TEMPLATE = (
    "{% set ns = namespace(m={}) %}{% for s in states %}"
    "{% set ns.m = dict(ns.m, **{s.entity_id: area_name(s.entity_id)}) %}"
    "{% endfor %}{{ ns.m | tojson }}"
)
_AREA_NAME = re.compile(r"^\{\{\s*area_name\(\s*(['\"])([a-z0-9_]+\.[a-z0-9_]+)\1\s*\)\s*\}\}$")


@dataclass(frozen=True, slots=True)
class HAEntitySpec:
    """An entity to simulate: id, initial state string, attributes, area (None = no area), exposed to Assist."""

    entity_id: str
    state: str
    attributes: Mapping[str, Any]
    area: str | None = None
    exposed: bool = True


DEFAULT_ENTITIES: tuple[HAEntitySpec, ...] = (
    HAEntitySpec(
        "light.living_room_lamp",
        "on",
        {"supported_color_modes": ["brightness"], "color_mode": "brightness", "brightness": 180},
        "Living Room",
    ),
    HAEntitySpec("switch.coffee_maker", "off", {}, "Kitchen"),
    HAEntitySpec("cover.garage_door", "closed", {"current_position": 0, "device_class": "garage"}, "Garage"),
    HAEntitySpec(
        "climate.hallway",
        "heat",
        {
            "hvac_modes": ["off", "heat", "cool", "auto"],
            "min_temp": 7.0,
            "max_temp": 35.0,
            "target_temp_step": 0.5,
            "current_temperature": 20.5,
            "temperature": 21.0,
        },
        "Hallway",
    ),
    HAEntitySpec("lock.back_door", "locked", {}, "Kitchen"),
    HAEntitySpec(
        "sensor.outdoor_temperature",
        "12.5",
        {"unit_of_measurement": "°C", "device_class": "temperature", "state_class": "measurement"},
    ),
)
# Which floor each area is on (HA's floor registry); areas not named here have no floor.
DEFAULT_FLOORS: Mapping[str, str] = {
    "Living Room": "Ground Floor",
    "Kitchen": "Ground Floor",
    "Hallway": "Ground Floor",
    "Garage": "Ground Floor",
    "Bedroom": "First Floor",
    "Study": "First Floor",
}


@dataclass(slots=True)
class _Entity:
    entity_id: str
    state: str
    attributes: dict[str, Any]
    area: str | None
    exposed: bool = True
    last_changed: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    context_id: str = field(default_factory=lambda: uuid.uuid4().hex.upper()[:26])

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "state": self.state,
            "attributes": dict(self.attributes),
            "last_changed": self.last_changed.isoformat(),
            "last_reported": self.last_updated.isoformat(),
            "last_updated": self.last_updated.isoformat(),
            "context": {"id": self.context_id, "parent_id": None, "user_id": None},
        }


class HomeAssistant(SimDevice):
    """Home Assistant's REST API: every /api call needs `Authorization: Bearer <token>`."""

    default_port: ClassVar[int] = 8123

    def __init__(
        self,
        *,
        ip: str,
        token: str | None = None,
        name: str = "Home",
        room: str = "Utility Room",
        port: int | None = None,
        entities: Sequence[HAEntitySpec] = DEFAULT_ENTITIES,
        floors: Mapping[str, str] = DEFAULT_FLOORS,
        admin: bool = True,
        imperial: bool = False,
    ) -> None:
        self.uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"home-assistant://{name}").hex
        super().__init__(ip=ip, name=name, room=room, device_id=self.uuid, port=port)
        self.token = token or secrets.token_hex(32)
        self.version = VERSION
        self.floors = dict(floors)  # area name -> floor name
        self.imperial = imperial  # HA's US customary unit system: temperatures in °F
        self.admin = admin  # a non-admin token may not read the expose list (HA answers "unauthorized")
        self.websocket = WebSocketApi(self)
        self.entities: dict[str, _Entity] = {}
        self.services: dict[tuple[str, str], ServiceHandler] = table(self._apply_scene)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # every service call, as received (for tests)
        for spec in entities:
            self.entities[spec.entity_id] = _entity(spec)

    # ----------------------------------------------------------------- sim controls
    def set_state(self, entity_id: str, state: str, **attributes: Any) -> None:
        """Change an entity as the physical world would (a sensor reading, a door opened by hand); pushed."""
        entity = self.entities[entity_id]
        old = _public(entity.as_dict())
        now = datetime.now(UTC)
        if entity.state != state:
            entity.last_changed = now
        entity.state = state
        entity.attributes.update(attributes)
        entity.last_updated = now
        self._changed(entity_id, old, _public(entity.as_dict()))

    def add_entity(self, spec: HAEntitySpec) -> None:
        """A new entity appears in HA (an integration added it): registry event, then its first state."""
        entity = self.entities[spec.entity_id] = _entity(spec)
        self.websocket.event("entity_registry_updated", {"action": "create", "entity_id": spec.entity_id})
        self._changed(spec.entity_id, None, _public(entity.as_dict()))

    def remove_entity(self, entity_id: str) -> None:
        """The owner deletes an entity in HA: its state goes (new_state null) and the registry says remove."""
        entity = self.entities.pop(entity_id)
        self._changed(entity_id, _public(entity.as_dict()), None)
        self.websocket.event("entity_registry_updated", {"action": "remove", "entity_id": entity_id})

    def set_exposed(self, entity_id: str, exposed: bool) -> None:
        """The owner exposes an entity to Assist, or stops exposing it (an entity registry option)."""
        self.entities[entity_id].exposed = exposed
        self.websocket.event(
            "entity_registry_updated", {"action": "update", "entity_id": entity_id, "changes": {"options": {}}}
        )

    async def restart(self, while_down: Callable[[], None] | None = None) -> None:
        """Restart as HA does: every WebSocket dropped, the server down (`while_down` runs then), back on its port."""
        port = self.port
        await self.websocket.drop_all()
        await self._shutdown_server()
        if while_down is not None:
            while_down()
        self.port = port
        await self._serve()

    def inject(self, raw: str) -> None:
        """Send raw text (malformed on purpose) to every logged-in WebSocket client."""
        self.websocket.inject(raw)

    def _changed(self, entity_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        self.websocket.event("state_changed", {"entity_id": entity_id, "old_state": old, "new_state": new})

    # ----------------------------------------------------------------- WebSocket answers
    def config_answer(self) -> dict[str, Any]:
        return {
            "location_name": self.name,
            "version": self.version,
            "state": "RUNNING",
            "time_zone": "Europe/Amsterdam",
            "unit_system": self.unit_system(),
            "components": sorted({entity_id.split(".")[0] for entity_id in self.entities} | {"api", "websocket_api"}),
            "internal_url": self.base_url,
            "external_url": None,
        }

    def unit_system(self) -> dict[str, str]:
        if self.imperial:
            return {"temperature": "°F", "length": "mi", "mass": "lb", "volume": "gal"}
        return {"temperature": "°C", "length": "km", "mass": "g", "volume": "L"}

    def states_answer(self) -> list[dict[str, Any]]:
        return [_public(entity.as_dict()) for entity in self.entities.values()]

    def areas_answer(self) -> list[dict[str, Any]]:
        names = sorted({e.area for e in self.entities.values() if e.area})
        return [
            {
                "area_id": _slug(name),
                "name": name,
                "floor_id": _slug(self.floors[name]) if name in self.floors else None,
                "aliases": [],
                "icon": None,
                "picture": None,
                "labels": [],
            }
            for name in names
        ]

    def floors_answer(self) -> list[dict[str, Any]]:
        names = list(dict.fromkeys(self.floors.values()))
        return [
            {"floor_id": _slug(name), "name": name, "level": level, "aliases": [], "icon": None}
            for level, name in enumerate(names)
        ]

    def devices_answer(self) -> list[dict[str, Any]]:
        """One device per entity, carrying the area (as most integrations' devices do)."""
        return [
            {
                "id": _device_id(e.entity_id),
                "area_id": _slug(e.area) if e.area else None,
                "name": e.attributes.get("friendly_name"),
                "name_by_user": None,
                "manufacturer": "Simulated",
                "model": e.entity_id.split(".", 1)[0].replace("_", " ").title(),
                "identifiers": [["sim", e.entity_id]],
                "disabled_by": None,
            }
            for e in self.entities.values()
        ]

    def entities_answer(self) -> list[dict[str, Any]]:
        return [
            {
                "entity_id": e.entity_id,
                "id": _device_id("entry/" + e.entity_id),
                "unique_id": f"sim-{e.entity_id}",
                "platform": "sim",
                "device_id": _device_id(e.entity_id),
                "area_id": None,  # the device's area applies
                "name": None,
                "original_name": e.attributes.get("friendly_name"),
                "disabled_by": None,
                "hidden_by": None,
                "entity_category": None,
                "has_entity_name": False,
                "options": {"conversation": {"should_expose": e.exposed}},
            }
            for e in self.entities.values()
        ]

    def exposed_answer(self) -> dict[str, dict[str, bool]]:
        return {e.entity_id: {"conversation": e.exposed} for e in self.entities.values()}

    def state_of(self, entity_id: str) -> dict[str, Any]:
        """The entity's state object as GET /api/states/<entity_id> returns it."""
        return _public(self.entities[entity_id].as_dict())

    def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a service on the targeted entities of `domain`; returns the states that changed."""
        generic = domain == "homeassistant" and service in GENERIC
        if not generic and (domain, service) not in self.services:
            raise ServiceError(f"Service {domain}.{service} not found.")
        self.calls.append((domain, service, dict(data)))
        changed: list[dict[str, Any]] = []
        for entity_id in self._targets(data):
            entity = self.entities.get(entity_id)
            own = entity_id.split(".", 1)[0]
            handler = self.services.get((own if generic else domain, service))
            # HA skips (and only logs) targets that are missing or belong to another domain.
            if entity is None or handler is None or (not generic and own != domain):
                continue
            old = _public(entity.as_dict())
            before = (entity.state, dict(entity.attributes))
            handler(entity, data)
            if (entity.state, entity.attributes) != before:
                now = datetime.now(UTC)
                if entity.state != before[0]:
                    entity.last_changed = now
                entity.last_updated = now
                entity.context_id = uuid.uuid4().hex.upper()[:26]
                changed.append(_public(entity.as_dict()))
                self._changed(entity_id, old, changed[-1])
        return changed

    def services_answer(self) -> dict[str, dict[str, Any]]:
        """`get_services`: domain -> service -> description, as HA lists them (fields left out)."""
        out: dict[str, dict[str, Any]] = {"homeassistant": {s: {"name": s, "fields": {}} for s in GENERIC}}
        for domain, service in self.services:
            out.setdefault(domain, {})[service] = {"name": service, "fields": {}}
        return out

    def _targets(self, data: Mapping[str, Any]) -> list[str]:
        """The entity ids a call names: `entity_id` (one, a list or comma-separated) and `area_id` (their entities)."""
        targets: list[str] = []
        for key in ("entity_id", "area_id"):
            value = data.get(key, [])
            if isinstance(value, str):
                value = [part.strip() for part in value.split(",")]
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ServiceError(f"{key} must be an id or a list of them")
            if key == "entity_id":
                targets += value
            else:
                targets += [e.entity_id for e in self.entities.values() if e.area and _slug(e.area) in value]
        return list(dict.fromkeys(targets))

    def _apply_scene(self, entity_id: str, state: str) -> None:
        """A scene's stored state for one entity: set and pushed, as the entity's integration would."""
        if entity_id in self.entities:
            self.set_state(entity_id, state)

    def render_template(self, template: str) -> str:
        """Render one of the two supported templates (see the module docstring); ValueError otherwise."""
        text = " ".join(template.split())
        match = _AREA_NAME.match(text)
        if match:
            entity = self.entities.get(match.group(2))
            return str(entity.area if entity is not None else None)
        if text == " ".join(AREA_MAP_TEMPLATE.split()):
            return json.dumps({entity_id: entity.area for entity_id, entity in self.entities.items()})
        raise ValueError("the simulator renders only {{ area_name('<entity_id>') }} and AREA_MAP_TEMPLATE")

    # ----------------------------------------------------------------- HTTP
    def add_routes(self, app: web.Application) -> None:
        """GET /api/websocket, /api/, /api/config, /api/states[/<id>]; POST /api/services/<d>/<s>, /api/template."""
        app.router.add_get("/api/websocket", self.websocket.handle)
        app.router.add_get("/api/", self._api_root)
        app.router.add_get("/api/config", self._api_config)
        app.router.add_get("/api/states", self._states)
        app.router.add_get("/api/states/{entity_id}", self._state)
        app.router.add_post("/api/services/{domain}/{service}", self._service)
        app.router.add_post("/api/template", self._template)

    def _authorize(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise web.HTTPUnauthorized(text="401: Unauthorized")

    async def _api_root(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return web.json_response({"message": "API running."})

    async def _api_config(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return web.json_response(
            {
                "location_name": self.name,
                "version": VERSION,
                "state": "RUNNING",
                "time_zone": "Europe/Amsterdam",
                "unit_system": self.unit_system(),
                "components": sorted({entity_id.split(".")[0] for entity_id in self.entities} | {"api"}),
                "internal_url": self.base_url,
                "external_url": None,
            }
        )

    async def _states(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return web.json_response([_public(entity.as_dict()) for entity in self.entities.values()])

    async def _state(self, request: web.Request) -> web.Response:
        self._authorize(request)
        entity = self.entities.get(request.match_info["entity_id"])
        if entity is None:
            return web.json_response({"message": "Entity not found."}, status=404)
        return web.json_response(_public(entity.as_dict()))

    async def _service(self, request: web.Request) -> web.Response:
        self._authorize(request)
        raw = await request.read()
        try:
            data = json.loads(raw) if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return web.json_response({"message": "Data should be valid JSON."}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"message": "Data should be a JSON object."}, status=400)
        try:
            changed = self.call_service(request.match_info["domain"], request.match_info["service"], data)
        except ServiceError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        return web.json_response(changed)

    async def _template(self, request: web.Request) -> web.Response:
        self._authorize(request)
        try:
            body = json.loads(await request.read())
            template = body["template"]
            if not isinstance(template, str):
                raise TypeError(template)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            return web.json_response({"message": "Data should be a JSON object with a 'template' string."}, status=400)
        try:
            return web.Response(text=self.render_template(template), content_type="text/plain")
        except ValueError as exc:
            return web.json_response({"message": f"Error rendering template: {exc}"}, status=400)

    def service_infos(self) -> list[ServiceInfo]:
        """`_home-assistant._tcp` with TXT location_name, uuid, version, base_url, internal_url."""
        return [
            service_info(
                service_type="_home-assistant._tcp.local.",
                instance=self.name,
                ip=self.ip,
                port=self.port,
                server=f"homeassistant-{self.uuid[:8]}.local.",
                properties={
                    "location_name": self.name,
                    "uuid": self.uuid,
                    "version": VERSION,
                    "external_url": "",
                    "internal_url": self.base_url,
                    "base_url": self.base_url,
                    "requires_api_password": "True",
                },
            )
        ]


def _entity(spec: HAEntitySpec) -> _Entity:
    attributes = {"friendly_name": spec.entity_id.split(".", 1)[1].replace("_", " ").title()}
    attributes.update(spec.attributes)
    return _Entity(spec.entity_id, spec.state, attributes, spec.area, spec.exposed)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _device_id(seed: str) -> str:
    return hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()


def _public(state: dict[str, Any]) -> dict[str, Any]:
    """Hide the simulator's private attributes (leading underscore) from clients."""
    state["attributes"] = {key: value for key, value in state["attributes"].items() if not key.startswith("_")}
    return state
