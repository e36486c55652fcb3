"""Capabilities for skills: the common ones by name, a device's self-described fields, and the safety floor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from claw.home import capabilities as caps
from claw.home.capabilities import Capability

# `use: <name>` in a skill picks one of these; they carry the house's safety rules with them.
COMMON: Mapping[str, Capability] = {
    "power": caps.POWER,
    "on": caps.POWER,
    "brightness": caps.BRIGHTNESS,
    "setpoint": caps.SETPOINT,
    "target_temp": caps.SETPOINT,
    "temperature": caps.TEMPERATURE,
    "current_temp": caps.TEMPERATURE,
    "position": caps.POSITION,
    "volume": caps.VOLUME,
    "lock": caps.LOCK,
    "locked": caps.LOCK,
    "alarm": caps.ALARM,
    "garage": caps.GARAGE,
    "battery": caps.BATTERY,
    "playback": caps.PLAYBACK,
    "media": caps.MEDIA,
}

_BY_KEY: Mapping[str, Capability] = {
    "on": caps.POWER,
    "brightness": caps.BRIGHTNESS,
    "target_temp": caps.SETPOINT,
    "current_temp": caps.TEMPERATURE,
    "position": caps.POSITION,
    "volume": caps.VOLUME,
    "locked": caps.LOCK,
    "battery": caps.BATTERY,
}
_BY_KIND: Mapping[tuple[str, str], Capability] = {
    ("alarm", "mode"): caps.ALARM,
    ("garage_door", "state"): caps.GARAGE,
    ("gate", "state"): caps.GARAGE,
}
# Values that always need the owner's code, whatever a skill says: unlocking, disarming, opening.
_FLOOR: Mapping[tuple[str, str], tuple[Any, ...]] = {
    ("*", "locked"): (False,),
    ("alarm", "mode"): ("disarmed",),
    ("garage_door", "state"): ("open",),
    ("gate", "state"): ("open",),
    ("garage_door", "position"): (100,),
    ("gate", "position"): (100,),
}
SENSITIVE_ACTION_WORDS = frozenset({"unlock", "disarm", "open"})


def capability_from_field(kind: str, key: str, spec: Mapping[str, Any]) -> Capability:
    """A device's self-description -> our typed capability (common ones keep their safety rules)."""
    base = _BY_KIND.get((kind, key)) or _BY_KEY.get(key)
    writable = bool(spec.get("writable", True))
    if base is not None:
        return replace(base, writable=writable and base.type != "sensor")
    ftype = spec.get("type")
    if ftype == "bool":
        return Capability(key, "switch" if writable else "sensor", writable=writable)
    if ftype == "enum":
        return Capability(
            key, "choice" if writable else "sensor", options=tuple(spec.get("options", ())), writable=writable
        )
    return Capability(
        key, "number" if writable else "sensor", min=spec.get("min"), max=spec.get("max"), writable=writable
    )


def with_safety_floor(kind: str, capability: Capability) -> Capability:
    """Add the house's sensitive values (unlock, disarm, open) that a skill may not take away."""
    floor = _FLOOR.get((kind, capability.key)) or _FLOOR.get(("*", capability.key)) or ()
    if capability.type == "choice":
        floor = tuple(v for v in floor if v in capability.options)
    missing = tuple(v for v in floor if v not in capability.sensitive)
    return replace(capability, sensitive=(*capability.sensitive, *missing)) if missing else capability


def action_is_sensitive(name: str, declared: bool) -> bool:
    """A named action is sensitive when the skill says so or its name says unlock, disarm or open."""
    words = set(name.lower().replace("-", "_").split("_"))
    return declared or bool(words & SENSITIVE_ACTION_WORDS)
