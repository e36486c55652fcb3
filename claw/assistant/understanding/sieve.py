"""Skip sentence templates that need a slot value the message cannot contain, before hassil tries them.

hassil already skips templates whose required literal words are missing, but it treats every
{list} as "anything", so "[<numeric_value_set>] [<the>] {area} [to] {brightness}" is tried on every
message. Here each template's required lists are worked out once (in the same conjunctive form hassil
uses for words), and a message only meets the templates whose lists it could fill. The test is
deliberately lenient, like hassil's: a list counts as present when every word of one of its values
occurs somewhere in the text, so a template is only dropped when it provably cannot match.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from hassil import Intents, SlotList, TextSlotList
from hassil.expression import Alternative, Expression, Group, ListReference, RuleReference, Sentence, TextChunk
from hassil.intents import Intent, IntentData
from hassil.util import PUNCTUATION_STR, fold_case, normalize_for_matching

Clauses = frozenset[frozenset[str]]
_PUNCTUATION = frozenset(PUNCTUATION_STR)
_MAX_DEPTH = 24
# Distinct sets of present lists seen so far; a home has few lists, so this stays small.
MAX_VIEWS = 256


def _words(text: str) -> frozenset[str]:
    """The folded words of a literal that any text matching it must contain (punctuation-free ones only)."""
    return frozenset(fold_case(piece) for piece in text.split() if _PUNCTUATION.isdisjoint(piece))


def _cnf(
    exp: Expression,
    rules: Mapping[str, Sentence],
    atom_of_list: Mapping[str, str],
    literal: bool,
    depth: int = 0,
) -> set[frozenset[str]]:
    """Required atoms in conjunctive normal form: each clause needs one of its atoms present.

    Atoms are folded words (literal=True, for slot values) or list keys (literal=False, for templates).
    """
    if depth > _MAX_DEPTH:
        return set()
    if isinstance(exp, TextChunk):
        return {frozenset((w,)) for w in _words(exp.text)} if literal else set()
    if isinstance(exp, ListReference):
        atom = atom_of_list.get(exp.list_name)
        return {frozenset((atom,))} if atom is not None and not literal else set()
    if isinstance(exp, Alternative):
        if exp.is_optional or not exp.items:
            return set()
        branches = [_cnf(item, rules, atom_of_list, literal, depth + 1) for item in exp.items]
        if any(not branch for branch in branches):
            return set()
        # One branch matches, so one atom of one branch's smallest clause is present.
        merged: set[str] = set()
        for branch in branches:
            smallest: frozenset[str] = min(branch, key=len)
            merged.update(smallest)
        return {frozenset(merged)}
    if isinstance(exp, Group):  # Sequence and Permutation: every item is required
        clauses: set[frozenset[str]] = set()
        for item in exp.items:
            clauses.update(_cnf(item, rules, atom_of_list, literal, depth + 1))
        return clauses
    if isinstance(exp, RuleReference) and exp.rule_name in rules:
        return _cnf(rules[exp.rule_name].expression, rules, atom_of_list, literal, depth + 1)
    return set()


def _satisfied(clauses: Clauses, present: frozenset[str] | set[str]) -> bool:
    return all(not clause.isdisjoint(present) for clause in clauses)


@dataclass(frozen=True, slots=True)
class _Value:
    """One slot value's required words, and the list it belongs to."""

    atom: str
    clauses: Clauses


