"""A model's proposal checked against the owner's words before it acts: grounded target, no contradiction.

Small models propose well-formed actions on the wrong device, or the wrong action on the right one ("it is
way too dark in the study" -> turn off the desk lamp). Claw can tell some of these from the owner's own
words; those become a short question instead of an action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.understanding import Entity, Vocabulary
from claw.home.device import KIND_WORDS
from claw.home.targeting import kind_of, norm

# Tools whose arguments name a device target (name / room / kind) and what "on" means for each.
TARGETED = ("turn_on_off", "set_value", "media", "device_action")
EVERYTHING = re.compile(r"\b(all|every|everything|everywhere|whole (house|home|place))\b", re.IGNORECASE)
# "it"/"them" that point at something said before (not the "it" of "it is way too dark").
POINTING = re.compile(
    r"\b(turn|switch|set|dim|open|close|lock|unlock|make|put|leave|keep|start|stop)\s+(it|that|them|this|those|these)\b"
    r"|\b(it|that|them|those|these)\s+(on|off|up|down|back)\b|\b(same|again|as well)\b",
    re.IGNORECASE,
)

# Needs Claw can hear in words, and the power each one wants for a kind of device.
NEEDS: tuple[tuple[re.Pattern[str], Mapping[str, bool], str], ...] = (
    (
        re.compile(r"\b(too|so|very|really|bit|quite) dark\b|\bcan'?t see\b|\bcannot see\b|\bpitch black\b", re.I),
        {"light": True, "shade": True},
        "more light",
    ),
    (
        re.compile(r"\b(too|so|very|really) bright\b|\btoo much light\b|\bglare\b", re.I),
        {"light": False, "shade": False},
        "less light",
    ),
    (
        re.compile(r"\b(too|so|very|really) (cold|chilly)\b|\bfreezing\b", re.I),
        {"heater": True, "thermostat": True, "fan": False},
        "warmth",
    ),
    (
        re.compile(r"\b(too|so|very|really) (hot|warm|stuffy)\b|\bboiling\b|\bsweltering\b", re.I),
        {"heater": False, "fan": True},
        "cooler air",
    ),
    (
        re.compile(r"\b(too|so|very|really) (loud|noisy)\b", re.I),
        {"speaker": False},
        "quiet",
    ),
)
_SAID_OFF = re.compile(r"\b(turn|switch|shut|power)(\s+\w+){0,4}\s+off\b|\boff\b|\bclose\b|\bshut\b", re.I)
_SAID_ON = re.compile(r"\b(turn|switch|power)(\s+\w+){0,4}\s+on\b|\bopen\b", re.I)


@dataclass(frozen=True, slots=True)
class Verdict:
    """`question` empty: the proposal may go on (to the resolver, Guard and authority checks); else ask this."""

    question: str = ""
    why: str = ""  # "ungrounded" or "contradicts": for the logs and the figures

    @property
    def ok(self) -> bool:
        return not self.question


OK = Verdict()


def check(words: str, tool: str, arguments: Mapping[str, Any], home: Vocabulary) -> Verdict:
    """Whether the owner's `words` support running `tool` with `arguments` on this home."""
    if tool == "run_routine":
        return _routine(words, str(arguments.get("name") or ""), home)
    if tool not in TARGETED:
        return OK
    proposed = _targets(arguments, home)
    if not proposed:
        return OK  # names nothing Claw knows: the resolver answers with suggestions, nothing acts
    meant = mentioned(words, home)
    if meant is not None and not {e.id for e in proposed} <= {e.id for e in meant}:
        shown = _names(proposed)
        return Verdict(
            f"I'd rather ask than guess: did you mean {shown}? Say it with the name (for example "
            f'"{_command(tool, arguments, proposed)}") and I will.',
            "ungrounded",
        )
    power = arguments.get("on") if tool == "turn_on_off" else None
    if isinstance(power, bool):
        return _contradiction(words, power, proposed, tool, arguments)
    return OK


