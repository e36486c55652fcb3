"""Where things are: entities by phrase, room and floor, and the questions that narrow a group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping

from claw.home.places import Places, key

from .outcome import Ambiguous, Pending, Understood, frozen
from .vocabulary import Entity, Vocabulary
from .wording import ALL, all_or_room, which_device, which_one

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


class Home(Places[Entity]):
    """The home's one index (claw.home.places) over the vocabulary, plus the questions that narrow a group."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        rooms = {a.name: a.aliases for a in vocabulary.areas}
        floors = {a.name: a.floor for a in vocabulary.areas}
        super().__init__(vocabulary.entities, rooms, floors, phrases=lambda e: e.phrases)
        self.floor_aliases: dict[str, tuple[str, ...]] = {f.name: f.aliases for f in vocabulary.floors}

    def named(self, phrase: str, domain: str | None) -> list[Entity]:
        """Entities called phrase (name or alias), limited to a domain when one is given."""
        return self.called(phrase, None if domain is None else lambda e: e.domain == domain)

    def ask(self, found: list[Entity], noun: str, build: Callable[[tuple[str, ...]], Understood]) -> Ambiguous:
        """A question that narrows a group to a room (or to one device); every reply maps to an Understood."""
        everything = tuple(e.id for e in found)
        replies: dict[str, tuple[str, ...]] = dict.fromkeys(ALL_WORDS, everything)
        rooms: dict[str, list[str]] = defaultdict(list)
        for entity in found:
            rooms[self.room[entity.id]].append(entity.id)
        # Both kinds of reply work whatever the question said: a room or a device name.
        for room, ids in rooms.items():
            for phrase in (room, *self.area_aliases.get(room, ())):
                replies[key(phrase)] = tuple(ids)
        for entity in found:
            for phrase in self.keys[entity.id]:
                replies[phrase] = (entity.id,)
        example = build(everything)
        language = example.language
        if len(found) <= MAX_NAMED or len(rooms) <= 1:
            options = self.labels(found)
            for entity, label in zip(found, options, strict=True):
                replies[key(label)] = (entity.id,)  # the label itself answers: "Front Door (Hallway)"
            question = which_one(language, options)
        else:
            options = tuple(sorted(r for r in rooms if r))
            question = all_or_room(language, len(found), noun, options)
        choices = Choices(replies, build)
        pending = Pending(language=language, text=example.text, choices=choices)
        return Ambiguous(question=question, options=(ALL.get(language, "all"), *options), partial=pending)

    def ask_which(self, found: list[Entity], build: Callable[[tuple[str, ...]], Understood]) -> Ambiguous:
        """ "Turn it off" with nothing to refer to: ask which device; every device name is a reply, "all" is not."""
        replies: dict[str, tuple[str, ...]] = {}
        for entity in found:
            for phrase in self.keys[entity.id]:
                replies.setdefault(phrase, (entity.id,))
        rooms: dict[str, list[str]] = defaultdict(list)
        for entity in found:
            rooms[self.room[entity.id]].append(entity.id)
        for room, ids in rooms.items():  # a room answers only where it holds exactly one such device
            if len(ids) == 1:
                for phrase in (room, *self.area_aliases.get(room, ())):
                    replies.setdefault(key(phrase), tuple(ids))
        example = build((found[0].id,))
        options = self.labels(found)
        for entity, label in zip(found, options, strict=True):
            replies.setdefault(key(label), (entity.id,))
        question = which_device(example.language, options if len(found) <= MAX_NAMED else ())
        pending = Pending(language=example.language, text=example.text, choices=Choices(replies, build))
        return Ambiguous(question=question, options=options, partial=pending)


class Choices(Mapping[str, Understood]):
    """A question's accepted replies, each built into its command only when asked for.

    A house-wide question can accept thousands of replies (every room and device name), and
    most are never used; this keeps asking cheap. Read-only, like every outcome.
    """

    __slots__ = ("_build", "_replies")

    def __init__(self, replies: Mapping[str, tuple[str, ...]], build: Callable[[tuple[str, ...]], Understood]) -> None:
        self._replies = replies
        self._build = build

    def __getitem__(self, reply: str) -> Understood:
        return self._build(self._replies[reply])

    def __iter__(self) -> Iterator[str]:
        return iter(self._replies)

    def __len__(self) -> int:
        return len(self._replies)

    def __contains__(self, reply: object) -> bool:
        return reply in self._replies

    def mapped(self, change: Callable[[Understood], Understood]) -> Choices:
        """The same replies, each command passed through change (for example, given a delay)."""
        build = self._build
        return Choices(self._replies, lambda ids: change(build(ids)))


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
