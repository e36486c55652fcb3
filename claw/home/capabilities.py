"""Typed capabilities, described once as data: tool schemas, validation and the dashboard derive from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from claw.core.errors import InvalidValue

CapabilityType = Literal["switch", "number", "choice", "sensor", "action"]


@dataclass(frozen=True, slots=True)
class Capability:
    """One thing a device has or can do; `key` is its field in the device state."""

    key: str
    type: CapabilityType
    label: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple[str, ...] = ()
    writable: bool = True
    sensitive: tuple[Any, ...] = ()  # values whose setting needs the owner's code (unlocked, disarmed, open)
    params: Mapping[str, Any] = field(default_factory=dict)  # JSON schema properties, for actions

    def validate(self, value: Any) -> Any:
        """Coerce and range-check a value before any I/O; raise InvalidValue (a ToolError) saying what would fit."""
        if not self.writable or self.type == "sensor":
            raise InvalidValue(self._name, self.key, "read_only", value)
        if self.type == "switch":
            if isinstance(value, str) and value.lower() in ("on", "true", "yes", "off", "false", "no"):
                return value.lower() in ("on", "true", "yes")
            if not isinstance(value, bool):
                raise InvalidValue(self._name, self.key, "on_off", value)
            return value
        if self.type == "number":
            if isinstance(value, str):
                try:
                    value = float(value.rstrip("%°c ").strip())
                except ValueError:
                    raise InvalidValue(self._name, self.key, "number", value) from None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidValue(self._name, self.key, "number", value)
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise InvalidValue(self._name, self.key, "range", value, low=self.min, high=self.max, unit=self.unit)
            return int(value) if self.step in (None, 1) and float(value).is_integer() else float(value)
        if self.type == "choice":
            text = str(value).lower()
            for option in self.options:
                if option.lower() == text:
                    return option
            raise InvalidValue(self._name, self.key, "choice", value, options=self.options)
        return value

    @property
    def _name(self) -> str:
        """What a person calls it: "The target temperature", never "target_temp"."""
        return (self.label or self.key.replace("_", " ")).capitalize()

    def is_sensitive(self, value: Any) -> bool:
        return value in self.sensitive

    def schema(self) -> dict[str, Any]:
        """JSON schema of a value for this capability."""
        if self.type == "switch":
            return {"type": "boolean"}
        if self.type == "number":
            out: dict[str, Any] = {"type": "number"}
            if self.min is not None:
                out["minimum"] = self.min
            if self.max is not None:
                out["maximum"] = self.max
            return out
        if self.type == "choice":
            return {"type": "string", "enum": list(self.options)}
        return {"type": "object", "properties": dict(self.params)}

    def describe(self) -> dict[str, Any]:
        """The capability as the API and dashboard show it."""
        out: dict[str, Any] = {"key": self.key, "type": self.type, "label": self.label or self.key.replace("_", " ")}
        for name in ("unit", "min", "max", "step"):
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value
        if self.options:
            out["options"] = list(self.options)
        out["writable"] = self.writable
        if self.sensitive:
            out["sensitive"] = list(self.sensitive)
        if self.params:
            out["params"] = dict(self.params)
        return out


# The common capabilities, shared by built-in drivers and skills.
POWER = Capability("on", "switch", "power")
BRIGHTNESS = Capability("brightness", "number", "brightness", "%", 0, 100, 1)
SETPOINT = Capability("target_temp", "number", "target temperature", "°C", 5, 30, 0.5)
TEMPERATURE = Capability("current_temp", "sensor", "temperature", "°C")
POSITION = Capability("position", "number", "position", "%", 0, 100, 1)  # 0 = closed
VOLUME = Capability("volume", "number", "volume", "%", 0, 100, 1)
LOCK = Capability("locked", "switch", "locked", sensitive=(False,))
ALARM = Capability(
    "mode", "choice", "alarm mode", options=("disarmed", "home", "away", "night"), sensitive=("disarmed",)
)
GARAGE = Capability("state", "choice", "door", options=("open", "closed"), sensitive=("open",))
BATTERY = Capability("battery", "sensor", "battery", "%", 0, 100)
PLAYBACK = Capability("playback", "choice", "playback", options=("playing", "paused", "stopped"))
MEDIA = Capability(
    "media",
    "action",
    "media",
    options=("play", "pause", "next", "previous", "play_favorite", "play_uri", "join", "unjoin"),
    params={  # titles label the dashboard's fields; descriptions tell the model what goes in each
        "query": {"type": "string", "title": "favourite", "description": "a saved favourite to play"},
        "uri": {"type": "string", "title": "URL", "description": "a stream or file URL to play"},
        "with": {"type": "string", "title": "group with", "description": "the speaker to group with"},
    },
)

# Kinds whose devices guard the house: new ones need the owner's yes before Claw controls them.
SENSITIVE_KINDS = frozenset({"lock", "alarm", "garage_door", "gate", "camera"})

# What "on" and "off" mean for kinds without a power switch.
OPEN_CLOSE: Mapping[str, tuple[str, Any, Any]] = {
    "shade": ("position", 100, 0),
    "garage_door": ("state", "open", "closed"),
    "gate": ("state", "open", "closed"),
    "valve": ("state", "open", "closed"),
    "lock": ("locked", False, True),
}
