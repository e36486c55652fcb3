"""A skill's contract, from its own declarations: sample and invalid values, and a fake device that answers them.

The fake is an aiohttp server on a loopback address that serves exactly the declared state reads (a
document built by writing each capability's sample value back through the skill's map and scale),
the pairing request, and records every other request as an action.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from claw.home.capabilities import Capability
from claw.home.device import Device
from claw.skills.convert import encode
from claw.skills.format import Action, Profile, Reading, Skill, StateRead
from claw.skills.http import prepare

FIELDS_SAMPLE: Mapping[str, Any] = {
    "on": {"type": "bool"},
    "brightness": {"type": "int", "min": 0, "max": 100},
    "mode": {"type": "enum", "options": ["eco", "normal"]},
    "battery": {"type": "int", "min": 0, "max": 100, "writable": False},
}
TOKEN = "contract-token"


def valid_values(cap: Capability) -> list[Any]:
    """Values the capability accepts, edges included."""
    if cap.type == "switch":
        return [True, False]
    if cap.type == "number":
        low = cap.min if cap.min is not None else 0.0
        high = cap.max if cap.max is not None else low + 100
        middle = low + (high - low) / 2
        step = cap.step if cap.step is not None else 1
        return [_n(low), _n(round(middle / step) * step), _n(high)]
    if cap.type == "choice":
        return list(cap.options)
    return []


def invalid_values(cap: Capability) -> list[Any]:
    """Values the capability must refuse before any request."""
    if cap.type == "switch":
        return ["maybe", 3, None]
    if cap.type == "number":
        out: list[Any] = ["lots", None, True]
        if cap.max is not None:
            out.append(cap.max + 1)
        if cap.min is not None:
            out.append(cap.min - 1)
        return out
    if cap.type == "choice":
        return ["no-such-option", 7]
    return []


def sample_params(action: Action) -> dict[str, Any]:
    return {name: _sample(schema) for name, schema in action.params.items()}


def invalid_params(action: Action) -> list[dict[str, Any]]:
    """Each breaks the params schema one way: a wrong type, a missing required param, an unknown param."""
    good = sample_params(action)
    out: list[dict[str, Any]] = [{**good, "no_such_param": 1}]
    for name in action.required:
        out.append({k: v for k, v in good.items() if k != name})
    for name, schema in action.params.items():
        kind = schema.get("type") if isinstance(schema, Mapping) else None
        out.append({**good, name: "not-a-number" if kind in ("integer", "number") else {"wrong": "type"}})
        if isinstance(schema, Mapping) and "maximum" in schema:
            out.append({**good, name: schema["maximum"] + 1})
    return out


def state_document(block: StateRead, values: Mapping[str, Any], caps: Mapping[str, Capability]) -> Any:
    """The answer a device gives to a state read, such that the skill reads back `values`."""
    if block.whole is not None:
        return block.whole.put(None, dict(values))
    doc: Any = None
    for key, reading in block.values.items():
        if key in values:
            doc = reading.at.put(doc, raw_value(reading, values[key], caps.get(key)))
    return doc if doc is not None else {}


def raw_value(reading: Reading, value: Any, cap: Capability | None) -> Any:
    """Undo a reading's scale, type and map: what the device would have said for `value`."""
    raw = value
    if reading.scale is not None and isinstance(raw, int | float) and not isinstance(raw, bool):
        low = cap.min if cap is not None and cap.min is not None else 0.0
        high = cap.max if cap is not None and cap.max is not None else 100.0
        a, b = reading.scale
        raw = a + (raw - low) * (b - a) / (high - low)
    if reading.as_type in ("number", "integer"):
        raw = str(raw)
    for key, mapped in reading.map.items():
        if mapped == raw and type(mapped) is type(raw):
            return key
    return raw


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeDevice:
    """Answers a profile's declared state reads and pairing; records every other request."""

    skill: Skill
    profile: Profile
    device: Device
    ip: str = "127.0.0.1"
    state: dict[str, Any] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    ssl_context: ssl.SSLContext | None = None  # for skills that speak https
    _routes: set[tuple[str, str]] = field(default_factory=set)
    _runner: web.AppRunner | None = None

    def routes(self) -> set[tuple[str, str]]:
        """Every (method, path) the skill declares for this device: state reads, actions, pairing."""
        scope: dict[str, Any] = {"device": {"info": self.device.info, "id": self.device.id}}
        out = {self._target(b) for b in self.profile.state}
        for key, action in self.profile.actions.items():
            cap = self.device.capability(key)
            values = valid_values(cap) if cap is not None and cap.type != "action" else [None]
            for value in values:
                here = {**scope, "value": encode(action, value, cap), "params": sample_params(action)}
                prepared = prepare(action.request, here)
                out.add((prepared.method, prepared.path))
        if self.profile.write is not None:
            prepared = prepare(self.profile.write.request, {**scope, "changes": {}})
            out.add((prepared.method, prepared.path))
        return out

    async def start(self) -> None:
        self._routes = self.routes()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.ip, 0, ssl_context=self.ssl_context).start()
        port = self._runner.addresses[0][1]
        self.device.address = f"{self.ip}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def actions_seen(self) -> list[Seen]:
        reads = {self._target(b) for b in self.profile.state}
        return [r for r in self.requests if (r.method, r.path) not in reads]

    def _target(self, block: StateRead) -> tuple[str, str]:
        prepared = prepare(block.request, {"device": {"info": self.device.info, "id": self.device.id}})
        return prepared.method, prepared.path

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append(Seen(request.method, request.path, dict(request.query), body, dict(request.headers)))
        pairing = self.skill.pairing
        if pairing is not None and pairing.request is not None and request.path == pairing.request.path.text:
            assert pairing.token is not None
            return web.json_response(pairing.token.put(None, TOKEN))
        caps = {c.key: c for c in self.device.capabilities}
        for block in self.profile.state:
            if (request.method, request.path) == self._target(block):
                return web.json_response(state_document(block, self.state, caps))
        if (request.method, request.path) not in self._routes:
            return web.json_response({"error": "not a declared request"}, status=404)
        return web.json_response({})

    def auth_ok(self, seen: Seen, token: str | None) -> bool:
        """The request carried the declared credentials."""
        auth = self.skill.auth
        if auth.type == "none":
            return True
        if auth.type == "bearer":
            return seen.headers.get("Authorization") == f"Bearer {token}"
        if auth.type == "header":
            return seen.headers.get(auth.header) == token
        if auth.type == "query":
            return seen.query.get(auth.param) == token
        return seen.headers.get("Authorization", "").startswith("Basic ")


def appears(value: Any, seen: Seen) -> bool:
    """The encoded value is somewhere in the request: path, query or body."""
    text = json.dumps(value) if not isinstance(value, str) else value
    plain = text.strip('"')
    if plain and (plain in seen.path or plain in seen.query.values()):
        return True
    return _in_body(seen.body, value)


def _in_body(body: Any, value: Any) -> bool:
    if body == value and type(body) is type(value):
        return True
    if isinstance(body, dict):
        return any(_in_body(v, value) for v in body.values())
    if isinstance(body, list):
        return any(_in_body(v, value) for v in body)
    return False


def _sample(schema: Any) -> Any:
    if not isinstance(schema, Mapping):
        return "x"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1.0)
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return "sample"


def _n(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
