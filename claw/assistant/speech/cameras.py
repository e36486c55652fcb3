"""The cameras' typed outcomes (muted, unmuted, a mode set, a watch started) said in the message's language."""

from __future__ import annotations

from collections.abc import Mapping

from claw.assistant.speech.words import lang
from claw.eyes.description import camera_phrase
from claw.eyes.outcomes import CameraOutcome, ModeSet, Muted, Unmuted

# How a sentence names a camera: {c} in it ("la cámara driveway"); English says "the driveway camera".
CAMERA = {"en": "", "es": "la cámara {n}", "de": "die Kamera {n}", "fr": "la caméra {n}"}
SAY: Mapping[str, Mapping[str, str]] = {
    "muted": {
        "en": "Muted {c} until {t}. Its events are still kept; say 'unmute' to undo.",
        "es": "He silenciado {c} hasta las {t}. Sus eventos se siguen guardando; di «reactiva» para deshacerlo.",
        "de": "{C} ist bis {t} stumm. Ihre Ereignisse werden weiter gespeichert; sag „Ton an“ zum Rückgängigmachen.",
        "fr": "{C} est en sourdine jusqu'à {t}. Ses événements sont toujours gardés ; dis « réactive » pour annuler.",
    },
    "unmuted": {
        "en": "Alerts from {c} are on again.",
        "es": "Los avisos de {c} vuelven a estar activos.",
        "de": "Die Meldungen der Kamera {n} sind wieder an.",
        "fr": "Les alertes de {c} sont réactivées.",
    },
    "mode": {
        "en": "{M} mode: {watching}.",
        "es": "Modo {m}: {watching}.",
        "de": "Modus {M}: {watching}.",
        "fr": "Mode {m} : {watching}.",
    },
    "watching": {
        "en": "watching {names}",
        "es": "vigilando {names}",
        "de": "ich beobachte {names}",
        "fr": "je surveille {names}",
    },
    "unarmed": {
        "en": "no camera is armed in it",
        "es": "ninguna cámara está armada en este modo",
        "de": "keine Kamera ist darin scharf",
        "fr": "aucune caméra n'est armée dans ce mode",
    },
    "already": {
        "en": "The cameras were already in {m} mode.",
        "es": "Las cámaras ya estaban en modo {m}.",
        "de": "Die Kameras waren schon im Modus {M}.",
        "fr": "Les caméras étaient déjà en mode {m}.",
    },
    "watch": {
        "en": "I'll keep an eye on {c} and tell you when {what} (for {span}).",
        "es": "Vigilaré {c} y te avisaré cuando {what} (durante {span}).",
        "de": "Ich behalte die Kamera {n} im Auge und sage dir Bescheid, wenn {what} (für {span}).",
        "fr": "Je surveille {c} et je te préviens quand {what} (pendant {span}).",
    },
}
MODE_WORDS = {
    "en": {"home": "home", "away": "away", "night": "night"},
    "es": {"home": "casa", "away": "ausente", "night": "noche"},
    "de": {"home": "Zuhause", "away": "Abwesend", "night": "Nacht"},
    "fr": {"home": "maison", "away": "absent", "night": "nuit"},
}
SPAN = {  # (one hour, N hours, N minutes)
    "en": ("an hour", "{n} hours", "{n} minutes"),
    "es": ("una hora", "{n} horas", "{n} minutos"),
    "de": ("eine Stunde", "{n} Stunden", "{n} Minuten"),
    "fr": ("une heure", "{n} heures", "{n} minutes"),
}


def say_camera(outcome: CameraOutcome, language: str) -> str:
    """What a camera command did, in the language ("Muted the driveway camera until 15:05. …")."""
    language = lang(language)
    if isinstance(outcome, Muted):
        return _say("muted", language, t=outcome.clock, **camera_words(outcome.camera, language))
    if isinstance(outcome, Unmuted):
        return _say("unmuted", language, **camera_words(outcome.camera, language))
    if isinstance(outcome, ModeSet):
        return say_mode(outcome, language)
    return _say(
        "watch",
        language,
        what=outcome.condition,
        span=span(outcome.minutes, language),
        **camera_words(outcome.camera, language),
    )


def say_mode(outcome: ModeSet, language: str) -> str:
    """ "Night mode: watching driveway." or "The cameras were already in night mode."."""
    language = lang(language)
    word = MODE_WORDS[language][outcome.mode]
    named = {"m": word, "M": word.capitalize()}
    if outcome.already:
        return _say("already", language, **named)
    names = ", ".join(outcome.watching)
    watching = _say("watching", language, names=names) if outcome.watching else _say("unarmed", language)
    return _say("mode", language, watching=watching, **named)


def span(minutes: float, language: str) -> str:
    """ "an hour", "2 hours", "30 minutes" in the language."""
    one, hours, mins = SPAN.get(language, SPAN["en"])
    if minutes >= 60 and minutes % 60 == 0:
        return one if minutes == 60 else hours.format(n=int(minutes // 60))
    return mins.format(n=f"{minutes:.0f}")


def camera_words(name: str, language: str) -> dict[str, str]:
    """The slots that name a camera in a sentence: {c} ("the driveway camera"), {C} capitalised, {n} the name."""
    template = CAMERA.get(language) or ""
    phrase = template.format(n=name) if template else camera_phrase(name)
    return {"c": phrase, "C": phrase[:1].upper() + phrase[1:], "n": name}


def _say(key: str, language: str, **slots: str) -> str:
    return SAY[key][language].format(**slots)
