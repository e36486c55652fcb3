"""Home Assistant MQTT discovery: a config topic and payload become entities Claw can control, or a reason why not.

`<prefix>/<component>/[<node_id>/]<object_id>/config` carries one entity; `<prefix>/device/<id>/config` carries
a device's components together ("cmps"). What an entity can do is read from its config alone, so the same
config (kept with the device in the store) gives the same capabilities after a restart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from claw.home import capabilities as caps
from claw.home.capabilities import Capability
from claw.home.mqtt.abbreviations import expand
from claw.home.mqtt.templates import TemplateError, compile_command, compile_template

COMPONENTS = ("light", "switch", "cover", "lock", "climate", "fan", "binary_sensor", "sensor", "alarm_control_panel")
_TOPIC_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.:-]+")
# Keys whose value is a template: each must be in the subset Claw evaluates, or the entity is refused.
TEMPLATE_KEYS = (
    "value_template",
    "state_value_template",
    "brightness_value_template",
    "color_temp_value_template",
    "position_template",
    "current_temperature_template",
    "temperature_state_template",
    "mode_state_template",
    "percentage_value_template",
    "availability_template",
)
# Command templates place a value in fixed text (`{"state": "{{ value }}"}`): the topic each one goes with.
COMMAND_TEMPLATE_KEYS = {
    "command_topic": "command_template",
    "brightness_command_topic": "brightness_command_template",
    "color_temp_command_topic": "color_temp_command_template",
    "set_position_topic": "set_position_template",
    "temperature_command_topic": "temperature_command_template",
    "mode_command_topic": "mode_command_template",
    "percentage_command_topic": "percentage_command_template",
}
# Sensor device classes that mean a capability Claw already has a word for.
SENSOR_KEYS = {"temperature": caps.TEMPERATURE, "battery": caps.BATTERY}
BINARY_KEYS = {"door": "contact", "window": "contact", "garage_door": "contact", "opening": "contact"}


NOT_DEVICE_TOPICS = ("availability_topic", "json_attributes_topic")


class Refused(ValueError):
    """A discovery payload Claw will not use; the message says why, for the log and `claw discover`."""


@dataclass(frozen=True, slots=True)
class Availability:
    topic: str
    available: str = "online"
    not_available: str = "offline"
    template: str | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    """One discovered entity: who it is, what it can do, and its (expanded) config."""

    id: str
    config_topic: str
    component: str
    kind: str
    name: str
    room: str
    model: str
    capabilities: tuple[Capability, ...]
    config: Mapping[str, Any]
    availability: tuple[Availability, ...] = ()
    availability_mode: str = "latest"

    @property
    def optimistic(self) -> bool:
        """No state comes back: a command's effect is taken as the new state."""
        c = self.config
        if c.get("optimistic") is True:
            return True
        state_keys = ("state_topic", "position_topic", "mode_state_topic", "temperature_state_topic")
        return not any(c.get(k) for k in state_keys)


def parse_topic(topic: str, prefix: str) -> tuple[str, str] | None:
    """(component, key) for a config topic under `prefix`, else None; key is "[node_id/]object_id"."""
    if not topic.startswith(prefix + "/") or not topic.endswith("/config"):
        return None
    parts = topic[len(prefix) + 1 : -len("/config")].split("/")
    if len(parts) not in (2, 3) or not all(_TOPIC_PART.match(p) for p in parts):
        return None
    return parts[0], "/".join(parts[1:])


