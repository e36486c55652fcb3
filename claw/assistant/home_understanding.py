"""The home's fast path on the grammar: act on what is understood, ask what is not, leave the rest to the model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.home_answers import answer_question
from claw.assistant.home_intents import Intent
from claw.assistant.home_words import vocabulary
from claw.assistant.phrasebook import in_language
from claw.assistant.plain_commands import PlainCommands, run_intent
from claw.assistant.router import Answer, offline_reply
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
from claw.core.bus import Inbound
from claw.core.config import RoomConfig
from claw.core.errors import ClawError, NeedsConfirmation, TargetNotFound
from claw.core.request import Request
from claw.home.actions import Actions
from claw.home.control import Change, Result, plan, say_results
from claw.home.device import Device
from claw.home.plans import plan_for_devices
from claw.home.routines import RoutineBook

QUESTION_TTL = 300.0  # seconds a clarifying question waits for its one-word answer
CONTEXT_TTL = 600.0  # seconds "it", "that" and "them" refer to what the conversation last touched
# Later: (plan, when "in: 600s" or "at: 23:00", what was said, request) -> the reply; wired to the jobs.
Later = Callable[[Mapping[str, Any], str, str, Request], Awaitable[str]]
# A handler for a Claw question intent the home does not answer itself (the timeline's "why", "who", ...):
# (what was understood, the devices it names, the request) -> the reply.
IntentHandler = Callable[[Understood, Sequence[Device], Request], Awaitable[str]]
HELP = (
    'I run the house from plain words: "sleepy time", "turn off the kitchen lights", "dim the desk lamp to 30%", '
    '"is the garage open?", "play jazz in the study", "turn off the porch light in 10 minutes", '
    '"remind me at 6 to call mum". Locks, the alarm and the garage ask for a code first. /status tells how I am.'
)
GREETING = "Hi! What can I do for you?"
THANKS = "You're welcome."
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
}


@dataclass(slots=True)
class Conversation:
    """What one conversation's next message may refer to: the devices last touched, a question waiting."""

    touched: tuple[str, ...] = ()
    touched_at: float = 0.0
    question: Pending | None = None
    asked: float = 0.0


