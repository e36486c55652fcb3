"""Claw's own HTTP-JSON protocol for DIY devices: GET/POST /state, GET /info, announced as _claw-http."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from zeroconf import ServiceInfo

from claw_sim.devices.base import SimDevice, service_info, stable_mac

SERVICE_TYPE = "_claw-http._tcp.local."

Value = bool | int | float | str
FieldType = Literal["bool", "int", "float", "enum"]


@dataclass(frozen=True, slots=True)
class Field:
    """One typed state field of a device: its type, range or options, and whether clients may write it."""

    type: FieldType
    min: float | None = None
    max: float | None = None
    options: tuple[str, ...] = ()
    writable: bool = True

    def validate(self, name: str, value: object) -> Value:
        """Return `value` if it fits this field, else raise ValueError naming the field and the rule."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"field {name!r} must be true or false, got {value!r}")
            return value
        if self.type == "enum":
            if not isinstance(value, str) or value not in self.options:
                raise ValueError(f"field {name!r} must be one of {list(self.options)}, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"field {name!r} must be a number, got {value!r}")
        number: int | float = value
        if self.type == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"field {name!r} must be a whole number, got {value!r}")
            number = int(value)
        else:
            number = float(value)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise ValueError(f"field {name!r} must be between {self.min} and {self.max}, got {value!r}")
        return number

    def describe(self) -> dict[str, object]:
        """Return the field as published by GET /info."""
        out: dict[str, object] = {"type": self.type, "writable": self.writable}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.options:
            out["options"] = list(self.options)
        return out


ON = Field("bool")
PERCENT = Field("int", 0, 100)
TEMP_SETPOINT = Field("float", 5, 30)
TEMP_READING = Field("float", -40, 60, writable=False)
BATTERY = Field("int", 0, 100, writable=False)

_GARAGE_STATES = ("open", "closed", "opening", "closing")

# kind -> (model, fields, initial state); describe capabilities once, as data.
_KINDS: dict[str, tuple[str, dict[str, Field], dict[str, Value]]] = {
    "light": ("Claw DIY Dimmer", {"on": ON, "brightness": PERCENT}, {"on": False, "brightness": 100}),
    "switch": ("Claw DIY Relay", {"on": ON}, {"on": False}),
    "thermostat": (
        "Claw DIY Thermostat",
        {
            "current_temp": TEMP_READING,
            "target_temp": TEMP_SETPOINT,
            "mode": Field("enum", options=("heat", "cool", "off")),
        },
        {"current_temp": 20.5, "target_temp": 21.0, "mode": "heat"},
    ),
    "shade": ("Claw DIY Shade", {"position": PERCENT}, {"position": 100}),
    "pump": ("Claw DIY Pump", {"on": ON}, {"on": False}),
    "heater": (
        "Claw DIY Heater",
        {"on": ON, "target_temp": TEMP_SETPOINT, "current_temp": TEMP_READING},
        {"on": False, "target_temp": 20.0, "current_temp": 18.0},
    ),
    "garage_door": ("Claw DIY Garage", {"state": Field("enum", options=_GARAGE_STATES)}, {"state": "closed"}),
    "lock": ("Claw DIY Lock", {"locked": ON}, {"locked": True}),
    "alarm": (
        "Claw DIY Alarm",
        {"mode": Field("enum", options=("disarmed", "home", "away", "night"))},
        {"mode": "disarmed"},
    ),
    "sensor": ("Claw DIY Sensor", {"battery": BATTERY}, {"battery": 87}),
}

# sensor flavour -> its reading field and initial value.
_SENSOR_READINGS: dict[str, tuple[Field, Value]] = {
    "contact": (Field("enum", options=("open", "closed"), writable=False), "closed"),
    "temperature": (TEMP_READING, 21.5),
    "motion": (Field("bool", writable=False), False),
}

KINDS: tuple[str, ...] = tuple(_KINDS)
SENSOR_FLAVOURS: tuple[str, ...] = tuple(_SENSOR_READINGS)


