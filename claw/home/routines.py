"""Routines: named, described action lists with trigger phrases ("sleepy time"), run without the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from claw.home.control import Change
from claw.home.targeting import Target, kind_of, norm


@dataclass(frozen=True, slots=True)
class Step:
    target: Target
    change: Change
    note: str = ""


@dataclass(frozen=True, slots=True)
class Routine:
    name: str
    description: str
    triggers: tuple[str, ...]
    steps: tuple[Step, ...]
    source: str = ""  # the SKILL.md it came from
    sensitive: bool = False
    mode: str = ""  # the cameras' alert mode to switch to (home, away, night), if any

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "triggers": list(self.triggers),
            "steps": len(self.steps),
            "source": self.source,
        }


class RoutineError(ValueError):
    """A routine definition is wrong; `field` names where."""

    def __init__(self, field_: str, problem: str) -> None:
        self.field = field_
        super().__init__(f"{field_}: {problem}")


def parse_routine(data: Mapping[str, Any], source: str = "", where: str = "routine") -> Routine:
    """Build a routine from its skill-file form, naming the exact field on any mistake."""
    if not isinstance(data, Mapping):
        raise RoutineError(where, "must be a mapping with name, triggers and actions")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RoutineError(f"{where}.name", "is required")
    triggers = data.get("triggers", [name])
    if isinstance(triggers, str):
        triggers = [triggers]
    if not isinstance(triggers, list) or not all(isinstance(t, str) and t.strip() for t in triggers):
        raise RoutineError(f"{where}.triggers", "must be a list of phrases")
    unknown = set(data) - {"name", "description", "triggers", "actions", "sensitive", "mode"}
    if unknown:
        raise RoutineError(f"{where}.{sorted(unknown)[0]}", "unknown key")
    mode = str(data.get("mode", ""))
    if mode and mode not in ("home", "away", "night"):
        raise RoutineError(f"{where}.mode", f"must be home, away or night, not {mode!r}")
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        raise RoutineError(f"{where}.actions", "must be a non-empty list")
    steps = tuple(_step(a, f"{where}.actions[{i}]") for i, a in enumerate(actions))
    return Routine(
        name=name.strip(),
        description=str(data.get("description", "")).strip(),
        triggers=tuple(dict.fromkeys([name.strip(), *[t.strip() for t in triggers]])),
        steps=steps,
        source=source,
        sensitive=bool(data.get("sensitive", False)),
        mode=mode,
    )


def _step(data: Any, where: str) -> Step:
    if not isinstance(data, Mapping):
        raise RoutineError(where, "must be a mapping like {kind: light, set: {on: false}}")
    unknown = set(data) - {"kind", "room", "name", "floor", "set", "do", "power", "params", "note"}
    if unknown:
        raise RoutineError(f"{where}.{sorted(unknown)[0]}", "unknown key")
    kind = data.get("kind", "")
    if kind and kind_of(str(kind)) is None:
        raise RoutineError(f"{where}.kind", f"unknown kind {kind!r}")
    target = Target(
        name=str(data.get("name", "")),
        room=str(data.get("room", "")),
        floor=str(data.get("floor", "")),
        kind=kind_of(str(kind)) or "" if kind else "",
    )
    if not (target.name or target.room or target.kind or target.floor):
        raise RoutineError(where, "needs a target: name, room, floor or kind (never 'everything' by default)")
    values = data.get("set", {})
    if not isinstance(values, Mapping):
        raise RoutineError(f"{where}.set", "must be a mapping of capability to value")
    power = data.get("power")
    if power is not None and not isinstance(power, bool):
        power = str(power).lower() in ("on", "true", "open")
    action = str(data.get("do", ""))
    params = data.get("params", {})
    if not (values or action or power is not None):
        raise RoutineError(where, "needs set, do or power")
    return Step(
        target, Change(values=dict(values), action=action, params=dict(params), power=power), str(data.get("note", ""))
    )


@dataclass
class RoutineBook:
    """All routines by name; trigger phrases are matched forgivingly (small typos, punctuation)."""

    routines: dict[str, Routine] = field(default_factory=dict)

    def add(self, routine: Routine) -> None:
        self.routines[norm(routine.name)] = routine

    def replace(self, routines: Sequence[Routine]) -> None:
        """Make these the routines in force (a skill reload), keeping this book the one others hold."""
        self.routines.clear()
        for routine in routines:
            self.add(routine)

    def get(self, name: str) -> Routine | None:
        return self.routines.get(norm(name)) or self.match(name)

    def all(self) -> Sequence[Routine]:
        return list(self.routines.values())

    def match(self, text: str) -> Routine | None:
        """The routine whose trigger this whole message is (typos forgiven), if any."""
        said = norm(text)
        if not said or len(said) > 60:
            return None
        best: tuple[float, Routine | None] = (0.0, None)
        for routine in self.routines.values():
            for trigger in routine.triggers:
                score = _similar(said, norm(trigger))
                if score > best[0]:
                    best = (score, routine)
        return best[1] if best[0] >= 0.85 else None


def _similar(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if abs(len(a) - len(b)) > 3:
        return 0.0
    distance = _levenshtein(a, b)
    allowed = 1 if len(b) <= 6 else 2
    return 0.9 if distance <= allowed else 0.0


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
