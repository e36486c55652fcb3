"""What the matcher knows about the home: entities, areas, floors and routines, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field

# Claw kinds mapped to the Home Assistant domain the sentence templates speak of.
KIND_DOMAIN: dict[str, str] = {
    "light": "light",
    "switch": "switch",
    "pump": "switch",
    "heater": "switch",
    "fan": "fan",  # MQTT fans (Home Assistant discovery)
    "speaker": "media_player",
    "tv": "media_player",
    "thermostat": "climate",
    "shade": "cover",
    "garage_door": "cover",
    "gate": "cover",
    "lock": "lock",
    "alarm": "alarm_control_panel",
    "camera": "camera",
    "sensor": "sensor",
}

# Sensor device classes that Home Assistant models as binary sensors (open/closed, detected/clear).
BINARY_SENSOR_CLASSES = frozenset(
    {"contact", "door", "window", "garage_door", "opening", "motion", "occupancy", "presence", "moisture"}
)

# Feature keys that take a 0-100 percentage: "set the bedroom to 50%" must know which ones exist there.
PERCENT_FEATURES = ("brightness", "position", "volume")


@dataclass(frozen=True, slots=True)
class Entity:
    """One controllable or readable thing in the home, named as the owner names it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    room: str = ""
    floor: str = ""
    kind: str = "switch"
    device_class: str = ""
    features: frozenset[str] = field(default_factory=frozenset)

    @property
    def domain(self) -> str:
        """The Home Assistant domain this entity answers to in the templates."""
        if self.kind == "sensor":
            return "binary_sensor" if self.device_class in BINARY_SENSOR_CLASSES else "sensor"
        if self.kind == "heater" and "target_temp" in self.features:
            return "climate"
        return KIND_DOMAIN.get(self.kind, self.kind)

    @property
    def cover_class(self) -> str:
        """The cover device class ("garage", "gate", "curtain", ...), or "" for non-covers."""
        if self.kind == "garage_door":
            return self.device_class or "garage"
        if self.kind == "gate":
            return self.device_class or "gate"
        if self.kind == "shade":
            return self.device_class or "shade"
        return ""

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every name the owner may use for this entity."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Area:
    """A room or outdoor area, with the other names people use for it."""

    name: str
    aliases: tuple[str, ...] = ()
    floor: str = ""


@dataclass(frozen=True, slots=True)
class Floor:
    """A storey of the home; aliases such as "downstairs" point at it."""

    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoutineName:
    """A routine the owner can start by name or by one of its trigger phrases."""

    name: str
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Everything the grammar's slot lists are filled from; rebuild the matcher when it changes."""

    entities: tuple[Entity, ...] = ()
    areas: tuple[Area, ...] = ()
    floors: tuple[Floor, ...] = ()
    routines: tuple[RoutineName, ...] = ()


@dataclass(frozen=True, slots=True)
class LastTouched:
    """The entities the previous turn acted on, so "it", "that" and "them" can be resolved."""

    ids: tuple[str, ...] = ()
