"""What Claw says to help, a greeting, thanks, "never mind", and a media command with nothing playing."""

from __future__ import annotations

from collections.abc import Sequence

from .words import lang

SAID: dict[str, dict[str, str]] = {
    "help": {
        "en": 'I run the house from plain words: "sleepy time", "turn off the kitchen lights", "dim the desk lamp to '
        '30%", "is the garage open?", "play jazz in the study", "turn off the porch light in 10 minutes", "remind me '
        'at 6 to call mum", "what happened while I was out?". Locks, the alarm and the garage ask for a code first. '
        "/status tells how I am.",
        "es": 'Manejo la casa con palabras sencillas: "apaga las luces de la cocina", "sube la persiana", "¿está '
        'abierta la puerta del garaje?", "recuérdame en 10 minutos sacar la pizza", "¿qué pasó mientras no '
        'estaba?". Las cerraduras, la alarma y el garaje piden antes un código. /status dice cómo estoy.',
        "de": 'Ich steuere das Haus mit einfachen Worten: "schalte das Licht in der Küche aus", "ist das Garagentor '
        'offen?", "erinnere mich in 10 Minuten an die Pizza", "was ist passiert, während ich weg war?". Schlösser, '
        "Alarmanlage und Garage fragen zuerst nach einem Code. /status sagt, wie es mir geht.",
        "fr": 'Je pilote la maison avec des mots simples : "éteins la lumière de la cuisine", "la porte du garage '
        'est-elle ouverte ?", "rappelle-moi dans 10 minutes de sortir la pizza", "que s\'est-il passé pendant mon '
        "absence ?\". Les serrures, l'alarme et le garage demandent d'abord un code. /status dit comment je vais.",
    },
    "greet": {
        "en": "Hi! What can I do for you?",
        "es": "¡Hola! ¿Qué puedo hacer por ti?",
        "de": "Hallo! Was kann ich für dich tun?",
        "fr": "Bonjour ! Que puis-je faire pour toi ?",
    },
    "thanks": {"en": "You're welcome.", "es": "De nada.", "de": "Gern geschehen.", "fr": "Avec plaisir."},
    "nevermind": {"en": "OK.", "es": "Vale.", "de": "Okay.", "fr": "D'accord."},
    "nothing_playing": {
        "en": "Nothing is playing right now.",
        "es": "Ahora mismo no suena nada.",
        "de": "Gerade läuft nichts.",
        "fr": "Rien ne joue en ce moment.",
    },
    "offline": {
        "en": "My model is offline, so I can't answer that just now.",
        "es": "Mi modelo está desconectado, así que ahora mismo no puedo responder a eso.",
        "de": "Mein Modell ist offline, deshalb kann ich darauf gerade nicht antworten.",
        "fr": "Mon modèle est hors ligne, je ne peux donc pas répondre à cela pour l'instant.",
    },
    "did_you_mean": {"en": "Did you mean {names}?", "es": "¿Querías decir {names}?", "de": "Meintest du {names}?",
                     "fr": "Voulais-tu dire {names} ?"},
    "or": {"en": "or", "es": "o", "de": "oder", "fr": "ou"},
    "offline_hint": {
        "en": 'Routines and plain commands still work without it: try "sleepy time", "turn off the kitchen lights" '
        'or "is the garage open".',
        "es": 'Las rutinas y las órdenes sencillas siguen funcionando: prueba "apaga las luces de la cocina" o '
        '"¿está abierta la puerta del garaje?".',
        "de": 'Routinen und einfache Befehle gehen weiterhin: versuch "schalte das Licht in der Küche aus" oder '
        '"ist das Garagentor offen?".',
        "fr": 'Les routines et les commandes simples marchent toujours : essaie "éteins la lumière de la cuisine" '
        'ou "la porte du garage est-elle ouverte ?".',
    },
}  # fmt: skip


def say_offline(near: Sequence[str], language: str) -> str:
    """The one reply while the model is offline, first time or tenth: what failed, close names if any, what works."""
    if near:
        last = near[-1] if len(near) == 1 else f"{', '.join(near[:-1])} {say_small_talk('or', language)} {near[-1]}"
        guess = " " + say_small_talk("did_you_mean", language).format(names=last)
    else:
        guess = ""
    return f"{say_small_talk('offline', language)}{guess} {say_small_talk('offline_hint', language)}"


def say_small_talk(what: str, language: str) -> str:
    """One of the fixed lines above, in the message's language (English where a language lacks it)."""
    lines = SAID[what]
    return lines.get(lang(language), lines["en"])
