"""What MQTT messages mean for an entity's state, and which messages carry a change: per component, from config.

States use Claw's capability keys (on, brightness in %, color_temp in mireds, position in %, locked, mode,
target_temp, current_temp); payloads use what the discovery config names, with Home Assistant's defaults.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from claw.core.errors import DeviceError
from claw.home.mqtt.discovery import BINARY_KEYS, COMMAND_TEMPLATE_KEYS, Entity
from claw.home.mqtt.templates import MISSING, Template, compile_command, compile_template

Reader = Callable[[str], dict[str, Any]]  # a message's payload -> the state keys it sets (empty: nothing new)
Message = tuple[str, str]  # (topic, payload)
ALARM_STATES = {"disarmed": "disarmed", "armed_home": "home", "armed_away": "away", "armed_night": "night"}
ALARM_PAYLOADS = {
    "disarmed": ("payload_disarm", "DISARM"),
    "home": ("payload_arm_home", "ARM_HOME"),
    "away": ("payload_arm_away", "ARM_AWAY"),
    "night": ("payload_arm_night", "ARM_NIGHT"),
}


def _s(config: Mapping[str, Any], key: str, default: str) -> str:
    value = config.get(key, default)
    return default if value is None else str(value)  # as Home Assistant does: false is "False" on both sides


def _value(template: Template | None, payload: str) -> Any:
    return payload if template is None else template.render(payload)


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _pct(value: float, low: float, high: float) -> int:
    return round((value - low) * 100 / (high - low)) if high != low else 0


def _scaled(pct: float, low: float, high: float) -> int:
    return round(low + pct * (high - low) / 100)


def readers(entity: Entity) -> dict[str, list[Reader]]:
    """Topic -> what reads a state from it."""
    c = entity.config
    out: dict[str, list[Reader]] = {}

    def add(topic_key: str, reader: Reader) -> None:
        topic = c.get(topic_key)
        if isinstance(topic, str) and topic:
            out.setdefault(topic, []).append(reader)

    def field(template_key: str, make: Callable[[Any], dict[str, Any]]) -> Reader:
        template = compile_template(c.get(template_key))

        def read(payload: str) -> dict[str, Any]:
            value = _value(template, payload)
            return {} if value is MISSING else make(value)

        return read

    def on_off(on: str, off: str, key: str = "on") -> Callable[[Any], dict[str, Any]]:
        return lambda v: {key: True} if str(v) == on else ({key: False} if str(v) == off else {})

    component = entity.component
    if component == "light" and c.get("schema") == "json":
        add("state_topic", lambda payload: _json_light(c, payload))
    elif component == "light":
        on = _s(c, "state_on", _s(c, "payload_on", "ON"))
        off = _s(c, "state_off", _s(c, "payload_off", "OFF"))
        template = "state_value_template" if c.get("state_value_template") else "value_template"  # older bridges
        add("state_topic", field(template, on_off(on, off)))
        scale = _num(c.get("brightness_scale", 255)) or 255.0
        add("brightness_state_topic", field("brightness_value_template", lambda v: _level(v, 0, scale, "brightness")))
        add("color_temp_state_topic", field("color_temp_value_template", _mireds))
    elif component in ("switch", "fan"):
        on = _s(c, "state_on", _s(c, "payload_on", "ON"))
        off = _s(c, "state_off", _s(c, "payload_off", "OFF"))
        template = "value_template" if component == "switch" else "state_value_template"
        add("state_topic", field(template, on_off(on, off)))
        low, high = _num(c.get("speed_range_min", 1)) or 1.0, _num(c.get("speed_range_max", 100)) or 100.0
        add("percentage_state_topic", field("percentage_value_template", lambda v: _level(v, low - 1, high, "speed")))
    elif component == "lock":
        locked, unlocked = _s(c, "state_locked", "LOCKED"), _s(c, "state_unlocked", "UNLOCKED")
        add("state_topic", field("value_template", on_off(locked, unlocked, "locked")))
    elif component == "alarm_control_panel":
        add("state_topic", field("value_template", lambda v: {"mode": ALARM_STATES[v]} if v in ALARM_STATES else {}))
    elif component == "cover":
        add("state_topic", field("value_template", lambda v: _cover_state(entity, str(v))))
        closed, opened = _num(c.get("position_closed", 0)) or 0.0, _num(c.get("position_open", 100)) or 100.0
        add("position_topic", field("position_template", lambda v: _level(v, closed, opened, "position")))
    elif component == "climate":
        add("current_temperature_topic", field("current_temperature_template", lambda v: _float(v, "current_temp")))
        add("temperature_state_topic", field("temperature_state_template", lambda v: _float(v, "target_temp")))
        add("mode_state_topic", field("mode_state_template", lambda v: {"mode": str(v)} if str(v) else {}))
    elif component == "binary_sensor":
        on, off = _s(c, "payload_on", "ON"), _s(c, "payload_off", "OFF")
        key = entity.capabilities[0].key
        if key == "contact" and c.get("device_class") in BINARY_KEYS:
            add("state_topic", field("value_template", lambda v: _contact(str(v), on, off)))
        else:
            add("state_topic", field("value_template", on_off(on, off, key)))
    elif component == "sensor":
        key = entity.capabilities[0].key
        add("state_topic", field("value_template", lambda v: _reading(v, key)))
    return out


def _level(value: Any, low: float, high: float, key: str) -> dict[str, Any]:
    number = _num(value)
    return {} if number is None else {key: max(0, min(100, _pct(number, low, high)))}


def _mireds(value: Any) -> dict[str, Any]:
    number = _num(value)
    return {} if number is None else {"color_temp": round(number)}


def _float(value: Any, key: str) -> dict[str, Any]:
    number = _num(value)
    return {} if number is None else {key: number}


def _contact(value: str, on: str, off: str) -> dict[str, Any]:
    return {"contact": "open"} if value == on else ({"contact": "closed"} if value == off else {})


def _reading(value: Any, key: str) -> dict[str, Any]:
    if value in ("", "unknown", "unavailable", None):
        return {}
    number = _num(value)
    if number is not None:
        return {key: int(number) if number.is_integer() and "." not in str(value) else number}
    return {key: str(value)}


def _json_light(c: Mapping[str, Any], payload: str) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    if data.get("state") in ("ON", "OFF"):
        out["on"] = data["state"] == "ON"
    scale = _num(c.get("brightness_scale", 255)) or 255.0
    if (b := _num(data.get("brightness"))) is not None:
        out["brightness"] = max(0, min(100, _pct(b, 0, scale)))
    if (t := _num(data.get("color_temp"))) is not None:
        out["color_temp"] = round(t)
    return out


def _cover_state(entity: Entity, value: str) -> dict[str, Any]:
    c = entity.config
    words = {
        _s(c, "state_open", "open"): "open",
        _s(c, "state_opening", "opening"): "opening",
        _s(c, "state_closed", "closed"): "closed",
        _s(c, "state_closing", "closing"): "closing",
        _s(c, "payload_open", "OPEN"): "open",
        _s(c, "payload_close", "CLOSE"): "closed",
    }
    word = words.get(value)
    if word is None:
        return {}
    if entity.kind in ("garage_door", "gate"):
        return {"state": word}
    if c.get("position_topic"):
        return {}  # the position says more than the word
    return {"position": 100} if word in ("open", "opening") else {"position": 0}


def commands(entity: Entity, changes: Mapping[str, Any]) -> list[Message]:
    """The messages that make `changes` (validated capability values) happen; DeviceError if it can't."""
    c = entity.config
    out: list[Message] = []

    def send(topic_key: str, payload: str) -> None:
        topic = c.get(topic_key)
        if not isinstance(topic, str) or not topic:
            raise DeviceError(entity.name, f"has no {topic_key.replace('_', ' ')}")
        template = compile_command(c.get(COMMAND_TEMPLATE_KEYS.get(topic_key, "")))
        out.append((topic, template(payload) if template else payload))

    component = entity.component
    if component == "light" and c.get("schema") == "json":
        body: dict[str, Any] = {}
        if "on" in changes:
            body["state"] = "ON" if changes["on"] else "OFF"
        if "brightness" in changes:
            body["brightness"] = _scaled(changes["brightness"], 0, _num(c.get("brightness_scale", 255)) or 255.0)
            body.setdefault("state", "ON")
        if "color_temp" in changes:
            body["color_temp"] = round(changes["color_temp"])
            body.setdefault("state", "ON")
        send("command_topic", json.dumps(body))
    elif component == "light":
        first = c.get("on_command_type") == "first"
        if changes.get("on") is True and first:
            send("command_topic", _s(c, "payload_on", "ON"))
        if "brightness" in changes:
            scale = _num(c.get("brightness_scale", 255)) or 255.0
            send("brightness_command_topic", str(_scaled(changes["brightness"], 0, scale)))
        if "color_temp" in changes:
            send("color_temp_command_topic", str(round(changes["color_temp"])))
        if "on" in changes and not (changes["on"] is True and first):
            on = changes["on"] is True
            if not (on and "brightness" in changes and c.get("on_command_type") == "brightness"):
                send("command_topic", _s(c, "payload_on", "ON") if on else _s(c, "payload_off", "OFF"))
    elif component in ("switch", "fan"):
        if "speed" in changes:
            low, high = _num(c.get("speed_range_min", 1)) or 1.0, _num(c.get("speed_range_max", 100)) or 100.0
            send("percentage_command_topic", str(_scaled(changes["speed"], low - 1, high)))
        if "on" in changes:
            send("command_topic", _s(c, "payload_on", "ON") if changes["on"] else _s(c, "payload_off", "OFF"))
    elif component == "lock":
        locked = changes.get("locked")
        send("command_topic", _s(c, "payload_lock", "LOCK") if locked else _s(c, "payload_unlock", "UNLOCK"))
    elif component == "alarm_control_panel":
        key, default = ALARM_PAYLOADS[str(changes.get("mode"))]
        send("command_topic", _s(c, key, default))
    elif component == "cover":
        if "state" in changes:
            opening = changes["state"] == "open"
            send("command_topic", _s(c, "payload_open", "OPEN") if opening else _s(c, "payload_close", "CLOSE"))
        if "position" in changes:
            position = changes["position"]
            if c.get("set_position_topic"):
                closed, opened = _num(c.get("position_closed", 0)) or 0.0, _num(c.get("position_open", 100)) or 100.0
                send("set_position_topic", str(_scaled(position, closed, opened)))
            elif position in (0, 100):
                send("command_topic", _s(c, "payload_open", "OPEN") if position else _s(c, "payload_close", "CLOSE"))
            else:
                raise DeviceError(entity.name, "can only open or close, not stop part way")
    elif component == "climate":
        if "target_temp" in changes:
            send("temperature_command_topic", _n(changes["target_temp"]))
        if "mode" in changes:
            send("mode_command_topic", str(changes["mode"]))
    if not out:
        raise DeviceError(entity.name, "can only be read")
    return out


def action(entity: Entity, name: str) -> list[Message]:
    """A named action's messages (a cover's stop)."""
    topic = entity.config.get("command_topic")
    if entity.component == "cover" and name == "stop" and isinstance(topic, str) and topic:
        return [(topic, _s(entity.config, "payload_stop", "STOP"))]
    raise DeviceError(entity.name, f"can't {name.replace('_', ' ')}")


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def confirms(state: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """A state message shows the change done (levels within a step of rounding)."""
    for key, want in changes.items():
        have = state.get(key)
        if isinstance(want, bool) or not isinstance(want, int | float):
            if key == "state" and want == "open" and have == "opening":
                continue  # a garage door on its way is a command obeyed
            if key == "state" and want == "closed" and have == "closing":
                continue
            if have != want:
                return False
        elif isinstance(have, bool) or not isinstance(have, int | float) or abs(have - want) > 1:
            return False
    return True
