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
    "valve": "valve",
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

# A name's last word that says what it is, not which one: "the kettle" is the Kettle Plug, "the back door" the
# Back Door Lock. Only dropped where what is left is not the device's own room ("Kitchen Plug" stays whole).
GENERIC_SUFFIXES = ("lock", "plug", "socket", "outlet", "sensor")
# Names of things every house has, in the other languages Claw understands: "abre la puerta principal",
# "öffne die Haustür" mean the Front Door, whatever language the owner named it in.
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "front door": (
        "puerta principal",
        "puerta de entrada",
        "haustür",
        "haustuer",
        "eingangstür",
        "vordertür",
        "porte d'entrée",
        "porte d'entree",
        "porte principale",
    ),
    "back door": ("puerta trasera", "puerta de atrás", "hintertür", "hintertuer", "porte arrière", "porte de derrière"),
    "side door": ("puerta lateral", "seitentür", "seitentuer", "porte latérale", "porte de côté"),
    "garage door": ("puerta del garaje", "garagentor", "porte du garage", "porte de garage"),
    "kettle": ("hervidor", "hervidor de agua", "tetera", "wasserkocher", "bouilloire"),
    "pool pump": ("bomba de la piscina", "depuradora", "poolpumpe", "pumpe", "pompe de la piscine", "pompe de piscine"),
    "porch light": ("luz del porche", "verandalicht", "lumière du porche", "lumiere du porche"),
    "coffee machine": ("cafetera", "kaffeemaschine", "machine à café", "machine a cafe", "cafetière"),
    "dehumidifier": ("deshumidificador", "luftentfeuchter", "entfeuchter", "déshumidificateur"),
}
# Routine triggers in the other languages, by language: "buenas noches" runs the routine that "good night" runs,
# and the reply comes in Spanish even where the words also parse as English ("on part", "me voy").
TRIGGER_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "good night": {"es": ("buenas noches",), "de": ("gute nacht",), "fr": ("bonne nuit",)},
    "goodnight": {"es": ("buenas noches",), "de": ("gute nacht",), "fr": ("bonne nuit",)},
    "bedtime": {"es": ("hora de dormir",), "de": ("schlafenszeit",), "fr": ("l'heure de dormir",)},
    "time for bed": {
        "es": ("a la cama", "me voy a dormir", "nos vamos a dormir"),
        "de": ("ich gehe schlafen", "ich geh schlafen", "wir gehen schlafen", "ab ins bett"),
        "fr": ("je vais me coucher", "je vais dormir", "on va se coucher", "au lit"),
    },
    "good morning": {"es": ("buenos días", "buenos dias"), "de": ("guten morgen",)},
    "we're leaving": {
        "es": ("nos vamos", "me voy", "salimos"),
        "de": ("ich gehe", "ich geh", "ich gehe jetzt", "ich geh jetzt", "wir gehen", "wir gehen jetzt"),
        "fr": ("on part", "on s'en va", "je pars", "je sors"),
    },
    "nobody home": {
        "es": ("no hay nadie en casa", "nadie en casa"),
        "de": ("niemand zu hause", "niemand zuhause", "niemand ist zu hause"),
        "fr": ("il n'y a personne à la maison", "personne à la maison"),
    },
}
_TRIGGER_LANGUAGE = {t: lang for by_lang in TRIGGER_WORDS.values() for lang, ts in by_lang.items() for t in ts}


def trigger_language(text: str) -> str | None:
    """The language of a routine trigger said alone ("on part" is French), or None."""
    said = " ".join(text.casefold().replace("¿", " ").replace("¡", " ").split()).strip(" .!?,")
    return _TRIGGER_LANGUAGE.get(said)


def derived_names(name: str, room: str = "") -> tuple[str, ...]:
    """Other ways to say a device's name: without a generic last word, and the name in other languages."""
    folded = " ".join(name.casefold().split())
    short = [folded]
    head, _, last = folded.rpartition(" ")
    if last in GENERIC_SUFFIXES and len(head) >= 3 and head != " ".join(room.casefold().split()):
        short.append(head)
    out = list(short[1:])
    for stem in short:
        out.extend(NAME_WORDS.get(stem, ()))
    return tuple(dict.fromkeys(p for p in out if p != folded))


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
        """Every name the owner may use for this entity: name, aliases, then the shorter and translated forms."""
        own = (self.name, *self.aliases)
        derived = [d for phrase in own for d in derived_names(phrase, self.room)]
        known = {p.casefold() for p in own}
        return own + tuple(dict.fromkeys(d for d in derived if d not in known))


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

    @property
    def phrases(self) -> tuple[str, ...]:
        """The name, its trigger phrases, and those triggers in the other languages Claw understands."""
        own = (self.name, *self.triggers)
        known = {p.casefold() for p in own}
        spoken = [
            t for p in own for said in TRIGGER_WORDS.get(" ".join(p.casefold().split()), {}).values() for t in said
        ]
        return own + tuple(dict.fromkeys(t for t in spoken if t not in known))


@dataclass(frozen=True, slots=True)
class CameraName:
    """A camera the owner may ask about: "the driveway camera", "driveway", "the driveway cam"."""

    name: str
    aliases: tuple[str, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Everything the grammar's slot lists are filled from; rebuild the matcher when it changes."""

    entities: tuple[Entity, ...] = ()
    areas: tuple[Area, ...] = ()
    floors: tuple[Floor, ...] = ()
    routines: tuple[RoutineName, ...] = ()
    cameras: tuple[CameraName, ...] = ()


@dataclass(frozen=True, slots=True)
class LastTouched:
    """The entities the previous turn acted on, so "it", "that" and "them" can be resolved."""

    ids: tuple[str, ...] = ()
