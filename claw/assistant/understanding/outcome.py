"""What understanding a message produced: act on Understood, ask on Ambiguous, hand NotUnderstood to the LLM."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeAlias

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def frozen(values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy of values, so an outcome can be shared and cached safely."""
    return MappingProxyType(dict(values)) if values else _EMPTY


@dataclass(frozen=True, slots=True)
class Understood:
    """A complete, unambiguous command or question; the router may act on it without the model.

    intent: the Home Assistant intent name (HassTurnOn, ...) or a Claw one (ClawRunRoutine, ...).
    action: what to do, in Claw's words: turn_on, turn_off, open, close, lock, unlock, set_brightness,
    set_color, set_color_temp, set_position, set_temperature, set_volume, adjust_brightness,
    adjust_volume, adjust_temperature, adjust_color_temp, adjust_position, pause, resume, next, previous, mute, unmute,
    play, get_state, get_temperature, run_routine, help, greet, thanks, cancel.
    targets: entity ids, never broader than what was said; () means "no device" (routine, help) or,
    with values["target"] == "playing", "the speaker that is playing".
    values: action parameters (brightness, position, temperature, volume, *_step, state, query,
    delay_s, at) with plain JSON-able values.
    """

    intent: str
    action: str
    language: str
    targets: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    routine: str | None = None
    text: str = ""
    said: str = ""  # the message as the owner typed it (text is the grammar's lower-cased, corrected reading)
    free: tuple[str, ...] = ()  # the values that are free text (wildcards), to be given back as typed


@dataclass(frozen=True, slots=True)
class Pending:
    """A question's possible answers: every accepted reply (case-folded: "all", "kitchen", "lounge",
    "front door", "lights") mapped to the complete command it stands for.
    """

    language: str
    choices: Mapping[str, Understood]
    text: str = ""


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """The command is clear but its target is not; ask the question, finish with Understanding.follow_up."""

    question: str
    options: tuple[str, ...]
    partial: Pending


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    """Not a complete match: give the text to the LLM, with the closest known names as hints."""

    closest: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Compound:
    """Several commands in one message, each Understood, to run in order."""

    parts: tuple[Understood, ...]


Outcome: TypeAlias = Understood | Ambiguous | NotUnderstood | Compound
