"""Sensitive actions wait for an owner to echo a one-time code; enforced where devices are actuated."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from claw.brain.tools import HELD_PROMPTS, Turn
from claw.store import Store
from claw.store.audit import AuditEntry, write

log = logging.getLogger(__name__)

ALPHABET = "ACDEFHJKMNPRTUVWXY3479"  # no 0/O, 1/I/L, 5/S, 8/B: easy to read back on a phone
CODE_RE = re.compile(r"^\s*(?:ok|okay|yes|confirm)?[\s,:]*([a-z0-9]{4})[\s.!]*$", re.I)


@dataclass(slots=True)
class Pending:
    code: str
    description: str  # "unlock the Front Door"
    run: Callable[[], Awaitable[str]]
    requested_by: str
    path: str
    expires: float
    prompt: str = ""
    created: float = field(default_factory=time.time)


class Guard:
    """Issues codes bound to one exact action, valid for `ttl` seconds, usable once."""

    def __init__(self, store: Store, *, ttl: float = 120.0, notify: Callable[[str], Awaitable[None]] | None = None):
        self.store, self.ttl, self.notify = store, ttl, notify
        self._pending: dict[str, Pending] = {}

    def pending(self) -> list[Pending]:
        now = time.time()
        return [p for p in self._pending.values() if p.expires > now]

    async def hold(self, description: str, run: Callable[[], Awaitable[str]], turn: Turn) -> Pending:
        """Park an action and tell the owner the code that releases it."""
        self._sweep()
        code = "".join(secrets.choice(ALPHABET) for _ in range(4))
        while code in self._pending:
            code = "".join(secrets.choice(ALPHABET) for _ in range(4))
        minutes = max(1, round(self.ttl / 60))
        pending = Pending(code, description, run, turn.actor, turn.path, time.time() + self.ttl)
        pending.prompt = f"Reply OK {code} to {description} (valid {minutes} minutes)."
        self._pending[code] = pending
        await self._audit(turn, description, "held", f"code issued, expires in {self.ttl:.0f} s")
        held = HELD_PROMPTS.get()
        if held is not None:
            held.append(pending.prompt)
        if turn.path in ("schedule", "dashboard", "routine-schedule") and self.notify is not None:
            # nobody is in a conversation to read the reply: send the code to the owners
            await self.notify(f"{turn.actor} asked to {description}. {pending.prompt}")
        log.info("held '%s' for %s via %s", description, turn.actor, turn.path)
        return pending

    def is_code(self, text: str) -> str | None:
        match = CODE_RE.match(text)
        if not match:
            return None
        code = match.group(1).upper()
        return code if all(c in ALPHABET for c in code) else None

    async def confirm(self, code: str, turn: Turn) -> str:
        """Run the action the code was issued for, once; anything else is refused and audited."""
        self._sweep()
        pending = self._pending.pop(code.upper(), None)
        if pending is None:
            await self._audit(turn, f"confirm code {code.upper()}", "denied", "no such pending action or expired")
            return "That code doesn't match anything waiting (codes last two minutes and work once)."
        await self._audit(turn, pending.description, "confirmed", f"code {code.upper()} from {turn.actor}")
        confirmed = Turn(turn.actor, turn.conversation, turn.channel, turn.sender, path="confirmed")
        from claw.brain.tools import CURRENT_TURN

        token = CURRENT_TURN.set(confirmed)
        try:
            return await pending.run()
        finally:
            CURRENT_TURN.reset(token)

    async def _audit(self, turn: Turn, action: str, outcome: str, detail: str) -> None:
        await self.store.run(write, AuditEntry(turn.actor, turn.path, action, "", outcome, detail))

    def _sweep(self) -> None:
        now = time.time()
        for code in [c for c, p in self._pending.items() if p.expires <= now]:
            del self._pending[code]

    async def require(self, *, action: str, target: str, run: Callable[[], Awaitable[str]]) -> str:
        """Run now if this turn is an owner's confirmation, else hold it and raise NeedsConfirmation."""
        from claw.brain.tools import CURRENT_TURN
        from claw.errors import NeedsConfirmation

        turn = CURRENT_TURN.get()
        if turn.path == "confirmed":
            return await run()
        pending = await self.hold(f"{action} {target}".strip(), run, turn)
        raise NeedsConfirmation(pending.prompt, pending.code)
