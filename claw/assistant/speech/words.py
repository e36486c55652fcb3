"""The words speech is made of, per language: lists of names, numbers, state words agreeing in gender and number."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from claw.core.units import CELSIUS, from_celsius, temperature_unit
from claw.home.device import Device

LANGUAGES = ("en", "es", "de", "fr")
MOST = 6  # devices named one by one in a list; more are counted: "9 devices (A, B, C, D, …)"
AND = {"en": "and", "es": "y", "de": "und", "fr": "et"}
DEVICES = {"en": "devices", "es": "dispositivos", "de": "Geräte", "fr": "appareils"}

# The grammatical gender of what a kind of device is called (la luz, la cerradura / la lampe, la serrure).
FEMININE: Mapping[str, frozenset[str]] = {
    "es": frozenset({"light", "lock", "garage_door", "gate", "shade", "alarm", "camera", "pump"}),
    "fr": frozenset({"light", "lock", "garage_door", "alarm", "camera", "pump", "speaker"}),
}

# A device's state, or what "already" means for it, as a key; the words per language (masculine singular).
STATES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "on": "on", "off": "off", "open": "open", "closed": "closed", "locked": "locked", "unlocked": "unlocked",
        "armed": "armed", "disarmed": "disarmed", "playing": "playing", "paused": "paused", "detected": "detected",
        "clear": "clear", "home": "home", "away": "away", "armed_night": "armed for the night",
        "wet": "wet", "dry": "dry", "armed_away": "armed (away)", "armed_home": "armed (home)", "on_at": "on at {n}%",
        "temp": "set to {t}",
        "percent": "at {n}%", "kelvin": "at {n} K", "set": "set that way", "unknown": "unknown",
    },
    "es": {
        "on": "encendido", "off": "apagado", "open": "abierto", "closed": "cerrado", "locked": "cerrado con llave",
        "unlocked": "abierto", "armed": "armado", "disarmed": "desarmado", "playing": "sonando",
        "paused": "en pausa", "detected": "activado", "clear": "despejado", "home": "en casa", "away": "fuera",
        "wet": "mojado", "dry": "seco",
        "armed_night": "armado para la noche", "armed_away": "armado (ausente)", "armed_home": "armado (en casa)",
        "on_at": "encendido al {n} %", "temp": "a {t}", "percent": "al {n} %", "kelvin": "a {n} K",
        "set": "así", "unknown": "en un estado desconocido",
    },
    "de": {
        "on": "an", "off": "aus", "open": "offen", "closed": "zu", "locked": "abgeschlossen",
        "unlocked": "aufgeschlossen", "armed": "scharf", "disarmed": "unscharf", "playing": "am Spielen",
        "paused": "pausiert", "detected": "ausgelöst", "clear": "ruhig", "home": "zu Hause", "away": "weg",
        "wet": "nass", "dry": "trocken",
        "armed_night": "für die Nacht scharf", "armed_away": "scharf (abwesend)", "armed_home": "scharf (zu Hause)",
        "on_at": "an ({n} %)", "temp": "auf {t}", "percent": "auf {n} %", "kelvin": "auf {n} K",
        "set": "so eingestellt", "unknown": "unbekannt",
    },
    "fr": {
        "on": "allumé", "off": "éteint", "open": "ouvert", "closed": "fermé", "locked": "verrouillé",
        "unlocked": "déverrouillé", "armed": "armé", "disarmed": "désarmé", "playing": "en lecture",
        "paused": "en pause", "detected": "déclenché", "clear": "au calme", "home": "à la maison", "away": "absent",
        "wet": "mouillé", "dry": "au sec",
        "armed_night": "armé pour la nuit", "armed_away": "armé (absent)", "armed_home": "armé (maison)",
        "on_at": "allumé à {n} %", "temp": "à {t}", "percent": "à {n} %", "kelvin": "à {n} K",
        "set": "réglé ainsi", "unknown": "dans un état inconnu",
    },
}  # fmt: skip
# Words that never agree (prepositions, "en pausa", "así"): the phrase is said as it is.
INVARIABLE = frozenset({"a", "al", "à", "así", "en", "dans", "au"})
# The opposite state, for "No: the Side Door is unlocked".
OPPOSITE = {
    "on": "off", "off": "on", "open": "closed", "closed": "open", "locked": "unlocked", "unlocked": "locked",
    "wet": "dry", "dry": "wet",
}  # fmt: skip
ALARM_MODES = {"night": "armed_night", "away": "armed_away", "home": "armed_home"}
MODES = {
    "en": {"night": "night", "away": "away", "home": "home"},
    "es": {"night": "noche", "away": "ausente", "home": "en casa"},
    "de": {"night": "Nacht", "away": "abwesend", "home": "zu Hause"},
    "fr": {"night": "nuit", "away": "absent", "home": "maison"},
}


def lang(language: str) -> str:
    """A language speech has words for; English for any other."""
    return language if language in LANGUAGES else "en"


def feminine(devices: Sequence[Device], language: str) -> bool:
    """Spanish and French adjectives agree: feminine only when every device named is."""
    kinds = FEMININE.get(language, frozenset())
    return bool(devices) and all(d.kind in kinds for d in devices)


def agree(phrase: str, language: str, *, fem: bool, plural: bool) -> str:
    """ "apagado" -> "apagadas", "éteint" -> "éteintes": the phrase's first word agrees (es, fr)."""
    if language not in ("es", "fr") or not phrase:
        return phrase
    head, _, tail = phrase.partition(" ")
    if head in INVARIABLE:
        return phrase
    if language == "es" and head.endswith("o"):
        head = head[:-1] + ("a" if fem else "o") + ("s" if plural else "")
    elif language == "fr":
        head = (
            head + ("e" if fem and not head.endswith("e") else "") + ("s" if plural and not head.endswith("s") else "")
        )
    return f"{head} {tail}".rstrip() if tail else head


