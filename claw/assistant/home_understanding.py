"""The one way a message is understood without the model: the grammar claims it, a handler acts, or the model reads it.

Every feature (the home, cameras, jobs, memory) speaks through the same grammar: its intents carry an action name,
and the handler registered for that action carries it out. Nothing depends on the order parts were wired in.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from claw.assistant.answer import Answer
from claw.assistant.home_words import vocabulary
from claw.assistant.speech import (
    answer_question,
    say_cannot_step,
    say_managed,
    say_no_jobs,
    say_nothing_playing,
    say_pending,
    say_results,
    say_routine,
)
from claw.assistant.speech.small_talk import say_small_talk
from claw.assistant.understanding import (
    Ambiguous,
    Compound,
    LastTouched,
    NotUnderstood,
    Outcome,
    Pending,
    Understanding,
    Understood,
)
from claw.assistant.understanding.normalise import polite_request
from claw.assistant.understanding.outcome import frozen
from claw.assistant.wildcards import own_words
from claw.core.authority import decide, refusal
from claw.core.bus import Inbound, Media
from claw.core.config import RoomConfig
from claw.core.errors import ClawError, NeedsConfirmation
from claw.core.request import Request
from claw.home.actions import Actions, Managed
from claw.home.control import Change, Result
from claw.home.device import Device
from claw.home.plans import plan_for_devices
from claw.home.routines import RoutineBook
from claw.home.targeting import Target

QUESTION_TTL = 300.0  # seconds a clarifying question waits for its one-word answer
CONTEXT_TTL = 600.0  # seconds "it", "that" and "them" refer to what the conversation last touched
# Later: (plan, when "in: 600s" or "at: 23:00", what was said, request) -> the reply; wired to the jobs.
Later = Callable[[Mapping[str, Any], str, str, Request], Awaitable[str]]
# The handler of one action a feature's intents name (the timeline's "why", the cameras' "camera_look", ...):
# (what was understood, the devices it names, the request) -> the reply; None: not its to answer after all.
IntentHandler = Callable[[Understood, Sequence[Device], Request], Awaitable[str | Answer | None]]
# Actions the grammar names that a plain Change carries out, per target device.
SIMPLE: dict[str, Change] = {
    "turn_on": Change(power=True),
    "turn_off": Change(power=False),
    "open": Change(power=True),
    "close": Change(power=False),
    "lock": Change(values={"locked": True}),
    "unlock": Change(values={"locked": False}),
    "pause": Change(action="pause"),
    "resume": Change(action="play"),
    "next": Change(action="next"),
    "previous": Change(action="previous"),
}
SETTINGS = {
    "set_brightness": ("brightness", "brightness"),
    "set_position": ("position", "position"),
    "set_temperature": ("target_temp", "temperature"),
    "set_volume": ("volume", "volume"),
    "set_color_temp": ("color_temp", "color_temp"),
    "set_mode": ("mode", "mode"),  # arm the alarm for the night, switch the heating to cool
}
STEPPED = {
    "adjust_brightness": ("brightness", "brightness_step", 1, 100),
    "adjust_volume": ("volume", "volume_step", 0, 100),
    "adjust_temperature": ("target_temp", "temperature_step", 5, 30),
    "adjust_color_temp": ("color_temp", "color_temp_step", 153, 500),
    "adjust_position": ("position", "position_step", 0, 100),
}


@dataclass(slots=True)
class Conversation:
    """What one conversation's next message may refer to: the devices last touched, a question waiting."""

    touched: tuple[str, ...] = ()
    touched_at: float = 0.0
    question: Pending | None = None
    asked: float = 0.0


