"""Resolve "the kitchen lights" to devices: by name, alias, room, floor, kind — and never broaden."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from claw.core.errors import TargetNotFound
from claw.home.device import KIND_WORDS, Device
from claw.home.places import Places

_ARTICLES = re.compile(r"\b(the|my|our|a|an|all|every|of)\b")
# Kinds that guard the house: a room's or the house's power command ("turn off the kitchen", "everything on")
# never reaches them; they are locked, armed or opened only when named or asked for by kind.
GUARDING_KINDS = frozenset({"lock", "alarm", "garage_door", "gate"})


def norm(text: str) -> str:
    """Lower case, no articles or punctuation, single spaces: 'The Kitchen-Lights!' -> 'kitchen lights'."""
    text = re.sub(r"[^\w\s]", " ", text.lower().replace("'s", ""))
    return " ".join(_ARTICLES.sub(" ", text).split())


def kind_of(word: str) -> str | None:
    """'lights' -> 'light', 'blinds' -> 'shade'; None when the word names no kind."""
    word = norm(word)
    for kind, words in KIND_WORDS.items():
        if word == kind or word in words:
            return kind
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """What the owner pointed at; empty fields mean 'not said', never 'everything'."""

    name: str = ""
    room: str = ""
    floor: str = ""
    kind: str = ""
    everything: bool = False  # the owner said "all the lights" / "everything" explicitly

    def describe(self) -> str:
        parts = [self.name or "", self.kind.replace("_", " ") + "s" if self.kind and not self.name else ""]
        where = f" in the {self.room}" if self.room else (f" on the {self.floor}" if self.floor else "")
        text = " ".join(p for p in parts if p) or "devices"
        return f"the {text}{where}"


class Resolver:
    """Matches targets against the registry's names, aliases and rooms (room aliases included)."""

    def __init__(
        self,
        devices: Sequence[Device],
        room_aliases: Mapping[str, str] | None = None,
        floors: Mapping[str, str] | None = None,
    ) -> None:
        self.devices = [d for d in devices if not d.ignored]
        rooms: dict[str, list[str]] = {}
        for alias, room in (room_aliases or {}).items():
            rooms.setdefault(room, []).append(alias)
        for device in self.devices:  # the names a hub gave the room (Home Assistant's area aliases)
            for alias in device.info.get("area_aliases") or ():
                if isinstance(alias, str) and device.room:
                    rooms.setdefault(device.room, []).append(alias)
        self.places = Places(self.devices, rooms, floors)  # the same index the grammar matches against

    def floor_of(self, device: Device) -> str:
        """The device's floor: its room's, else the one it carries."""
        return self.places.floor_of(device)

    def rooms(self) -> dict[str, str]:
        """Normalised room name or alias -> the room's display name."""
        out: dict[str, str] = {}
        for phrase, room in self.places.room_phrases.items():
            out.setdefault(norm(phrase), room)
        return out

    def room(self, text: str) -> str:
        """The room called `text` (forgiving small typos), or TargetNotFound with suggestions."""
        rooms = self.rooms()
        key = norm(text)
        if key in rooms:
            return rooms[key]
        close = difflib.get_close_matches(key, list(rooms), n=3, cutoff=0.8)
        if len(close) == 1 or (close and difflib.SequenceMatcher(None, key, close[0]).ratio() > 0.9):
            return rooms[close[0]]
        suggestions = difflib.get_close_matches(key, list(rooms), n=3, cutoff=0.5) or sorted(set(rooms.values()))[:5]
        raise TargetNotFound(f"a room called '{text}'", [rooms.get(s, s) for s in suggestions])

    def resolve(self, target: Target, *, power: bool = False) -> list[Device]:
        """The devices the target names; an unknown name or room raises with close matches.

        power: the change switches things on or off, so a whole room or house leaves locks, alarms and
        garage doors alone (they are named, or asked for by kind, to be touched).
        """
        pool = self.devices
        if target.room:
            room = self.room(target.room)
            pool = [d for d in pool if self.places.room_of(d) == room]
        if target.floor:
            pool = [d for d in pool if norm(self.floor_of(d)) == norm(target.floor)]
        if power and not target.name and not target.kind:
            pool = [d for d in pool if d.kind not in GUARDING_KINDS]
        if target.name:
            return self._by_name(target, pool)
        if target.kind:
            pool = [d for d in pool if d.kind == target.kind]
            if not pool:
                where = f" in the {target.room}" if target.room else ""
                raise TargetNotFound(f"any {target.kind.replace('_', ' ')}{where}", self._kinds_here(target))
            return pool
        if target.room or target.floor or target.everything:
            return pool  # said out loud: "turn off the kitchen", "everything off"

        raise TargetNotFound("which device you mean", [])

    def _by_name(self, target: Target, pool: Sequence[Device]) -> list[Device]:
        key = norm(target.name)
        exact = [d for d in pool if key in {norm(d.name), *(norm(a) for a in d.aliases)}]
        if exact:
            return exact
        # "kitchen ceiling" may be the device "Ceiling" in the room "Kitchen"
        joined = [d for d in pool if key in (norm(f"{d.room} {d.name}"), norm(f"{d.name} {d.room}"))]
        if joined:
            return joined
        names = {norm(n): d for d in pool for n in (d.name, *d.aliases)}
        close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.85)
        if len(close) == 1:  # one near miss ("kitchn light"): forgiving, but only when unambiguous
            return [names[close[0]]]
        kind = kind_of(key)
        if kind and not target.kind:
            by_kind = [d for d in pool if d.kind == kind]
            if by_kind and target.room:
                return by_kind
        suggestions = difflib.get_close_matches(key, list(names), n=3, cutoff=0.5)
        where = f" in the {target.room}" if target.room else ""
        raise TargetNotFound(f"'{target.name}'{where}", [names[s].name for s in suggestions])

    def _kinds_here(self, target: Target) -> list[str]:
        pool = [d for d in self.devices if not target.room or norm(d.room) == norm(target.room)]
        return sorted({d.name for d in pool if d.kind == target.kind} or {d.kind for d in pool})[:5]


def names(devices: Iterable[Device]) -> str:
    items = [d.name for d in devices]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
