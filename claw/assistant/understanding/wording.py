"""How Claw's questions are worded in each language it ships, so a question comes back in the message's language."""

from __future__ import annotations

from collections.abc import Iterable

# The reply that picks everything a question offered, as the question's options show it.
ALL = {"en": "all", "es": "todos", "de": "alle", "fr": "tous"}
_OR = {"en": "or", "es": "o", "de": "oder", "fr": "ou"}
# Plural nouns for a group of devices, and (es, fr) whether the noun is feminine.
NOUNS: dict[str, dict[str, tuple[str, bool]]] = {
    "lights": {"en": ("lights", False), "es": ("luces", True), "de": ("Lichter", False), "fr": ("lumières", True)},
    "shades": {"en": ("shades", False), "es": ("persianas", True), "de": ("Rollos", False), "fr": ("volets", False)},
    "locks": {"en": ("locks", False), "es": ("cerraduras", True), "de": ("Schlösser", False), "fr": ("serrures", True)},
    "thermostats": {
        "en": ("thermostats", False),
        "es": ("termostatos", False),
        "de": ("Thermostate", False),
        "fr": ("thermostats", False),
    },
    "speakers": {
        "en": ("speakers", False),
        "es": ("altavoces", False),
        "de": ("Lautsprecher", False),
        "fr": ("enceintes", True),
    },
    "switches": {
        "en": ("switches", False),
        "es": ("interruptores", False),
        "de": ("Schalter", False),
        "fr": ("interrupteurs", False),
    },
    "devices": {
        "en": ("devices", False),
        "es": ("dispositivos", False),
        "de": ("Geräte", False),
        "fr": ("appareils", False),
    },
}


def noun(key: str, language: str) -> str:
    """The plural noun for a kind of device ("lights") in language, English when unknown."""
    forms = NOUNS.get(key, NOUNS["devices"])
    return forms.get(language, forms["en"])[0]


def spoken(items: Iterable[str], language: str = "en") -> str:
    """ "a, b or c" in language."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return f"{', '.join(listed[:-1])} {_OR.get(language, 'or')} {listed[-1]}"


def which_one(language: str, options: Iterable[str]) -> str:
    """Ask which of a few named devices."""
    names = spoken(options, language)
    return {
        "es": f"¿Cuál: {names}?",
        "de": f"Welches: {names}?",
        "fr": f"Lequel : {names} ?",
    }.get(language, f"Which one: {names}?")


def all_or_room(language: str, count: int, kind: str, rooms: Iterable[str]) -> str:
    """Ask whether a house-wide group is meant, or which room."""
    word, feminine = NOUNS.get(kind, NOUNS["devices"]).get(language, (kind, False))
    places = spoken(rooms, language)
    if language == "es":
        every = "Todas las" if feminine else "Todos los"
        return f"¿{every} {count} {word}, o en qué habitación ({places})?"
    if language == "de":
        return f"Alle {count} {word}, oder welcher Raum ({places})?"
    if language == "fr":
        every = "Toutes les" if feminine else "Tous les"
        return f"{every} {count} {word}, ou quelle pièce ({places}) ?"
    return f"All {count} {word}, or which room ({places})?"


def which_kind(language: str, place: str, kinds: Iterable[str], percent: int) -> str:
    """Ask which kind of device a bare "<room> to 50%" meant."""
    labels = spoken(kinds, language)
    return {
        "es": f"¿{labels[:1].upper()}{labels[1:]} de {place} al {percent} %?",
        "de": f"{labels} in {place} auf {percent} %?",
        "fr": f"Les {labels} de {place} à {percent} % ?",
    }.get(language, f"The {place} {labels} to {percent}%?")


def which_device(language: str, options: Iterable[str]) -> str:
    """Ask which device "it" meant when nothing was touched before (names listed only when few)."""
    names = spoken(options, language)
    if names:
        return {
            "es": f"¿Cuál: {names}?",
            "de": f"Welches Gerät: {names}?",
            "fr": f"Lequel : {names} ?",
        }.get(language, f"Which one: {names}?")
    return {
        "es": "¿Qué dispositivo?",
        "de": "Welches Gerät meinst du?",
        "fr": "Quel appareil ?",
    }.get(language, "Which device do you mean?")