class HomeUnderstanding:
    """Understands every message the grammar can read completely; claims nothing else (the model reads it)."""

    def __init__(
        self,
        actions: Actions | None,
        routines: RoutineBook | None,
        rooms: Sequence[RoomConfig],
        version: Callable[[], int],
        *,
        cameras: Callable[[], Sequence[str]] = tuple,
        temperature_unit: str = "°C",
        languages: Sequence[str] = ("en",),
        model_online: Callable[[], bool | None] = lambda: None,
        later: Later | None = None,
        later_routine: Callable[[str, str, Request], Awaitable[str]] | None = None,
        sentences: Callable[[], Mapping[str, Mapping[str, Sequence[str]]]] = dict,
    ) -> None:
        self.actions, self.routines, self.rooms, self.version = actions, routines, rooms, version
        self.languages = tuple(languages)
        self.model_online, self.later, self.later_routine = model_online, later, later_routine
        self.sentences = sentences  # skills' own ways to say things
        self.cameras = cameras  # the cameras' names, for "show me the driveway camera"
        self.temperature_unit = temperature_unit  # "set it to 70 degrees" in a Fahrenheit home
        self.handlers: dict[str, IntentHandler] = {}  # by action: what other features answer (register())
        self._grammar: Understanding | None = None
        self._built: tuple[int, tuple[str, ...]] = (-1, ())
        # the build under way, for what it is built from
        self._building: tuple[tuple[int, tuple[str, ...]], asyncio.Task[None]] | None = None
        self._started = self._kept = 0  # builds begun; the one whose grammar is in use (newest wins)
        self._conversations: dict[str, Conversation] = {}

    def register(self, action: str, handler: IntentHandler) -> None:
        """Carry out intents naming `action` with `handler` ("why" from the timeline, "camera_look", "remind")."""
        if action in self.handlers:
            raise ValueError(f"two handlers for the action {action!r}")  # wiring order must never pick a winner
        self.handlers[action] = handler

    def forget(self, conversation: str) -> None:
        """A fresh start (/new): no pending question, nothing for "it" to refer to."""
        self._conversations.pop(conversation, None)

    async def grammar(self) -> Understanding:
        """Rebuilt only when names, rooms or routines change, never per message; built in a thread (up to ~1.5 s
        with four languages), so the event loop keeps serving webhooks and devices meanwhile. One build at a
        time: the first message, a job's plan and the start-up warm-up wait for the same one."""
        version = self._version()
        for _ in range(3):  # names that keep changing meanwhile: answer with the newest grammar there is
            if self._grammar is not None and self._built == version:
                break
            building = self._building
            if building is None or building[0] != version or building[1].done():
                building = self._building = (version, asyncio.create_task(self._build(version)))
            await asyncio.shield(building[1])
            version = self._version()
        assert self._grammar is not None  # every build that ends without raising leaves one
        return self._grammar

    def warm(self) -> None:
        """Start building the grammar now, at start-up, so the first message does not wait for all of it."""
        if self._building is None:
            self._building = (self._version(), asyncio.create_task(self._build(self._version())))

    def _version(self) -> tuple[int, tuple[str, ...]]:
        """What the grammar is built from: the home's names, rooms and routines, and the cameras' names."""
        return self.version(), tuple(self.cameras())

    async def settle(self) -> None:
        """Wait for a build under way (its thread cannot be stopped), so stopping leaves no task pending."""
        if self._building is not None and not self._building[1].done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._building[1]), timeout=5.0)

    async def _build(self, version: tuple[int, tuple[str, ...]]) -> None:
        self._started += 1
        started = self._started
        devices = self.actions.registry.devices() if self.actions is not None else ()
        routines = self.routines.all() if self.routines is not None else ()
        words = vocabulary(devices, routines, self.rooms, self.cameras())
        built = await asyncio.to_thread(
            Understanding, words, self.languages, sentences=self.sentences(), temperature_unit=self.temperature_unit
        )
        if started > self._kept:  # an older build that ends after a newer one must not replace it
            self._grammar, self._built, self._kept = built, version, started

    async def answer(self, inbound: Inbound, request: Request) -> Answer | None:
        said = inbound.text.strip()
        if not said or len(said) > 300:
            return None
        talk = self._conversations.setdefault(request.conversation, Conversation())
        grammar = await self.grammar()
        recent = time.monotonic() - talk.touched_at < CONTEXT_TTL  # "it" means something only for a while
        context = LastTouched(talk.touched if recent else ())
        outcome: Outcome | None = None
        if talk.question is not None and time.monotonic() - talk.asked < QUESTION_TTL:
            finished = grammar.follow_up(talk.question, said, context)
            if not isinstance(finished, NotUnderstood):
                outcome = finished
        talk.question = None
        if outcome is None:
            outcome = grammar.understand(said, context)
        # "garage open?" asks, it never opens the garage; "can you open the garage?" is a request all the same
        if said.endswith("?") and _orders(outcome, self.handlers) and not _asked_politely(said, outcome):
            outcome = NotUnderstood(reason="a question the grammar read as an order")
        if isinstance(outcome, NotUnderstood):
            return await self._not_understood(said, outcome, request)
        if isinstance(outcome, Ambiguous):
            only = self._the_one_to_change(outcome)
            if only is None:
                talk.question, talk.asked = outcome.partial, time.monotonic()
                return Answer(outcome.question)
            outcome = only
        parts = outcome.parts if isinstance(outcome, Compound) else (outcome,)
        request.receipt.language = parts[0].language  # replies, and any code held on the way, are said in it
        replies: list[str] = []
        media: list[Media] = []
        if len(parts) == 1 and parts[0].values.get("target") == "playing":  # "pause", "louder": which player?
            chosen = self._player(grammar, parts[0])
            if chosen is None:
                return Answer(say_small_talk("nothing_playing", parts[0].language))
            if isinstance(chosen, Ambiguous):
                talk.question, talk.asked = chosen.partial, time.monotonic()
                return Answer(chosen.question)
            parts = (chosen,)
        for understood in parts:
            part = replace(understood, said=said)
            if part.free:  # a feature's free text ("remind me to call Mum") as the owner wrote it
                written = {k: _as_written(v, said) if k in part.free else v for k, v in part.values.items()}
                part = replace(part, values=frozen(written))
            try:
                reply = await self._carry_out(part, talk, request)
            except Unsupported as exc:  # understood words, but nothing there does that: let the model think
                if len(parts) == 1 and self.model_online() is not False:
                    return None
                reply = str(exc)
            if reply is None:  # the handler found it is not its to answer: the model (or the offline reply)
                if len(parts) == 1:
                    return await self._not_understood(said, NotUnderstood(closest=grammar.closest(said)), request)
                continue
            if isinstance(reply, Answer):
                media.extend(reply.media)
                reply = reply.text
            replies.append(reply)
        return Answer(" ".join(r for r in replies if r), tuple(media))

    def _the_one_to_change(self, question: Ambiguous) -> Understood | None:
        """ "Lock the door" with three locks of which one is open: that one. Only for the safe way (lock, close,
        off), where the others are already so; "unlock the door" always asks."""
        if self.actions is None:
            return None
        choices = {c.targets: c for c in question.partial.choices.values() if len(c.targets) == 1}
        if len(choices) < 2 or any(c.action not in SAFE_WAY for c in choices.values()):
            return None
        registry = self.actions.registry
        left = [c for c in choices.values() if (d := registry.get(c.targets[0])) is not None and not _already(d, c)]
        return left[0] if len(left) == 1 else None

    def _player(self, grammar: Understanding, understood: Understood) -> Understood | Ambiguous | None:
        """The player a media command with no room means: the one playing (paused, to resume), else ask."""
        if self.actions is None:
            return None
        wanted = "paused" if understood.action == "resume" else "playing"
        playing = [d.id for d in self.actions.registry.devices() if d.state.get("playback") == wanted]
        return grammar.choose_player(understood, playing)

    async def _not_understood(self, said: str, outcome: NotUnderstood, request: Request) -> Answer | None:
        """Unclaimed: the model reads it — tried even when it was offline a moment ago, so a server that is back
        answers at once; if it is still down the router says so in the message's language, with the closest names."""
        grammar = self._grammar
        request.receipt.language = request.receipt.language or (
            grammar.likely_language(said) if grammar is not None else "en"
        )
        request.receipt.near = outcome.closest
        return None

    async def _carry_out(self, understood: Understood, talk: Conversation, request: Request) -> str | Answer | None:
        action, values = understood.action, understood.values
        try:
            if action in CHATTY and self.model_online() is not False:
                return None  # "hi", "thanks": the model answers in the household's own voice (SOUL.md)
            if action in SMALL_TALK:
                return say_small_talk(action, understood.language)
            if action in self.handlers:
                return await self.handlers[action](understood, self._devices(understood), request)
            if self.actions is None or self.routines is None:
                return None  # a home command in a daemon running without the home: the model explains
            if action in MANAGING:
                return await self._manage(understood, request)
            if action == "run_routine" and understood.routine:
                routine = self.routines.get(understood.routine)
                if routine is None:
                    return ""
                if "delay_s" in values or "at" in values:  # "run sleepy time at 10:30pm": later, not now
                    return await self._later_routine(routine.name, understood, request)
                return say_routine(await self.actions.routine(routine, request), understood.language)
            devices = self._devices(understood)
            if action == "get_state" and values.get("query") == "all" and _commanded(understood.text):
                # "all lights off" has no question word: an order, not "are all the lights off?"
                action = "turn_on" if values.get("state") == "on" else "turn_off"
                understood = Understood(understood.intent, action, understood.language, understood.targets, {})
            if action in ("get_state", "get_temperature"):
                return answer_question(devices, action, values, understood.language)
            if not devices:
                speakers = [d.name for d in self.actions.registry.devices() if d.kind == "speaker"]
                return say_nothing_playing(speakers, understood.language)
            if "delay_s" in values or "at" in values:
                return await self._later(understood, devices, request)
            talk.touched, talk.touched_at = tuple(d.id for d in devices), time.monotonic()
            return await self._change(understood, devices, request)
        except NeedsConfirmation:  # the code waits on the turn's receipt: said once, in the message's language
            held = request.receipt.held[-1:]
            return say_pending(held[0], understood.language) if held else ""
        except Unsupported:
            raise  # nothing here can do it: answer() lets the model think rather than say so
        except ClawError as exc:
            return str(exc)

    async def _manage(self, understood: Understood, request: Request) -> str:
        """ "Rename the desk lamp to reading lamp", "move the bedroom lamp to the kitchen", "allow the front door"."""
        assert self.actions is not None
        devices = self._devices(understood)
        if not devices:
            return ""
        target = Target(name=devices[0].name) if len(devices) == 1 else Target(name=str(understood.values["name"]))
        if understood.action == "allow":
            return await self.actions.allow(target, request)
        what: Literal["rename", "move"] = "rename" if understood.action == "rename" else "move"
        value = (
            _spoken(understood.values["new_name"])
            if what == "rename"
            else self._room(str(understood.values["new_room"]))
        )
        actions = self.actions

        async def change() -> Managed:
            return await actions.manage(target, what, value, request)

        # the authority table, as for the tools: an agent's or the model's rename waits for an owner's code
        verdict = "yes" if request.released else decide(request.principal, "manage")
        if verdict == "no":
            return refusal(request.principal, "manage")
        if verdict == "code":
            return await actions.guard.require(
                action=what, target=f"the {target.name} to {value}", run=change, request=request
            )
        return say_managed(await change(), understood.language)

    def _home(self) -> Actions:
        """The home's verbs; only reached for a home command, which needs a home to be understood at all."""
        if self.actions is None:
            raise ClawError("the home is not running here")
        return self.actions

    def _room(self, said: str) -> str:
        """A room as the home names it ("la cocina" is the Kitchen), or the new room's name as said."""
        grammar = self._grammar
        wanted = said.strip().casefold()
        for area in grammar.vocabulary.areas if grammar is not None else ():
            if wanted in {p.casefold() for p in (area.name, *area.aliases)}:
                return area.name
        return _spoken(said)

    def _devices(self, understood: Understood) -> list[Device]:
        if self.actions is None:
            return []
        registry = self.actions.registry
        devices = [d for i in understood.targets if (d := registry.get(i)) is not None]
        if understood.values.get("target") == "playing":  # a media command with no room: the speaker playing
            wanted = "paused" if understood.action == "resume" else "playing"  # "resume": the one paused
            devices = [d for d in registry.devices() if d.state.get("playback") == wanted]
        return devices

    async def _change(self, understood: Understood, devices: list[Device], request: Request) -> str:
        action, values = understood.action, understood.values
        if action == "turn_off" and any(d.kind == "speaker" for d in devices):
            # speakers have no power: "turn off the kitchen speaker" pauses it ("on" could mean anything)
            speakers = [d for d in devices if d.kind == "speaker"]
            others = [d for d in devices if d.kind != "speaker"]
            said = [await self._apply(speakers, Change(action="pause"), request)]
            if others:
                said.append(await self._apply(others, SIMPLE[action], request))
            return " ".join(said)
        if action in SIMPLE:
            return await self._apply(devices, SIMPLE[action], request)
        if action in SETTINGS:
            key, value_key = SETTINGS[action]
            return await self._apply(devices, Change(values={key: values[value_key]}), request)
        if action == "play":
            query = str(values.get("search") or "")
            if not query:
                return await self._apply(devices, Change(action="play"), request)
            change = Change(action="play_favorite", params={"query": query})
            results = await self._home().control.apply(devices, change, request)
            unknown = all(r.status == "failed" and r.reason == "nothing_saved" for r in results)
            if unknown and self.model_online() is not False:  # "play taylor swift": the model may know what they meant
                raise Unsupported(say_results(results, change, request.receipt.language))
            return say_results(results, change, request.receipt.language)
        if action in STEPPED:
            return await self._step(devices, action, values, request)
        return "I can't do that to it yet."

    async def _apply(self, devices: list[Device], change: Change, request: Request) -> str:
        results = await self._home().control.apply(devices, change, request)
        if all(r.status == "unsupported" for r in results):
            raise Unsupported(say_results(results, change, request.receipt.language))
        return say_results(results, change, request.receipt.language)

    async def _step(self, devices: list[Device], action: str, values: Mapping[str, Any], request: Request) -> str:
        """ "Dim it a bit", "louder": each device from where it is now, by a sensible step, within its range."""
        key, step_key, low, high = STEPPED[action]
        step = float(values[step_key])
        lines: list[str] = []
        for device in devices:
            now = device.state.get(key)
            if not isinstance(now, int | float) or device.capability(key) is None:
                lines.append(say_cannot_step(device, key, request.receipt.language))
                continue
            if key == "brightness" and device.state.get("on") is False:
                now = 0
            target = max(low, min(high, now + step))
            target = round(target, 1) if key == "target_temp" else int(target)
            change = Change(values={key: target})
            if key == "brightness" and now == 0 and step < 0:  # dimming a light that is off leaves it off
                change = Change(power=False)
            results: list[Result] = await self._home().control.apply([device], change, request)
            lines.append(say_results(results, change, request.receipt.language))
        return " ".join(lines)

    async def _later_routine(self, name: str, understood: Understood, request: Request) -> str:
        if self.later_routine is None:
            return say_no_jobs(understood.language)
        return await self.later_routine(name, _when(understood.values), request)

    async def _later(self, understood: Understood, devices: list[Device], request: Request) -> str:
        """ "… in 10 minutes", "at 11pm …": a one-shot job holding the command as a plan, said back."""
        if self.later is None:
            return say_no_jobs(understood.language)
        change = _plain_change(understood)
        if change is None:
            return ""
        plan = plan_for_devices([d.id for d in devices], [d.name for d in devices], change)
        words = own_words(understood.text, understood.said) if understood.said else understood.text  # as typed
        if words[:1].isupper() and not words[:2].isupper():  # "Turn off the Porch Light" -> "turn off the Porch Light"
            words = words[0].lower() + words[1:]
        return await self.later(plan, _when(understood.values), words, request)


