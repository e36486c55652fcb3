"""The home as the grammar sees it: the registry's names, rooms, floors, kinds and classes as a Vocabulary."""

from __future__ import annotations

from collections.abc import Sequence

from claw.assistant.understanding import Area, CameraName, Entity, Floor, RoutineName, Vocabulary
from claw.core.config import RoomConfig
from claw.home.device import Device
from claw.home.routines import Routine

# What a device is, more finely than its kind, when nothing says otherwise (as Home Assistant's device classes).
DEFAULT_CLASS = {"garage_door": "garage", "gate": "gate", "shade": "shade", "speaker": "speaker", "tv": "tv"}
# Floor aliases people text without thinking.
FLOOR_WORDS = {
    "ground": (
        "downstairs",
        "ground floor",
        *("abajo", "planta baja", "unten", "erdgeschoss", "en bas", "rez-de-chaussée", "rez-de-chaussee"),
    ),
    "first": (
        "upstairs",
        "first floor",
        *("arriba", "primer piso", "primera planta", "planta de arriba", "oben", "obergeschoss"),
        *("erster stock", "ersten stock", "erste stock", "en haut", "premier étage", "premier etage", "étage"),
    ),
    "upstairs": ("upstairs", "arriba", "oben", "en haut"),
}


def device_class(device: Device) -> str:
    """A skill's or driver's `device_class` (door, window, curtain, blind, contact, motion ...), else by kind."""
    said = device.info.get("device_class")
    if isinstance(said, str) and said:
        return said
    if device.kind == "sensor":
        return "contact" if "contact" in device.state else ""
    return DEFAULT_CLASS.get(device.kind, "")


def vocabulary(
    devices: Sequence[Device],
    routines: Sequence[Routine],
    rooms: Sequence[RoomConfig],
    cameras: Sequence[str] = (),
) -> Vocabulary:
    """Every name the owner may use, from the registry, the config's rooms (aliases and floors) and the cameras."""
    entities = tuple(
        Entity(
            id=d.id,
            name=d.name,
            aliases=_aliases(d),
            room=d.room,
            floor=d.floor or _floor_of(d.room, rooms),
            kind=d.kind,
            device_class=device_class(d),
            features=frozenset(c.key for c in d.capabilities) | frozenset(d.state),
        )
        for d in devices
    )
    configured = {r.name: r for r in rooms}
    names = sorted({d.room for d in devices if d.room} | set(configured))
    areas = tuple(
        Area(
            name,
            _room_aliases(
                name, (*(configured[name].aliases if name in configured else ()), *_hub_rooms(devices, name))
            ),
            _floor_of(name, rooms),
        )
        for name in names
    )
    floor_names = sorted({a.floor for a in areas if a.floor} | {e.floor for e in entities if e.floor})
    floors = tuple(Floor(f, FLOOR_WORDS.get(f.lower().split()[0], ())) for f in floor_names)
    spoken = tuple(RoutineName(r.name, tuple(r.triggers)) for r in routines)
    return Vocabulary(entities, areas, floors, spoken, tuple(_camera(c) for c in cameras))


def _camera(name: str) -> CameraName:
    """ "driveway" is also "driveway camera" and "driveway cam"; "Porch Cam" is also "porch"."""
    bare = name.strip()
    for tail in (" camera", " cam"):
        if bare.lower().endswith(tail):
            bare = bare[: -len(tail)].strip()
    phrases = [bare, f"{bare} camera", f"{bare} cam", bare.replace("_", " ").replace("-", " ")]
    return CameraName(name, tuple(p for p in dict.fromkeys(phrases) if p and p != name))


def _floor_of(room: str, rooms: Sequence[RoomConfig]) -> str:
    return next((r.floor for r in rooms if r.name == room and r.floor), "")


def _aliases(device: Device) -> tuple[str, ...]:
    """The owner's aliases, and "back door" for a "Back Door Sensor": people ask about the door, not the sensor."""
    extra: list[str] = []
    lowered = device.name.lower()
    if device.kind == "sensor" and lowered.endswith(" sensor") and len(lowered) > len(" sensor") + 2:
        extra.append(device.name[: -len(" sensor")])
    return tuple(dict.fromkeys([*device.aliases, *extra]))


# Common rooms in the other languages Claw understands, so "apaga la luz de la cocina" finds the Kitchen.
ROOM_WORDS: dict[str, tuple[str, ...]] = {
    "kitchen": ("cocina", "küche", "kueche", "cuisine"),
    "living room": ("salón", "salon", "sala", "sala de estar", "wohnzimmer", "séjour", "sejour"),
    "bedroom": ("dormitorio", "habitación", "habitacion", "schlafzimmer", "chambre"),
    "bathroom": ("baño", "bano", "badezimmer", "salle de bain", "salle de bains"),
    "hallway": ("pasillo", "entrada", "flur", "diele", "couloir", "entrée", "entree"),
    "study": ("estudio", "despacho", "arbeitszimmer", "büro", "buero", "bureau"),
    "office": ("oficina", "despacho", "büro", "buero", "bureau"),
    "garden": ("jardín", "jardin", "garten"),
    "garage": ("garaje", "garage"),
    "outside": ("fuera", "exterior", "draußen", "draussen", "außen", "dehors", "extérieur", "exterieur"),
    "dining room": ("comedor", "esszimmer", "salle à manger", "salle a manger"),
}


def _hub_rooms(devices: Sequence[Device], room: str) -> tuple[str, ...]:
    """The other names a hub gave a room (Home Assistant's area aliases: "Sleeping Room" for the Bedroom)."""
    said = [a for d in devices if d.room == room for a in d.info.get("area_aliases") or () if isinstance(a, str)]
    return tuple(dict.fromkeys(said))


def _room_aliases(name: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
    spoken = [w for w in ROOM_WORDS.get(name.lower(), ()) if w != name.lower()]
    return tuple(dict.fromkeys([*aliases, *spoken]))
