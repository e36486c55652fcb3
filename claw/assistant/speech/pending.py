"""An action held for an owner's code, said in the message's language: the code once, what it releases, how long."""

from __future__ import annotations

from collections.abc import Mapping

from claw.assistant.speech.cameras import CAMERA, MODE_WORDS
from claw.assistant.speech.words import MODES, joined, lang
from claw.core.safety import Ask, Pending

# What the code releases, per verb: {names} the devices, {detail} the English words of an unworded request.
# German has two forms: the plain infinitive (in quotes) and the one with "zu" (after "um").
ASKED: Mapping[str, Mapping[str, str]] = {
    "es": {"unlock": "abrir {names}", "disarm": "desarmar {names}", "open": "abrir {names}",
           "set": "cambiar {names}", "action": "{detail} en {names}", "allow": "dejarme controlar {names}",
           "mute": "silenciar la cámara {names} durante {value} min",
           "mode": "pasar al modo {mode}, que desarma {cameras}", "": "confirmar: {detail}"},
    "de": {"unlock": "{names} aufschließen", "disarm": "{names} unscharf schalten", "open": "{names} öffnen",
           "set": "{names} verstellen", "action": "{detail} auf {names}", "allow": "{names} steuern",
           "mute": "die Kamera {names} {value} Min. stummschalten",
           "mode": "in den Modus {mode} wechseln, der {cameras} unscharf schaltet", "": "{detail}"},
    "de_zu": {"unlock": "{names} aufzuschließen", "disarm": "{names} unscharf zu schalten",
              "open": "{names} zu öffnen", "set": "{names} zu verstellen", "action": "{detail} auf {names} auszuführen",
              "allow": "mich {names} steuern zu lassen", "mute": "die Kamera {names} {value} Min. stummzuschalten",
              "mode": "in den Modus {mode} zu wechseln, der {cameras} unscharf schaltet",
              "": "zu bestätigen: {detail}"},
    "fr": {"unlock": "déverrouiller {names}", "disarm": "désarmer {names}", "open": "ouvrir {names}",
           "set": "modifier {names}", "action": "{detail} sur {names}", "allow": "me laisser contrôler {names}",
           "mute": "couper la caméra {names} pendant {value} min",
           "mode": "passer en mode {mode}, ce qui désarme {cameras}", "": "confirmer : {detail}"},
}  # fmt: skip
CAMERAS = {"es": "las cámaras {n}", "de": "die Kameras {n}", "fr": "les caméras {n}"}  # more than one
PROMPT = {
    "es": "Responde OK {code} para {what} (válido {minutes} min).",
    "de": "Antworte OK {code}, um {what} ({minutes} Min. gültig).",
    "fr": "Répondez OK {code} pour {what} (valable {minutes} min).",
}
WITHHELD = {
    "es": "Esperando a un propietario: «{what}» necesita su confirmación. El código de un solo uso ha ido a los "
    "propietarios, no a ti; solo se hará si uno de ellos responde con él en {minutes} min.",
    "de": "Wartet auf einen Besitzer: „{what}“ braucht die Bestätigung eines Besitzers. Der Einmalcode ging an die "
    "Besitzer, nicht an dich; es geschieht nur, wenn einer von ihnen innerhalb von {minutes} Min. damit antwortet.",
    "fr": "En attente d'un propriétaire : « {what} » demande la confirmation d'un propriétaire. Le code à usage "
    "unique est allé aux propriétaires, pas à vous ; cela ne se fera que si l'un d'eux répond avec dans les "
    "{minutes} min.",
}


def say_pending(pending: Pending, language: str) -> str:
    """The prompt with its code for an owner's chat, or (an agent, a job) that the owners got the code."""
    language = lang(language)
    if language == "en":
        return pending.shown
    if not pending.with_code:
        return WITHHELD[language].format(what=asked(pending.ask, language), minutes=pending.minutes)
    what = asked(pending.ask, "de_zu" if language == "de" else language)
    return PROMPT[language].format(code=pending.code, what=what, minutes=pending.minutes)


def asked(ask: Ask, language: str) -> str:
    """What the code releases, in words: "abrir Front Door", "Front Door aufzuschließen"."""
    if language == "en":
        return ask.english()
    table, base = ASKED[language], language.removesuffix("_zu")
    names = joined(ask.names, base)
    if ask.verb == "mode":  # the cameras' own mode words ("casa", "Zuhause"), and cameras named as cameras
        mode = MODE_WORDS[base].get(ask.value, ask.value)
        cameras = (CAMERA[base] if len(ask.names) == 1 else CAMERAS[base]).format(n=names)
    else:
        mode, cameras = MODES[base].get(ask.value, ask.value), names
    return table.get(ask.verb, table[""]).format(
        names=names, detail=ask.detail or ask.english(), value=ask.value, mode=mode, cameras=cameras
    )
