"""The one safety core: sensitive actions wait for an owner's one-time code; one kill switch pauses automations."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from claw.core.authority import may, sees_codes
from claw.core.errors import NeedsConfirmation
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store.audit import get_setting, set_setting, write

log = logging.getLogger(__name__)

ALPHABET = "ACDEFHJKMNPRTUVWXY3479"  # no 0/O, 1/I/L, 5/S, 8/B: easy to read back on a phone
# "OK ABCD" (or okay/yes/confirm) is always a confirmation attempt; a bare "ABCD" only when it is pending here.
_WITH_WORD = re.compile(r"^\s*(?:ok|okay|yes|confirm)[\s,:]+([a-z0-9]{4})[\s.!]*$", re.I)
_BARE = re.compile(r"^\s*([a-z0-9]{4})[\s.!]*$", re.I)
PAUSED_KEY = "automations_paused"
WRONG_LIMIT = 5  # wrong codes in a row in one conversation before it may not try again for a while
PENDING_PER_CONVERSATION = 5  # codes waiting at once in one conversation
LOCKOUT = 600.0  # seconds

Action = Callable[[], Awaitable[str]]


@dataclass(slots=True)
class Pending:
    """One held action: the closure that runs it, and who may release it."""

    code: str
    description: str  # "unlock the Front Door"
    run: Action
    requested_by: str
    via: str
    conversation: str
    expires: float
    any_owner: bool = False  # issued to no conversation (schedule, dashboard): the owners got the code
    prompt: str = ""  # with the code: only for an owner's channel
    shown: str = ""  # what the requester is told: the prompt, or (an agent, a job) that the owners got the code
    created: float = field(default_factory=time.time)

    def accepts_from(self, request: Request) -> bool:
        return self.any_owner or self.conversation == request.conversation


class Guard:
    """Holds sensitive actions as closures; runs exactly that closure once, when an owner echoes its code."""

    def __init__(self, store: Store, *, ttl: float = 120.0, notify: Callable[[str], Awaitable[None]] | None = None):
        self.store, self.ttl, self.notify = store, ttl, notify
        self._pending: dict[str, Pending] = {}
        self._wrong: dict[str, int] = {}  # conversation -> wrong codes in a row
        self._locked: dict[str, float] = {}  # conversation -> until when it may not try codes

    def pending(self, request: Request | None = None) -> list[Pending]:
        """Live held actions; with a request, only those it may confirm."""
        now = time.time()
        return [p for p in self._pending.values() if p.expires > now and (request is None or p.accepts_from(request))]

    async def hold(self, description: str, run: Action, request: Request) -> Pending:
        """Park an action and tell the owner the code that releases it (on the reply, or by notice)."""
        self._sweep()
        code = _new_code()
        while code in self._pending:
            code = _new_code()
        minutes = max(1, round(self.ttl / 60))
        pending = Pending(
            code,
            description,
            run,
            request.actor,
            request.via,
            request.conversation,
            time.time() + self.ttl,
            any_owner=request.unattended,
        )
        pending.prompt = f"Reply OK {code} to {description} (valid {minutes} minutes)."
        pending.shown = pending.prompt if sees_codes(request.principal) else _withheld(description, minutes)
        mine = [c for c, p in self._pending.items() if p.conversation == request.conversation]
        for old in mine[: max(0, len(mine) - PENDING_PER_CONVERSATION + 1)]:
            del self._pending[old]  # each live code is one more a guess could hit: the oldest gives way
        self._pending[code] = pending
        await self._audit(request, description, "held", f"code issued, expires in {self.ttl:.0f} s")
        request.receipt.prompts.append(pending.shown)
        if request.unattended and self.notify is not None:
            # no owner reads this conversation: the code goes to the owners, saying who asked
            await self.notify(f"{request.actor} asks to {description}. {pending.prompt}")
        log.info("held '%s' for %s via %s", description, request.actor, request.via)
        return pending

    async def require(self, *, action: str, target: str, run: Action, request: Request) -> str:
        """Hold `run` for the owner's code and tell the caller so (NeedsConfirmation); it runs only through
        `confirm` — or now, when the request is a model's call an owner already released with a code."""
        if request.released:
            return await run()
        pending = await self.hold(f"{action} {target}".strip(), run, request)
        raise NeedsConfirmation(pending.shown, pending.code if sees_codes(request.principal) else "")

    def code_in(self, text: str, request: Request) -> str | None:
        """The code a message offers: "OK <code>" always, a bare code only when pending for this conversation."""
        if match := _WITH_WORD.match(text):
            return match.group(1).upper()
        match = _BARE.match(text)
        if match is None:
            return None
        code = match.group(1).upper()
        return code if any(p.code == code for p in self.pending(request)) else None

    async def confirm(self, code: str, request: Request) -> str:
        """Run the action the code was issued for, once, for an owner in a conversation it was issued to."""
        self._sweep()
        code = code.upper()
        conversation = request.conversation
        if self._locked.get(conversation, 0.0) > time.time():
            await self._audit(request, f"confirm code {code}", "denied", "locked out after wrong codes")
            return "Too many wrong codes here: I won't take codes in this conversation for a while."
        pending = self._pending.get(code)
        allowed = request.owner and may(request.principal, "confirm")  # the authority table: owners' channels only
        if pending is None or not pending.accepts_from(request) or not allowed:
            why = "not an owner" if pending is not None and not allowed else "no such pending action or expired"
            await self._audit(request, f"confirm code {code}", "denied", why)
            return await self._wrong_code(request)
        self._wrong.pop(conversation, None)
        del self._pending[code]
        detail = f"requested by {pending.requested_by} via {pending.via}; confirmed by {request.actor}"
        await self._audit(request, pending.description, "confirmed", detail)
        return await pending.run()

    async def _wrong_code(self, request: Request) -> str:
        """Count a wrong code; after WRONG_LIMIT in a row, lock the conversation out and tell the owners once."""
        wrong = self._wrong.get(request.conversation, 0) + 1
        self._wrong[request.conversation] = wrong
        if wrong < WRONG_LIMIT:
            return "That code doesn't match anything waiting (codes last two minutes and work once)."
        self._wrong.pop(request.conversation, None)
        self._locked[request.conversation] = time.time() + LOCKOUT
        await self._audit(request, "confirmation codes", "locked out", f"{wrong} wrong codes in a row")
        if self.notify is not None:
            await self.notify(
                f"{wrong} wrong confirmation codes in a row from {request.actor} ({request.channel}): I won't take "
                f"codes there for {LOCKOUT / 60:.0f} minutes."
            )
        return f"That is {wrong} wrong codes in a row: I won't take codes here for {LOCKOUT / 60:.0f} minutes."

    async def _audit(self, request: Request, action: str, outcome: str, detail: str) -> None:
        await self.store.run(write, request.audit(action, "", outcome, detail))

    def _sweep(self) -> None:
        now = time.time()
        for code in [c for c, p in self._pending.items() if p.expires <= now]:
            del self._pending[code]


def _withheld(description: str, minutes: int) -> str:
    """The prompt without its code, for a requester who may not see codes (an agent, a job, the model's caller)."""
    return (
        f"Waiting for an owner: '{description}' needs an owner's confirmation. The one-time code went to the "
        f"owners, not to you; it runs only if an owner replies with it within {minutes} minutes."
    )


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(4))


class KillSwitch:
    """The one paused flag: while set, schedules, routines run by the dashboard and camera alerts stand still."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def paused(self) -> bool:
        return await self.store.run(get_setting, PAUSED_KEY) == "1"

    async def set(self, paused: bool, request: Request, detail: str = "") -> None:
        await self.store.run(set_setting, PAUSED_KEY, "1" if paused else "0")
        action = "kill switch"
        await self.store.run(write, request.audit(action, "", "ok", detail or str(paused)))

    async def refuse(self, request: Request, action: str) -> bool:
        """True (and audited) when the switch stops an unattended `action` now."""
        if not request.unattended or not await self.paused():
            return False
        await self.store.run(write, request.audit(action, "", "denied", "automations are paused (kill switch)"))
        return True