class TemplateSieve:
    """The templates of one grammar that a message could match, judged by the slot lists it could fill."""

    def __init__(self, intents: Intents, slot_lists: Mapping[str, SlotList]) -> None:
        self.intents = intents
        self._atoms: dict[int, str] = {}  # id(SlotList) -> atom, one per distinct testable list
        self._lists: list[TextSlotList] = []
        self._always: set[str] = set()  # lists with a value that needs no word at all
        self._blocks: list[tuple[str, IntentData, list[tuple[Sentence, Clauses]]]] = []
        base = {**intents.slot_lists, **slot_lists}
        for intent in intents.intents.values():
            for data in intent.data:
                lists = {**base, **data.slot_lists}
                rules = {**intents.expansion_rules, **data.expansion_rules}
                atom_of_list = {name: self._atom(slot_list) for name, slot_list in lists.items()}
                testable = {name: atom for name, atom in atom_of_list.items() if atom is not None}
                sentences = [(s, frozenset(_cnf(s.expression, rules, testable, literal=False))) for s in data.sentences]
                self._blocks.append((intent.name, data, sentences))
        self._by_word: dict[str, list[_Value]] = {}
        for slot_list in self._lists:
            atom = self._atoms[id(slot_list)]
            for value in slot_list.values:
                clauses = frozenset(_cnf(value.text_in, {}, {}, literal=True))
                if not clauses:
                    self._always.add(atom)
                    break
                for word in _anchor(clauses):
                    self._by_word.setdefault(word, []).append(_Value(atom, clauses))
        self._longest = max(
            (len(w) for values in self._by_word.values() for v in values for c in v.clauses for w in c), default=0
        )
        self._views: OrderedDict[frozenset[str], Intents] = OrderedDict()

    def _atom(self, slot_list: SlotList) -> str | None:
        """A key for a text list (ranges and wildcards can hold anything, so they are never tested)."""
        if not isinstance(slot_list, TextSlotList):
            return None
        atom = self._atoms.get(id(slot_list))
        if atom is None:
            atom = f"list{len(self._lists)}"
            self._atoms[id(slot_list)] = atom
            self._lists.append(slot_list)
        return atom

    def present(self, text: str) -> frozenset[str]:
        """The lists with at least one value whose words all occur in text (as hassil will see it)."""
        haystack = fold_case(normalize_for_matching(text).text)
        found = set(self._always)
        words: set[str] = set()
        for piece in haystack.split():
            # a value word can hide inside a longer word ("living-room", "lamps"): try every substring
            for start in range(len(piece)):
                for end in range(start + 1, min(len(piece), start + self._longest) + 1):
                    words.add(piece[start:end])
        for word in words:
            for value in self._by_word.get(word, ()):
                if value.atom not in found and _satisfied(value.clauses, words):
                    found.add(value.atom)
        return frozenset(found)

    def intents_for(self, text: str) -> Intents:
        """The grammar without the templates that need a list text cannot fill; same order, same objects."""
        present = self.present(text)
        view = self._views.get(present)
        if view is None:
            view = self._view(present)
            self._views[present] = view
            if len(self._views) > MAX_VIEWS:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(present)
        return view

    def _view(self, present: frozenset[str]) -> Intents:
        intents: dict[str, Intent] = {}
        for name, data, sentences in self._blocks:
            kept = [s for s, clauses in sentences if _satisfied(clauses, present)]
            if kept:
                block = data if len(kept) == len(sentences) else _with_sentences(data, kept)
                intents.setdefault(name, Intent(name=name)).data.append(block)
        return replace(self.intents, intents=intents)

    def sizes(self, text: str) -> tuple[int, int]:
        """(templates kept for text, templates in the grammar), for benchmarks and tests."""
        view = self.intents_for(text)
        return _count(view.intents.values()), _count(self.intents.intents.values())


def _anchor(clauses: Clauses) -> frozenset[str]:
    """The clause to index a value under: fewest alternatives, then the longest (rarest) words."""
    return min(clauses, key=lambda clause: (len(clause), -min(len(word) for word in clause), sorted(clause)))


def _with_sentences(data: IntentData, sentences: list[Sentence]) -> IntentData:
    """A copy of a block holding only some of its parsed sentences (no re-parsing, same Sentence objects)."""
    copy = replace(data, sentence_texts=[s.text or "" for s in sentences])
    vars(copy)["sentences"] = sentences  # IntentData.sentences is a cached_property: fill its cache
    return copy


def _count(intents: Iterable[Intent]) -> int:
    return sum(len(data.sentences) for intent in intents for data in intent.data)
