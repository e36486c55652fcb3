"""Where each device is and what it is called: the one index every target is matched against.

The grammar (over its vocabulary's entities), the model's tools, routines, schedules and the dashboard (over the
registry's devices) all find things here: by name or alias, by room (and the room's aliases), by floor — a
device's floor is its room's —, by kind; and they tell same-named devices apart the same way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar


class Placed(Protocol):
    """Anything with a name in a room: a registry device, or the grammar's view of one."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...
    @property
    def room(self) -> str: ...
    @property
    def floor(self) -> str: ...


T = TypeVar("T", bound=Placed)


def key(text: str) -> str:
    """The comparison form of a phrase: case-folded, single-spaced."""
    return " ".join(text.casefold().split())


def room_floors(placed: Iterable[tuple[str, str]], declared: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each room's floor: as the owner declared it, else the floor most of its devices' hub gave them.

    placed holds (room, floor the device itself carries); a device's floor then follows its room, so the
    Bedroom Lamp is on the floor of the Bedroom even when only the Bedroom Fan (from Home Assistant) said so.
    """
    votes: dict[str, Counter[str]] = {}
    for room, floor in placed:
        if room and floor:
            votes.setdefault(room, Counter())[floor] += 1
    out = {room: counted.most_common(1)[0][0] for room, counted in votes.items()}
    out.update({room: floor for room, floor in (declared or {}).items() if floor})
    return out


class Places(Generic[T]):
    """Read-only indexes over one snapshot of the home's things; rebuilt when names, rooms or floors change."""

    def __init__(
        self,
        things: Sequence[T],
        rooms: Mapping[str, Sequence[str]] | None = None,
        floors: Mapping[str, str] | None = None,
        phrases: Callable[[T], Iterable[str]] | None = None,
    ) -> None:
        """rooms: each known room's other names ("lounge" for the Living Room); floors: the floor declared per room;
        phrases: every name a thing answers to (default: its name and aliases)."""
        said = phrases or (lambda t: (t.name, *t.aliases))
        self.entities: dict[str, T] = {t.id: t for t in things}
        self.by_phrase: dict[str, list[T]] = defaultdict(list)
        self.keys: dict[str, tuple[str, ...]] = {}  # id -> its phrases in comparison form
        for thing in things:
            self.keys[thing.id] = tuple(dict.fromkeys(key(p) for p in said(thing)))
            for phrase in self.keys[thing.id]:
                if thing not in self.by_phrase[phrase]:
                    self.by_phrase[phrase].append(thing)
        known: dict[str, Sequence[str]] = dict(rooms or {})
        for thing in things:
            if thing.room:
                known.setdefault(thing.room, ())
        self.area_names: dict[str, str] = {key(r): r for r in known}
        self.area_aliases: dict[str, tuple[str, ...]] = {r: tuple(a) for r, a in known.items()}
        self.room_phrases: dict[str, str] = {}  # any name of a room -> the room
        for room, aliases in known.items():
            for phrase in (room, *aliases):
                self.room_phrases.setdefault(key(phrase), room)
        self.room: dict[str, str] = {t.id: self.area_names.get(key(t.room), t.room) for t in things}
        self.area_floor = room_floors(((self.room[t.id], t.floor) for t in things), floors)
        self.floor: dict[str, str] = {t.id: self.area_floor.get(self.room[t.id]) or t.floor for t in things}
        self.in_room: dict[str, list[T]] = defaultdict(list)
        for thing in things:
            self.in_room[self.room[thing.id]].append(thing)

    def room_of(self, thing: T) -> str:
        """The thing's room by its canonical name (rooms are matched case-insensitively)."""
        room = self.room.get(thing.id)
        return room if room is not None else self.area_names.get(key(thing.room), thing.room)

    def floor_of(self, thing: T) -> str:
        """The thing's floor: its room's, else the one it carries."""
        floor = self.floor.get(thing.id)
        return floor if floor is not None else self.area_floor.get(self.room_of(thing)) or thing.floor

    def room_called(self, phrase: str) -> str | None:
        """The room a phrase names ("lounge" -> "Living Room"), or None."""
        return self.room_phrases.get(key(phrase))

    def called(self, phrase: str, fits: Callable[[T], bool] | None = None) -> list[T]:
        """Things called phrase (name or alias) that fit."""
        found = self.by_phrase.get(key(phrase), [])
        return [t for t in found if fits is None or fits(t)]

    def select(self, fits: Callable[[T], bool], area: str | None = None, floor: str | None = None) -> list[T]:
        """Things that fit, inside a room or on a floor when given, in index order."""
        pool = self.in_room.get(area, []) if area is not None else self.entities.values()
        return [t for t in pool if (floor is None or key(self.floor[t.id]) == key(floor)) and fits(t)]

    def labels(self, found: Sequence[T]) -> tuple[str, ...]:
        """Each thing's name; same-named ones with what tells them apart: the room, else the source, else the id."""
        by_name: dict[str, list[T]] = defaultdict(list)  # grouped once: a house-wide question has hundreds
        for thing in found:
            by_name[key(thing.name)].append(thing)
        out: list[str] = []
        for thing in found:
            twins = by_name[key(thing.name)]
            room, source = self.room_of(thing), source_of(thing)
            if len(twins) == 1:
                out.append(thing.name)
            elif room and sum(1 for t in twins if key(self.room_of(t)) == key(room)) == 1:
                out.append(f"{thing.name} ({room})")
            elif source and sum(1 for t in twins if source_of(t) == source) == 1:
                out.append(f"{thing.name} ({source})")
            else:
                out.append(f"{thing.name} ({thing.id})")
        return tuple(out)


def source_of(thing: Placed) -> str:
    """Where a thing comes from, as its id says ("mqtt:...", "hass:..."); "" when the id does not say."""
    head, sep, _ = thing.id.partition(":")
    return head if sep else ""
