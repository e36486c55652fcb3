"""Questions about the house answered from state, in the message's language: "is the garage open", "which lights"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from claw.assistant.speech.words import (
    ALARM_MODES,
    OPPOSITE,
    cap,
    degrees,
    feminine,
    joined,
    lang,
    listed,
    named,
    number,
    state,
)
from claw.home.device import Device
from claw.home.states import state_word

# One device's state: {name} as a sentence names it, {state} its words, {n} numbers, {readings} a sensor's.
SAID: Mapping[str, Mapping[str, str]] = {
    "en": {
        "is": "{name} is {state}.", "unreachable": "I can't reach {name} right now.",
        "reads": "{name} reads {readings}.", "sensor": "{name} is {state} ({readings}).",
        "nothing": "{name}: no readings yet.", "playing": "{name} is playing {title} (volume {volume}%).",
        "speaker": "{name} is {state} (volume {volume}%).", "open_at": "{name} is {n}% open.",
        "battery": " (battery {n}%)", "something": "something", "none": "I don't have a device like that.",
        "more": " (and {n} more)",
    },
    "es": {
        "is": "{name} está {state}.", "unreachable": "Ahora mismo no puedo contactar con {name}.",
        "reads": "{name} marca {readings}.", "sensor": "{name} está {state} ({readings}).",
        "nothing": "{name}: aún sin lecturas.", "playing": "{name} está reproduciendo {title} (volumen {volume} %).",
        "speaker": "{name} está {state} (volumen {volume} %).", "open_at": "{name} está abierto al {n} %.",
        "battery": " (batería {n} %)", "something": "algo", "none": "No tengo ningún dispositivo así.",
        "more": " (y {n} más)",
    },
    "de": {
        "is": "{name} ist {state}.", "unreachable": "{name} ist gerade nicht erreichbar.",
        "reads": "{name} zeigt {readings}.", "sensor": "{name} ist {state} ({readings}).",
        "nothing": "{name}: noch keine Messwerte.", "playing": "{name} spielt {title} (Lautstärke {volume} %).",
        "speaker": "{name} ist {state} (Lautstärke {volume} %).", "open_at": "{name} ist zu {n} % offen.",
        "battery": " (Akku {n} %)", "something": "etwas", "none": "So ein Gerät habe ich nicht.",
        "more": " (und {n} weitere)",
    },
    "fr": {
        "is": "{name} est {state}.", "unreachable": "Je n'arrive pas à joindre {name} pour le moment.",
        "reads": "{name} indique {readings}.", "sensor": "{name} est {state} ({readings}).",
        "nothing": "{name} : pas encore de mesures.", "playing": "{name} joue {title} (volume {volume} %).",
        "speaker": "{name} est {state} (volume {volume} %).", "open_at": "{name} est ouvert à {n} %.",
        "battery": " (batterie {n} %)", "something": "quelque chose", "none": "Je n'ai pas d'appareil comme ça.",
        "more": " (et {n} de plus)",
    },
}  # fmt: skip
# A thermostat: {name} reads {now} and {doing}, where doing says what it does about it.
THERMOSTAT: Mapping[str, Mapping[str, str]] = {
    "en": {"reads": "{name} reads {now} and {doing}.", "off": "is off", "heat": "heats to {target}",
           "cool": "cools to {target}", "auto": "keeps {target}", "mode": "is in {mode} mode at {target}",
           "set": "is set to {target}"},
    "es": {"reads": "{name} marca {now} y {doing}.", "off": "está apagado", "heat": "calienta a {target}",
           "cool": "enfría a {target}", "auto": "mantiene {target}", "mode": "está en modo {mode} a {target}",
           "set": "está ajustado a {target}"},
    "de": {"reads": "{name} zeigt {now} und {doing}.", "off": "ist aus", "heat": "heizt auf {target}",
           "cool": "kühlt auf {target}", "auto": "hält {target}", "mode": "ist im Modus {mode} bei {target}",
           "set": "ist auf {target} eingestellt"},
    "fr": {"reads": "{name} indique {now} et {doing}.", "off": "est éteint", "heat": "chauffe à {target}",
           "cool": "refroidit à {target}", "auto": "maintient {target}", "mode": "est en mode {mode} à {target}",
           "set": "est réglé à {target}"},
}  # fmt: skip
# A thermostat's other modes (Home Assistant's HVAC modes), where English says the mode's own word.
HVAC_MODES: Mapping[str, Mapping[str, str]] = {
    "es": {"dry": "deshumidificación", "fan_only": "solo ventilador", "eco": "eco", "away": "ausente",
           "boost": "potencia", "comfort": "confort", "sleep": "noche", "home": "en casa"},
    "de": {"dry": "Entfeuchten", "fan_only": "nur Lüfter", "eco": "Eco", "away": "Abwesend", "boost": "Boost",
           "comfort": "Komfort", "sleep": "Nacht", "home": "Zuhause"},
    "fr": {"dry": "déshumidification", "fan_only": "ventilation seule", "eco": "éco", "away": "absent",
           "boost": "boost", "comfort": "confort", "sleep": "nuit", "home": "maison"},
}  # fmt: skip
# Answers over several devices: {who} names, {state} words, {n}/{k} counts, {rest} the others in brackets.
ANSWER: Mapping[str, Mapping[str, str]] = {
    "en": {"yes": "Yes", "no": "No", "is": "is", "are": "are", "both": "Yes, both are {state}.",
           "all": "Yes, all {n} are {state}.", "not_all": "No: {who} {verb} {state}{rest}.",
           "how_many": "{k} of {n} {verb} {state}{listed}.", "neither": "Neither is {state}.",
           "none": "None of the {n} is {state}.", "which": "{lead}{who} {verb} {state}{rest}.",
           "rest": " ({who} {verb} {state})"},
    "es": {"yes": "Sí", "no": "No", "is": "está", "are": "están", "both": "Sí, {the_two} están {state}.",
           "all": "Sí, {the_n} están {state}.", "not_all": "No: {who} {verb} {state}{rest}.",
           "how_many": "{k} de {n} {verb} {state}{listed}.", "neither": "{neither} está {state}.",
           "none": "{none} está {state}.", "which": "{lead}{who} {verb} {state}{rest}.",
           "rest": " ({who} {verb} {state})"},
    "de": {"yes": "Ja", "no": "Nein", "is": "ist", "are": "sind", "both": "Ja, beide sind {state}.",
           "all": "Ja, alle {n} sind {state}.", "not_all": "Nein: {who} {verb} {state}{rest}.",
           "how_many": "{k} von {n} {verb} {state}{listed}.", "neither": "Keins von beiden ist {state}.",
           "none": "Keins der {n} ist {state}.", "which": "{lead}{who} {verb} {state}{rest}.",
           "rest": " ({who} {verb} {state})"},
    "fr": {"yes": "Oui", "no": "Non", "is": "est", "are": "sont", "both": "Oui, {the_two} sont {state}.",
           "all": "Oui, les {n} sont {state}.", "not_all": "Non : {who} {verb} {state}{rest}.",
           "how_many": "{k} sur {n} {verb} {state}{listed}.", "neither": "{neither} n'est {state}.",
           "none": "{none} n'est {state}.", "which": "{lead}{who} {verb} {state}{rest}.",
           "rest": " ({who} {verb} {state})"},
}  # fmt: skip
# Spanish and French counting words that agree with the devices' gender: (masculine, feminine).
GENDERED = {
    "es": {"the_two": ("los dos", "las dos"), "the_n": ("los {n}", "las {n}"),
           "neither": ("Ninguno de los dos", "Ninguna de las dos"),
           "none": ("Ninguno de los {n}", "Ninguna de las {n}")},
    "fr": {"the_two": ("les deux", "les deux"), "the_n": ("les {n}", "les {n}"),
           "neither": ("Aucun des deux", "Aucune des deux"), "none": ("Aucun des {n}", "Aucune des {n}")},
}  # fmt: skip
SHOWN = 12  # devices said one by one in a reply; the rest are counted


def asked_word(device: Device, asked: str) -> str:
    """HA asks binary sensors and covers with "on"; people mean open (a door sensor) or the cover's own word."""
    if asked == "on" and state_word(device) in ("open", "closed"):
        return "open"
    if asked == "off" and state_word(device) in ("open", "closed"):
        return "closed"
    return asked