def mentioned(words: str, home: Vocabulary) -> list[Entity] | None:
    """The devices the words could mean; None when they point without naming ("it", "all"): anything goes."""
    said = f" {norm(words)} "
    if EVERYTHING.search(words) or POINTING.search(words):
        return None
    named = [e for e in home.entities if any(_in(n, said) for n in (e.name, *e.aliases))]
    rooms = {a.name for a in home.areas if any(_in(n, said) for n in (a.name, *a.aliases))}
    floors = {f.name for f in home.floors if any(_in(n, said) for n in (f.name, *f.aliases))}
    areas = {norm(a.name) for a in home.areas}
    longer = [e for e in named if norm(e.name) not in areas]  # a speaker called "Study" is the study, too
    for e in longer:  # "the bedroom lamp" names one lamp, not every lamp (nor, below, the whole bedroom)
        for n in (e.name, *e.aliases):
            said = said.replace(f" {norm(n)} ", "  ") if norm(n) else said
    rooms = {a.name for a in home.areas if a.name in rooms and any(_in(n, said) for n in (a.name, *a.aliases))}
    kinds = {kind for kind, spoken in KIND_WORDS.items() if any(_in(w, said) for w in (kind, *spoken))}
    kinds |= {e.kind for e in home.entities if e.device_class and _in(e.device_class, said)}
    found = list(named)
    if rooms or floors or kinds:
        found += [
            e
            for e in home.entities
            if (not rooms or e.room in rooms) and (not floors or e.floor in floors) and (not kinds or e.kind in kinds)
        ]
    return found


def _targets(arguments: Mapping[str, Any], home: Vocabulary) -> list[Entity]:
    """The entities a proposal points at, by the same name / room / kind fields the tools take."""
    name, room, kind = (str(arguments.get(k) or "") for k in ("name", "room", "kind"))
    if not (name or room or kind):
        return []
    pool = list(home.entities)
    if name:
        key = norm(name)
        pool = [e for e in pool if key in {norm(n) for n in (e.name, *e.aliases)}]
    if room:
        key = norm(room)
        areas = {a.name for a in home.areas if key in {norm(n) for n in (a.name, *a.aliases)}}
        pool = [e for e in pool if e.room in areas]
    if kind:
        wanted = kind_of(kind) or kind
        pool = [e for e in pool if e.kind == wanted]
    return pool


def _contradiction(
    words: str, power: bool, proposed: Sequence[Entity], tool: str, arguments: Mapping[str, Any]
) -> Verdict:
    for pattern, wants, need in NEEDS:
        if not pattern.search(words):
            continue
        against = [e for e in proposed if wants.get(e.kind) is not None and wants[e.kind] != power]
        if against:
            opposite = {**arguments, "on": not power}
            return Verdict(
                f"You asked for {need}, but that would turn {_names(against)} {'on' if power else 'off'}. "
                f'Did you mean "{_command(tool, opposite, against)}"?',
                "contradicts",
            )
    said_off, said_on = bool(_SAID_OFF.search(words)), bool(_SAID_ON.search(words))
    if said_on not in (said_off, power):
        opposite = {**arguments, "on": said_on}
        return Verdict(
            f"You said {'on' if said_on else 'off'}, so I did nothing yet. Did you mean "
            f'"{_command(tool, opposite, proposed)}"?',
            "contradicts",
        )
    return OK


def _routine(words: str, name: str, home: Vocabulary) -> Verdict:
    said = f" {norm(words)} "
    for routine in home.routines:
        if norm(routine.name) == norm(name):
            if any(_in(n, said) for n in (routine.name, *routine.triggers)) or "routine" in said or "scene" in said:
                return OK
            return Verdict(f'Shall I run the {routine.name} routine? Say "{routine.name}" and I will.', "ungrounded")
    return OK  # an unknown routine: the tool says so and lists them


def _in(phrase: str, said: str) -> bool:
    key = norm(phrase)
    return bool(key) and f" {key} " in said


def _names(entities: Sequence[Entity]) -> str:
    names = sorted({e.name for e in entities})
    if len(names) > 3:
        return f"{len(names)} devices ({', '.join(names[:3])}, …)"
    return " and ".join(f"the {n}" for n in names)


def _command(tool: str, arguments: Mapping[str, Any], entities: Sequence[Entity]) -> str:
    """The plain command for the proposal, which the fast path understands without the model."""
    target = entities[0].name if len(entities) == 1 else str(arguments.get("room") or arguments.get("name") or "")
    if tool == "turn_on_off":
        return f"turn {'on' if arguments.get('on') else 'off'} the {target}".strip()
    if tool == "set_value":
        return _setting(target, str(arguments.get("setting") or ""), arguments.get("value"))
    return f"{str(arguments.get('action') or tool).replace('_', ' ')} the {target}".strip()


def _setting(target: str, setting: str, value: Any) -> str:
    """A setting as a person says it: "unlock the Front Door", "set the Desk Lamp to 40%"."""
    if setting == "locked" and isinstance(value, bool):
        return f"{'lock' if value else 'unlock'} the {target}"
    if setting == "open" and isinstance(value, bool):
        return f"{'open' if value else 'close'} the {target}"
    if setting == "brightness":
        return f"set the {target} to {value}%"
    if setting in ("temperature", "target_temperature", "setpoint"):
        return f"set the {target} to {value} degrees"
    return f"set the {target} {setting.replace('_', ' ')} to {value}".strip()
