"""How often one key (a person, a number) may do something: a sliding window, in memory."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from claw.core.authority import decide, limit_for, refusal
from claw.core.principals import model_for
from claw.core.request import Request


class RateLimit:
    """At most `limit` events per `window` seconds for each key; `allow` counts the event when it is allowed."""

    def __init__(self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, collections.deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        events = self._events.setdefault(key, collections.deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:  # a flood of new keys must not grow this without bound
            self._forget(now)
        return True

    def _forget(self, now: float) -> None:
        for key in [k for k, e in self._events.items() if not e or e[-1] <= now - self.window]:
            del self._events[key]


Why = Literal["", "limit", "not_allowed", "nobody"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a turn may send no device commands, typed for the words of each language; falsy when it may.

    `english` is what the audit log, the dashboard and the model's tools read.
    """

    reason: Why = ""
    who: str = ""  # the principal's label
    ceiling: int = 0  # "limit": the commands a minute it may send
    own: bool = False  # "limit": the owner's own commands (said to them) or another's (an agent, a job)
    english: str = ""

    def __bool__(self) -> bool:
        return bool(self.reason)

    def __str__(self) -> str:
        return self.english


ALLOWED = Refusal()


class CommandLimits:
    """Device commands per minute per principal, counted once per turn (a routine is one command).

    Agents, the model and jobs get the tight limit; an owner's own commands a ceiling far above what a
    person or a dashboard slider produces (0: none). Which limit applies comes from the authority table.
    """

    def __init__(self, agent: int = 60, owner: int = 3000, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.agent, self.owner = agent, owner
        self._limits = {"agent": RateLimit(agent, clock=clock), "owner": RateLimit(max(owner, 1), clock=clock)}

    def admit(self, request: Request) -> Refusal:
        """ALLOWED (falsy) when this turn may send device commands; else why not, decided once per turn."""
        receipt = request.receipt
        if receipt.limited is None:
            receipt.limited = self._verdict(request)
        return receipt.limited

    def _verdict(self, request: Request) -> Refusal:
        who = model_for(request.principal) if request.via == "llm" else request.principal
        if decide(who, "act") == "no":
            why: Why = "nobody" if who.kind == "nobody" else "not_allowed"
            return Refusal(why, who.label, english=refusal(who, "act"))
        kind = limit_for(who)
        ceiling = self.owner if kind == "owner" else self.agent
        if kind == "owner" and self.owner == 0:
            return ALLOWED
        if self._limits[kind].allow(f"{who.kind}:{who.label}"):
            return ALLOWED
        if who.speaks_for_owner:
            said = f"That is over {ceiling} commands in a minute, so I paused: nothing changed; try again in a moment."
        else:
            said = (
                f"{who.label} sent over {ceiling} device commands in a minute, so I paused it: nothing was changed; "
                "it can try again in a minute."
            )
        return Refusal("limit", who.label, ceiling, who.speaks_for_owner, said)