def _as_written(value: Any, said: str) -> Any:
    """A matched phrase as the message spelled it (the grammar reads it lower-cased and typo-corrected)."""
    return own_words(value, said) if isinstance(value, str) and value else value


def _when(values: Mapping[str, Any]) -> str:
    """The schedule a delayed command runs on: "in: 600s", "at: 23:00", or "at: 07:00 or 19:00" (the sooner)."""
    delay = values.get("delay_s")
    if delay is not None:
        return f"in: {int(delay)}s"
    other = f" or {values['or_at']}" if "or_at" in values else ""
    return f"at: {values['at']}{other}"


# Managing the home's list of devices by chat: renames, moves and letting Claw control a guarding device.
MANAGING = frozenset({"rename", "move", "allow"})


def _spoken(said: object) -> str:
    """A name the owner typed, tidied: "reading lamp" -> "Reading Lamp"; "TV" stays "TV"."""
    words = str(said).strip().strip(".!\"'").split()
    return " ".join(w if any(c.isupper() for c in w) else w.capitalize() for w in words)


class Unsupported(ClawError):
    """The devices named cannot do what was asked (a lamp asked to lock)."""


QUESTION_WORDS = ("are ", "is ", "do ", "does ", "which ", "how ", "what ", "any ", "can ")


# Actions that ask rather than order: a "?" never turns them away (nor a registered handler's question).
# The way a command may be narrowed to the one device not already so: it makes the house safer, never less safe.
SAFE_WAY = {"lock": ("locked", True), "close": ("position", 0), "turn_off": ("on", False)}


