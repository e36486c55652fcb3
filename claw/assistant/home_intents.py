"""The deterministic matcher: plain commands understood in microseconds, with no model at all."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

from claw.assistant.politeness import without_politeness
from claw.home.control import Change
from claw.home.routines import Routine, RoutineBook
from claw.home.targeting import Target, kind_of, norm

IntentKind = Literal["routine", "change", "query", "allow", "rename", "move"]


@dataclass(frozen=True, slots=True)
class Intent:
    kind: IntentKind
    target: Target = field(default_factory=Target)
    change: Change = field(default_factory=Change)
    routine: Routine | None = None
    query: str = ""  # for queries: the state key asked about ("on", "state", "playing", "temperature")
    value: str = ""  # new name or room


_POWER_A = re.compile(r"^(?:turn|switch|shut|put)\s+(on|off)\s+(.+)$")
_POWER_B = re.compile(r"^(?:turn|switch|shut|put)\s+(.+?)\s+(on|off)$")
_POWER_C = re.compile(r"^(.+?)\s+(on|off)$")
_SET = re.compile(
    r"^(?:set|dim|change|put|make|turn)\s+(.+?)\s+(?:to|at)\s+(-?\d+(?:\.\d+)?)\s*(%|percent|°c?|degrees?|c)?$"
)
_VOLUME = re.compile(r"^(?:set\s+)?(?:the\s+)?volume\s+(?:to\s+)?(\d+)\s*%?(?:\s+(?:in|on)\s+(.+))?$")
_OPEN = re.compile(r"^(open|close|shut|raise|lower)\s+(.+)$")
_LOCK = re.compile(r"^(lock|unlock)\s+(.+)$")
_ARM = re.compile(r"^(arm|disarm)(?:\s+(.+?))?(?:\s+(?:for|in|to)\s+(home|away|night)(?:\s+mode)?)?$")
_PLAY = re.compile(r"^(?:play|put on)\s+(.+?)(?:\s+(?:in|on)\s+(?:the\s+)?(.+))?$")
_PAUSE = re.compile(
    r"^(pause|stop|resume|unpause)(?:\s+(?:the\s+)?(?:music|song|track|playback|speakers?))?"
    r"(?:\s+(?:in|on)\s+(.+))?$"
)
_NEXT = re.compile(r"^(next|skip|previous)(?:\s+(?:song|track))?(?:\s+(?:in|on)\s+(.+))?$")
_IS = re.compile(r"^(?:is|are)\s+(.+?)\s+(on|off|open|closed|locked|unlocked|armed|disarmed|playing)$")
_WHAT_PLAYING = re.compile(r"^what(?:'s| is)\s+playing(?:\s+(?:in|on)\s+(.+))?$")
_TEMP = re.compile(r"^what(?:'s| is)\s+the\s+temperature(?:\s+(?:in|on)\s+(.+))?$")
_ALLOW = re.compile(r"^(?:allow|approve|trust)\s+(.+)$")
_RENAME = re.compile(r"^(?:rename|call)\s+(.+?)\s+(?:to|as)\s+(.+)$")
_MOVE = re.compile(r"^(?:move|put)\s+(.+?)\s+(?:to|in|into)\s+(?:the\s+)?(.+?)(?:\s+room)?$")
_IN_ROOM = re.compile(r"^(.+?)\s+(?:in|on)\s+(?:the\s+)?(.+)$")


class Matcher:
    """Parses a message against the home's rooms, names and routines; None means 'ask the model'."""

    def __init__(self, routines: RoutineBook, rooms: dict[str, str], names: set[str]) -> None:
        self.routines = routines
        self.rooms = rooms  # normalised room name or alias -> room
        self.names = names  # normalised device names and aliases

    def match(self, text: str) -> Intent | None:
        said = _clean(text)
        if not said or len(said) > 120:
            return None
        routine = self.routines.match(said)
        if routine is not None:
            return Intent("routine", routine=routine)
        return self._command(said)

    def _command(self, s: str) -> Intent | None:
        if m := _VOLUME.match(s):
            return Intent(
                "change",
                self.target(m.group(2) or "", default_kind="speaker"),
                Change(values={"volume": int(m.group(1))}),
            )
        if m := _SET.match(s):
            target = self.target(m.group(1))
            value = float(m.group(2))
            unit = m.group(3) or ""
            unit = "°" if unit.startswith(("°", "degree", "c")) else ("%" if unit else "")
            level = int(value) if value.is_integer() else value
            return Intent("change", target, Change(level=level, unit=unit))
        if m := _POWER_A.match(s) or _POWER_B.match(s):
            on_off, phrase = (m.group(1), m.group(2)) if m.re is _POWER_A else (m.group(2), m.group(1))
            return Intent("change", self.target(phrase), Change(power=on_off == "on"))
        if m := _LOCK.match(s):
            return Intent(
                "change", self.target(m.group(2), default_kind="lock"), Change(values={"locked": m.group(1) == "lock"})
            )
        if m := _ARM.match(s):
            mode = "disarmed" if m.group(1) == "disarm" else (m.group(3) or "away")
            return Intent(
                "change", self.target(m.group(2) or "alarm", default_kind="alarm"), Change(values={"mode": mode})
            )
        if m := _OPEN.match(s):
            opening = m.group(1) in ("open", "raise")
            return Intent("change", self.target(m.group(2)), Change(power=opening))
        if m := _PAUSE.match(s):
            action = "play" if m.group(1) in ("resume", "unpause") else "pause"
            return Intent("change", self.target(m.group(2) or "", default_kind="speaker"), Change(action=action))
        if m := _NEXT.match(s):
            action = "previous" if m.group(1) == "previous" else "next"
            return Intent("change", self.target(m.group(2) or "", default_kind="speaker"), Change(action=action))
        if m := _PLAY.match(s):
            what, where = m.group(1), m.group(2) or ""
            if where and norm(where) not in self.rooms and norm(where) not in self.names:
                return None  # "play something for a dinner party": the model is better at that
            action = "play_uri" if what.startswith(("http://", "https://", "x-")) else "play_favorite"
            params = {"uri": what} if action == "play_uri" else {"query": what}
            return Intent("change", self.target(where, default_kind="speaker"), Change(action=action, params=params))
        if m := _IS.match(s):
            return Intent("query", self.target(m.group(1)), query=m.group(2))
        if m := _WHAT_PLAYING.match(s):
            return Intent("query", self.target(m.group(1) or "", default_kind="speaker"), query="playing")
        if m := _TEMP.match(s):
            return Intent("query", self.target(m.group(1) or "", default_kind="thermostat"), query="temperature")
        if m := _ALLOW.match(s):
            return Intent("allow", Target(name=m.group(1)))
        if m := _RENAME.match(s):
            return Intent("rename", self.target(m.group(1)), value=m.group(2).strip())
        if (m := _MOVE.match(s)) and kind_of(m.group(2)) is None:
            return Intent("move", self.target(m.group(1)), value=m.group(2).strip().title())
        if m := _POWER_C.match(s):
            phrase = m.group(1)
            if self._known_phrase(phrase):  # "kitchen lights off", but not "hands off"
                return Intent("change", self.target(phrase), Change(power=m.group(2) == "on"))
        return None

    def _known_phrase(self, phrase: str) -> bool:
        key = norm(phrase)
        if key in self.names or key in self.rooms or kind_of(key):
            return True
        return any(key.startswith(room + " ") and kind_of(key[len(room) + 1 :]) for room in self.rooms)

    def target(self, phrase: str, default_kind: str = "") -> Target:
        """'the kitchen lights' -> room Kitchen, kind light; an unknown phrase stays a name (never broadened)."""
        text = norm(phrase)
        everything = bool(re.search(r"\b(all|every|everything)\b", phrase.lower()))
        text = re.sub(r"\b(everything|everywhere|music|song)\b", "", text).strip()
        room = ""
        if (m := _IN_ROOM.match(text)) and norm(m.group(2)) in self.rooms:
            text, room = m.group(1), self.rooms[norm(m.group(2))]
        if text in self.names:
            return Target(name=text, room=room)
        if not room:
            for key in sorted(self.rooms, key=len, reverse=True):
                if text == key or text.startswith(key + " ") or text.endswith(" " + key):
                    room = self.rooms[key]
                    text = text.removeprefix(key).removesuffix(key).strip()
                    break
        if not room and text not in self.names and " " in text:
            # "kitchn lights": a one-letter slip in the room, with a kind after it
            first, rest = text.split(" ", 1)
            close = difflib.get_close_matches(first, [r for r in self.rooms if " " not in r], n=1, cutoff=0.8)
            if close and kind_of(rest):
                room, text = self.rooms[close[0]], rest
        if not text:
            return Target(room=room, kind=default_kind, everything=everything)
        if text in self.names:
            return Target(name=text, room=room)
        kind = kind_of(text)
        if kind:
            return Target(room=room, kind=kind, everything=everything)
        return Target(name=text, room=room, everything=everything)


def _clean(text: str) -> str:
    s = text.strip().lower().rstrip("?.!")
    s = s.replace("’", "'")
    for _ in range(2):
        s = without_politeness(s)
    return " ".join(s.split())
