"""The one safety core: sensitive actions wait for an owner's one-time code; one kill switch pauses automations."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from claw.core.authority import may, sees_codes
from claw.core.errors import NeedsConfirmation
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store.audit import get_setting, set_setting, write

log = logging.getLogger(__name__)

T = TypeVar("T")

ALPHABET = "ACDEFHJKMNPRTUVWXY3479"  # no 0/O, 1/I/L, 5/S, 8/B: easy to read back on a phone
# "OK ABCD" (or okay/yes/confirm) is always a confirmation attempt; a bare "ABCD" only when it is pending here.
_WITH_WORD = re.compile(r"^\s*(?:ok|okay|yes|confirm)[\s,:]+([a-z0-9]{4})[\s.!]*$", re.I)
_BARE = re.compile(r"^\s*([a-z0-9]{4})[\s.!]*$", re.I)
PAUSED_KEY = "automations_paused"
WRONG_LIMIT = 5  # wrong codes in a row in one conversation before it may not try again for a while
PENDING_PER_CONVERSATION = 5  # codes waiting at once in one conversation
LOCKOUT = 600.0  # seconds

# A held action: what it returns is said to whoever released it (a typed outcome is rendered by `speak`).
Action = Callable[[], Awaitable[object]]
# Renders a held action's typed outcome in a language ("en", "es", ...); wired by the daemon (assistant.speech).
Speak = Callable[[object, str], str]
# What a held action does, as a verb key the speech layer words per language; "" means `detail` says it in English.
Verb = Literal["", "unlock", "disarm", "open", "set", "action", "allow", "mute", "mode"]


@dataclass(frozen=True, slots=True)
class Ask:
    """What a held action would do, as data: a verb, the device names it acts on, and any extra words."""

    verb: Verb = ""
    names: tuple[str, ...] = ()
    detail: str = ""  # English: what is set or run ("set position to 50"); the whole request for "", mute, mode
    value: str = ""  # mute: for how many minutes; mode: which alert mode (home, away, night)

    def english(self) -> str:
        """ "unlock the Front Door": the owners' notices, the audit log and English replies."""
        names = " and ".join(f"the {n}" if not n.lower().startswith("the ") else n for n in self.names)
        if self.verb in ("unlock", "disarm", "open"):
            return f"{self.verb} {names}"
        if self.verb == "allow":
            return f"let me control {' and '.join(self.names)}"
        if self.verb in ("set", "action"):
            return f"{self.detail} on {names}"
        return self.detail  # the caller's own English (a camera's mute or mode change, an owner change)


@dataclass(frozen=True, slots=True)
class Pending:
    """One held action: what it does (typed), the closure that runs it, and who may release it."""

    code: str
    ask: Ask
    run: Action
    requested_by: str
    via: str
    conversation: str
    expires: float
    minutes: int  # how long the code lasts, as said to people
    with_code: bool  # the requester may see the code (an owner's chat); else the code went to the owners only
    any_owner: bool = False  # issued to no conversation (schedule, dashboard): the owners got the code
    language: str = "en"  # the language of the turn that asked: its outcome is said in it
    created: float = field(default_factory=time.time)

    @property
    def description(self) -> str:
        return self.ask.english()

    @property
    def prompt(self) -> str:
        """The English prompt with the code: only for the owners."""
        return f"Reply OK {self.code} to {self.description} (valid {self.minutes} minutes)."

    @property
    def shown(self) -> str:
        """What the requester is told in English: the prompt, or (an agent, a job) that the owners got the code."""
        return self.prompt if self.with_code else _withheld(self.description, self.minutes)

    def accepts_from(self, request: Request) -> bool:
        return self.any_owner or self.conversation == request.conversation


class Guard:
    """Holds sensitive actions as closures; runs exactly that closure once, when an owner echoes its code."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = 120.0,
        notify: Callable[[str], Awaitable[None]] | None = None,
        speak: Speak | None = None,
    ) -> None:
        self.store, self.ttl, self.notify = store, ttl, notify
        self.speak = speak or _plain  # a held action's typed outcome, said in the language it was asked in
        self._pending: dict[str, Pending] = {}
        self._wrong: dict[str, int] = {}  # conversation -> wrong codes in a row
        self._locked: dict[str, float] = {}  # conversation -> until when it may not try codes

    def pending(self, request: Request | None = None) -> list[Pending]:
        """Live held actions; with a request, only those it may confirm."""
        now = time.time()
        return [p for p in self._pending.values() if p.expires > now and (request is None or p.accepts_from(request))]

    async def hold(self, asked: Ask | str, run: Action, request: Request) -> Pending:
        """Park an action and put its typed record on the turn's receipt (the reply says it; or the owners hear)."""
        self._sweep()
        ask = asked if isinstance(asked, Ask) else Ask(detail=asked)
        description = ask.english()
        code = _new_code()
        while code in self._pending:
            code = _new_code()
        pending = Pending(
            code,
            ask,
            run,
            request.actor,
            request.via,
            request.conversation,
            time.time() + self.ttl,
            minutes=max(1, round(self.ttl / 60)),
            with_code=sees_codes(request.principal),
            any_owner=request.unattended,
            language=request.receipt.language or "en",
        )
        mine = [c for c, p in self._pending.items() if p.conversation == request.conversation]
        for old in mine[: max(0, len(mine) - PENDING_PER_CONVERSATION + 1)]:
            del self._pending[old]  # each live code is one more a guess could hit: the oldest gives way
        self._pending[code] = pending
        await self._audit(request, description, "held", f"code issued, expires in {self.ttl:.0f} s")
        request.receipt.held.append(pending)
        if request.unattended and self.notify is not None:
            # no owner reads this conversation: the code goes to the owners, saying who asked
            await self.notify(f"{request.actor} asks to {description}. {pending.prompt}")
        log.info("held '%s' for %s via %s", description, request.actor, request.via)
        return pending

    async def require(
        self, *, action: str = "", target: str = "", run: Action, request: Request, ask: Ask | None = None
    ) -> str:
        """Hold `run` for the owner's code and tell the caller so (NeedsConfirmation); it runs only through
        `confirm` — or now, when the request is a model's call an owner already released with a code."""
        outcome = await self.gate(run=run, request=request, ask=ask or f"{action} {target}".strip())
        return self.speak(outcome, request.receipt.language or "en")

    async def gate(self, *, run: Callable[[], Awaitable[T]], request: Request, ask: Ask | str) -> T:
        """As `require`, for a caller that words the outcome itself: a released action's typed outcome comes back."""
        if request.released:
            return await run()
        pending = await self.hold(ask, run, request)
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
        return self.speak(await pending.run(), pending.language)

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


def _plain(outcome: object, language: str) -> str:
    """No renderer wired: a held action that says itself (a typed outcome needs `speak`, wired by the daemon)."""
    if isinstance(outcome, str):
        return outcome
    log.warning("a held action returned %s, but no speech is wired to say it", type(outcome).__name__)
    return ""


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
