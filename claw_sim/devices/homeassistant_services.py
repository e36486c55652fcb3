"""The simulated Home Assistant's services: what each `<domain>.<service>` does to an entity, as HA does it.

Covers every service Claw calls and the neighbours an assistant would reach for (HA's own service
names and data keys): light, switch, input_boolean, fan, cover, valve, lock, climate, water_heater,
humidifier, media_player, alarm_control_panel, scene, script, automation, button, number, select,
vacuum, siren, and `homeassistant.turn_on/turn_off/toggle` across domains. Invalid data raises
ServiceError with HA's wording (the API answers 400, or a failed WebSocket result).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol


class ServiceError(Exception):
    """Invalid service data; answered as 400 with the message."""


class Entity(Protocol):
    entity_id: str
    state: str
    attributes: dict[str, Any]


ServiceHandler = Callable[[Entity, Mapping[str, Any]], None]


def _number(data: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ServiceError(f"value must be a number between {low} and {high} for dictionary value @ data['{key}']")
    return float(value)


def _choice(entity: Entity, data: Mapping[str, Any], key: str, options_key: str) -> str:
    value = data.get(key)
    options = entity.attributes.get(options_key) or []
    if value not in options:
        raise ServiceError(f"{key} must be one of {options}, got {value!r}")
    return str(value)


def _now() -> str:
    return datetime.now(UTC).isoformat()


# ---------------------------------------------------------------- light
def _light_on(entity: Entity, data: Mapping[str, Any]) -> None:
    brightness: int | None = None
    if (pct := _number(data, "brightness_pct", 0, 100)) is not None:
        brightness = round(pct * 255 / 100)
    elif (raw := _number(data, "brightness", 0, 255)) is not None:
        brightness = round(raw)
    elif (step := _number(data, "brightness_step_pct", -100, 100)) is not None:
        current = int(entity.attributes.get("brightness") or 0) if entity.state == "on" else 0
        brightness = max(0, min(255, current + round(step * 255 / 100)))
    elif (raw_step := _number(data, "brightness_step", -255, 255)) is not None:
        current = int(entity.attributes.get("brightness") or 0) if entity.state == "on" else 0
        brightness = max(0, min(255, current + round(raw_step)))
    if brightness == 0:
        _light_off(entity, data)
        return
    modes = entity.attributes.get("supported_color_modes") or ["brightness"]
    if "color_temp_kelvin" in data:
        if "color_temp" not in modes:
            raise ServiceError(f"{entity.entity_id} does not support color temperature")
        low = float(entity.attributes.get("min_color_temp_kelvin", 2000))
        high = float(entity.attributes.get("max_color_temp_kelvin", 6500))
        kelvin = _number(data, "color_temp_kelvin", 1000, 40000)
        entity.attributes["color_temp_kelvin"] = round(min(high, max(low, kelvin or low)))  # HA clamps to the range
        entity.attributes["color_mode"] = "color_temp"
    elif "rgb_color" in data or "hs_color" in data:
        if not {"rgb", "hs", "xy", "rgbw", "rgbww"} & set(modes):
            raise ServiceError(f"{entity.entity_id} does not support colour")
        key = "rgb_color" if "rgb_color" in data else "hs_color"
        entity.attributes[key] = list(data[key])
        entity.attributes["color_mode"] = "rgb" if key == "rgb_color" and "rgb" in modes else "hs"
    elif entity.attributes.get("color_mode") is None:
        entity.attributes["color_mode"] = "onoff" if modes == ["onoff"] else modes[0]
    entity.state = "on"
    if entity.attributes["color_mode"] != "onoff":
        entity.attributes["brightness"] = brightness or entity.attributes.get("_last_brightness") or 255


def _light_off(entity: Entity, _data: Mapping[str, Any]) -> None:
    if entity.attributes.get("brightness"):
        entity.attributes["_last_brightness"] = entity.attributes["brightness"]
    entity.state = "off"
    entity.attributes["color_mode"] = None
    entity.attributes["brightness"] = None


# ---------------------------------------------------------------- generic helpers
def _toggle(on: ServiceHandler, off: ServiceHandler, on_states: tuple[str, ...] = ("on",)) -> ServiceHandler:
    return lambda entity, data: (off if entity.state in on_states else on)(entity, data)


def _set_state(state: str, **attributes: Any) -> ServiceHandler:
    def handler(entity: Entity, _data: Mapping[str, Any]) -> None:
        entity.state = state
        entity.attributes.update(attributes)

    return handler


def _pressed(entity: Entity, _data: Mapping[str, Any]) -> None:
    """Buttons and scenes: the state is the time it was last pressed/activated."""
    entity.state = _now()


# ---------------------------------------------------------------- fan
def _fan_percentage(entity: Entity, percentage: float) -> None:
    if percentage <= 0:
        _fan_off(entity, {})
        return
    entity.state = "on"
    entity.attributes["percentage"] = round(percentage)


def _fan_on(entity: Entity, data: Mapping[str, Any]) -> None:
    if "preset_mode" in data:
        entity.attributes["preset_mode"] = _choice(entity, data, "preset_mode", "preset_modes")
    percentage = _number(data, "percentage", 0, 100)
    if percentage is not None:
        _fan_percentage(entity, percentage)
        return
    entity.state = "on"
    entity.attributes["percentage"] = entity.attributes.get("_last_percentage") or 100


def _fan_off(entity: Entity, _data: Mapping[str, Any]) -> None:
    if entity.attributes.get("percentage"):
        entity.attributes["_last_percentage"] = entity.attributes["percentage"]
    entity.state = "off"
    entity.attributes["percentage"] = 0


def _fan_set_percentage(entity: Entity, data: Mapping[str, Any]) -> None:
    percentage = _number(data, "percentage", 0, 100)
    if percentage is None:
        raise ServiceError("required key not provided @ data['percentage']")
    _fan_percentage(entity, percentage)


def _fan_step(sign: int) -> ServiceHandler:
    def handler(entity: Entity, data: Mapping[str, Any]) -> None:
        step = _number(data, "percentage_step", 0, 100) or entity.attributes.get("percentage_step") or 100 / 3
        current = float(entity.attributes.get("percentage") or 0) if entity.state == "on" else 0.0
        _fan_percentage(entity, max(0.0, min(100.0, current + sign * float(step))))

    return handler


def _fan_oscillate(entity: Entity, data: Mapping[str, Any]) -> None:
    if not isinstance(data.get("oscillating"), bool):
        raise ServiceError("required key not provided @ data['oscillating']")
    entity.attributes["oscillating"] = data["oscillating"]


def _fan_direction(entity: Entity, data: Mapping[str, Any]) -> None:
    if data.get("direction") not in ("forward", "reverse"):
        raise ServiceError(f"direction must be forward or reverse, got {data.get('direction')!r}")
    entity.attributes["direction"] = data["direction"]


def _fan_preset(entity: Entity, data: Mapping[str, Any]) -> None:
    entity.attributes["preset_mode"] = _choice(entity, data, "preset_mode", "preset_modes")
    entity.state = "on"


# ---------------------------------------------------------------- cover and valve
def _position(key: str) -> tuple[ServiceHandler, ServiceHandler, ServiceHandler]:
    """open, close and set-position for covers (current_position) and valves (current_position)."""
    opened, closed = ("open", "closed")

    def open_(entity: Entity, _data: Mapping[str, Any]) -> None:
        entity.state = opened
        entity.attributes["current_position"] = 100

    def close(entity: Entity, _data: Mapping[str, Any]) -> None:
        entity.state = closed
        entity.attributes["current_position"] = 0

    def set_position(entity: Entity, data: Mapping[str, Any]) -> None:
        position = _number(data, key, 0, 100)
        if position is None:
            raise ServiceError(f"required key not provided @ data['{key}']")
        if "current_position" not in entity.attributes:
            raise ServiceError(f"Entity {entity.entity_id} does not support this service.")
        entity.attributes["current_position"] = round(position)
        entity.state = closed if position == 0 else opened

    return open_, close, set_position


_cover_open, _cover_close, _cover_position = _position("position")
_valve_open, _valve_close, _valve_position = _position("position")


def _cover_tilt(entity: Entity, data: Mapping[str, Any]) -> None:
    tilt = _number(data, "tilt_position", 0, 100)
    if tilt is None:
        raise ServiceError("required key not provided @ data['tilt_position']")
    entity.attributes["current_tilt_position"] = round(tilt)


def _stop(entity: Entity, _data: Mapping[str, Any]) -> None:
    """Stopping a cover or valve at rest changes nothing (the sim moves instantly)."""


# ---------------------------------------------------------------- lock and alarm
def _alarm(state: str) -> ServiceHandler:
    def handler(entity: Entity, data: Mapping[str, Any]) -> None:
        code = entity.attributes.get("_code")
        if code is not None and str(data.get("code", "")) != str(code):
            raise ServiceError("Invalid alarm code provided")
        entity.state = state

    return handler


# ---------------------------------------------------------------- climate, water heater, humidifier
def _climate_mode(entity: Entity, data: Mapping[str, Any]) -> None:
    mode = data.get("hvac_mode")
    if mode not in entity.attributes.get("hvac_modes", []):
        raise ServiceError(f"hvac_mode must be one of {entity.attributes.get('hvac_modes')}, got {mode!r}")
    if entity.state != "off":
        entity.attributes["_last_mode"] = entity.state
    entity.state = str(mode)


def _climate_temperature(entity: Entity, data: Mapping[str, Any]) -> None:
    low, high = entity.attributes.get("min_temp", 7.0), entity.attributes.get("max_temp", 35.0)
    temperature = _number(data, "temperature", low, high)
    range_low = _number(data, "target_temp_low", low, high)
    range_high = _number(data, "target_temp_high", low, high)
    if temperature is None and (range_low is None or range_high is None):
        raise ServiceError("required key not provided @ data['temperature']")
    if "hvac_mode" in data:
        _climate_mode(entity, data)
    if temperature is not None:
        entity.attributes["temperature"] = temperature
    else:
        entity.attributes["target_temp_low"], entity.attributes["target_temp_high"] = range_low, range_high


def _climate_on(entity: Entity, _data: Mapping[str, Any]) -> None:
    if entity.state != "off":
        return
    modes = [m for m in entity.attributes.get("hvac_modes", []) if m != "off"]
    last = entity.attributes.get("_last_mode")
    entity.state = str(last if last in modes else (modes[0] if modes else "heat"))


def _climate_off(entity: Entity, _data: Mapping[str, Any]) -> None:
    if entity.state != "off":
        entity.attributes["_last_mode"] = entity.state
    entity.state = "off"


def _attribute_choice(key: str, options_key: str) -> ServiceHandler:
    def handler(entity: Entity, data: Mapping[str, Any]) -> None:
        entity.attributes[key] = _choice(entity, data, key, options_key)

    return handler


def _humidity(entity: Entity, data: Mapping[str, Any]) -> None:
    low, high = entity.attributes.get("min_humidity", 0), entity.attributes.get("max_humidity", 100)
    humidity = _number(data, "humidity", low, high)
    if humidity is None:
        raise ServiceError("required key not provided @ data['humidity']")
    entity.attributes["humidity"] = humidity


def _water_heater_temperature(entity: Entity, data: Mapping[str, Any]) -> None:
    low, high = entity.attributes.get("min_temp", 43.0), entity.attributes.get("max_temp", 60.0)
    temperature = _number(data, "temperature", low, high)
    if temperature is None:
        raise ServiceError("required key not provided @ data['temperature']")
    entity.attributes["temperature"] = temperature


def _water_heater_mode(entity: Entity, data: Mapping[str, Any]) -> None:
    entity.state = _choice(entity, data, "operation_mode", "operation_list")


# ---------------------------------------------------------------- media player
def _volume_set(entity: Entity, data: Mapping[str, Any]) -> None:
    level = _number(data, "volume_level", 0, 1)
    if level is None:
        raise ServiceError("required key not provided @ data['volume_level']")
    entity.attributes["volume_level"] = round(level, 2)


def _volume_step(sign: int) -> ServiceHandler:
    def handler(entity: Entity, _data: Mapping[str, Any]) -> None:
        step = float(entity.attributes.get("volume_step", 0.1))
        level = float(entity.attributes.get("volume_level") or 0.0)
        entity.attributes["volume_level"] = round(max(0.0, min(1.0, level + sign * step)), 2)

    return handler


def _mute(entity: Entity, data: Mapping[str, Any]) -> None:
    if not isinstance(data.get("is_volume_muted"), bool):
        raise ServiceError("required key not provided @ data['is_volume_muted']")
    entity.attributes["is_volume_muted"] = data["is_volume_muted"]


def _media(state: str) -> ServiceHandler:
    def handler(entity: Entity, _data: Mapping[str, Any]) -> None:
        if entity.state == "off":
            raise ServiceError(f"{entity.entity_id} is off")
        entity.state = state

    return handler


def _play_pause(entity: Entity, data: Mapping[str, Any]) -> None:
    _media("paused" if entity.state == "playing" else "playing")(entity, data)


def _track(step: int) -> ServiceHandler:
    def handler(entity: Entity, _data: Mapping[str, Any]) -> None:
        if entity.state == "off":
            raise ServiceError(f"{entity.entity_id} is off")
        entity.attributes["media_track"] = max(1, int(entity.attributes.get("media_track") or 1) + step)

    return handler


def _play_media(entity: Entity, data: Mapping[str, Any]) -> None:
    content = data.get("media_content_id")
    if not isinstance(content, str) or not isinstance(data.get("media_content_type"), str):
        raise ServiceError("required key not provided @ data['media_content_id']")
    entity.state = "playing"
    entity.attributes.update(media_content_id=content, media_title=content, media_track=1)


def _select_source(entity: Entity, data: Mapping[str, Any]) -> None:
    entity.attributes["source"] = _choice(entity, data, "source", "source_list")


def _flag(key: str) -> ServiceHandler:
    def handler(entity: Entity, data: Mapping[str, Any]) -> None:
        if key not in data:
            raise ServiceError(f"required key not provided @ data['{key}']")
        entity.attributes[key] = data[key]

    return handler


# ---------------------------------------------------------------- scenes, numbers, selects
def _scene_on(apply: Callable[[str, str], None]) -> ServiceHandler:
    """A scene sets the states it stores (`_apply`: entity_id -> state) and records when it ran."""

    def handler(entity: Entity, _data: Mapping[str, Any]) -> None:
        for target, state in dict(entity.attributes.get("_apply") or {}).items():
            apply(str(target), str(state))
        entity.state = _now()

    return handler


def _set_value(entity: Entity, data: Mapping[str, Any]) -> None:
    value = _number(data, "value", float(entity.attributes.get("min", 0)), float(entity.attributes.get("max", 100)))
    if value is None:
        raise ServiceError("required key not provided @ data['value']")
    entity.state = str(value)


def _select_option(entity: Entity, data: Mapping[str, Any]) -> None:
    entity.state = _choice(entity, data, "option", "options")


def _script_run(entity: Entity, _data: Mapping[str, Any]) -> None:
    """A script or automation runs at once here: its last run is recorded; the state stays as it was."""
    entity.attributes["last_triggered"] = _now()


def table(apply: Callable[[str, str], None]) -> dict[tuple[str, str], ServiceHandler]:
    """Every service the sim knows; `apply(entity_id, state)` is how a scene sets other entities."""
    on, off = _set_state("on"), _set_state("off")
    services: dict[tuple[str, str], ServiceHandler] = {
        ("light", "turn_on"): _light_on,
        ("light", "turn_off"): _light_off,
        ("light", "toggle"): _toggle(_light_on, _light_off),
        ("fan", "turn_on"): _fan_on,
        ("fan", "turn_off"): _fan_off,
        ("fan", "toggle"): _toggle(_fan_on, _fan_off),
        ("fan", "set_percentage"): _fan_set_percentage,
        ("fan", "increase_speed"): _fan_step(1),
        ("fan", "decrease_speed"): _fan_step(-1),
        ("fan", "oscillate"): _fan_oscillate,
        ("fan", "set_direction"): _fan_direction,
        ("fan", "set_preset_mode"): _fan_preset,
        ("cover", "open_cover"): _cover_open,
        ("cover", "close_cover"): _cover_close,
        ("cover", "stop_cover"): _stop,
        ("cover", "toggle"): _toggle(_cover_open, _cover_close, ("open", "opening")),
        ("cover", "set_cover_position"): _cover_position,
        ("cover", "open_cover_tilt"): lambda e, d: _cover_tilt(e, {"tilt_position": 100}),
        ("cover", "close_cover_tilt"): lambda e, d: _cover_tilt(e, {"tilt_position": 0}),
        ("cover", "set_cover_tilt_position"): _cover_tilt,
        ("valve", "open_valve"): _valve_open,
        ("valve", "close_valve"): _valve_close,
        ("valve", "stop_valve"): _stop,
        ("valve", "toggle"): _toggle(_valve_open, _valve_close, ("open", "opening")),
        ("valve", "set_valve_position"): _valve_position,
        ("lock", "lock"): _set_state("locked"),
        ("lock", "unlock"): _set_state("unlocked"),
        ("lock", "open"): _set_state("open"),
        ("alarm_control_panel", "alarm_disarm"): _alarm("disarmed"),
        ("alarm_control_panel", "alarm_arm_home"): _alarm("armed_home"),
        ("alarm_control_panel", "alarm_arm_away"): _alarm("armed_away"),
        ("alarm_control_panel", "alarm_arm_night"): _alarm("armed_night"),
        ("alarm_control_panel", "alarm_arm_vacation"): _alarm("armed_vacation"),
        ("alarm_control_panel", "alarm_arm_custom_bypass"): _alarm("armed_custom_bypass"),
        ("alarm_control_panel", "alarm_trigger"): _alarm("triggered"),
        ("climate", "set_temperature"): _climate_temperature,
        ("climate", "set_hvac_mode"): _climate_mode,
        ("climate", "turn_on"): _climate_on,
        ("climate", "turn_off"): _climate_off,
        ("climate", "toggle"): lambda e, d: (_climate_on if e.state == "off" else _climate_off)(e, d),
        ("climate", "set_fan_mode"): _attribute_choice("fan_mode", "fan_modes"),
        ("climate", "set_preset_mode"): _attribute_choice("preset_mode", "preset_modes"),
        ("climate", "set_swing_mode"): _attribute_choice("swing_mode", "swing_modes"),
        ("climate", "set_humidity"): _humidity,
        ("water_heater", "set_temperature"): _water_heater_temperature,
        ("water_heater", "set_operation_mode"): _water_heater_mode,
        ("water_heater", "turn_on"): _set_state("eco"),
        ("water_heater", "turn_off"): off,
        ("humidifier", "turn_on"): on,
        ("humidifier", "turn_off"): off,
        ("humidifier", "toggle"): _toggle(on, off),
        ("humidifier", "set_humidity"): _humidity,
        ("humidifier", "set_mode"): _attribute_choice("mode", "available_modes"),
        ("media_player", "turn_on"): _set_state("idle"),
        ("media_player", "turn_off"): off,
        ("media_player", "toggle"): _toggle(_set_state("idle"), off, ("idle", "playing", "paused", "on")),
        ("media_player", "volume_set"): _volume_set,
        ("media_player", "volume_up"): _volume_step(1),
        ("media_player", "volume_down"): _volume_step(-1),
        ("media_player", "volume_mute"): _mute,
        ("media_player", "media_play"): _media("playing"),
        ("media_player", "media_pause"): _media("paused"),
        ("media_player", "media_stop"): _media("idle"),
        ("media_player", "media_play_pause"): _play_pause,
        ("media_player", "media_next_track"): _track(1),
        ("media_player", "media_previous_track"): _track(-1),
        ("media_player", "play_media"): _play_media,
        ("media_player", "select_source"): _select_source,
        ("media_player", "shuffle_set"): _flag("shuffle"),
        ("media_player", "repeat_set"): _flag("repeat"),
        ("scene", "turn_on"): _scene_on(apply),
        ("script", "turn_on"): _script_run,
        ("automation", "trigger"): _script_run,
        ("automation", "turn_on"): on,
        ("automation", "turn_off"): off,
        ("button", "press"): _pressed,
        ("input_button", "press"): _pressed,
        ("number", "set_value"): _set_value,
        ("input_number", "set_value"): _set_value,
        ("select", "select_option"): _select_option,
        ("input_select", "select_option"): _select_option,
        ("vacuum", "start"): _set_state("cleaning"),
        ("vacuum", "pause"): _set_state("paused"),
        ("vacuum", "stop"): _set_state("idle"),
        ("vacuum", "return_to_base"): _set_state("returning"),
        ("siren", "turn_on"): on,
        ("siren", "turn_off"): off,
    }
    for domain in ("switch", "input_boolean"):
        services[(domain, "turn_on")], services[(domain, "turn_off")] = on, off
        services[(domain, "toggle")] = _toggle(on, off)
    services[("script", "turn_off")] = lambda e, d: None
    return services


# `homeassistant.turn_on/turn_off/toggle` run each target's own domain service of that name.
GENERIC = ("turn_on", "turn_off", "toggle")