def _already(device: Device, command: Understood) -> bool:
    """The device is already as the command would leave it (locked, closed, off)."""
    key, value = SAFE_WAY[command.action]
    now = device.state.get(key)
    if key == "position" and device.state.get("state") in ("closed", "open"):
        return device.state.get("state") == "closed"
    return now == value


QUESTIONS = frozenset({"get_state", "get_temperature", "help", "greet", "thanks", "nevermind"})
SMALL_TALK = frozenset({"help", "greet", "thanks", "nevermind"})  # fixed lines: speech.small_talk
CHATTY = frozenset({"greet", "thanks"})  # the model says these when it can; the fixed line is for when it cannot


def _orders(outcome: Outcome, asking: Collection[str] = ()) -> bool:
    parts = outcome.parts if isinstance(outcome, Compound) else (outcome,) if isinstance(outcome, Understood) else ()
    return any(p.action not in QUESTIONS and p.action not in asking for p in parts)


def _asked_politely(said: str, outcome: Outcome) -> bool:
    parts = outcome.parts if isinstance(outcome, Compound) else (outcome,) if isinstance(outcome, Understood) else ()
    return bool(parts) and polite_request(said, parts[0].language)


def _commanded(text: str) -> bool:
    """ "all lights off" orders; "are all the lights off?" asks."""
    said = text.strip().lower()
    return not said.endswith("?") and not said.startswith(QUESTION_WORDS)


def _plain_change(understood: Understood) -> Change | None:
    if understood.action in SIMPLE:
        return SIMPLE[understood.action]
    if understood.action in SETTINGS:
        key, value_key = SETTINGS[understood.action]
        return Change(values={key: understood.values[value_key]})
    return None