def _is(device: Device, asked: str) -> bool:
    return state_word(device) == asked_word(device, asked)


def say_state(device: Device, language: str) -> str:
    """One device's state in one sentence: "The Garage Door is closed." / "Garage Door está cerrada."."""
    language = lang(language)
    words, s = SAID[language], device.state
    name = cap(named(device, language))
    if not device.available:
        return words["unreachable"].format(name=named(device, language))
    if device.kind == "thermostat" or "current_temp" in s:
        return say_thermostat(device, language)
    word = state_word(device)
    battery = words["battery"].format(n=number(s["battery"], language)) if _number(s.get("battery")) else ""
    if word == "on" and _number(s.get("brightness")):
        return words["is"].format(name=name, state=state("on_at", language, [device], s["brightness"]))
    if word == "open" and _number(s.get("position")) and 0 < s["position"] < 100:
        return words["open_at"].format(name=name, n=number(s["position"], language))
    if device.kind == "alarm" and isinstance(s.get("mode"), str) and s["mode"] != "disarmed":
        return words["is"].format(name=name, state=state(ALARM_MODES.get(s["mode"], "armed"), language, [device]))
    volume = number(s.get("volume"), language)
    if word == "playing":
        return words["playing"].format(name=name, title=s.get("title") or words["something"], volume=volume)
    if device.kind == "speaker":
        return words["speaker"].format(name=name, state=state(word, language, [device]), volume=volume)
    readings = _readings(device, language)
    if readings and word == "unknown":
        return words["reads"].format(name=name, readings=readings).removesuffix(".") + f"{battery}."
    if readings and device.kind == "sensor":
        said = words["sensor"].format(name=name, state=state(word, language, [device]), readings=readings)
        return said.removesuffix(".") + f"{battery}."
    if word == "unknown":
        return words["nothing"].format(name=name)
    return words["is"].format(name=name, state=state(word, language, [device])).removesuffix(".") + f"{battery}."


