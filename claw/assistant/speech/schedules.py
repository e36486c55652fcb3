"""A command or routine put off to later ("… in 10 minutes", "at 7"), told back in the message's language."""

from __future__ import annotations

from claw.assistant.jobs_speech import Speech
from claw.assistant.speech.words import lang
from claw.jobs.agenda import Scheduled

# What the job will do, in English as the owner said it; other languages use the jobs' own words (jobs_speech).
WILL = {"device": "I'll {text}", "routine": "I'll run {text}"}
NO_JOBS = {
    "en": "I can't schedule that here: the jobs are not running.",
    "es": "Aquí no puedo programar eso: las tareas programadas no están en marcha.",
    "de": "Das kann ich hier nicht einplanen: die geplanten Aufträge laufen nicht.",
    "fr": "Je ne peux pas programmer ça ici : les tâches programmées ne tournent pas.",
}


def say_scheduled(scheduled: Scheduled, language: str) -> str:
    """ "I'll turn off the porch light. Once, Mon 7 Dec 14:11 (in 10 minutes)." / "Lo haré: apaga la luz del porche.
    Una vez, lun 7 dic 14:11 (dentro de 10 minutos)." — what, then when (how often and when next)."""
    language = lang(language)
    job, action = scheduled.job, scheduled.job.action
    if language == "en":
        lead = WILL.get(action.kind, "I'll {text}").format(text=action.text)
        return f"{lead}. {scheduled.english}."
    say = Speech(language, scheduled.place.tz)
    lead = say.will_run(action.text) if action.kind == "routine" else say.will_do(action.text)
    return f"{lead}. {say.when(job, scheduled.upcoming, scheduled.now)}."


def say_no_jobs(language: str) -> str:
    """A later command where the scheduler is not running."""
    return NO_JOBS[lang(language)]
