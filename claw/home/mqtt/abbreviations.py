"""Home Assistant's short keys for MQTT discovery payloads (`stat_t` is `state_topic`), expanded before parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ABBREVIATIONS: Mapping[str, str] = {
    "act_t": "action_topic",
    "act_tpl": "action_template",
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "bri_cmd_t": "brightness_command_topic",
    "bri_cmd_tpl": "brightness_command_template",
    "bri_scl": "brightness_scale",
    "bri_stat_t": "brightness_state_topic",
    "bri_tpl": "brightness_template",
    "bri_val_tpl": "brightness_value_template",
    "clr_temp_cmd_t": "color_temp_command_topic",
    "clr_temp_cmd_tpl": "color_temp_command_template",
    "clr_temp_stat_t": "color_temp_state_topic",
    "clr_temp_tpl": "color_temp_template",
    "clr_temp_val_tpl": "color_temp_value_template",
    "clr_temp_k": "color_temp_kelvin",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cmps": "components",
    "curr_temp_t": "current_temperature_topic",
    "curr_temp_tpl": "current_temperature_template",
    "dev": "device",
    "dev_cla": "device_class",
    "dflt_ent_id": "default_entity_id",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "fx_list": "effect_list",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "max_mirs": "max_mireds",
    "min_mirs": "min_mireds",
    "max_kelvin": "max_kelvin",
    "min_kelvin": "min_kelvin",
    "max_temp": "max_temp",
    "min_temp": "min_temp",
    "mode_cmd_t": "mode_command_topic",
    "mode_cmd_tpl": "mode_command_template",
    "mode_stat_t": "mode_state_topic",
    "mode_stat_tpl": "mode_state_template",
    "modes": "modes",
    "name": "name",
    "o": "origin",
    "obj_id": "object_id",
    "opt": "optimistic",
    "p": "platform",
    "pct_cmd_t": "percentage_command_topic",
    "pct_cmd_tpl": "percentage_command_template",
    "pct_stat_t": "percentage_state_topic",
    "pct_val_tpl": "percentage_value_template",
    "pl_arm_away": "payload_arm_away",
    "pl_arm_home": "payload_arm_home",
    "pl_arm_nite": "payload_arm_night",
    "pl_avail": "payload_available",
    "pl_cls": "payload_close",
    "pl_disarm": "payload_disarm",
    "pl_lock": "payload_lock",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "pl_open": "payload_open",
    "pl_stop": "payload_stop",
    "pl_unlk": "payload_unlock",
    "pos_clsd": "position_closed",
    "pos_open": "position_open",
    "pos_t": "position_topic",
    "pos_tpl": "position_template",
    "qos": "qos",
    "ret": "retain",
    "schema": "schema",
    "set_pos_t": "set_position_topic",
    "set_pos_tpl": "set_position_template",
    "spd_rng_max": "speed_range_max",
    "spd_rng_min": "speed_range_min",
    "stat_clsd": "state_closed",
    "stat_closing": "state_closing",
    "stat_locked": "state_locked",
    "stat_off": "state_off",
    "stat_on": "state_on",
    "stat_open": "state_open",
    "stat_opening": "state_opening",
    "stat_stopped": "state_stopped",
    "stat_unlocked": "state_unlocked",
    "stat_jammed": "state_jammed",
    "stat_locking": "state_locking",
    "stat_unlocking": "state_unlocking",
    "stat_t": "state_topic",
    "stat_tpl": "state_template",
    "stat_val_tpl": "state_value_template",
    "sup_clrm": "supported_color_modes",
    "sup_feat": "supported_features",
    "temp_cmd_t": "temperature_command_topic",
    "temp_cmd_tpl": "temperature_command_template",
    "temp_stat_t": "temperature_state_topic",
    "temp_stat_tpl": "temperature_state_template",
    "temp_step": "temp_step",
    "temp_unit": "temperature_unit",
    "precision": "precision",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
    "stat_cla": "state_class",
    "t": "topic",
    "sug_area": "suggested_area",
}
# Inside the "device" table.
DEVICE_ABBREVIATIONS: Mapping[str, str] = {
    "cns": "connections",
    "ids": "identifiers",
    "name": "name",
    "mf": "manufacturer",
    "mdl": "model",
    "mdl_id": "model_id",
    "hw": "hw_version",
    "sw": "sw_version",
    "sa": "suggested_area",
    "sn": "serial_number",
    "via_device": "via_device",
    "cu": "configuration_url",
}


def expand(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Long keys everywhere, and `~` (the base topic) substituted at either end of every *_topic value."""
    out: dict[str, Any] = {ABBREVIATIONS.get(k, k): v for k, v in payload.items()}
    device = out.get("device")
    if isinstance(device, Mapping):
        out["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in device.items()}
    availability = out.get("availability")
    if isinstance(availability, list):
        out["availability"] = [
            {ABBREVIATIONS.get(k, k): v for k, v in a.items()} if isinstance(a, Mapping) else a for a in availability
        ]
    base = out.get("~")
    if isinstance(base, str):
        out = {k: _base(v, base) if k.endswith("_topic") or k == "topic" else v for k, v in out.items()}
        if isinstance(out.get("availability"), list):
            out["availability"] = [
                {k: _base(v, base) if k == "topic" else v for k, v in a.items()} if isinstance(a, Mapping) else a
                for a in out["availability"]
            ]
    return out


def _base(value: Any, base: str) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith("~"):
        return base + value[1:]
    if value.endswith("~"):
        return value[:-1] + base
    return value
