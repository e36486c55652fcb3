"""The sentence grammar per language: Home Assistant's templates plus Claw's, and slot lists from the home."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from hassil import Intents, RangeSlotList, SlotList, TextSlotList, TextSlotValue, filter_intents
from hassil import string_matcher as hassil_matcher
from hassil.expression import TextChunk
from hassil.parse_expression import parse_sentence
from hassil.util import merge_dict, normalize_text
from home_assistant_intents import get_intents

from claw.skills.parse import NEEDED_SLOTS, NEEDED_WHY, template_references

from .vocabulary import Vocabulary

TEMPLATES = Path(__file__).with_name("templates")
# The slot lists filled from the home (slot_lists below), beside the templates' own.
HOME_LISTS = frozenset({"name", "area", "floor", "routine", "camera"})
log = logging.getLogger(__name__)

# Intents Claw acts on; timers, shopping lists, vacuums and the like go to the LLM instead.
HA_INTENTS = frozenset(
    {
        "HassTurnOn",
        "HassTurnOff",
        "HassLightSet",
        "HassSetPosition",
        "HassClimateSetTemperature",
        "HassClimateGetTemperature",
        "HassMediaPause",
        "HassMediaUnpause",
        "HassMediaNext",
        "HassMediaPrevious",
        "HassSetVolume",
        "HassSetVolumeRelative",
        "HassMediaPlayerMute",
        "HassMediaPlayerUnmute",
        "HassMediaSearchAndPlay",
        "HassGetState",
        "HassNevermind",
    }
)
CLAW_DOMAINS = frozenset(
    {"light", "switch", "fan", "media_player", "climate", "cover", "valve", "lock", "binary_sensor", "sensor"}
)

# The area the matcher pretends to be in, so "turn on the lights" (which Home Assistant only matches
# with a satellite's area) is recognised; resolve turns it into a question, never into a room.
NO_AREA = "<no area>"

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SUFFIXED = re.compile(r"([^\W\d_]+)\[([^\W\d_]+)\]")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")


@dataclass(frozen=True, slots=True)
class Grammar:
    """Parsed templates for one language and the words they use (for typo correction)."""

    language: str
    intents: Intents
    words: frozenset[str]


def _is_bare_name(sentence: str) -> bool:
    """True for templates that are just an optional article and {name}: a name alone is not a command."""
    previous = None
    while previous != sentence:
        previous, sentence = sentence, _BRACKETS.sub("", sentence)
    return sentence.strip() == "{name}"


def _template_words(data: dict[str, Any]) -> frozenset[str]:
    texts: list[str] = list(data.get("skip_words", []))
    texts.extend(str(rule) for rule in data.get("expansion_rules", {}).values())
    for intent in data.get("intents", {}).values():
        for block in intent.get("data", []):
            texts.extend(block.get("sentences", []))
    for spec in data.get("lists", {}).values():
        for value in spec.get("values", []):
            texts.append(value["in"] if isinstance(value, dict) else str(value))
    words = {word.lower() for text in texts for word in _WORD.findall(text)}
    # "degree[s]", "light[s]": the optional ending makes a word of its own
    words.update(f"{stem}{ending}".lower() for text in texts for stem, ending in _SUFFIXED.findall(text))
    # "cuánt(o|a)s", "(encendid|apagad)(o|a)[s]": words built inside one token, which the typo corrector must know
    words.update(w.lower() for text in texts for token in _IN_WORD.findall(text) for w in _spelled(token))
    return frozenset(words)


_IN_WORD = re.compile(  # letters with (alternatives) or [optional] endings inside one word
    r"(?<![\w)\]])(?=[^\s<>{}]*[(\[])[^\W\d_(\[]*"
    r"(?:(?:\([^()<>{}]+\)|\[[^\s()\[\]<>{}]+\])[^\W\d_(\[]*)+"
)
_PART = re.compile(r"\(([^()]+)\)|\[([^\[\]]+)\]|([^()\[\]]+)")
MAX_SPELLINGS = 64  # a token with more ways to be written is not a word the corrector needs


def _spelled(token: str) -> list[str]:
    """Every way one template token can be written: "cuánt(o|a)s" -> cuántos, cuántas; "da(lo| igual)" -> dalo, da."""
    out = [("", False)]  # (the word so far, whether a space ended it)
    for group, optional, literal in _PART.findall(token):
        choices = group.split("|") if group else [optional, ""] if optional else [literal]
        grown: list[tuple[str, bool]] = []
        for head, ended in out:
            for choice in choices if not ended else [""]:
                if choice[:1].isspace():
                    grown.append((head, True))
                elif any(c.isspace() for c in choice):
                    grown.append((head + choice.split()[0], True))
                else:
                    grown.append((head + choice, ended))
        out = list(dict.fromkeys(grown))
        if len(out) > MAX_SPELLINGS:
            return []
    return [w for w, _ in out if w and _WORD.fullmatch(w)]


@lru_cache(maxsize=16)
def load_grammar(language: str, extra: str = "") -> Grammar:
    """Home Assistant's and Claw's templates for a language (and skills' as JSON), parsed once (immutable)."""
    ha = get_intents(language)
    if ha is None:
        raise ValueError(f"home-assistant-intents has no sentences for language {language!r}")
    data: dict[str, Any] = copy.deepcopy(dict(ha))
    data["intents"] = {name: spec for name, spec in data["intents"].items() if name in HA_INTENTS}
    for spec in data["intents"].values():
        for block in spec["data"]:
            block["sentences"] = [s for s in block["sentences"] if not _is_bare_name(s)]
        spec["data"] = [block for block in spec["data"] if block["sentences"]]
    # Claw's own sentences: the home's (templates/<lang>.yaml), then each feature's (templates/<feature>/<lang>.yaml)
    for own in (TEMPLATES / f"{language}.yaml", *sorted(TEMPLATES.glob(f"*/{language}.yaml"))):
        if own.exists():
            merge_dict(data, yaml.safe_load(own.read_text(encoding="utf-8")))
    for intent, sentences in (json.loads(extra) if extra else {}).items():  # an owner's skill: more ways to say it
        usable = [s for s in sentences if _usable(intent, s, data)]
        if usable:
            data["intents"].setdefault(intent, {"data": []})["data"].append({"sentences": usable})
    data.pop("responses", None)
    intents = filter_intents(Intents.from_dict(data), domains=CLAW_DOMAINS)
    return Grammar(language=language, intents=intents, words=_template_words(data))


def template_problem(intent: str, sentence: str, lists: Collection[str], rules: Collection[str]) -> str:
    """Why a skill's template cannot join a grammar with these lists and rules ("" when it can)."""
    try:
        named, used = template_references(parse_sentence(sentence))
    except Exception as exc:  # hassil's parse errors
        return f"is not a sentence template: {exc}"
    needed = NEEDED_SLOTS.get(intent)
    if needed is not None and needed not in named:
        return NEEDED_WHY[needed]
    unknown = sorted({f"{{{n}}}" for n in named if n not in lists and n not in HOME_LISTS})
    unknown += sorted(f"<{r}>" for r in used if r not in rules)
    return f"names {', '.join(unknown)}, which the grammar does not have" if unknown else ""


def skill_template_problems(language: str, intents: Mapping[str, Sequence[str]]) -> list[tuple[str, str, str]]:
    """(intent, template, why) for each of a skill's templates that the language's grammar cannot take."""
    grammar = load_grammar(language)
    lists, rules = grammar.intents.slot_lists, grammar.intents.expansion_rules
    return [
        (intent, sentence, why)
        for intent, sentences in intents.items()
        for sentence in sentences
        if (why := template_problem(intent, sentence, lists, rules))
    ]


def _usable(intent: str, sentence: str, data: Mapping[str, Any]) -> bool:
    """A skill's template joins only if it can match: one that cannot is left out alone (hassil would
    otherwise fail every message on its missing list) and the skill's other templates keep working."""
    why = template_problem(intent, sentence, data.get("lists", {}), data.get("expansion_rules", {}))
    if why:
        log.warning("a skill's sentence template %r for %s is left out: it %s", sentence, intent, why)
    return not why


def _values(pairs: list[tuple[str, Any, dict[str, Any] | None]]) -> TextSlotList:
    values = [
        TextSlotValue(text_in=TextChunk(normalize_text(text.lower())), value_out=out, context=ctx)
        for text, out, ctx in pairs
        if text.strip()
    ]
    return TextSlotList(name=None, values=values)


def slot_lists(vocabulary: Vocabulary) -> dict[str, SlotList]:
    """The name, area, floor and routine lists; names carry their domain so templates can filter them."""
    # One value per (phrase, domain): the value is the phrase, so two devices sharing a name stay
    # two candidates that resolve can ask about, and the domain lets templates skip unfit names.
    seen: set[tuple[str, str]] = set()
    names: list[tuple[str, Any, dict[str, Any] | None]] = []
    for entity in vocabulary.entities:
        for phrase in entity.phrases:
            if (phrase.casefold(), entity.domain) not in seen:
                seen.add((phrase.casefold(), entity.domain))
                names.append((phrase, phrase.casefold(), {"domain": entity.domain}))
    areas: list[tuple[str, Any, dict[str, Any] | None]] = [
        (phrase, area.name, None) for area in vocabulary.areas for phrase in (area.name, *area.aliases)
    ]
    floors: list[tuple[str, Any, dict[str, Any] | None]] = [
        (phrase, floor.name, None) for floor in vocabulary.floors for phrase in (floor.name, *floor.aliases)
    ]
    routines: list[tuple[str, Any, dict[str, Any] | None]] = [
        (phrase, routine.name, None) for routine in vocabulary.routines for phrase in routine.phrases
    ]
    cameras: list[tuple[str, Any, dict[str, Any] | None]] = [
        (phrase, camera.name, None) for camera in vocabulary.cameras for phrase in camera.phrases
    ]
    lists: dict[str, SlotList] = {
        "name": _values(names),
        "area": _values(areas),
        "floor": _values(floors),
        "routine": _values(routines),
        "camera": _values(cameras),
    }
    assert lists.keys() == HOME_LISTS
    return lists


def vocabulary_words(vocabulary: Vocabulary) -> frozenset[str]:
    """Every word of every name, alias, room, floor and trigger, for typo correction."""
    phrases: list[str] = []
    for entity in vocabulary.entities:
        phrases.extend(entity.phrases)
    for area in vocabulary.areas:
        phrases.extend((area.name, *area.aliases))
    for floor in vocabulary.floors:
        phrases.extend((floor.name, *floor.aliases))
    for routine in vocabulary.routines:
        phrases.extend(routine.phrases)
    for camera in vocabulary.cameras:
        phrases.extend(camera.phrases)
    return frozenset(word.lower() for phrase in phrases for word in _WORD.findall(phrase))


def warm(intents: Intents, lists: dict[str, SlotList], language: str) -> None:
    """Do now the work hassil defers to the first message that needs it, so no message pays for it.

    That is: each template's required words, each text list's lookup index, and the number-word tries
    ("fifty", "zwanzig") for every number range. The tries live in a private hassil cache keyed exactly
    as hassil keys them; if a hassil release renames it, warming is skipped and hassil builds them lazily.
    """
    ranges: list[RangeSlotList] = []
    for intent in intents.intents.values():
        for data in intent.data:
            rules = {**intents.expansion_rules, **data.expansion_rules}
            for sentence in data.sentences:
                sentence.get_required_clauses(rules)
            for slot_list in {**intents.slot_lists, **lists, **data.slot_lists}.values():
                if isinstance(slot_list, TextSlotList):
                    slot_list.get_candidates("")
                elif isinstance(slot_list, RangeSlotList) and slot_list.words:
                    ranges.append(slot_list)
    cache = getattr(hassil_matcher, "_RANGE_TRIE_CACHE", None)
    build = getattr(hassil_matcher, "_build_range_trie", None)
    if cache is None or build is None:
        return
    for slot_list in ranges:
        words_language = slot_list.words_language or language
        settings = (slot_list.start, slot_list.stop, slot_list.step, slot_list.fraction_type)
        if settings not in cache[words_language]:
            cache[words_language][settings] = build(words_language, slot_list)
