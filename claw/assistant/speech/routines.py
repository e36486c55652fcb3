"""A routine's outcome, and the home's other typed outcomes (allowed, renamed, moved), said in a language."""

from __future__ import annotations

from collections.abc import Mapping

from claw.assistant.speech.cameras import say_mode
from claw.assistant.speech.failures import say_refusal
from claw.assistant.speech.pending import say_pending
from claw.assistant.speech.results import say_results
from claw.assistant.speech.words import cap, joined, lang
from claw.eyes.outcomes import ModeSet
from claw.home.actions import Allowed, Managed, RoutineOutcome

ROUTINE: Mapping[str, Mapping[str, str]] = {
    "en": {"nothing": "There was nothing to do.", "missing": "I couldn't find the {name}.",
           "paused": "Automations are paused, so I did not run {name}."},
    "es": {"nothing": "No había nada que hacer.", "missing": "No he encontrado {name}.",
           "paused": "Las automatizaciones están en pausa, así que no he ejecutado {name}."},
    "de": {"nothing": "Es gab nichts zu tun.", "missing": "{name} habe ich nicht gefunden.",
           "paused": "Automationen sind pausiert, deshalb habe ich {name} nicht ausgeführt."},
    "fr": {"nothing": "Il n'y avait rien à faire.", "missing": "Je n'ai pas trouvé {name}.",
           "paused": "Les automatisations sont en pause, je n'ai donc pas lancé {name}."},
}  # fmt: skip
MANAGED: Mapping[str, Mapping[str, str]] = {
    "en": {"allowed": "I can control {names} now.", "rename": "Renamed {old} to {name}; the old name still works.",
           "move": "Moved {name} to the {room}.", "matched": "That matches {n} devices ({names}); name just one."},
    "es": {"allowed": "Ya puedo controlar {names}.", "rename": "He renombrado {old} a {name}; el nombre antiguo "
           "sigue funcionando.", "move": "He movido {name} a {room}.",
           "matched": "Eso coincide con {n} dispositivos ({names}); nombra solo uno."},
    "de": {"allowed": "Ich kann {names} jetzt steuern.", "rename": "{old} heißt jetzt {name}; der alte Name "
           "funktioniert weiter.", "move": "{name} ist jetzt in {room}.",
           "matched": "Das passt auf {n} Geräte ({names}); nenne nur eins."},
    "fr": {"allowed": "Je peux maintenant contrôler {names}.", "rename": "J'ai renommé {old} en {name} ; l'ancien "
           "nom marche toujours.", "move": "J'ai déplacé {name} dans {room}.",
           "matched": "Cela correspond à {n} appareils ({names}) ; n'en nommez qu'un."},
}  # fmt: skip


def say_routine(outcome: RoutineOutcome, language: str) -> str:
    """ "Sleepy time: Turned off … Locked the Front Door." — each step's outcome, in the language."""
    language = lang(language)
    words = ROUTINE[language]
    if outcome.stopped == "paused":
        return words["paused"].format(name=outcome.name)
    if outcome.stopped == "limited":
        return say_refusal(outcome.why, language)
    parts = [
        say_results(step.results, step.change, language)
        for step in outcome.steps
        if any(r.status != "unsupported" for r in step.results)
    ]
    parts += [words["missing"].format(name=name) for name in outcome.missing]
    if isinstance(outcome.mode, ModeSet):  # the cameras' alert mode the routine switched
        parts.append(say_mode(outcome.mode, language))
    if outcome.mode_held is not None:
        parts.append(say_pending(outcome.mode_held, language))
    return f"{cap(outcome.name)}: {' '.join(parts) or words['nothing']}"


def say_allowed(allowed: Allowed, language: str) -> str:
    language = lang(language)
    return MANAGED[language]["allowed"].format(names=joined(allowed.names, language))


def say_managed(managed: Managed, language: str) -> str:
    """A rename or a move said back, or why nothing changed (more than one device matched)."""
    language = lang(language)
    words = MANAGED[language]
    if managed.matched or not managed.name:
        names = joined(managed.matched, language)
        return words["matched"].format(n=len(managed.matched), names=names)
    if managed.what == "rename":
        old = f"{managed.old} in the {managed.old_room}" if managed.old_room and language == "en" else managed.old
        return words["rename"].format(old=old, name=managed.name)
    return words["move"].format(name=managed.name, room=managed.room)
