"""The home's fast path: confirmation codes, routines and plain commands, before (and without) the model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claw.assistant.home_intents import Matcher
from claw.assistant.router import Answer
from claw.assistant.toolbox import Turn
from claw.core.bus import Inbound
from claw.home.targeting import norm

if TYPE_CHECKING:
    from claw.home.part import Home


class HomeFastPath:
    """Answers what it understands for sure; anything else goes on to the model."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._matcher: Matcher | None = None
        self._version = -1

    def matcher(self) -> Matcher:
        """Rebuilt only when the registry or routines change (names and rooms are its vocabulary)."""
        if self._matcher is None or self._version != self.home.version:
            resolver = self.home.actions.resolver()
            names = {norm(n) for d in resolver.devices for n in (d.name, *d.aliases)}
            self._matcher = Matcher(self.home.routines, resolver.rooms(), names)
            self._version = self.home.version
        return self._matcher

    async def answer(self, inbound: Inbound, turn: Turn) -> Answer | None:
        code = self.home.guard.is_code(inbound.text)
        if code is not None and (self.home.guard.pending() or inbound.text.strip().lower().startswith("ok")):
            return Answer(await self.home.guard.confirm(code, turn))
        intent = self.matcher().match(inbound.text)
        if intent is None:
            return None
        return Answer(await self.home.actions.run_intent(intent, turn))
