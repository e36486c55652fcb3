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
from claw.home.capabilities import OPEN_CLOSE
from claw.home.device import KIND_WORDS
from claw.home.targeting import kind_of, norm

MAX_NAMED = 4  # devices a question names; more are counted
# Tools whose arguments name a device target (name / room / kind) and what "on" means for each.
TARGETED = ("turn_on_off", "set_value", "media", "device_action")
OWNER_TOOLS = ("add_owner", "remove_owner")  # who may talk to Claw: only people and numbers the owner wrote
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
# A level asked for ("down to twenty percent", "tone it down a bit", "dimmer"): a light's "off" is not what was meant.
_LEVEL = re.compile(
    r"\d\s*(%|percent)|\b(percent|dim|dimmer|darker|halfway|half way|a (little |tiny )?bit|slightly|tone (it )?down"
    r"|(down|up) to)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"(\d{1,3})\s*(%|percent)", re.IGNORECASE)
# Words that ask about the house rather than tell it ("is the desk lamp wasting power"): they change nothing.
# Requests phrased as questions ("can you …", "could you …", "do you mind …", "why don't you …") still act.
_ASKING = re.compile(
    r"^\s*(¿\s*)?(is|are|was|were|does|did|has|have|isn'?t|aren'?t|doesn'?t|didn'?t|hasn'?t|what|which|who|when|where"
    r"|how'?s|how is|how are|how does"
    r"|está|están|hay|ist|sind|läuft|gibt es|est-ce qu|y a-t-il)\b(?!\s+(you|u)\b)",
    re.IGNORECASE,
)
_SAID_OFF = re.compile(
    r"\b(turn|switch|shut|power)(\s+\w+){0,4}\s+off\b|\boff\b|\bclose\b|\bshut\b|\b(kill|douse|extinguish)\b"
    r"|\blights?\s+out\b",
    re.I,
)
_SAID_ON = re.compile(r"\b(turn|switch|power)(\s+\w+){0,4}\s+on\b|\bopen\b", re.I)


@dataclass(frozen=True, slots=True)
class Verdict:
    """`question` empty: the proposal may go on (to the resolver, Guard and authority checks); else ask this."""

    question: str = ""
    why: str = ""  # "ungrounded", "contradicts", "level" or "question": for the logs and the figures

    @property
    def ok(self) -> bool:
        return not self.question


OK = Verdict()


def check(words: str, tool: str, arguments: Mapping[str, Any], home: Vocabulary) -> Verdict:
    """Whether the owner's `words` support running `tool` with `arguments` on this home."""
    if tool == "run_routine":
        return _routine(words, str(arguments.get("name") or ""), home)
    if tool in OWNER_TOOLS and not _owner_said(words, arguments):
        return written(words, {}, home)  # a person or number the owner never wrote: asked, never held for a code
    if tool not in TARGETED:
        return OK
    proposed = targets(arguments, home)
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
    if asking(words):  # a question answered with an action is the worst kind of guess; nor is the action offered
        return Verdict("You asked a question, so I changed nothing.", "question")  # (it may come from injected text)
    power = arguments.get("on") if tool == "turn_on_off" else None
    if isinstance(power, bool):
        return _contradiction(words, power, proposed, tool, arguments)
    return OK


def settle(words: str, tool: str, arguments: Mapping[str, Any], home: Vocabulary) -> tuple[dict[str, Any], Verdict]:
    """The proposal with the target the owner's words support, or the question to ask instead.

    A small model fills every target field it is offered (the Desk Lamp, room "Living Room", kind "speaker"):
    fields that contradict each other are dropped, the most specific kept. A target the words do not support is
    replaced by the one device the words name that can do it; with several, which one is asked, by name. A pick
    among devices in several rooms that the words name only by kind ("switch off the lamp") is asked, too.
    """
    args = dict(arguments)
    if tool not in TARGETED:
        return args, check(words, tool, args, home)
    rest = {k: v for k, v in args.items() if k not in ("name", "room", "kind")}
    alternatives = _alternatives(args, home)
    said = _said(words, home)
    if said is None:  # "it", "all": the model's target stands, made consistent
        if alternatives:
            args = {**rest, **alternatives[0][0]}
        return args, check(words, tool, args, home)
    meant = {e.id for e in said.found}
    for fields, entities in alternatives:
        if {e.id for e in entities} <= meant:
            if len(_able(entities, tool, args)) < len(entities):
                break  # the speaker called "Living Room" for the room's lights: which device is asked
            one = entities[0] if len(entities) == 1 else None
            placed = said.narrowed or len({e.room for e in said.found}) <= 1
            if (one and _singled(one, words, said)) or (placed and said.specific):
                args = {**rest, **fields}
                return args, check(words, tool, args, home)
            break  # a pick among like devices in several rooms, by words that name only their kind
    candidates = _able(said.named, tool, args) or _closest(_able(said.found, tool, args), words, said.places)
    candidates = candidates or ([] if said.found else _able(_needed(words, home), tool, args))
    if len(candidates) == 1:
        args = {**rest, "name": candidates[0].name}
        return args, check(words, tool, args, home)
    if candidates:
        return args, Verdict(_which(tool, args, candidates), "ungrounded")
    if alternatives:  # the words support nothing that can do it: the model's target, made consistent, is asked
        args = {**rest, **alternatives[0][0]}
    return args, check(words, tool, args, home)


def ask(words: str, tool: str, arguments: Mapping[str, Any], home: Vocabulary) -> Verdict:
    """The question for a proposal Claw cannot carry out as said (no target, no value): the devices the words
    support, by name; a plain request for the name when they support none."""
    said = _said(words, home)
    named, found = (said.named, said.found) if said is not None else ([], [])
    places = said.places if said is not None else frozenset()
    candidates = _able(named, tool, arguments) or _closest(_able(found, tool, arguments), words, places)
    candidates = candidates or _able(_needed(words, home), tool, arguments)
    if candidates:
        return Verdict(_which(tool, arguments, candidates), "unusable")
    return Verdict("I'm not sure which device you mean: could you say it with its name?", "unnamed")


def asking(words: str) -> bool:
    """Words that ask about the house and tell it nothing to do ("is the spa warm yet")."""
    return bool(_ASKING.search(words)) and not _SAID_OFF.search(words) and not _SAID_ON.search(words)


def written(words: str, arguments: Mapping[str, Any], home: Vocabulary) -> Verdict:
    """The question for a call the model wrote to a tool that does not exist ("close_shades", "alarm_away"):
    never run; what its arguments and the owner's words agree on is offered as a command, else which device
    and what to do with it is asked (why "unnamed" when the words name no device)."""
    said = f" {norm(words)} "
    power = arguments.get("on")
    if isinstance(power, bool) and (_SAID_ON if power else _SAID_OFF).search(words):
        return ask(words, "turn_on_off", {"on": power}, home)
    settings = {f for e in home.entities for f in e.features} - {"on"}
    for key, value in arguments.items():
        if key in settings and _echoed(value, said):  # a value the owner said, not one copied from the state
            return ask(words, "set_value", {"setting": key, "value": value}, home)
    return ask(words, "device_action", {}, home)


def _owner_said(words: str, arguments: Mapping[str, Any]) -> bool:
    """Whether every person and number an owner change names is in the owner's words: a small model proposes
    "remove owner Desk Light" for "someone left the desk light on" and adds invented numbers for "let her in"."""
    digits, said = re.sub(r"\D", "", words), f" {norm(words)} "
    for key, value in arguments.items():
        if key in ("number", "telegram") and value:
            if re.sub(r"\D", "", str(value)) not in digits:
                return False
        elif key in ("name", "who") and value:
            text = norm(str(value))
            if not text or (f" {text} " not in said and not (text.isdigit() and text in digits)):
                return False
    return True


def _echoed(value: Any, said: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    if isinstance(value, int | float):
        return f" {value:g} " in said
    text = norm(value)
    return len(text) >= 3 and re.search(rf" {re.escape(text)}", said) is not None  # "cool" in "cooling"


@dataclass(frozen=True, slots=True)
class _Said:
    """What the owner's words name: devices by name, and every device they could mean."""

    found: list[Entity]
    named: list[Entity]
    narrowed: bool  # a room or floor was named
    specific: bool = False  # a kind of device was named, or a need stated: with a place, the model may pick
    places: frozenset[str] = frozenset()  # the words of every room and floor name in the home


def mentioned(words: str, home: Vocabulary) -> list[Entity] | None:
    """The devices the words could mean; None when they point without naming ("it", "all"): anything goes."""
    said = _said(words, home)
    return None if said is None else said.found


def _said(words: str, home: Vocabulary) -> _Said | None:
    said = f" {norm(words)} "
    if EVERYTHING.search(words):
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
    if POINTING.search(words) and not (named or rooms or floors or kinds):
        return None  # "turn it off": what "it" is was said before
    found = list(named)
    if rooms or floors or kinds:
        found += [
            e
            for e in home.entities
            if e not in named
            and (not rooms or e.room in rooms)
            and (not floors or e.floor in floors)
            and (not kinds or e.kind in kinds)
        ]
    need = any(pattern.search(words) for pattern, _, _ in NEEDS)
    names = [n for a in home.areas for n in (a.name, *a.aliases)] + [
        n for f in home.floors for n in (f.name, *f.aliases)
    ]
    places = frozenset(w for n in names for w in norm(n).split())
    return _Said(found, named, bool(rooms or floors), bool(kinds) or need, places)


def _closest(candidates: list[Entity], words: str, places: frozenset[str] = frozenset()) -> list[Entity]:
    """Those whose names share the owner's own words ("the ceiling light": the ceilings; "the lamp": the lamps),
    or all of them when none does."""
    spoken = set(norm(words).split())
    generic = {w for spoken_words in KIND_WORDS.values() for w in spoken_words}
    for ignore in (generic | places, set(places)):  # a room's name singles no device out
        near = [e for e in candidates if (_words(e) - ignore) & spoken]
        if near:
            return near
    return candidates


def _words(entity: Entity) -> set[str]:
    return {w for n in (entity.name, *entity.aliases) for w in norm(n).split()}


def _singled(entity: Entity, words: str, said: _Said) -> bool:
    """The words name this one: by name, or by a word of its name no other device they could mean has
    ("the desk light" for the Desk Lamp among the lights; not "the ceiling light" among three ceilings)."""
    if entity in said.named:
        return True
    spoken = set(norm(words).split())
    others = {w for e in said.found if e.id != entity.id for n in (e.name, *e.aliases) for w in norm(n).split()}
    own = _words(entity) - said.places  # "the Hallway Light" is not singled out by "in the hallway"
    return bool((own - others) & spoken)


def _alternatives(arguments: Mapping[str, Any], home: Vocabulary) -> list[tuple[dict[str, str], list[Entity]]]:
    """The proposal's target fields, then fewer of them (the name first), each with the devices it points at;
    a name that is a room's name is tried as the room. Only those that point at something."""
    name, room, kind = (str(arguments.get(k) or "") for k in ("name", "room", "kind"))
    tries: list[dict[str, str]] = [{"name": name, "room": room, "kind": kind}]
    tries += [{"name": name, "room": room}, {"name": name, "kind": kind}, {"name": name}]
    tries += [{"room": room, "kind": kind}, {"room": room}, {"kind": kind}]
    if name and any(norm(name) in {norm(n) for n in (a.name, *a.aliases)} for a in home.areas):
        tries += [{"room": name, "kind": kind}, {"room": name}]
    out: list[tuple[dict[str, str], list[Entity]]] = []
    for given in tries:
        fields = {k: v for k, v in given.items() if v}
        if fields and fields not in [f for f, _ in out] and (entities := targets(fields, home)):
            out.append((fields, entities))
    return out


def _able(entities: Sequence[Entity], tool: str, arguments: Mapping[str, Any]) -> list[Entity]:
    """Those of `entities` the tool can act on (a power switch, the setting asked for, a speaker)."""
    if tool == "turn_on_off":
        return [e for e in entities if "on" in e.features or e.kind in OPEN_CLOSE]
    if tool == "set_value":
        setting = str(arguments.get("setting") or "")
        return [e for e in entities if (setting in e.features if setting else e.kind not in ("sensor", "camera"))]
    if tool == "media":
        return [e for e in entities if e.kind == "speaker"]
    return [e for e in entities if e.kind not in ("sensor", "camera")]


def _needed(words: str, home: Vocabulary) -> list[Entity]:
    """The devices that serve a need the words state ("too dark": lights and shades), where no device is named."""
    kinds = {kind for pattern, wants, _ in NEEDS if pattern.search(words) for kind in wants}
    return [e for e in home.entities if e.kind in kinds]


def _which(tool: str, arguments: Mapping[str, Any], candidates: Sequence[Entity]) -> str:
    """ "Which one should I turn off: the Bedroom Lamp or the Desk Lamp?" (a few names at most)."""
    names = sorted({e.name for e in candidates})
    shown = [f"the {n}" for n in names[:MAX_NAMED]]
    listed = ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else shown[0]
    more = f" (or another of {len(names)})" if len(names) > MAX_NAMED else ""
    if len(names) == 1:
        if _verb(tool, arguments) == "change":
            return f"I'd rather ask than guess: what should I do with the {names[0]}?"
        return f'I\'d rather ask than guess: did you mean "{_command(tool, arguments, candidates)}"?'
    return f"I'd rather ask than guess: which one should I {_verb(tool, arguments)}: {listed}{more}?"


def _verb(tool: str, arguments: Mapping[str, Any]) -> str:
    if tool == "turn_on_off" and isinstance(arguments.get("on"), bool):
        return "turn on" if arguments["on"] else "turn off"
    if tool == "set_value" and arguments.get("setting") and arguments.get("value") not in (None, ""):
        return f"set ({str(arguments['setting']).replace('_', ' ')} {arguments['value']})"
    return "change"


def targets(arguments: Mapping[str, Any], home: Vocabulary) -> list[Entity]:
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
    lights = [e for e in proposed if e.kind == "light"]
    said = _PERCENT.search(words)
    zero = said is not None and not int(said[1])  # "down to 0 %" is off
    if not power and lights and _LEVEL.search(words) and not _SAID_OFF.search(words) and not zero:
        first = lights[0].name
        if said:
            wanted = _setting(first, "brightness", int(said.group(1)))
            return Verdict(f'You asked for a level, not off, so I did nothing yet. Did you mean "{wanted}"?', "level")
        return Verdict(
            f"You asked for a level, not off, so I did nothing yet. How bright should {_names(lights)} be "
            f'(for example "{_setting(first, "brightness", 30)}")?',
            "level",
        )
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
    for routine in home.routines:  # by its name or a trigger phrase: the tool runs it by either
        if norm(name) in {norm(n) for n in routine.phrases}:
            if any(_in(n, said) for n in routine.phrases) or "routine" in said or "scene" in said:
                return OK
            return ask(words, "device_action", {}, home)  # the words name no routine: what do they name?
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


def command(tool: str, arguments: Mapping[str, Any], target: str) -> str:
    """The plain command for a proposal on one device, as a person says it ("set the Thermostat to 18 degrees")."""
    value = arguments.get("value")
    shown = {**arguments, "value": int(value) if isinstance(value, float) and value.is_integer() else value}
    if tool == "set_value":
        return _setting(target, str(shown.get("setting") or ""), shown.get("value"))
    return _command(tool, shown, [])


def _setting(target: str, setting: str, value: Any) -> str:
    """A setting as a person says it: "unlock the Front Door", "set the Desk Lamp to 40%"."""
    if setting == "locked" and isinstance(value, bool):
        return f"{'lock' if value else 'unlock'} the {target}"
    if setting == "open" and isinstance(value, bool):
        return f"{'open' if value else 'close'} the {target}"
    if setting == "brightness":
        return f"set the {target} to {value}%"
    if setting in ("temperature", "target_temperature", "target_temp", "setpoint"):
        return f"set the {target} to {value} degrees"
    return f"set the {target} {setting.replace('_', ' ')} to {value}".strip()