def say_thermostat(device: Device, language: str) -> str:
    """ "The Thermostat reads 20.5°C and heats to 21°C.": the reading, then what it does about it."""
    language = lang(language)
    words, s = THERMOSTAT[language], device.state
    now, target = degrees(s.get("current_temp"), language), degrees(s.get("target_temp"), language)
    mode = s.get("mode")
    if s.get("on") is False or mode == "off":
        doing = words["off"]
    elif mode in ("heat", "cool"):
        doing = words[mode].format(target=target)
    elif mode in ("auto", "heat_cool"):
        doing = words["auto"].format(target=target)
    elif isinstance(mode, str) and mode:
        said = HVAC_MODES.get(language, {}).get(mode, mode.replace("_", " "))
        doing = words["mode"].format(mode=said, target=target)
    else:
        doing = words["set"].format(target=target)
    return words["reads"].format(name=cap(named(device, language)), now=now, doing=doing)


def say_states(devices: Sequence[Device], language: str) -> str:
    """Each device's state, a dozen at most, the rest counted."""
    more = SAID[lang(language)]["more"].format(n=len(devices) - SHOWN) if len(devices) > SHOWN else ""
    return " ".join(say_state(d, language) for d in devices[:SHOWN]) + more


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _readings(device: Device, language: str) -> str:
    """A sensor's numbers with their units ("55%", "21.5°C and 40%"); battery is said elsewhere."""
    said = []
    for cap_ in device.capabilities:
        value = device.state.get(cap_.key)
        if cap_.type == "sensor" and cap_.key != "battery" and _number(value):
            unit = cap_.unit or ""
            if unit == "°C":  # in the home's unit
                said.append(degrees(value, language))
                continue
            gap = "" if language == "en" and unit in ("%", "°F", "") else (" " if unit else "")
            said.append(f"{number(value, language)}{gap}{unit}")
    return joined(said, language)