class HttpJsonDevice(SimDevice):
    """A device speaking Claw's HTTP-JSON protocol; state fields are validated against their descriptors."""

    def __init__(
        self,
        *,
        kind: str,
        name: str,
        room: str,
        ip: str,
        fields: Mapping[str, Field],
        state: Mapping[str, Value],
        model: str,
        port: int | None = None,
        device_id: str | None = None,
        transit_s: float = 0.0,
    ) -> None:
        super().__init__(
            ip=ip,
            name=name,
            room=room,
            device_id=device_id or f"claw-{stable_mac(f'{kind}/{room}/{name}').lower()}",
            port=port,
        )
        self.kind = kind
        self.model = model
        self.fields = dict(fields)
        self.transit_s = transit_s
        self._state: dict[str, Value] = {}
        self.set_state(**state)

    @property
    def state(self) -> dict[str, Value]:
        """A copy of the current state."""
        return dict(self._state)

    def set_state(self, **values: Value) -> None:
        """Change state as the physical world would (read-only fields too); ValueError on bad values."""
        checked = {name: self._field(name).validate(name, value) for name, value in values.items()}
        self._state.update(checked)

    def info(self) -> dict[str, object]:
        """Return the GET /info document."""
        return {
            "id": self.device_id,
            "name": self.name,
            "room": self.room,
            "kind": self.kind,
            "model": self.model,
            "fields": {name: field.describe() for name, field in self.fields.items()},
        }

    def apply(self, changes: Mapping[str, object]) -> dict[str, Value]:
        """Validate a client's partial state, apply it atomically and return the full state."""
        checked: dict[str, Value] = {}
        for name, value in changes.items():
            field = self._field(name)
            if not field.writable:
                raise ValueError(f"field {name!r} is read-only")
            checked[name] = field.validate(name, value)
        target = checked.pop("state", None) if self.kind == "garage_door" else None
        if target is not None and target not in {"open", "closed"}:
            raise ValueError(f"field 'state' can only be set to 'open' or 'closed', got {target!r}")
        self._state.update(checked)
        if target is not None:
            self._move_door(str(target))
        return self.state

    def _field(self, name: str) -> Field:
        field = self.fields.get(name)
        if field is None:
            raise ValueError(f"unknown field {name!r}; fields are {sorted(self.fields)}")
        return field

    def _move_door(self, target: str) -> None:
        if self._state["state"] == target:
            return
        if self.transit_s <= 0:
            self._state["state"] = target
            return
        self._state["state"] = "opening" if target == "open" else "closing"
        self.spawn(self._finish_transit(target), "garage-transit")

    async def _finish_transit(self, target: str) -> None:
        await asyncio.sleep(self.transit_s)
        # A newer command may have reversed the door meanwhile; only finish the move we started.
        if self._state["state"] == ("opening" if target == "open" else "closing"):
            self._state["state"] = target

    # ----------------------------------------------------------------- HTTP
    def add_routes(self, app: web.Application) -> None:
        """GET /state, POST /state, GET /info."""
        app.router.add_get("/state", self._get_state)
        app.router.add_post("/state", self._post_state)
        app.router.add_get("/info", self._get_info)

    async def _get_state(self, _request: web.Request) -> web.Response:
        return web.json_response(self._state)

    async def _get_info(self, _request: web.Request) -> web.Response:
        return web.json_response(self.info())

    async def _post_state(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return web.json_response({"error": "body is not valid JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "body must be a JSON object of fields"}, status=400)
        try:
            return web.json_response(self.apply(body))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    def service_infos(self) -> list[ServiceInfo]:
        """One `_claw-http._tcp` service with TXT id, kind, name, room, path."""
        return [
            service_info(
                service_type=SERVICE_TYPE,
                instance=self.name,
                ip=self.ip,
                port=self.port,
                server=f"{self.device_id}.local.",
                properties={
                    "id": self.device_id,
                    "kind": self.kind,
                    "name": self.name,
                    "room": self.room,
                    "path": "/",
                },
            )
        ]


def make_device(kind: str, name: str, room: str, ip: str, **overrides: object) -> HttpJsonDevice:
    """Build an HTTP-JSON device of `kind` with sensible fields.

    Options among `overrides`: `port`, `device_id`, `model`, `dimmable` (light, default True),
    `sensor` (sensor flavour: contact, temperature or motion; default contact), `transit_s`
    (garage door travel time, default 0 = instant). Any other key sets a field's initial value.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown device kind {kind!r}; kinds are {list(KINDS)}")
    model, base_fields, base_state = _KINDS[kind]
    fields = dict(base_fields)
    state = dict(base_state)
    options = dict(overrides)
    port = options.pop("port", None)
    device_id = options.pop("device_id", None)
    if kind == "light" and options.get("dimmable") is False:
        model = "Claw DIY Light"
    model = str(options.pop("model", model))
    transit_s = options.pop("transit_s", 0.0)
    dimmable = options.pop("dimmable", True)
    flavour = options.pop("sensor", "contact")
    if kind == "light" and not dimmable:
        fields.pop("brightness")
        state.pop("brightness")
    if kind == "sensor":
        if flavour not in _SENSOR_READINGS:
            raise ValueError(f"unknown sensor flavour {flavour!r}; flavours are {list(SENSOR_FLAVOURS)}")
        reading, initial = _SENSOR_READINGS[str(flavour)]
        fields[str(flavour)] = reading
        state[str(flavour)] = initial
    for key, value in options.items():
        if key not in fields:
            raise ValueError(f"{kind} has no field or option {key!r}; fields are {sorted(fields)}")
        state[key] = fields[key].validate(key, value)
    if port is not None and not isinstance(port, int):
        raise ValueError(f"port must be an int, got {port!r}")
    if not isinstance(transit_s, int | float):
        raise ValueError(f"transit_s must be a number of seconds, got {transit_s!r}")
    return HttpJsonDevice(
        kind=kind,
        name=name,
        room=room,
        ip=ip,
        fields=fields,
        state=state,
        model=model,
        port=port,
        device_id=None if device_id is None else str(device_id),
        transit_s=float(transit_s),
    )
