"""Replies in the language of the message: the home's fixed reply shapes, said again in es, de or fr."""

from __future__ import annotations

import re

# One English reply sentence shape -> the same sentence per language; {0}, {1} are the captured parts.
SHAPES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = tuple(
    (re.compile(pattern + r"$"), said)
    for pattern, said in (
        (r"Turned on (.+)\.", {"es": "He encendido {0}.", "de": "{0} eingeschaltet.", "fr": "J'ai allumé {0}."}),
        (r"Turned off (.+)\.", {"es": "He apagado {0}.", "de": "{0} ausgeschaltet.", "fr": "J'ai éteint {0}."}),
        (r"Opened (.+)\.", {"es": "He abierto {0}.", "de": "{0} geöffnet.", "fr": "J'ai ouvert {0}."}),
        (r"Closed (.+)\.", {"es": "He cerrado {0}.", "de": "{0} geschlossen.", "fr": "J'ai fermé {0}."}),
        (
            r"Locked (.+)\.",
            {"es": "He cerrado con llave {0}.", "de": "{0} abgeschlossen.", "fr": "J'ai verrouillé {0}."},
        ),
        (r"Unlocked (.+)\.", {"es": "He abierto {0}.", "de": "{0} aufgeschlossen.", "fr": "J'ai déverrouillé {0}."}),
        (r"Paused (.+)\.", {"es": "He pausado {0}.", "de": "{0} pausiert.", "fr": "J'ai mis en pause {0}."}),
        (r"Resumed (.+)\.", {"es": "He reanudado {0}.", "de": "{0} läuft wieder.", "fr": "J'ai relancé {0}."}),
        (
            r"Set the volume of (.+) to (\d+)%\.",
            {"es": "Volumen de {0} al {1} %.", "de": "Lautstärke von {0} auf {1} %.", "fr": "Volume de {0} à {1} %."},
        ),
        (r"Set (.+) to ([\d.]+)%\.", {"es": "{0} al {1} %.", "de": "{0} auf {1} %.", "fr": "{0} à {1} %."}),
        (r"Set (.+) to ([\d.]+)°C\.", {"es": "{0} a {1} °C.", "de": "{0} auf {1} °C.", "fr": "{0} à {1} °C."}),
        (r"Playing (.+) on (.+)\.", {"es": "Suena {0} en {1}.", "de": "{0} läuft auf {1}.", "fr": "{0} sur {1}."}),
        (
            r"(.+) (?:was|were) already set to ([\d.]+)°C\.",
            {"es": "{0}: ya estaba a {1} °C.", "de": "{0}: war schon auf {1} °C.", "fr": "{0} : déjà à {1} °C."},
        ),
        (
            r"(.+) (?:was|were) already at (\d+)%\.",
            {"es": "{0}: ya estaba al {1} %.", "de": "{0}: war schon auf {1} %.", "fr": "{0} : déjà à {1} %."},
        ),
        (
            r"Armed (.+) \((\w+) mode\)\.",
            {"es": "He armado {0} (modo {1}).", "de": "{0} scharf geschaltet ({1}).",
             "fr": "J'ai armé {0} (mode {1})."},
        ),
        (
            r"The (.+) reads ([\d.]+)°C and (heats|cools) to ([\d.]+)°C\.",
            {"es": "{0}: {1} °C, objetivo {3} °C.", "de": "{0}: {1} °C, Ziel {3} °C.",
             "fr": "{0} : {1} °C, consigne {3} °C."},
        ),
        (
            r"(.+) (?:was|were) already (on|off|open|closed|locked|unlocked|paused|armed for the night|on at \d+%)\.",
            {"es": "{0}: ya estaba {1}.", "de": "{0}: war schon {1}.", "fr": "{0} : déjà {1}."},
        ),
        (r"Yes, (.+) is (.+)\.", {"es": "Sí, {0}: {1}.", "de": "Ja, {0}: {1}.", "fr": "Oui, {0} : {1}."}),
        (r"No[:,] (.+)", {"es": "No: {0}", "de": "Nein: {0}", "fr": "Non : {0}"}),
        (
            r"The (.+) is (on|off|open|closed|locked|unlocked)\.",
            {"es": "{0}: {1}.", "de": "{0}: {1}.", "fr": "{0} : {1}."},
        ),
        (
            r"Reply OK (\w{4}) to (.+) \(valid (\d+) minutes?\)\.",
            {
                "es": "Responde OK {0} para confirmar: {1} (válido {2} min).",
                "de": "Antworte OK {0} zum Bestätigen: {1} ({2} Min. gültig).",
                "fr": "Répondez OK {0} pour confirmer : {1} (valable {2} min).",
            },
        ),
    )
)  # fmt: skip
# The state words the shapes above carry, in each language.
WORDS: dict[str, dict[str, str]] = {
    "es": {"on": "encendido", "off": "apagado", "open": "abierto", "closed": "cerrado", "locked": "cerrado con llave",
           "unlocked": "abierto", "paused": "en pausa", "armed for the night": "armada para la noche", "and": "y",
           "night": "noche", "away": "ausente", "home": "en casa"},
    "de": {"on": "an", "off": "aus", "open": "offen", "closed": "zu", "locked": "abgeschlossen",
           "unlocked": "offen", "paused": "pausiert", "armed for the night": "für die Nacht scharf", "and": "und",
           "night": "Nacht", "away": "abwesend", "home": "zuhause"},
    "fr": {"on": "allumé", "off": "éteint", "open": "ouvert", "closed": "fermé", "locked": "verrouillé",
           "unlocked": "déverrouillé", "paused": "en pause", "armed for the night": "armée pour la nuit", "and": "et",
           "night": "nuit", "away": "absent", "home": "maison"},
}  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def in_language(text: str, language: str) -> str:
    """The reply in `language` where its sentences have a known shape; English where they have not."""
    if language not in WORDS or not text:
        return text
    return " ".join(_sentence(s, language) for s in _SENTENCE.split(text))


def _sentence(sentence: str, language: str) -> str:
    words = WORDS[language]
    for pattern, said in SHAPES:
        match = pattern.match(sentence)
        if match is not None:
            parts = [_names(p, words) for p in match.groups()]
            return said[language].format(*(_word(p, words) for p in parts))
    return sentence


def _word(part: str, words: dict[str, str]) -> str:
    """A state word in the language: "on" -> "encendido", "on at 90%" -> "encendido (90 %)"."""
    if part.startswith("on at ") and part.endswith("%"):
        return f"{words['on']} ({part[6:-1]} %)"
    return words.get(part, part)


def _names(part: str, words: dict[str, str]) -> str:
    """ "the Kitchen Ceiling and the Desk Lamp" -> "Kitchen Ceiling y Desk Lamp": names stay the owner's."""
    part = re.sub(r"\b[Tt]he ", "", part)
    return re.sub(r" and ", f" {words['and']} ", part)
