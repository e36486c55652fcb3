"""Speech: every typed outcome of the house, and every code waiting for an owner, said in the message's language.

The domain (claw.home, claw.core.safety) returns typed outcomes and never writes a sentence; the words live
here once per language (en, es, de, fr), device names stay as the owner named them.
"""

from __future__ import annotations

from claw.assistant.speech.cameras import say_camera
from claw.assistant.speech.failures import say_invalid, say_refusal
from claw.assistant.speech.pending import asked, say_pending
from claw.assistant.speech.results import say_cannot_step, say_nothing_playing, say_results
from claw.assistant.speech.routines import say_allowed, say_managed, say_routine
from claw.assistant.speech.schedules import say_no_jobs, say_scheduled
from claw.assistant.speech.states import answer_question, say_state, say_states, say_thermostat
from claw.assistant.speech.words import LANGUAGES, said_in, use_units
from claw.core.ratelimit import Refusal
from claw.eyes.outcomes import ModeSet, Muted, Unmuted, Watching
from claw.home.actions import Allowed, Managed, RoutineOutcome
from claw.home.control import Applied
from claw.jobs.agenda import Scheduled

__all__ = [
    "LANGUAGES",
    "answer_question",
    "asked",
    "said_in",
    "say_allowed",
    "say_camera",
    "say_cannot_step",
    "say_invalid",
    "say_managed",
    "say_no_jobs",
    "say_nothing_playing",
    "say_outcome",
    "say_pending",
    "say_refusal",
    "say_results",
    "say_routine",
    "say_scheduled",
    "say_state",
    "say_states",
    "say_thermostat",
    "use_units",
]


def say_outcome(outcome: object, language: str) -> str:
    """Any outcome the home returns, in words (the Guard's `speak`: a held action said when its code runs it)."""
    if isinstance(outcome, str):
        return outcome
    if isinstance(outcome, Applied):
        return say_results(outcome.results, outcome.change, language)
    if isinstance(outcome, RoutineOutcome):
        return say_routine(outcome, language)
    if isinstance(outcome, Allowed):
        return say_allowed(outcome, language)
    if isinstance(outcome, Managed):
        return say_managed(outcome, language)
    if isinstance(outcome, Scheduled):
        return say_scheduled(outcome, language)
    if isinstance(outcome, Refusal):
        return say_refusal(outcome, language)
    if isinstance(outcome, Muted | Unmuted | ModeSet | Watching):  # a camera command released by its code
        return say_camera(outcome, language)
    raise TypeError(f"no words for {type(outcome).__name__}")