class HomeUnderstanding:
    """Understands device commands, questions and routines with the grammar; claims only complete matches."""

    def __init__(
        self,
        actions: Actions,
        routines: RoutineBook,
        rooms: Sequence[RoomConfig],
        version: Callable[[], int],
        *,
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
        self.handlers: dict[str, IntentHandler] = {}  # by action: questions answered elsewhere (register())
        self.legacy = _Legacy(actions, routines, version)
        self._grammar: Understanding | None = None
        self._built = -1
        self._conversations: dict[str, Conversation] = {}

    def register(self, action: str, handler: IntentHandler) -> None:
        """Answer an understood question with `handler` (e.g. "why" from the household's timeline)."""
        self.handlers[action] = handler

    def forget(self, conversation: str) -> None:
        """A fresh start (/new): no pending question, nothing for "it" to refer to."""
        self._conversations.pop(conversation, None)

    async def grammar(self) -> Understanding:
        """Rebuilt only when names, rooms or routines change, never per message; built in a thread (up to ~1.5 s
        with four languages), so the event loop keeps serving webhooks and devices meanwhile."""
        version = self.version()
        if self._grammar is None or self._built != version:
            words = vocabulary(self.actions.registry.devices(), self.routines.all(), self.rooms)
            self._grammar = await asyncio.to_thread(Understanding, words, self.languages, sentences=self.sentences())
            self._built = version
        return self._grammar

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
        if said.endswith("?") and _orders(outcome, self.handlers):  # "garage open?" asks; it never opens the garage
            outcome = NotUnderstood(reason="a question the grammar read as an order")
        if isinstance(outcome, NotUnderstood):
            return await self._not_understood(said, outcome, request)
        if isinstance(outcome, Ambiguous):
            talk.question, talk.asked = outcome.partial, time.monotonic()
            return Answer(outcome.question)
        parts = outcome.parts if isinstance(outcome, Compound) else (outcome,)
        replies: list[str] = []
        for part in parts:
            try:
                replies.append(await self._carry_out(part, talk, request))
            except Unsupported as exc:  # understood words, but nothing there does that: let the model think
                if len(parts) == 1 and self.model_online() is not False:
                    return None
                replies.append(str(exc))
        return Answer(in_language(" ".join(r for r in replies if r), parts[0].language))

    async def _not_understood(self, said: str, outcome: NotUnderstood, request: Request) -> Answer | None:
        """The old grammar for what the new one lacks (rename, allow, arm); else the model, or the closest names."""
        intent = self.legacy.match(said)
        if intent is not None:
            try:
                return Answer(await _run_legacy(self.actions, intent, request))
            except TargetNotFound:
                pass  # not a complete match after all: never a dead end while a model can read it
        if self.model_online() is False:
            return Answer(offline_reply(outcome.closest))
        return None

    async def _carry_out(self, understood: Understood, talk: Conversation, request: Request) -> str:
        action, values = understood.action, understood.values
        try:
            if action == "help":
                return HELP
            if action == "greet":
                return GREETING
            if action == "thanks":
                return THANKS
            if action in self.handlers:
                return await self.handlers[action](understood, self._devices(understood), request)
            if action == "run_routine" and understood.routine:
                routine = self.routines.get(understood.routine)
                if routine is None:
                    return ""
                if "delay_s" in values or "at" in values:  # "run sleepy time at 10:30pm": later, not now
                    return await self._later_routine(routine.name, understood, request)
                return await self.actions.routine(routine, request)
            devices = self._devices(understood)
            if action == "get_state" and values.get("query") == "all" and _commanded(understood.text):
                # "all lights off" has no question word: an order, not "are all the lights off?"
                action = "turn_on" if values.get("state") == "on" else "turn_off"
                understood = Understood(understood.intent, action, understood.language, understood.targets, {})
            if action in ("get_state", "get_temperature"):
                return answer_question(devices, action, values)
            if not devices:
                speakers = ", ".join(d.name for d in self.actions.registry.devices() if d.kind == "speaker")
                return f"Nothing is playing right now; which speaker do you mean ({speakers})?"
            if "delay_s" in values or "at" in values:
                return await self._later(understood, devices, request)
            talk.touched, talk.touched_at = tuple(d.id for d in devices), time.monotonic()
            return await self._change(understood, devices, request)
        except NeedsConfirmation as exc:
            return exc.prompt
        except ClawError as exc:
            return str(exc)

    def _devices(self, understood: Understood) -> list[Device]:
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
            results = await self.actions.control.apply(devices, change, request)
            unknown = all(r.status == "failed" and "nothing saved like" in r.detail for r in results)
            if unknown and self.model_online():  # "play taylor swift": the model may know what they meant
                raise Unsupported(say_results(results, change))
            return say_results([r for r in results if r.status != "unsupported"], change)
        if action in STEPPED:
            return await self._step(devices, action, values, request)
        return "I can't do that to it yet."

    async def _apply(self, devices: list[Device], change: Change, request: Request) -> str:
        results = await self.actions.control.apply(devices, change, request)
        useful = [r for r in results if r.status != "unsupported"]
        if not useful:
            raise Unsupported(f"{', '.join(d.name for d in devices)} can't {change.describe()}.")
        return say_results(useful, change)

    async def _step(self, devices: list[Device], action: str, values: Mapping[str, Any], request: Request) -> str:
        """ "Dim it a bit", "louder": each device from where it is now, by a sensible step, within its range."""
        key, step_key, low, high = STEPPED[action]
        step = float(values[step_key])
        lines: list[str] = []
        for device in devices:
            now = device.state.get(key)
            if not isinstance(now, int | float) or device.capability(key) is None:
                lines.append(f"The {device.name} can't change its {key.replace('_', ' ')}.")
                continue
            if key == "brightness" and device.state.get("on") is False:
                now = 0
            target = max(low, min(high, now + step))
            target = round(target, 1) if key == "target_temp" else int(target)
            change = Change(values={key: target})
            results: list[Result] = await self.actions.control.apply([device], change, request)
            lines.append(say_results(results, change))
        return " ".join(lines)

    async def _later_routine(self, name: str, understood: Understood, request: Request) -> str:
        if self.later_routine is None:
            return "I can't schedule things here (the jobs are not running)."
        delay = understood.values.get("delay_s")
        when = f"in: {int(delay)}s" if delay is not None else f"at: {understood.values['at']}"
        return await self.later_routine(name, when, request)

    async def _later(self, understood: Understood, devices: list[Device], request: Request) -> str:
        """ "… in 10 minutes", "at 11pm …": a one-shot job holding the command as a plan, said back."""
        if self.later is None:
            return "I can't schedule things here (the jobs are not running)."
        change = _plain_change(understood)
        if change is None:
            return ""
        plan = plan_for_devices([d.id for d in devices], [d.name for d in devices], change)
        delay = understood.values.get("delay_s")
        when = f"in: {int(delay)}s" if delay is not None else f"at: {understood.values['at']}"
        return await self.later(plan, when, understood.text, request)


def _cannot(device: Device, change: Change) -> bool:
    try:
        return plan(device, change) is None
    except ClawError:
        return False  # it can, just not to that value: Control says why ("must be between 0 and 100%")


class Unsupported(ClawError):
    """The devices named cannot do what was asked (a lamp asked to lock)."""


QUESTION_WORDS = ("are ", "is ", "do ", "does ", "which ", "how ", "what ", "any ", "can ")


# Actions that ask rather than order: a "?" never turns them away (nor a registered handler's question).
QUESTIONS = frozenset({"get_state", "get_temperature", "help", "greet", "thanks"})


def _orders(outcome: Outcome, asking: Collection[str] = ()) -> bool:
    parts = outcome.parts if isinstance(outcome, Compound) else (outcome,) if isinstance(outcome, Understood) else ()
    return any(p.action not in QUESTIONS and p.action not in asking for p in parts)


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


class _Legacy:
    """The first release's regex matcher, kept for what the grammar does not cover yet (rename, move, allow, arm)."""

    def __init__(self, actions: Actions, routines: RoutineBook, version: Callable[[], int]) -> None:
        self.actions = actions
        self.plain = PlainCommands(actions, routines, version)

    def match(self, text: str) -> Intent | None:
        intent = self.plain.matcher().match(text)
        if intent is None or intent.kind == "routine" or intent.change.action in ("play_favorite", "play_uri"):
            return None  # routines and "play …" belong to the grammar; what it could not read, the model reads
        target = intent.target
        if target.everything:  # "open everything": the grammar decides what "everything" may mean
            return None
        if not (target.name or target.room):  # a kind alone: only when there is one of it
            try:
                if len(self.actions.resolver().resolve(target)) != 1:
                    return None
            except TargetNotFound:
                return None
        return intent


async def _run_legacy(actions: Actions, intent: Intent, request: Request) -> str:
    devices = actions.resolver().resolve(intent.target)  # TargetNotFound: then the model reads it instead
    if intent.kind == "change" and all(_cannot(d, intent.change) for d in devices):
        raise TargetNotFound(f"anything there that can {intent.change.describe()}", [])
    return await run_intent(actions, intent, request)
