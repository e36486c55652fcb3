"""Check API request bodies before any I/O; every mistake is a 400 naming the field and what fits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from claw.core.errors import ToolError
from claw.home.control import Change
from claw.home.device import Device

MAX_BODY = 64 * 1024  # a device command or chat line is a few hundred bytes


class Invalid(web.HTTPBadRequest):
    """400 with `{"error": ..., "field": ...}`."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(
            text=json.dumps({"error": f"{field}: {problem}" if field else problem, "field": field}),
            content_type="application/json",
        )


def not_found(what: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"error": f"no {what}"}), content_type="application/json")


async def json_object(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}` when not `required`."""
    try:
        raw = await request.read()
    except RequestPayloadError:  # a false Content-Encoding: the body cannot be read as sent
        raise Invalid("", "body could not be read (is its Content-Encoding right?)") from None
    if len(raw) > MAX_BODY:
        raise Invalid("", f"body is over {MAX_BODY // 1024} kB")
    if not raw:  # whitespace alone is not an empty body: it is JSON that says nothing (400)
        if required:
            raise Invalid("", "body must be a JSON object")
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Invalid("", f"body is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except ValueError:
        raise Invalid("", "body is not valid UTF-8 JSON") from None
    except RecursionError:
        raise Invalid("", "body is nested too deeply") from None
    if not isinstance(body, dict):
        raise Invalid("", "body must be a JSON object")
    return body


def int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(name, f"must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise Invalid(name, f"must be between {low} and {high}, not {value}")
    return value


def boolean(body: Mapping[str, Any], name: str, default: bool | None = None) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise Invalid(name, f"must be true or false, not {json.dumps(value)}")
    return value


def only(body: Mapping[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise Invalid(key, f"unknown field; allowed: {', '.join(sorted(allowed))}")


def parse_change(device: Device, body: Mapping[str, Any]) -> Change:
    """`{"values": {...}}`, `{"power": bool}` or `{"action": name, "params": {...}}`, checked against the device."""
    only(body, {"values", "power", "action", "params"})
    given = [k for k in ("values", "power", "action") if k in body]
    if len(given) != 1:
        raise Invalid("", 'give exactly one of "values", "power" or "action"')
    if "params" in body and "action" not in body:
        raise Invalid("params", 'only goes with "action"')
    if "power" in body:
        return Change(power=boolean(body, "power"))
    if "action" in body:
        return _action(device, body)
    values = body["values"]
    if not isinstance(values, dict) or not values:
        raise Invalid("values", 'must be a non-empty object like {"brightness": 40}')
    checked: dict[str, Any] = {}
    for key, value in values.items():
        field = f"values.{key}"
        cap = device.capability(key)
        if cap is None:
            keys = ", ".join(c.key for c in device.capabilities if c.writable and c.type != "sensor") or "none"
            raise Invalid(field, f"{device.name} has no such setting (settable: {keys})")
        if cap.type == "action":
            raise Invalid(field, f'is an action; send {{"action": "<one of {", ".join(cap.options)}>"}}')
        try:
            checked[key] = cap.validate(value)
        except ToolError as exc:
            raise Invalid(field, str(exc)) from None
    return Change(values=checked)


def _action(device: Device, body: Mapping[str, Any]) -> Change:
    action = body["action"]
    actions = [c for c in device.capabilities if c.type == "action"]
    options = [o for c in actions for o in c.options]
    if not isinstance(action, str) or action not in options:
        offered = ", ".join(options) or "none"
        raise Invalid("action", f"{device.name} has no action {json.dumps(action)} (actions: {offered})")
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise Invalid("params", "must be an object")
    return Change(action=action, params=params)