def parse(topic: str, payload: bytes | str, prefix: str) -> list[Entity]:
    """The entities a config message describes; raise Refused with the reason for anything Claw won't use."""
    where = parse_topic(topic, prefix)
    if where is None:
        raise Refused("not a discovery config topic (<prefix>/<component>/[<node_id>/]<object_id>/config)")
    component, key = where
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(f"the payload is not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise Refused("the payload is not a JSON object")
    config = expand(data)
    if component == "device":  # device discovery: the shared keys, then one entity per component
        parts = config.get("components")
        if not isinstance(parts, Mapping) or not parts:
            raise Refused("a device config needs a non-empty 'components' table")
        shared = {k: v for k, v in config.items() if k != "components"}
        out = []
        for part_id, part in parts.items():
            if not isinstance(part, Mapping):
                raise Refused(f"component {part_id!r} is not a table")
            merged = {**shared, **expand(part)}
            platform = str(merged.pop("platform", ""))
            out.append(entity(topic, platform, f"{key}/{part_id}", merged))
        return out
    return [entity(topic, component, key, config)]


def entity(topic: str, component: str, key: str, config: dict[str, Any]) -> Entity:
    """One entity from its expanded config (also how a stored device gets its capabilities back)."""
    if component not in COMPONENTS:
        raise Refused(f"component {component!r} is not supported (Claw handles {', '.join(COMPONENTS)})")
    if config.get("enabled_by_default") is False:
        raise Refused("the bridge marks it disabled by default (Home Assistant would not create it either)")
    if config.get("entity_category") == "config":
        raise Refused("it is a configuration setting of the device, not something to control day to day")
    for name in TEMPLATE_KEYS:
        try:
            compile_template(config.get(name))
        except TemplateError as exc:
            raise Refused(f"{name}: {exc}") from None
    for name in COMMAND_TEMPLATE_KEYS.values():
        try:
            compile_command(config.get(name))
        except TemplateError as exc:
            raise Refused(f"{name}: {exc}") from None
    device = config.get("device") if isinstance(config.get("device"), Mapping) else {}
    assert isinstance(device, Mapping)
    name = _name(config, device)
    if not name:
        raise Refused("it has no name and no device name")
    kind, capabilities = _what(component, config)
    topics = [k for k, v in config.items() if k.endswith("_topic") and v and k not in NOT_DEVICE_TOPICS]
    if not capabilities or not topics:
        raise Refused(f"the {component} has no topic Claw could read or command")
    model = " ".join(str(device.get(k) or "") for k in ("manufacturer", "model")).strip()
    return Entity(
        id=_stable_id(component, key, config, device),
        config_topic=topic,
        component=component,
        kind=kind,
        name=name,
        room=str(device.get("suggested_area") or config.get("suggested_area") or ""),
        model=model,
        capabilities=capabilities,
        config=config,
        availability=_availability(config),
        availability_mode=str(config.get("availability_mode") or "latest"),
    )


def _name(config: Mapping[str, Any], device: Mapping[str, Any]) -> str:
    """HA's naming: the device's name, then the entity's own (none, or the same, means the device itself)."""
    own = config.get("name")
    dev = str(device.get("name") or "").strip()
    own_text = str(own).strip() if own is not None else ""
    if not own_text or own_text.lower() == dev.lower():
        return dev
    if dev and not own_text.lower().startswith(dev.lower()):
        return f"{dev} {own_text}"
    return own_text


def _stable_id(component: str, key: str, config: Mapping[str, Any], device: Mapping[str, Any]) -> str:
    """mqtt:<device identifier>:<unique_id or object id>: the same across restarts, brokers and renames."""
    ids = device.get("identifiers")
    if isinstance(ids, list):
        ids = ids[0] if ids else ""
    if not ids and isinstance(device.get("connections"), list) and device["connections"]:
        first = device["connections"][0]
        ids = ":".join(str(x) for x in first) if isinstance(first, list) else str(first)
    own = config.get("unique_id") or config.get("object_id") or f"{component}/{key}"
    parts = [str(p) for p in (ids, own) if p]
    return "mqtt:" + ":".join(_ID_CHARS.sub("_", p)[:80] for p in parts)


def _availability(config: Mapping[str, Any]) -> tuple[Availability, ...]:
    out: list[Availability] = []
    default_on = str(config.get("payload_available", "online"))
    default_off = str(config.get("payload_not_available", "offline"))
    if isinstance(config.get("availability_topic"), str):
        tpl = config.get("availability_template")
        out.append(Availability(config["availability_topic"], default_on, default_off, tpl))
    items = config.get("availability")
    if isinstance(items, str):  # a bare topic
        items = [{"topic": items}]
    if items is not None and not isinstance(items, list):
        raise Refused("availability must be a list of {topic, payload_available, payload_not_available}")
    for item in items or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("topic"), str):
            raise Refused("every availability entry needs a topic")
        tpl = item.get("value_template")
        try:
            compile_template(tpl)
        except TemplateError as exc:
            raise Refused(f"availability value_template: {exc}") from None
        out.append(
            Availability(
                item["topic"],
                str(item.get("payload_available", default_on)),
                str(item.get("payload_not_available", default_off)),
                tpl,
            )
        )
    return tuple(out)


def _writable(config: Mapping[str, Any], *topics: str) -> bool:
    return any(isinstance(config.get(t), str) and config.get(t) for t in topics)


