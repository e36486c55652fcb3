"""Why something was not done, said in the message's language: a value a setting cannot take, a device that did not
answer or could not be reached, a turn over the command limit or not allowed to act."""

from __future__ import annotations

from collections.abc import Mapping

from claw.assistant.speech.words import MODES, STATES, cap, degrees, home_unit, lang, number
from claw.core.errors import InvalidValue
from claw.core.ratelimit import Refusal
from claw.core.units import CELSIUS, from_celsius
from claw.home.control import Result

# A value a setting cannot take ({the} the setting of {device}; {low}/{high} with the unit; {value} what was asked).
# English is the validation's own text (what the model reads), with the home's temperature unit.
INVALID: Mapping[str, Mapping[str, str]] = {
    "en": {
        "read_only": "{name} can only be read, not set.", "on_off": "{name} must be on or off, not {raw}.",
        "number": "{name} must be a number, not {raw}.",
        "range": "{name} must be between {low} and {high}, not {value}.",
        "choice": "{name} must be one of {options}, not {raw}.",
    },
    "es": {
        "read_only": "{the} de {device} solo se puede leer, no ajustar.",
        "on_off": "{the} de {device} solo admite encendido o apagado, no «{value}».",
        "number": "{the} de {device} tiene que ser un número, no «{value}».",
        "range": "{the} de {device} tiene que estar entre {low} y {high}, no {value}.",
        "choice": "{the} de {device} tiene que ser {options}, no «{value}».",
    },
    "de": {
        "read_only": "{the} von {device} lässt sich nur ablesen, nicht einstellen.",
        "on_off": "{the} von {device} kann nur an oder aus sein, nicht „{value}“.",
        "number": "{the} von {device} muss eine Zahl sein, nicht „{value}“.",
        "range": "{the} von {device} muss zwischen {low} und {high} liegen, nicht {value}.",
        "choice": "{the} von {device} muss {options} sein, nicht „{value}“.",
    },
    "fr": {
        "read_only": "Impossible de régler {the_low} de {device} : c'est une mesure.",
        "on_off": "{the} de {device} doit être « marche » ou « arrêt », pas « {value} ».",
        "number": "{the} de {device} doit être un nombre, pas « {value} ».",
        "range": "{the} de {device} doit être entre {low} et {high}, pas {value}.",
        "choice": "{the} de {device} doit être {options}, pas « {value} ».",
    },
}  # fmt: skip
# A setting with its article, by capability key; "" is any other setting.
THE_SETTING: Mapping[str, Mapping[str, str]] = {
    "es": {"target_temp": "la temperatura objetivo", "current_temp": "la temperatura", "brightness": "el brillo",
           "position": "la posición", "volume": "el volumen", "on": "el encendido", "locked": "el cierre",
           "mode": "el modo", "state": "el estado", "playback": "la reproducción",
           "color_temp": "la temperatura de color", "battery": "la batería", "": "el ajuste"},
    "de": {"target_temp": "die Zieltemperatur", "current_temp": "die Temperatur", "brightness": "die Helligkeit",
           "position": "die Position", "volume": "die Lautstärke", "on": "der Schalter", "locked": "das Schloss",
           "mode": "der Modus", "state": "der Zustand", "playback": "die Wiedergabe",
           "color_temp": "die Farbtemperatur", "battery": "der Akku", "": "die Einstellung"},
    "fr": {"target_temp": "la température de consigne", "current_temp": "la température",
           "brightness": "la luminosité", "position": "la position", "volume": "le volume", "on": "l'alimentation",
           "locked": "le verrou", "mode": "le mode", "state": "l'état", "playback": "la lecture",
           "color_temp": "la température de couleur", "battery": "la batterie", "": "le réglage"},
}  # fmt: skip
OR = {"en": "or", "es": "o", "de": "oder", "fr": "ou"}
# A device that failed without a typed value problem: {name} the device, {n} the seconds it had.
DEVICE_FAILED: Mapping[str, Mapping[str, str]] = {
    "es": {"timeout": "{name} no ha respondido en {n} s.", "unreachable": "Ahora mismo no puedo contactar con {name}.",
           "nothing_saved": "{name} no tiene nada guardado como «{query}» ({saved}).",
           "saved": "tiene: {saved}", "none_saved": "aún no tiene nada guardado",
           "device": "{name} no lo ha hecho; el motivo está en el registro de actividad."},
    "de": {"timeout": "{name} hat nicht innerhalb von {n} s geantwortet.",
           "unreachable": "{name} ist gerade nicht erreichbar.",
           "nothing_saved": "{name} hat nichts gespeichert, das wie „{query}“ heißt ({saved}).",
           "saved": "vorhanden: {saved}", "none_saved": "noch nichts gespeichert",
           "device": "{name} hat das nicht getan; den Grund zeigt das Aktivitätsprotokoll."},
    "fr": {"timeout": "{name} n'a pas répondu en {n} s.",
           "unreachable": "Je n'arrive pas à joindre {name} pour le moment.",
           "nothing_saved": "{name} n'a rien d'enregistré qui ressemble à « {query} » ({saved}).",
           "saved": "il y a : {saved}", "none_saved": "sa liste est vide",
           "device": "{name} ne l'a pas fait ; la raison est dans le journal d'activité."},
}  # fmt: skip
# A turn that may send no device commands: over the command limit (its own, or another's), or not allowed to act.
REFUSED: Mapping[str, Mapping[str, str]] = {
    "es": {
        "own": "Son más de {n} órdenes en un minuto, así que he hecho una pausa: no ha cambiado nada; "
        "inténtalo de nuevo en un momento.",
        "limit": "{who} ha enviado más de {n} órdenes a dispositivos en un minuto, así que lo he pausado: no se ha "
        "cambiado nada; puede volver a intentarlo en un minuto.",
        "not_allowed": "{who} no puede cambiar dispositivos: solo un propietario puede, desde su propio teléfono "
        "o el panel.",
        "nobody": "Esta petición no dice quién la hace, así que no se ha hecho nada.",
    },
    "de": {
        "own": "Das sind über {n} Befehle in einer Minute, deshalb habe ich pausiert: nichts wurde geändert; "
        "versuch es gleich noch einmal.",
        "limit": "{who} hat über {n} Gerätebefehle in einer Minute gesendet, deshalb habe ich pausiert: nichts "
        "wurde geändert; in einer Minute geht es wieder.",
        "not_allowed": "{who} darf keine Geräte steuern: das darf nur ein Besitzer, von seinem eigenen Telefon "
        "oder dem Dashboard aus.",
        "nobody": "Diese Anfrage sagt nicht, wer fragt, deshalb wurde nichts getan.",
    },
    "fr": {
        "own": "Cela fait plus de {n} commandes en une minute, alors j'ai fait une pause : rien n'a changé ; "
        "réessayez dans un instant.",
        "limit": "{who} a envoyé plus de {n} commandes en une minute, alors j'ai fait une pause : rien n'a été "
        "changé ; il pourra réessayer dans une minute.",
        "not_allowed": "{who} ne peut pas piloter les appareils : seul un propriétaire le peut, depuis son propre "
        "téléphone ou le tableau de bord.",
        "nobody": "Cette demande ne dit pas qui la fait, donc rien n'a été fait.",
    },
}