def answer_question(devices: Sequence[Device], action: str, values: Mapping[str, Any], language: str = "en") -> str:
    """The answer to one state question over the devices the grammar resolved (never more than it said)."""
    language = lang(language)
    words = ANSWER[language]
    if not devices:
        return SAID[language]["none"]
    if action == "get_temperature":
        return " ".join(say_state(d, language) for d in devices[:SHOWN])
    asked, query = str(values.get("state") or ""), str(values.get("query") or "one")
    if not asked or query in ("one", "where"):
        return say_states(devices, language)
    word = asked_word(devices[0], asked)
    matching = [d for d in devices if _is(d, asked)]
    others = [d for d in devices if not _is(d, asked)]
    if query == "one_yesno" and len(devices) == 1:
        return _yes_no(_is(devices[0], asked), say_state(devices[0], language), language)
    if query == "one_yesno":  # "are the kitchen lights on" over two lights: say which
        query = "any"
    off = OPPOSITE.get(word, "")

    def verb(group: Sequence[Device]) -> str:
        return words["is" if len(group) == 1 else "are"]

    def said(key: str, group: Sequence[Device]) -> str:
        if not key:  # no opposite word: "not playing"
            return {"en": "not ", "es": "no ", "de": "nicht ", "fr": "pas "}[language] + state(word, language, group)
        return state(key, language, group)

    if query == "all":
        if not others and len(devices) == 1:
            return _yes_no(True, say_state(devices[0], language), language)
        if not others:
            key = "both" if len(devices) == 2 else "all"
            return words[key].format(
                state=state(word, language, devices), n=len(devices), **_counted(devices, language)
            )
        rest = (
            words["rest"].format(who=listed(matching, language), verb=verb(matching), state=said(word, matching))
            if matching
            else ""
        )
        return words["not_all"].format(
            who=listed(others, language), verb=verb(others), state=said(off, others), rest=rest
        )
    if query == "how_many":
        shown = f": {listed(matching, language, most=8)}" if matching and len(matching) <= 8 else ""
        group = matching or devices
        return words["how_many"].format(
            k=len(matching), n=len(devices), verb=verb(matching), state=state(word, language, group), listed=shown
        )
    if not matching and len(devices) == 1:  # "which doors are unlocked?" over one door: say how it is
        return (
            _yes_no(False, say_state(devices[0], language), language)
            if query == "any"
            else say_state(devices[0], language)
        )
    if not matching:  # "which …?" is not a yes/no question: no "No," before the answer
        key = "neither" if len(devices) == 2 else "none"
        none = words[key].format(
            state=state(word, language, devices[:1]), n=len(devices), **_counted(devices, language)
        )
        return f"{words['no']}, {none[:1].lower()}{none[1:]}" if query == "any" else none
    lead = f"{words['yes']}: " if query == "any" else ""
    rest = (
        words["rest"].format(who=listed(others, language), verb=verb(others), state=said(off, others))
        if others and query == "any"
        else ""
    )
    who = listed(matching, language)
    return words["which"].format(lead=lead, who=cap(who), verb=verb(matching), state=said(word, matching), rest=rest)


def _yes_no(yes: bool, sentence: str, language: str) -> str:
    """ "Yes, the Front Door is locked." / "No, Front Door está abierta."."""
    words = ANSWER[language]
    return f"{words['yes' if yes else 'no']}, {_lower_first(sentence) if language == 'en' else sentence}"


def _lower_first(text: str) -> str:
    """English lowers "The" after "Yes, "; names keep their capitals."""
    return text[:1].lower() + text[1:] if text.startswith("The ") else text


def _counted(devices: Sequence[Device], language: str) -> dict[str, str]:
    """The gendered counting words for these devices ("las dos", "Ninguna de las 3")."""
    forms = GENDERED.get(language)
    if forms is None:
        return {}
    fem = feminine(devices, language)
    return {k: v[fem].format(n=len(devices)) for k, v in forms.items()}
