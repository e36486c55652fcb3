"""Where things are: entities by phrase, room and floor, and the questions that narrow a group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from .outcome import Ambiguous, Pending, Understood, frozen
from .vocabulary import Entity, Vocabulary

# Replies that pick the whole set offered in a question, in the languages Claw ships.
ALL_WORDS = (
    "all",
    "both",
    "everything",
    "everywhere",
    "all of them",
    "every",
    "whole house",
    "the whole house",
    "todo",
    "todos",
    "todas",
    "todo la casa",
    "alle",
    "überall",
    "beide",
    "tout",
    "tous",
    "toutes",
    "partout",
)


# Up to this many candidates, a question names them; beyond it, it offers rooms.
MAX_NAMED = 4


def key(text: str) -> str:
    """The comparison form of a phrase: case-folded, single-spaced."""
    return " ".join(text.casefold().split())


class Home:
    """Read-only indexes over a Vocabulary, built once per Understanding."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.entities: dict[str, Entity] = {e.id: e for e in vocabulary.entities}
        self.by_phrase: dict[str, list[Entity]] = defaultdict(list)
        for entity in vocabulary.entities:
            for phrase in entity.phrases:
                if entity not in self.by_phrase[key(phrase)]:
                    self.by_phrase[key(phrase)].append(entity)
        self.area_names: dict[str, str] = {key(a.name): a.name for a in vocabulary.areas}
        self.area_aliases: dict[str, tuple[str, ...]] = {a.name: a.aliases for a in vocabulary.areas}
        self.area_floor: dict[str, str] = {a.name: a.floor for a in vocabulary.areas}
        self.floor_aliases: dict[str, tuple[str, ...]] = {f.name: f.aliases for f in vocabulary.floors}

    def room_of(self, entity: Entity) -> str:
        """The entity's area by its canonical name (rooms are matched case-insensitively)."""
        return self.area_names.get(key(entity.room), entity.room)

    def floor_of(self, entity: Entity) -> str:
        """The entity's floor, from the entity or else from its area."""
        return entity.floor or self.area_floor.get(self.room_of(entity), "")

    def named(self, phrase: str, domain: str | None) -> list[Entity]:
        """Entities called phrase (name or alias), limited to a domain when one is given."""
        found = self.by_phrase.get(key(phrase), [])
        return [e for e in found if domain is None or e.domain == domain]

    def select(self, fits: Callable[[Entity], bool], area: str | None = None, floor: str | None = None) -> list[Entity]:
        """Entities that fit, inside an area or floor when given, in vocabulary order."""
        return [
            e
            for e in self.entities.values()
            if fits(e) and (area is None or self.room_of(e) == area) and (floor is None or self.floor_of(e) == floor)
        ]

    def ask(self, found: list[Entity], noun: str, build: Callable[[tuple[str, ...]], Understood]) -> Ambiguous:
        """A question that narrows a group to a room (or to one device); every reply maps to an Understood."""
        choices: dict[str, Understood] = {}
        everything = build(tuple(e.id for e in found))
        for word in ALL_WORDS:
            choices[word] = everything
        rooms: dict[str, list[str]] = defaultdict(list)
        for entity in found:
            rooms[self.room_of(entity)].append(entity.id)
        # Both kinds of reply work whatever the question said: a room or a device name.
        for room, ids in rooms.items():
            for phrase in (room, *self.area_aliases.get(room, ())):
                choices[key(phrase)] = build(tuple(ids))
        for entity in found:
            for phrase in entity.phrases:
                choices[key(phrase)] = build((entity.id,))
        if len(found) <= MAX_NAMED or len(rooms) <= 1:
            options = tuple(e.name for e in found)
            question = f"Which one: {_spoken(options, 'or')}?"
        else:
            options = tuple(sorted(r for r in rooms if r))
            question = f"All {len(found)} {noun}, or which room ({_spoken(options, 'or')})?"
        return Ambiguous(question=question, options=("all", *options), partial=_pending(everything, choices))


def _spoken(items: Iterable[str], last: str) -> str:
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return f"{', '.join(listed[:-1])} {last} {listed[-1]}"


def _pending(example: Understood, choices: Mapping[str, Understood]) -> Pending:
    return Pending(language=example.language, text=example.text, choices=frozen(choices))


def ask_between(question: str, options: Mapping[str, Understood], aliases: Mapping[str, str]) -> Ambiguous:
    """A question offering a few labelled readings; aliases map extra reply words to a label."""
    choices = {key(label): outcome for label, outcome in options.items()}
    for word, label in aliases.items():
        if label in options:
            choices[key(word)] = options[label]
    example = next(iter(options.values()))
    return Ambiguous(question=question, options=tuple(options), partial=_pending(example, choices))