def say_invalid(invalid: InvalidValue, device: str, language: str) -> str:
    """ "Target temperature must be between 5 and 30°C, not 45." / "La temperatura objetivo de Thermostat tiene que
    estar entre 5 y 30 °C, no 45."; temperatures in the home's unit."""
    language = lang(language)
    the = THE_SETTING.get(language, {})
    setting = the.get(invalid.key, the.get("", ""))
    low, high, value = _bound(invalid.low, invalid, language), _bound(invalid.high, invalid, language), invalid.value
    if invalid.unit:  # "5 and 30°C": the unit once, after the higher bound
        high = degrees(invalid.high, language) if invalid.unit == CELSIUS else _with_unit(high, invalid.unit, language)
    if invalid.problem == "range" and isinstance(value, int | float) and not isinstance(value, bool):
        value = number(_in_home_unit(value, invalid), language)
    options = [MODES[language].get(o) or STATES[language].get(o, o) for o in invalid.options]
    said = ", ".join(options[:-1]) + f" {OR[language]} {options[-1]}" if len(options) > 1 else "".join(options)
    if language == "en":  # the validation's own list, as the model reads it
        said = ", ".join(invalid.options)
    return INVALID[language][invalid.problem].format(
        name=invalid.name,
        raw=repr(invalid.value),
        the=cap(setting),
        the_low=setting,
        device=device,
        low=low,
        high=high,
        value=value,
        options=said,
    )


def _in_home_unit(value: float, invalid: InvalidValue) -> float:
    return from_celsius(value, home_unit()) if invalid.unit == CELSIUS else value


def _bound(value: float | None, invalid: InvalidValue, language: str) -> str:
    return "?" if value is None else number(_in_home_unit(value, invalid), language)


def _with_unit(said: str, unit: str, language: str) -> str:
    return f"{said}{unit}" if language == "en" else f"{said} {unit}"


def say_failed_device(result: Result, language: str) -> str:
    """A device that failed without a value problem, in es/de/fr: no answer in time, unreachable, no favourite by
    that name, or refused."""
    words = DEVICE_FAILED[lang(language)]
    if result.saved is not None:  # no favourite by that name: what it has instead
        has = ", ".join(result.saved.saved[:6])
        saved = words["saved"].format(saved=has) if has else words["none_saved"]
        return words["nothing_saved"].format(name=result.device.name, query=result.saved.query, saved=saved)
    key = result.reason if result.reason in ("timeout", "unreachable") else "device"
    return words[key].format(name=result.device.name, n=f"{result.waited:.0f}")


def say_refusal(refusal: Refusal, language: str) -> str:
    """Why a turn sent no device commands: over the command limit, or not allowed to act; English as audited."""
    language = lang(language)
    if language == "en" or not refusal:
        return refusal.english
    key = "own" if refusal.reason == "limit" and refusal.own else refusal.reason
    return REFUSED[language][key].format(who=refusal.who, n=refusal.ceiling)