def state(key: str, language: str, devices: Sequence[Device] = (), n: object = None) -> str:
    """A state key in words, agreeing with the devices it is said of (as `listed` names them)."""
    language = lang(language)
    words = STATES[language]
    said = number(n, language) if n is not None else "?"
    phrase = words.get(key, key).format(n=said, t=degrees(n, language) if n is not None else "?")
    # "9 dispositivos (…)": a counted list agrees with the masculine word for devices
    fem = feminine(devices, language) and len(devices) <= MOST
    return agree(phrase, language, fem=fem, plural=len(devices) > 1)


def number(value: object, language: str) -> str:
    """21 -> "21", 20.5 -> "20.5" (en) or "20,5" (es, de, fr)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?"
    said = str(int(value)) if float(value).is_integer() else f"{value:g}"
    return said if language == "en" else said.replace(".", ",")


# The home's temperature unit: devices speak °C; a home set to imperial units hears °F. One home per process,
# so the daemon sets it once from [location] units (use_units); °C until then.
_HOME = {"unit": CELSIUS}


def use_units(units: str) -> None:
    """Say temperatures in the unit system of the home ("metric" or "imperial")."""
    _HOME["unit"] = temperature_unit(units)


def home_unit() -> str:
    """ "°C" or "°F": the unit temperatures are said in."""
    return _HOME["unit"]


@contextmanager
def said_in(unit: str) -> Iterator[None]:
    """Temperatures in `unit` for what is rendered inside: the model's tools take and read °C, as their schema says."""
    was, _HOME["unit"] = _HOME["unit"], unit
    try:
        yield
    finally:
        _HOME["unit"] = was


def degrees(value: object, language: str) -> str:
    """A device's °C as people in the home say it: "21°C" (en), "21 °C" (es, de, fr); "70°F" in an imperial home."""
    unit = home_unit()
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = from_celsius(value, unit)
    return f"{number(value, language)}{unit if language == 'en' else f' {unit}'}"


def the(device: Device) -> str:
    """ "the Study speaker", "the Kitchen Ceiling": what English calls a device in a sentence."""
    name = device.name if device.name.lower().startswith("the ") else f"the {device.name}"
    if device.kind == "speaker" and not any(w in device.name.lower() for w in ("speaker", "sonos", "one", "play")):
        name += " speaker"
    return name


def named(device: Device, language: str) -> str:
    """The device as a sentence names it: with "the" in English; as the owner named it elsewhere."""
    return the(device) if lang(language) == "en" else device.name


def listed(devices: Sequence[Device], language: str, *, most: int = MOST) -> str:
    """ "the Kitchen Ceiling and the Desk Lamp" / "Kitchen Ceiling y Desk Lamp"; a long list counted."""
    language = lang(language)
    names = [named(d, language) for d in devices]
    if len(names) > most:
        shown = ", ".join(n.removeprefix("the ") for n in names[:4])
        return f"{len(names)} {DEVICES[language]} ({shown}, …)"
    return joined(names, language)


def joined(names: Sequence[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {AND[lang(language)]} " + names[-1]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]
