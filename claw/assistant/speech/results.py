"""What a change did, said in the message's language: done, already, failed and why, held for a code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from claw.assistant.speech.failures import say_failed_device, say_invalid, say_refusal
from claw.assistant.speech.pending import say_pending
from claw.assistant.speech.words import ALARM_MODES, MODES, agree, cap, degrees, feminine, lang, listed, number, state
from claw.home.capabilities import OPEN_CLOSE
from claw.home.control import LEVEL_PERCENT, LEVEL_TEMPERATURE, Change, Result
from claw.home.device import Device
from claw.home.states import state_word

# What was done, per verb key: {names} the devices, {n} a number, {mode} the alarm's mode, {title}, {words}.
DONE: Mapping[str, Mapping[str, str]] = {
    "en": {
        "on": "Turned on {names}.", "off": "Turned off {names}.", "open": "Opened {names}.",
        "close": "Closed {names}.", "lock": "Locked {names}.", "unlock": "Unlocked {names}.",
        "arm": "Armed {names} ({mode} mode).", "arm_plain": "Armed {names}.", "disarm": "Disarmed {names}.",
        "percent": "Set {names} to {n}%.", "temp": "Set {names} to {t}.", "level": "Set {names} to {n}{unit}.",
        "volume": "Set the volume of {names} to {n}%.", "values": "Set {names}: {words}.",
        "resume": "Resumed {names}.", "pause": "Paused {names}.", "next": "Skipped to the next track on {names}.",
        "previous": "Went back a track on {names}.", "title": "Playing {title} on {names}.",
        "playing": "Playing on {names}.", "join": "Grouped {names}.", "unjoin": "Ungrouped {names}.",
        "action": "Done: {names}.",
    },
    "es": {
        "on": "He encendido {names}.", "off": "He apagado {names}.", "open": "He abierto {names}.",
        "close": "He cerrado {names}.", "lock": "He cerrado con llave {names}.", "unlock": "He abierto {names}.",
        "arm": "He armado {names} (modo {mode}).", "arm_plain": "He armado {names}.",
        "disarm": "He desarmado {names}.", "percent": "He puesto {names} al {n} %.",
        "temp": "He puesto {names} a {t}.", "level": "He puesto {names} a {n}{unit}.",
        "volume": "He puesto el volumen de {names} al {n} %.", "values": "He ajustado {names}: {words}.",
        "resume": "He reanudado {names}.", "pause": "He pausado {names}.", "next": "Siguiente pista en {names}.",
        "previous": "Pista anterior en {names}.", "title": "Suena {title} en {names}.",
        "playing": "Reproduciendo en {names}.", "join": "He agrupado {names}.", "unjoin": "He desagrupado {names}.",
        "action": "Hecho: {names}.",
    },
    "de": {
        "on": "{names} eingeschaltet.", "off": "{names} ausgeschaltet.", "open": "{names} geöffnet.",
        "close": "{names} geschlossen.", "lock": "{names} abgeschlossen.", "unlock": "{names} aufgeschlossen.",
        "arm": "{names} scharf geschaltet ({mode}).", "arm_plain": "{names} scharf geschaltet.",
        "disarm": "{names} unscharf geschaltet.", "percent": "{names} auf {n} % gestellt.",
        "temp": "{names} auf {t} gestellt.", "level": "{names} auf {n}{unit} gestellt.",
        "volume": "Lautstärke von {names} auf {n} % gestellt.", "values": "{names} eingestellt: {words}.",
        "resume": "{names} läuft wieder.", "pause": "{names} pausiert.", "next": "Nächster Titel auf {names}.",
        "previous": "Vorheriger Titel auf {names}.", "title": "{title} läuft auf {names}.",
        "playing": "Wiedergabe auf {names}.", "join": "{names} gruppiert.", "unjoin": "Gruppe aufgelöst: {names}.",
        "action": "Erledigt: {names}.",
    },
    "fr": {
        "on": "J'ai allumé {names}.", "off": "J'ai éteint {names}.", "open": "J'ai ouvert {names}.",
        "close": "J'ai fermé {names}.", "lock": "J'ai verrouillé {names}.", "unlock": "J'ai déverrouillé {names}.",
        "arm": "J'ai armé {names} (mode {mode}).", "arm_plain": "J'ai armé {names}.",
        "disarm": "J'ai désarmé {names}.", "percent": "J'ai réglé {names} à {n} %.",
        "temp": "J'ai réglé {names} à {t}.", "level": "J'ai réglé {names} à {n}{unit}.",
        "volume": "J'ai réglé le volume de {names} à {n} %.", "values": "J'ai réglé {names} : {words}.",
        "resume": "J'ai relancé {names}.", "pause": "J'ai mis en pause {names}.",
        "next": "Piste suivante sur {names}.", "previous": "Piste précédente sur {names}.",
        "title": "Je joue {title} sur {names}.", "playing": "Lecture sur {names}.", "join": "J'ai groupé {names}.",
        "unjoin": "J'ai dégroupé {names}.", "action": "C'est fait : {names}.",
    },
}  # fmt: skip
# "… was already off": {who} the devices (or "8 others"), {state} what they already were.
ALREADY = {
    "en": ("{who} was already {state}.", "{who} were already {state}."),
    "es": ("{who} ya estaba {state}.", "{who} ya estaban {state}."),
    "de": ("{who} war schon {state}.", "{who} waren schon {state}."),
    "fr": ("{who} était déjà {state}.", "{who} étaient déjà {state}."),
}
OTHERS = {"en": "{n} others", "es": "otros {n}", "de": "{n} weitere", "fr": "{n} autres"}
OTHERS_FEMININE = {"es": "otras {n}", "fr": "{n} autres"}
# A device that reports another state than the one sent; {name} the device, {state} what it reports now.
FAILED: Mapping[str, Mapping[str, str]] = {
    "es": {
        "reports": "He enviado la orden, pero {name} indica que está {state}.",
        "otherwise": "He enviado la orden, pero {name} indica otra cosa.",
    },
    "de": {
        "reports": "Ich habe den Befehl gesendet, aber {name} meldet: {state}.",
        "otherwise": "Ich habe den Befehl gesendet, aber {name} meldet etwas anderes.",
    },
    "fr": {
        "reports": "J'ai envoyé la commande, mais {name} indique : {state}.",
        "otherwise": "J'ai envoyé la commande, mais {name} indique autre chose.",
    },
}
APPROVAL = {
    "en": ('{names} needs your OK first (say "allow <name>").', '{names} need your OK first (say "allow <name>").'),
    "es": ('{names} necesita tu permiso primero (di "permite <nombre>").',
           '{names} necesitan tu permiso primero (di "permite <nombre>").'),
    "de": ('{names} braucht zuerst dein OK (sag "erlaube <Name>").',
           '{names} brauchen zuerst dein OK (sag "erlaube <Name>").'),
    "fr": ('{names} attend d\'abord votre accord (dites « autorise <nom> »).',
           '{names} attendent d\'abord votre accord (dites « autorise <nom> »).'),
}  # fmt: skip
# What a change would do, for "can't": the infinitive per verb key.
DOING: Mapping[str, Mapping[str, str]] = {
    "es": {"on": "encenderse", "off": "apagarse", "open": "abrirse", "close": "cerrarse", "lock": "cerrarse con llave",
           "unlock": "abrirse", "": "hacer eso"},
    "de": {"on": "einschalten", "off": "ausschalten", "open": "öffnen", "close": "schließen", "lock": "abschließen",
           "unlock": "aufschließen", "": "so steuern"},
    "fr": {"on": "s'allumer", "off": "s'éteindre", "open": "s'ouvrir", "close": "se fermer", "lock": "se verrouiller",
           "unlock": "se déverrouiller", "": "faire ça"},
}  # fmt: skip
CANNOT = {
    "es": ("{names} no puede {doing}.", "{names} no pueden {doing}."),
    "de": ("{names} lässt sich nicht {doing}.", "{names} lassen sich nicht {doing}."),
    "fr": ("{names} ne peut pas {doing}.", "{names} ne peuvent pas {doing}."),
}
NOTHING = {
    "es": "Aquí no hay nada que pueda hacer eso.",
    "de": "Das kann hier kein Gerät.",
    "fr": "Aucun appareil ici ne peut faire ça.",
}
# Setting names for "Set the Desk Lamp: the colour temperature to 370".
SETTING = {
    "en": {"target_temp": "the target temperature", "color_temp": "the colour temperature", "on": "power"},
    "es": {"target_temp": "temperatura", "color_temp": "temperatura de color", "on": "encendido",
           "brightness": "brillo", "position": "posición", "volume": "volumen", "mode": "modo"},
    "de": {"target_temp": "Temperatur", "color_temp": "Farbtemperatur", "on": "an", "brightness": "Helligkeit",
           "position": "Position", "volume": "Lautstärke", "mode": "Modus"},
    "fr": {"target_temp": "température", "color_temp": "température de couleur", "on": "marche",
           "brightness": "luminosité", "position": "position", "volume": "volume", "mode": "mode"},
}  # fmt: skip
MEDIA = {"play": "resume", "pause": "pause", "next": "next", "previous": "previous", "join": "join", "unjoin": "unjoin"}


def say_results(results: Sequence[Result], change: Change, language: str) -> str:
    """One short paragraph: what was done, what already was, what failed and why, what waits for a code."""
    language = lang(language)
    if results and all(r.status == "unsupported" for r in results):
        return _cannot([r.device for r in results], change, language)
    results = [r for r in results if r.status != "unsupported"]
    done = [r for r in results if r.status == "done"]
    already = [r for r in results if r.status == "already"]
    lines = _done(done, change, language) + _already_lines(already, change, language, counted=bool(done))
    lines += list(dict.fromkeys(_failed(r, language) for r in results if r.status == "failed"))
    limited = [say_refusal(r.refusal, language) if r.refusal else r.detail for r in results if r.status == "limited"]
    lines += list(dict.fromkeys(limited))  # said once per reply
    lines += [say_pending(r.pending, language) for r in results if r.status == "held" and r.pending is not None]
    approval = [r.device for r in results if r.status == "needs_approval"]
    if approval:
        names = listed(approval, language)
        lines.append(APPROVAL[language][len(approval) > 1].format(names=cap(names)))
    if not lines:
        lines.append(f"Nothing here can {change.describe()}." if language == "en" else NOTHING[language])
    return " ".join(lines)


def _done(done: Sequence[Result], change: Change, language: str) -> list[str]:
    if not done:
        return []
    title = done[0].state.get("title") if change.action in ("play_favorite", "play_uri") else ""
    if title:
        return [DONE[language]["title"].format(title=title, names=listed([r.device for r in done], language))]
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[Device]] = {}
    for r in done:  # "Turned off the lamps. Closed the shades." — the verb each kind of device takes
        key, params = verb(change, r.device, r.state, language)
        groups.setdefault((key, tuple(params.items())), []).append(r.device)
    return [
        cap(DONE[language][key].format(names=listed(devices, language), **dict(params)))
        for (key, params), devices in groups.items()
    ]


def _already_lines(already: Sequence[Result], change: Change, language: str, *, counted: bool) -> list[str]:
    groups: dict[tuple[str, str], list[Device]] = {}
    for r in already:
        groups.setdefault(already_state(r.device, change), []).append(r.device)
    lines = []
    for (key, n), devices in groups.items():
        said = state(key, language, devices, float(n) if n else None)
        if len(devices) <= 2 or not counted:
            who = cap(listed(devices, language))
        else:  # "8 others were already off", after what was done: "otras 8" are the lights, feminine
            fem = feminine(devices, language)
            others = OTHERS_FEMININE if fem and language in OTHERS_FEMININE else OTHERS
            who = cap(others[language].format(n=len(devices)))
            said = agree(state(key, language, (), float(n) if n else None), language, fem=fem, plural=True)
        lines.append(ALREADY[language][len(devices) > 1].format(who=who, state=said))
    return lines


def _failed(result: Result, language: str) -> str:
    device = result.device
    if result.invalid is not None:  # a value the setting cannot take: what it would take, in the home's unit
        return say_invalid(result.invalid, device.name, language)
    if language == "en":
        if result.reason == "reports":
            key, n = already_state(device, Change())
            now = state(key, "en", (), float(n) if n else None)
            if key == "set":
                return f"I sent the command, but the {device.name} reports otherwise."
            return f"I sent the command, but the {device.name} reports it is {now}."
        return cap(f"{result.detail}.".replace("..", "."))
    words = FAILED[language]
    if result.reason == "reports":
        key, n = already_state(device, Change())
        if key == "set":
            return words["otherwise"].format(name=device.name)
        return words["reports"].format(name=device.name, state=state(key, language, [device], float(n) if n else None))
    return say_failed_device(result, language)  # the driver's own words stay in the audit log


def _cannot(devices: Sequence[Device], change: Change, language: str) -> str:
    names = listed(devices, language)
    if language == "en":
        return f"{cap(names)} can't {change.describe()}."
    doing = DOING[language].get(power_key(change), DOING[language][""])
    return CANNOT[language][len(devices) > 1].format(names=cap(names), doing=doing)


def power_key(change: Change) -> str:
    """on/off/open/close/lock/unlock for a plain change; "" for the rest."""
    if change.action or change.level is not None:
        return ""
    if change.power is not None:
        return "on" if change.power else "off"
    values = dict(change.values)
    if values in ({"position": 0}, {"state": "closed"}):
        return "close"
    if values in ({"position": 100}, {"state": "open"}):
        return "open"
    if values == {"locked": True}:
        return "lock"
    if values == {"locked": False}:
        return "unlock"
    return ""


def verb(change: Change, device: Device, state_now: Mapping[str, Any], language: str) -> tuple[str, dict[str, str]]:
    """The verb key a done change takes on this device, and its words: ("close", {}), ("percent", {"n": "20"})."""
    if change.action:
        if change.action in ("play_favorite", "play_uri"):
            return "playing", {}
        return MEDIA.get(change.action, "action"), {}
    if change.power is not None:
        if device.kind in OPEN_CLOSE and device.capability("on") is None:
            if OPEN_CLOSE[device.kind][0] == "locked":
                return ("unlock" if change.power else "lock"), {}
            return ("open" if change.power else "close"), {}
        if device.kind == "alarm":  # an alarm is armed, in the mode it took, never "turned on"
            return _armed(state_now.get("mode"), language) if change.power else ("disarm", {})
        return ("on" if change.power else "off"), {}
    if change.level is not None:
        if change.unit.startswith("°"):  # a level in degrees is a °C setpoint: said in the home's unit
            return "temp", {"t": degrees(change.level, language)}
        unit = change.unit if language == "en" or not change.unit else f" {change.unit}"
        return "level", {"n": number(change.level, language), "unit": unit}
    key = power_key(change)
    if key:
        return key, {}
    values = dict(change.values)
    if set(values) == {"mode"} and device.kind == "alarm":
        return ("disarm", {}) if values["mode"] == "disarmed" else _armed(values["mode"], language)
    if len(values) == 1:
        ((setting, value),) = values.items()
        if setting in ("brightness", "position"):
            return "percent", {"n": number(value, language)}
        if setting == "volume":
            return "volume", {"n": number(value, language)}
        if setting == "target_temp":
            return "temp", {"t": degrees(value, language)}
    names = SETTING[language]
    to = {"en": "to", "es": "a", "de": "auf", "fr": "à"}[language]
    words = ", ".join(
        f"{names.get(k, k.replace('_', ' '))} {to} {number(v, language) if isinstance(v, float) else v}"
        for k, v in values.items()
    )
    return "values", {"words": words}


def _armed(mode: object, language: str) -> tuple[str, dict[str, str]]:
    if not isinstance(mode, str):
        return "arm_plain", {}
    return "arm", {"mode": MODES[language].get(mode, mode)}


def already_state(device: Device, change: Change) -> tuple[str, str]:
    """What the device already was, as a state key and its number: ("temp", "21"), ("percent", "50"), ("off", "")."""
    if change.level is not None:
        order = LEVEL_TEMPERATURE if change.unit.startswith("°") else LEVEL_PERCENT
        key = next((k for k in order if (c := device.capability(k)) is not None and c.writable), "")
        return ("temp" if key == "target_temp" else "percent"), str(change.level)
    if len(change.values) == 1 and not change.action:
        ((setting, value),) = change.values.items()
        if setting == "target_temp":
            return "temp", str(value)
        if setting in ("brightness", "volume") or (setting == "position" and value not in (0, 100)):
            return "percent", str(value)
        if setting == "color_temp" and isinstance(value, int | float) and value > 0:
            return "kelvin", str(round(1_000_000 / value / 100) * 100)
    word = state_word(device)
    mode = device.state.get("mode")
    if word == "armed" and isinstance(mode, str):
        return ALARM_MODES.get(mode, "armed"), ""
    if word == "on" and isinstance(device.state.get("brightness"), int | float):
        return "on_at", str(device.state["brightness"])
    return (word if word != "unknown" else "set"), ""


# Replies about a change that could not start: no level to step, nothing playing, no such verb.
CANNOT_STEP = {
    "en": "The {name} can't change its {setting}.",
    "es": "{name}: no se puede cambiar ({setting}).",
    "de": "{name}: lässt sich nicht ändern ({setting}).",
    "fr": "{name} : impossible de changer ({setting}).",
}
NOTHING_PLAYING = {
    "en": "Nothing is playing right now; which speaker do you mean ({speakers})?",
    "es": "Ahora no suena nada; ¿qué altavoz quieres decir ({speakers})?",
    "de": "Gerade läuft nichts; welchen Lautsprecher meinst du ({speakers})?",
    "fr": "Rien ne joue en ce moment ; quelle enceinte voulez-vous dire ({speakers}) ?",
}


def say_cannot_step(device: Device, setting: str, language: str) -> str:
    """ "The Desk Lamp can't change its volume."."""
    language = lang(language)
    words = SETTING[language]
    said = words.get(setting, setting.replace("_", " ")) if language != "en" else setting.replace("_", " ")
    return CANNOT_STEP[language].format(name=device.name, setting=said)


def say_nothing_playing(speakers: Sequence[str], language: str) -> str:
    """A media command with no speaker playing: which one was meant."""
    language = lang(language)
    return NOTHING_PLAYING[language].format(speakers=", ".join(speakers))
