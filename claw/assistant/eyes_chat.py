"""The cameras' fast path: "what happened while I was out?", "show me the last delivery", mute, modes, watches."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from claw.assistant.eyes_digest import bunches
from claw.assistant.politeness import without_politeness
from claw.assistant.router import Answer
from claw.core.bus import Inbound
from claw.core.errors import ClawError, NeedsConfirmation
from claw.core.request import Request
from claw.core.store.events import EventRecord
from claw.eyes.alerts import clock, moment
from claw.eyes.description import camera_phrase

if TYPE_CHECKING:
    from claw.eyes.sight import Eyes

PICTURES = 4  # at most this many pictures with "what happened", one per camera and kind
_CAM = r"(?:(?:on|at|from|by)\s+)?(?:the\s+)?(?P<cam>[\w -]+?)\s+(?:camera|cam)"
_OUT = re.compile(
    r"^(?:what(?:'s| has)?\s+happen(?:ed|ing)|what\s+did\s+i\s+miss|did\s+i\s+miss\s+anything|"
    r"(?:did\s+)?anything\s+happen(?:ed)?|what\s+went\s+on)"
    rf"(?:\s+(?:while\s+(?:i|we)\s+(?:was|were)\s+(?:out|away|gone)|today|outside|{_CAM}))*$"
)
_SAW = re.compile(rf"^what\s+did\s+{_CAM}\s+see(?:\s+today)?$")
_SHOW = re.compile(
    r"^(?:show|send|give)\s+me\s+(?:a\s+picture\s+of\s+)?the\s+(?:last|latest|most\s+recent)\s+"
    r"(?P<what>delivery|package|parcel|person|visitor|someone|car|vehicle|truck|van|animal|dog|cat|event|alert|thing)"
    rf"(?:\s+{_CAM})?$"
)
_LOOK = re.compile(rf"^(?:show\s+me|what(?:'s| is)\s+on|look\s+at)\s+{_CAM}$")
_MUTE = re.compile(
    rf"^(?:mute|snooze|silence)\s+(?:alerts\s+(?:from|for)\s+)?{_CAM}(?:\s+alerts)?(?:\s+for\s+(?P<dur>.+))?$"
)
_UNMUTE = re.compile(rf"^(?:unmute|unsnooze)\s+{_CAM}(?:\s+alerts)?$")
_MODE = re.compile(
    r"^(?:(?:set|switch|change|put)\s+(?:the\s+)?(?:alert\s+|camera\s+|cameras\s+)?mode\s+to\s+(?P<a>home|away|night)"
    r"(?:\s+mode)?|(?:we'?re|we\s+are|i'?m|i\s+am)\s+(?P<b>away|home|back\s+home|back)|(?P<c>home|away|night)\s+mode)$"
)
_WATCH = re.compile(r"^(?:tell|let)\s+me\s+(?:know\s+)?when\s+(?P<cond>.+?)(?:\s+within\s+(?P<dur>.+))?$")
_WATCHABLE = re.compile(
    r"\b(?:package|parcel|delivery|car|truck|van|someone|somebody|anyone|person|people|dog|cat|fox|gate|door|"
    r"picked\s+up|arrives?|leaves?|gone|comes?|shows?\s+up)\b"
)
_NAMED = re.compile(r"\s+(?:on|at|from|by)\s+(?:the\s+)?(?P<cam>[\w-]+(?:\s[\w-]+)?)\s+(?:camera|cam)$")
_DURATION = re.compile(r"(?P<n>an?|one|half\s+an?|\d+(?:\.\d+)?)\s*(?P<unit>hours?|hrs?|h|minutes?|mins?|m)\b")
_KINDS: dict[str, tuple[str, ...]] = {
    "delivery": ("delivery",),
    "package": ("delivery",),
    "parcel": ("delivery",),
    "person": ("person",),
    "visitor": ("person",),
    "someone": ("person",),
    "car": ("vehicle", "delivery"),
    "vehicle": ("vehicle", "delivery"),
    "truck": ("vehicle", "delivery"),
    "van": ("vehicle", "delivery"),
    "animal": ("animal",),
    "dog": ("animal",),
    "cat": ("animal",),
}


def minutes_in(text: str | None, default: float = 60.0) -> float:
    """ "an hour" -> 60, "30 minutes" -> 30, "half an hour" -> 30, "2h" -> 120; `default` when none is said."""
    match = _DURATION.search(text or "")
    if match is None:
        return default
    n = match["n"].replace(" ", "")
    count = 0.5 if n.startswith("half") else 1.0 if n in ("a", "an", "one") else float(n)
    return count * (60.0 if match["unit"].startswith("h") else 1.0)


class EyesFastPath:
    """Answers camera questions and commands without the model; anything else goes on."""

    def __init__(self, eyes: Eyes) -> None:
        self.eyes = eyes

    async def answer(self, inbound: Inbound, turn: Request) -> Answer | None:
        said = inbound.text.lower().replace("\u2019", "'")  # phones type "we’re"
        text = without_politeness(" ".join(said.split()).strip(" ?.!"))
        try:
            return await self._answer(text, turn)
        except NeedsConfirmation as exc:
            return Answer(exc.prompt)
        except ClawError as exc:
            return Answer(str(exc))

    async def _answer(self, text: str, turn: Request) -> Answer | None:
        eyes = self.eyes
        if (m := _OUT.match(text)) or (m := _SAW.match(text)):
            return await self._while_out(m.groupdict().get("cam"), "out" in text or "away" in text or "miss" in text)
        if m := _SHOW.match(text):
            return await self._show_last(m["what"], m["cam"])
        if m := _LOOK.match(text):
            return await self._look(m["cam"])
        if m := _MUTE.match(text):
            return Answer(await eyes.mute(m["cam"], minutes_in(m["dur"]), turn))
        if m := _UNMUTE.match(text):
            return Answer(await eyes.mute(m["cam"], 0, turn))
        if m := _MODE.match(text):
            said = m["a"] or m["b"] or m["c"]
            return Answer(await eyes.set_mode("home" if "back" in said else said, turn))
        if (m := _WATCH.match(text)) and _WATCHABLE.search(m["cond"]):
            condition, camera = m["cond"], None
            if cam := _NAMED.search(condition):
                condition, camera = condition[: cam.start()], cam["cam"]
            if camera is None and len(eyes.cameras) > 1:
                camera = await self._camera_of_last_delivery()
            return Answer(await eyes.watch(camera, condition, minutes_in(m["dur"]), turn.actor))
        return None

    async def _while_out(self, camera: str | None, away: bool) -> Answer:
        eyes = self.eyes
        now = time.time()
        since, until = eyes.rules.out_window(now) if away else (now - 12 * 3600, None)
        found = await eyes.recent(camera=camera, since=since, until=until, limit=500)
        notable = [r for r in reversed(found) if r.notable]
        quiet = len(found) - len(notable)
        when = f"since {moment(since, eyes.tz, now)}" + (f" until {moment(until, eyes.tz, now)}" if until else "")
        where = f" at {camera_phrase(eyes.camera(camera).name)}" if camera else ""
        if not notable:
            extra = f" ({quiet} small change{'s' if quiet != 1 else ''} not worth telling)" if quiet else ""
            return Answer(f"Nothing worth telling happened{where} {when}{extra}.")
        groups = bunches(notable)  # 18 "something moved" lines are one line with a count
        lines = [f"{when.capitalize()}{where}:"]
        lines += [f"- {g.line(eyes.tz)}" for g in groups]
        if quiet:
            lines.append(f"(and {quiet} small change{'s' if quiet != 1 else ''} not worth telling)")
        best = [g.best for g in groups][-PICTURES:]  # the clearest picture of each group; the latest groups if many
        pictures = tuple(eyes.media(r) for r in best if r.snapshot)
        return Answer("\n".join(lines), pictures)

    async def _show_last(self, what: str, camera: str | None) -> Answer:
        eyes = self.eyes
        kinds = _KINDS.get(what, ())
        notable = True if what == "alert" else None
        found = await eyes.recent(camera=camera, what=kinds, notable=notable, limit=1)
        if not found:
            days = eyes.config.alerts.retention_days
            return Answer(f"I have no {what} on record (I keep camera events for {days:g} days).")
        return Answer(self._say(found[0]), (eyes.media(found[0]),) if found[0].snapshot else ())

    def _say(self, record: EventRecord) -> str:
        eyes = self.eyes
        text = f"{clock(record.start_ts, eyes.tz)} at {camera_phrase(record.camera)}: {record.title}."
        if record.description and record.description.rstrip(".") != record.title.rstrip("."):
            text += f" {record.description}"
        return text

    async def _look(self, camera: str | None) -> Answer | None:
        eyes = self.eyes
        try:
            target = eyes.camera(camera)
        except ClawError:
            return None  # "show me the kitchen lamp camera" is not ours to answer
        picture = await eyes.latest_picture(target)
        if picture is None:
            return Answer(f"{camera_phrase(target.name).capitalize()} has sent no picture yet ({target.problem}).")
        seen = clock(target.latest.ts, eyes.tz) if target.latest else "just now"
        return Answer(f"{camera_phrase(target.name).capitalize()} at {seen}.", (picture,))

    async def _camera_of_last_delivery(self) -> str | None:
        found = await self.eyes.recent(what=("delivery",), limit=1)
        return found[0].camera if found else None
