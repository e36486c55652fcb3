"""The first release's plain-command grammar (regexes), kept for what the sentence grammar lacks: rename, allow."""

from __future__ import annotations

from collections.abc import Callable

from claw.assistant.home_intents import Intent, Matcher
from claw.core.errors import NeedsConfirmation, TargetNotFound
from claw.core.request import Request
from claw.home.actions import Actions
from claw.home.routines import RoutineBook
from claw.home.targeting import norm


class PlainCommands:
    """The regex matcher over the home's current names and rooms, rebuilt when they change."""

    def __init__(self, actions: Actions, routines: RoutineBook, version: Callable[[], int]) -> None:
        self.actions, self.routines, self.version = actions, routines, version
        self._matcher: Matcher | None = None
        self._version = -1

    def matcher(self) -> Matcher:
        """Rebuilt only when the registry or routines change (names and rooms are its vocabulary)."""
        if self._matcher is None or self._version != self.version():
            resolver = self.actions.resolver()
            names = {norm(n) for d in resolver.devices for n in (d.name, *d.aliases)}
            self._matcher = Matcher(self.routines, resolver.rooms(), names)
            self._version = self.version()
        return self._matcher


async def run_intent(actions: Actions, intent: Intent, request: Request) -> str:
    """Carry out one understood intent through the home's verbs; a miss or a held action is said, not raised."""
    try:
        if intent.kind == "routine" and intent.routine is not None:
            return await actions.routine(intent.routine, request)
        if intent.kind == "change":
            text, _ = await actions.change(intent.target, intent.change, request)
            return text
        if intent.kind == "query":
            return await actions.describe(intent.target, intent.query)
        if intent.kind == "allow":
            return await actions.allow(intent.target, request)
        if intent.kind in ("rename", "move"):
            return await actions.manage(intent.target, intent.kind, intent.value, request)
    except TargetNotFound as exc:
        return str(exc)
    except NeedsConfirmation as exc:
        return exc.prompt
    return "I'm not sure what to do with that."
