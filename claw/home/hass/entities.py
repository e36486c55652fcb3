"""Home Assistant entities as Claw devices: kind and capabilities, state, and the services that change it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from claw.core.errors import DeviceError
from claw.home import capabilities as caps
from claw.home.capabilities import Capability

# The domains Claw takes; anything else HA exposes is listed by `claw discover` and left alone.
DOMAINS = (
    "light",
    "switch",
    "input_boolean",
    "fan",
    "cover",
    "valve",
    "lock",
    "climate",
    "media_player",
    "alarm_control_panel",
    "sensor",
    "binary_sensor",
)
OPENINGS = ("door", "window", "garage_door", "opening")  # binary sensors that say open/closed
PRESENCE = {
    "motion": "motion",
    "occupancy": "occupancy",
    "presence": "presence",
    "moving": "motion",
    "moisture": "moisture",
}
SENSOR_CAPS = {
    "temperature": caps.TEMPERATURE,
    "humidity": Capability("humidity", "sensor", "humidity", "%"),
    "battery": caps.BATTERY,
    "power": Capability("power", "sensor", "power", "W"),
    "energy": Capability("energy", "sensor", "energy", "kWh"),
    "illuminance": Capability("illuminance", "sensor", "light level", "lx"),
}
ALARM_STATES = {"disarmed": "disarmed", "armed_home": "home", "armed_away": "away", "armed_night": "night"}
ALARM_SERVICES = {
    "disarmed": "alarm_disarm",
    "home": "alarm_arm_home",
    "away": "alarm_arm_away",
    "night": "alarm_arm_night",
}
MEDIA_SERVICES = {
    "play": "media_play",
    "pause": "media_pause",
    "next": "media_next_track",
    "previous": "media_previous_track",
}
PLAYBACK = {"playing": "playing", "paused": "paused", "idle": "stopped", "off": "stopped", "on": "stopped"}
VALVE = Capability("state", "choice", "valve", options=("open", "closed"))
COVER_SET_POSITION = 4  # CoverEntityFeature.SET_POSITION
DIMMABLE_MODES = frozenset({"brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white"})

Call = tuple[str, str, dict[str, Any]]  # (domain, service, service data)


def facts(entity_id: str, attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """What Claw keeps about an entity (its device `info`): enough to derive capabilities; None if not taken."""
    domain = entity_id.split(".", 1)[0]
    if domain not in DOMAINS:
        return None
    device_class = str(attributes.get("device_class") or "")
    info: dict[str, Any] = {"entity_id": entity_id, "domain": domain, "device_class": device_class}
    if domain == "light":
        modes = attributes.get("supported_color_modes")
        info["color_modes"] = sorted(str(m) for m in modes) if isinstance(modes, list) else []
        for key in ("min_color_temp_kelvin", "max_color_temp_kelvin"):
            if isinstance(attributes.get(key), int | float):
                info[key] = attributes[key]
    elif domain == "cover":
        info["features"] = _int(attributes.get("supported_features"))
    elif domain == "climate":
        modes = attributes.get("hvac_modes")
        info["hvac_modes"] = [str(m) for m in modes] if isinstance(modes, list) else []
        for key in ("min_temp", "max_temp", "target_temp_step"):
            if isinstance(attributes.get(key), int | float):
                info[key] = attributes[key]
    elif domain == "sensor":
        info["unit"] = str(attributes.get("unit_of_measurement") or "")
    return info


def kind_of(info: Mapping[str, Any]) -> str:
    domain, device_class = info["domain"], info.get("device_class", "")
    if domain == "cover":
        return {"garage": "garage_door", "gate": "gate"}.get(device_class, "shade")
    return {
        "light": "light",
        "switch": "switch",
        "input_boolean": "switch",
        "fan": "fan",
        "valve": "valve",
        "lock": "lock",
        "climate": "thermostat",
        "media_player": "speaker",
        "alarm_control_panel": "alarm",
    }.get(domain, "sensor")


def capabilities(info: Mapping[str, Any]) -> tuple[Capability, ...]:
    """The device's capabilities, from its facts alone (so a device read back from the store has them too)."""
    domain, device_class = info.get("domain", ""), info.get("device_class", "")
    if domain == "light":
        modes = set(info.get("color_modes", ()))
        out = [caps.POWER]
        if modes & DIMMABLE_MODES:
            out.append(caps.BRIGHTNESS)
        if "color_temp" in modes:
            low, high = info.get("min_color_temp_kelvin", 2000), info.get("max_color_temp_kelvin", 6500)
            out.append(Capability("color_temp", "number", "colour temperature", "K", low, high, 1))
        return tuple(out)
    if domain in ("switch", "input_boolean", "fan"):
        return (caps.POWER,)
    if domain == "cover":
        if device_class in ("garage", "gate"):
            return (caps.GARAGE,)
        return (caps.POSITION,)
    if domain == "lock":
        return (caps.LOCK,)
    if domain == "valve":  # open or closed, as HA's HassTurnOn/Off say for valves
        return (VALVE,)
    if domain == "climate":
        setpoint = replace(
            caps.SETPOINT,
            min=info.get("min_temp", caps.SETPOINT.min),
            max=info.get("max_temp", caps.SETPOINT.max),
            step=info.get("target_temp_step", caps.SETPOINT.step),
        )
        hvac = tuple(str(m) for m in info.get("hvac_modes", ())) or ("off", "heat")
        return (setpoint, caps.TEMPERATURE, Capability("mode", "choice", "mode", options=hvac))
    if domain == "media_player":
        media = Capability("media", "action", "media", options=tuple(MEDIA_SERVICES))
        return (caps.VOLUME, replace(caps.PLAYBACK, writable=False), media)
    if domain == "alarm_control_panel":
        return (caps.ALARM,)
    if domain == "binary_sensor":
        if device_class in OPENINGS:
            return (Capability("contact", "choice", "contact", options=("open", "closed"), writable=False),)
        return (Capability(PRESENCE.get(device_class, "active"), "sensor", device_class or "active"),)
    if domain == "sensor":
        known = SENSOR_CAPS.get(device_class)
        if known is not None:
            return (known,)
        return (Capability("value", "sensor", device_class.replace("_", " ") or "reading", str(info.get("unit", ""))),)
    return ()


