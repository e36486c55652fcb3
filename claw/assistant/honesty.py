"""A model's reply as the owner reads it: only what happened, no raw tool-call text, no recycled greeting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.llm import Answer
from claw.core.untrusted import clean_untrusted
from claw.home.device import KIND_WORDS

EMPTY = (
    "I couldn't come up with an answer to that: my model returned nothing usable, and I did not change anything. "
    'Try saying it another way, or as a command like "turn off the kitchen lights".'
)
STUCK = "My model got stuck repeating itself, so I stopped it."
SLOW = "My model ran out of time on that, so I stopped it."
NOTHING_DONE = "I did not change anything."
UNCHECKED = (
    'I did not check or change anything for that. Ask me directly, e.g. "is the front door locked?" or '
    '"turn off the kitchen lights".'
)

# Claims that something was done: only true when an acting tool ran in this turn.
_DID = re.compile(
    r"^\W*(turning|switching|locking|unlocking|opening|closing|dimming|arming|disarming)\b|"  # "Switching off the …"
    r"\b(done\b|i('ve| have)?\s+(now\s+)?(turned|switched|locked|unlocked|opened|closed|shut|set|dimmed|started|"
    r"stopped|armed|disarmed|activated|deactivated|run|ran|played|paused|raised|lowered)\b|(has|have) been (turned|"
    r"switched|locked|unlocked|opened|closed|set|armed|disarmed)|\bis now\b|\bare now\b)",
    re.IGNORECASE,
)
# Promises to act ("Yes, I can turn the lights off"): a turn that did not act must not sound as if it will.
_PROMISE = re.compile(
    r"\b(i can|i will|i'll|let me|i am going to|i'm going to)\s+(now\s+)?(turn|switch|lock|unlock|open|close|set|dim|"
    r"start|stop|arm|disarm|activate|deactivate|run|play|pause)\b",
    re.IGNORECASE,
)
# Statements of the house's state ("the front door is locked", "I can see the door open").
_STATE = re.compile(
    r"\b(is|are|was|were|looks|seems|appears)\s+(currently\s+|still\s+|now\s+)?(on|off|open|opened|closed|locked|"
    r"unlocked|playing|paused|armed|disarmed|running|dark|lit)\b|\bi can see\b|\breads\b|\bdegrees\b|°",
    re.IGNORECASE,
)
# A sentence is about the house when it names a device, a room or a kind of thing in it.
HOUSE_WORDS = frozenset(
    {w for words in KIND_WORDS.values() for w in words}
    | {"door", "doors", "window", "windows", "house", "home", "garage", "room", "it", "them", "everything"}
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_TAGGED = re.compile(r"<tool_call>.*?(</tool_call>|$)|```(?:json|tool_call)?\s*[\[{].*?(```|$)", re.S)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the turn's tools did and read: the only ground a reply's claims may stand on."""

    acted: bool = False  # an acting tool ran and did not fail
    read: bool = False  # the house's state was read (a tool, or live states in the prompt)
    results: tuple[str, ...] = ()  # what the acting tools said, in order (domain sentences)
    ran: bool = False  # some tool ran and did not fail


@dataclass(frozen=True, slots=True)
class Reading:
    """What Claw knows of one device now (the registry's state): a claim about it is checked against this."""

    name: str
    kind: str
    state: Mapping[str, Any]


# A claimed state word, and how to read the truth of it from a device's state: (key, value meaning the word).
_CLAIMS: dict[str, tuple[str, Any]] = {
    "on": ("on", True),
    "off": ("on", False),
    "locked": ("locked", True),
    "unlocked": ("locked", False),
}
_CLAIMED = re.compile(r"\b(is|are|'s)\s+(now\s+|currently\s+|still\s+)?(on|off|open|closed|locked|unlocked)\b", re.I)


def honest(
    answer: Answer,
    facts: Facts,
    *,
    earlier: Iterable[str] = (),
    names: Iterable[str] = (),
    known: Sequence[Reading] = (),
    asked: str = "",
) -> tuple[str, str]:
    """The reply to send and how it came about: "answered", "rewritten", "empty", "stuck" or "slow".

    `earlier`: Claw's earlier replies in the prompt (not to be recycled); `names`: the home's device and room
    names, which make a sentence a claim about the house; `known`: the devices' states now, against which a
    claim naming one is checked (a wrong one is replaced by the fact); `asked`: the owner's message as the
    model read it (with the live states Claw added), whose sentences echoed back are no answer.
    """
    house = HOUSE_WORDS | {_norm(n) for n in names if n}
    text = clean_untrusted(answer.content)
    text = _TAGGED.sub(" ", text).strip()
    if looks_like_call(text) or _data(text):
        text = ""  # a tool call written as text that could not be run, or a tool's JSON copied: never a reply
    if answer.finish in ("repetition", "time"):
        said = STUCK if answer.finish == "repetition" else SLOW
        return " ".join([said, *facts.results[:3]] if facts.results else [said, NOTHING_DONE]), (
            "stuck" if answer.finish == "repetition" else "slow"
        )
    original = text
    for said_before in {e.strip() for e in earlier if len(e.strip()) >= 24}:
        text = text.replace(said_before, " ")  # a copy of Claw's own earlier words (its greeting) is not news
    seen = {_norm(s) for e in earlier for s in _sentences(e) if len(_norm(s)) >= 24}
    kept: list[str] = []
    dropped = text != original
    heard = f" {_norm(asked)} "
    for sentence in _sentences(text):
        key = _norm(sentence)
        if len(key) >= 8 and f" {key} " in heard:
            continue  # the owner's own words (or Claw's live states) said back: a small model's non-answer
        if key in seen or looks_like_call(sentence):  # Claw's own earlier words (its greeting), or a raw call
            dropped = True
            continue
        about_house = _mentions(key, house)
        done = key.startswith("done") and not facts.ran
        if done or (not facts.acted and about_house and (_DID.search(sentence) or _PROMISE.search(sentence))):
            dropped = True
            continue
        truth = _checked(sentence, key, known)
        if truth is not None:  # a state claim Claw can check: kept when true, replaced by the fact when not
            dropped = dropped or truth != sentence
            kept.append(truth)
            continue
        if not (facts.read or facts.acted) and about_house and _STATE.search(sentence):
            dropped = True
            continue
        kept.append(sentence)
    reply = " ".join(kept).strip()  # its length is bounded where it is made: [llm] reply_tokens
    if answer.finish == "length" and reply:
        reply = f"{reply} (my answer was cut short)"
    if reply:
        return reply, "rewritten" if dropped else "answered"
    if facts.results:  # the domain's own words for what it did
        return " ".join(facts.results[:3]), "rewritten" if dropped else "answered"
    if dropped:
        return UNCHECKED, "rewritten"
    return EMPTY, "empty"