def _what(component: str, c: Mapping[str, Any]) -> tuple[str, tuple[Capability, ...]]:
    """The Claw kind and capabilities for one component, from the existing capability descriptors."""
    if component == "light":
        return "light", _light(c)
    if component == "switch":
        return "switch", (replace(caps.POWER, writable=_writable(c, "command_topic")),)
    if component == "fan":
        out = [replace(caps.POWER, writable=_writable(c, "command_topic"))]
        if _writable(c, "percentage_command_topic", "percentage_state_topic"):
            speed = Capability("speed", "number", "speed", "%", 0, 100, 1)
            out.append(replace(speed, writable=_writable(c, "percentage_command_topic")))
        return "fan", tuple(out)
    if component == "lock":
        return "lock", (replace(caps.LOCK, writable=_writable(c, "command_topic")),)
    if component == "alarm_control_panel":
        return "alarm", (replace(caps.ALARM, writable=_writable(c, "command_topic")),)
    if component == "cover":
        writable = _writable(c, "command_topic", "set_position_topic")
        if c.get("device_class") in ("garage", "gate"):
            kind = "garage_door" if c.get("device_class") == "garage" else "gate"
            return kind, (replace(caps.GARAGE, writable=_writable(c, "command_topic")),)
        out = [replace(caps.POSITION, writable=writable)]
        if _writable(c, "command_topic") and c.get("payload_stop", "STOP") is not None:
            out.append(Capability("cover", "action", "cover", options=("stop",)))
        return "shade", tuple(out)
    if component == "climate":
        return "thermostat", _climate(c)
    if component == "binary_sensor":
        cls = str(c.get("device_class") or "")
        key = BINARY_KEYS.get(cls, cls or "detected")
        return "sensor", (Capability(key, "sensor", cls.replace("_", " ") or "state", writable=False),)
    cls = str(c.get("device_class") or "")
    unit = str(c.get("unit_of_measurement") or "")
    known = SENSOR_KEYS.get(cls)
    if known is not None:
        return "sensor", (replace(known, unit=unit or known.unit),)
    label = cls.replace("_", " ") or "value"
    return "sensor", (Capability(cls or "value", "sensor", label, unit, writable=False),)


def _light(c: Mapping[str, Any]) -> tuple[Capability, ...]:
    json_schema = c.get("schema", "default") == "json"
    if c.get("schema", "default") not in ("default", "basic", "json"):
        raise Refused(f"light schema {c.get('schema')!r} is not supported (default and json are)")
    out = [replace(caps.POWER, writable=_writable(c, "command_topic"))]
    modes = c.get("supported_color_modes")
    modes = {str(m) for m in modes} if isinstance(modes, list) else set()
    if json_schema:
        bright = bool(c.get("brightness")) or bool(modes - {"onoff"})
        warm = bool(c.get("color_temp")) or "color_temp" in modes
    else:
        bright = _writable(c, "brightness_command_topic", "brightness_state_topic")
        warm = _writable(c, "color_temp_command_topic", "color_temp_state_topic")
    if bright:
        writable = _writable(c, "command_topic") if json_schema else _writable(c, "brightness_command_topic")
        out.append(replace(caps.BRIGHTNESS, writable=writable))
    if warm:
        if c.get("color_temp_kelvin"):
            raise Refused("color_temp_kelvin is set; Claw speaks colour temperature in mireds")
        low, high = _number(c, "min_mireds", 153), _number(c, "max_mireds", 500)
        writable = _writable(c, "command_topic") if json_schema else _writable(c, "color_temp_command_topic")
        out.append(Capability("color_temp", "number", "colour temperature", "mired", low, high, 1, writable=writable))
    return tuple(out)


def _climate(c: Mapping[str, Any]) -> tuple[Capability, ...]:
    out: list[Capability] = []
    if _writable(c, "temperature_command_topic", "temperature_state_topic"):
        low, high = _number(c, "min_temp", 7), _number(c, "max_temp", 35)
        step = _number(c, "temp_step", 0.5)
        out.append(
            replace(caps.SETPOINT, min=low, max=high, step=step, writable=_writable(c, "temperature_command_topic"))
        )
    if _writable(c, "mode_command_topic", "mode_state_topic"):
        modes = c.get("modes", ["auto", "off", "cool", "heat", "dry", "fan_only"])
        if not isinstance(modes, list) or not modes or not all(isinstance(m, str) for m in modes):
            raise Refused("modes must be a list of mode names")
        mode = Capability("mode", "choice", "mode", options=tuple(modes))
        out.append(replace(mode, writable=_writable(c, "mode_command_topic")))
    if _writable(c, "current_temperature_topic"):
        out.append(caps.TEMPERATURE)
    return tuple(out)


def _number(c: Mapping[str, Any], key: str, default: float) -> float:
    value = c.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(f"{key} must be a number, not {value!r}")
    return float(value)
