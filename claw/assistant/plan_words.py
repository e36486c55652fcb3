"""A scheduled device command's words read once by the grammar into a plan the home runs directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from claw.assistant.home_understanding import SETTINGS, SIMPLE
from claw.assistant.understanding import Understanding, Understood
from claw.home.control import Change
from claw.home.plans import plan_for_devices

# Actions that change devices in a way a stored plan can repeat (questions, media searches and steps cannot).
PLANNED = frozenset(SIMPLE) | frozenset(SETTINGS)


def plan_of_words(understanding: Understanding, text: str, language: str | None = None) -> dict[str, Any] | None:
    """{"ids", "names", "change"} for one complete device command ("turn on the porch light"), else None.

    None for anything else: a question, a routine, an ambiguous target, or words the grammar does not read.
    """
    outcome = understanding.understand(text, language=language)
    if not isinstance(outcome, Understood) or not outcome.targets:
        return None
    if "delay_s" in outcome.values or "at" in outcome.values:
        return None  # "turn it off in 10 minutes" inside a schedule: two times, not one plan
    change = change_of(outcome)
    if change is None:
        return None
    names = {entity.id: entity.name for entity in understanding.vocabulary.entities}
    return plan_for_devices(list(outcome.targets), [names.get(i, i) for i in outcome.targets], change)


def grammar_plans(
    grammar: Callable[[], Awaitable[Understanding]],
) -> Callable[[str], Awaitable[dict[str, Any] | None]]:
    """The jobs' `interpret`: a stored command's words to a plan, with the home's current grammar."""

    async def interpret(text: str) -> dict[str, Any] | None:
        return plan_of_words(await grammar(), text)

    return interpret


def change_of(understood: Understood) -> Change | None:
    """The Change an understood command makes on each of its devices, or None if it is not a plain change."""
    if understood.action in SIMPLE:
        return SIMPLE[understood.action]
    if understood.action in SETTINGS:
        key, value_key = SETTINGS[understood.action]
        if value_key not in understood.values:
            return None
        return Change(values={key: understood.values[value_key]})
    return None