def _unfenced(text: str) -> str:
    """The text without a code fence around it (```json … ```)."""
    stripped = text.strip().strip("`").strip()
    return stripped[4:].strip() if stripped[:4].lower() == "json" else stripped


def _data(text: str) -> bool:
    """True for a whole answer that is a JSON object or list (a small model copies a tool's result as its reply)."""
    stripped = _unfenced(text)
    if stripped[:1] not in ("{", "["):
        return False
    try:
        return isinstance(json.loads(stripped), dict | list)
    except ValueError:
        return False


# A small model's canned refusal of an ordinary request ("I'm sorry, but I can't assist with that."): no answer.
_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|sorry|i apologi[sz]e)?[,.!]?\s*(but\s+)?i\s+"
    r"(can'?t|cannot|am unable to|am not able to|'m unable to|don'?t know how to)\s+(assist|help|do|comply)\b",
    re.IGNORECASE,
)


def refuses(text: str) -> bool:
    """True for a canned refusal that says nothing else (short: a refusal with reasons is an answer)."""
    return len(text) < 120 and bool(_REFUSAL.search(text))


def looks_like_call(text: str) -> bool:
    """True for text that is a tool call spelt out as JSON (`{"name": ..., "arguments": ...}` and kin)."""
    stripped = _unfenced(text)
    if not stripped or stripped[0] not in "[{":
        return False
    try:
        value = json.loads(stripped)
    except ValueError:
        return bool(re.search(r'"(name|function|tool|arguments|parameters)"\s*:', stripped))
    items = value if isinstance(value, list) else [value]
    return any(
        isinstance(i, dict) and i.keys() & {"name", "function", "tool", "arguments", "parameters"} for i in items
    )


def _checked(sentence: str, key: str, known: Sequence[Reading]) -> str | None:
    """The sentence if its state claim about a named device is true, the fact if not; None: nothing to check."""
    claimed = _CLAIMED.search(sentence)
    if claimed is None:
        return None
    word = claimed.group(3).lower()
    named = [r for r in known if f" {_norm(r.name)} " in f" {key} "]
    if len(named) != 1:
        return None
    reading = named[0]
    actual = _state_word(reading, word)
    if actual is None:
        return None
    return sentence if actual == word else f"The {reading.name} is {actual}."


def _state_word(reading: Reading, word: str) -> str | None:
    """The device's state in the claim's terms (on/off, open/closed, locked/unlocked), or None if unknown."""
    state = reading.state
    if word in ("open", "closed"):
        status, position = state.get("state"), state.get("position")
        if isinstance(status, str) and status in ("open", "closed", "opening", "closing"):
            return "open" if status in ("open", "opening") else "closed"
        if isinstance(position, int | float) and not isinstance(position, bool):
            return "open" if position > 0 else "closed"
        return None
    key, meaning = _CLAIMS[word]
    value = state.get(key)
    if not isinstance(value, bool):
        return None
    opposite = {"on": "off", "off": "on", "locked": "unlocked", "unlocked": "locked"}[word]
    return word if value == meaning else opposite


def _mentions(sentence: str, words: frozenset[str] | set[str]) -> bool:
    padded = f" {sentence} "
    return any(f" {w} " in padded for w in words)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _norm(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", sentence.lower()).split())


def results_of(calls: Sequence[tuple[str, str, str]], *, read: bool = False) -> Facts:
    """Facts from (tool name, effect, result) triples of one turn; a failed or held action is no ground for a
    claim, though what it said (a code to confirm) is still worth saying. `read`: live states were in the prompt."""
    said = [r for _, effect, r in calls if effect != "reads" and _status(r) != "error"]
    acted = [r for r in said if _status(r) == "ok"]
    read = read or any(effect == "reads" and _status(r) == "ok" for _, effect, r in calls)
    ran = any(_status(r) == "ok" for _, _, r in calls)
    return Facts(acted=bool(acted), read=read or bool(acted), results=tuple(_spoken(r) for r in said), ran=ran)


def _status(result: str) -> str:
    """ "error", "held" (waits for a code) or "ok"."""
    try:
        data = json.loads(result)
    except ValueError:
        return "ok"
    if isinstance(data, dict) and "error" in data:
        return "error"
    if isinstance(data, dict) and data.get("status") == "needs_confirmation":
        return "held"
    return "ok"


def _spoken(result: str) -> str:
    """A tool's result as a sentence for the owner (the domain's own words when it has them)."""
    try:
        data = json.loads(result)
    except ValueError:
        return result.strip()[:300]
    if isinstance(data, dict):
        for key in ("tell_the_owner", "message", "result"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    return result.strip()[:300]