def state_of(info: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """A Home Assistant state object in Claw's words; empty when HA itself does not know (unavailable)."""
    value = state.get("state")
    attributes = state.get("attributes") if isinstance(state.get("attributes"), Mapping) else {}
    assert isinstance(attributes, Mapping)
    if value in ("unavailable", "unknown", None):
        return {}
    domain, device_class = info.get("domain", ""), info.get("device_class", "")
    if domain == "light":
        out: dict[str, Any] = {"on": value == "on"}
        keys = {c.key for c in capabilities(info)}
        if "brightness" in keys:
            raw = _number(attributes.get("brightness"))
            out["brightness"] = round(raw * 100 / 255) if raw is not None and value == "on" else 0
        if "color_temp" in keys and (kelvin := _number(attributes.get("color_temp_kelvin"))) is not None:
            out["color_temp"] = round(kelvin)
        return out
    if domain in ("switch", "input_boolean", "fan"):
        return {"on": value == "on"}
    if domain == "cover":
        if device_class in ("garage", "gate"):
            return {"state": str(value)}
        position = _number(attributes.get("current_position"))
        return {"position": round(position) if position is not None else (0 if value == "closed" else 100)}
    if domain == "lock":
        return {"locked": value == "locked"} if value in ("locked", "unlocked") else {"state": str(value)}
    if domain == "valve":
        return {"state": "open" if value in ("open", "opening") else "closed"}
    if domain == "climate":
        out = {"mode": str(value)}
        if (target := _number(attributes.get("temperature"))) is not None:
            out["target_temp"] = target
        if (current := _number(attributes.get("current_temperature"))) is not None:
            out["current_temp"] = current
        return out
    if domain == "media_player":
        out = {"playback": PLAYBACK.get(str(value), "stopped")}
        if (volume := _number(attributes.get("volume_level"))) is not None:
            out["volume"] = round(volume * 100)
        for key, source in (("title", "media_title"), ("artist", "media_artist")):
            if attributes.get(source):
                out[key] = str(attributes[source])
        return out
    if domain == "alarm_control_panel":
        return {"mode": ALARM_STATES.get(str(value), str(value))}
    if domain == "binary_sensor":
        if device_class in OPENINGS:
            return {"contact": "open" if value == "on" else "closed"}
        return {PRESENCE.get(device_class, "active"): value == "on"}
    if domain == "sensor":
        key = capabilities(info)[0].key
        number = _number(value)
        return {key: number if number is not None else str(value)}
    return {}


def service_calls(info: Mapping[str, Any], name: str, changes: Mapping[str, Any]) -> list[Call]:
    """The service calls that make the validated `changes` happen, in order; DeviceError if HA has none."""
    domain = str(info.get("domain", ""))
    calls: list[Call] = []
    if domain == "light":
        if changes.get("on") is False or changes.get("brightness") == 0:
            return [("light", "turn_off", {})]
        data: dict[str, Any] = {}
        if "brightness" in changes:
            data["brightness_pct"] = changes["brightness"]
        if "color_temp" in changes:
            data["color_temp_kelvin"] = changes["color_temp"]
        if data or changes.get("on") is True:
            calls.append(("light", "turn_on", data))
    elif domain in ("switch", "input_boolean", "fan") and "on" in changes:
        calls.append((domain, "turn_on" if changes["on"] else "turn_off", {}))
    elif domain == "cover" and "state" in changes:
        calls.append(("cover", "open_cover" if changes["state"] == "open" else "close_cover", {}))
    elif domain == "cover" and "position" in changes:
        position = changes["position"]
        if int(info.get("features", 0)) & COVER_SET_POSITION and position not in (0, 100):
            calls.append(("cover", "set_cover_position", {"position": position}))
        elif position in (0, 100):
            calls.append(("cover", "open_cover" if position == 100 else "close_cover", {}))
        else:
            raise DeviceError(name, "can only open or close fully")
    elif domain == "valve" and "state" in changes:
        calls.append(("valve", "open_valve" if changes["state"] == "open" else "close_valve", {}))
    elif domain == "lock" and "locked" in changes:
        calls.append(("lock", "lock" if changes["locked"] else "unlock", {}))
    elif domain == "climate":
        if "mode" in changes:
            calls.append(("climate", "set_hvac_mode", {"hvac_mode": changes["mode"]}))
        if "target_temp" in changes:
            calls.append(("climate", "set_temperature", {"temperature": changes["target_temp"]}))
    elif domain == "media_player" and "volume" in changes:
        calls.append(("media_player", "volume_set", {"volume_level": round(changes["volume"] / 100, 2)}))
    elif domain == "alarm_control_panel" and "mode" in changes:
        calls.append(("alarm_control_panel", ALARM_SERVICES[changes["mode"]], {}))
    if not calls:
        raise DeviceError(name, f"can't change {', '.join(changes) or 'that'} through Home Assistant")
    return calls


def action_call(info: Mapping[str, Any], name: str, action: str) -> Call:
    if info.get("domain") == "media_player" and action in MEDIA_SERVICES:
        return ("media_player", MEDIA_SERVICES[action], {})
    raise DeviceError(name, f"has no '{action}' action")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
