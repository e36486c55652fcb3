"""Who asked for something, from where and via what: passed explicitly into every method that acts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from claw.core.authority import sees_codes
from claw.core.bus import Media
from claw.core.principals import NOBODY, Principal
from claw.core.store.audit import AuditEntry

if TYPE_CHECKING:  # the Guard builds on Request: only the type is needed here
    from claw.core.ratelimit import Refusal
    from claw.core.safety import Pending

# How a request reached the domain: the audit log says it, and the safety rules depend on it.
Via = Literal["fast-path", "llm", "routine", "schedule", "dashboard", "heartbeat", "system", "mcp"]


@dataclass(slots=True)
class Receipt:
    """What one turn produced besides its text: actions held for a code (typed) and pictures shown."""

    held: list[Pending] = field(default_factory=list)  # said in the turn's language by the router, code once
    pictures: list[Media] = field(default_factory=list)
    tainted: bool = False  # the turn has read text the owner did not write: what it would change waits for a code
    tainted_by: str = ""  # which text, for the code's prompt ("the device name 'X'"); "" when not known
    limited: Refusal | None = None  # the command limit's verdict for this turn: None unasked, falsy allowed
    language: str = ""  # the language the message was understood in ("" unknown): replies and codes are said in it
    near: tuple[str, ...] = ()  # known names close to words not understood: offered if the model cannot answer


@dataclass(frozen=True, slots=True)
class Request:
    """One principal's request; immutable, with a per-turn receipt to fill.

    There is no default speaker: a request built without a `principal` is NOBODY's, and the authority
    table lets NOBODY do nothing.
    """

    principal: Principal = NOBODY
    conversation: str = ""
    channel: str = ""
    sender: str = ""
    via: Via = "llm"
    own_words: bool = True  # the principal's own words (not a forward, a page, or a schedule's stored text)
    message: int = 0  # the inbound message's row, when it came from one: its audit rows name it
    run: int = 0  # the job run's row, when a schedule asked: likewise
    released: bool = False  # an owner's code released this (a held model action running now): not held again
    receipt: Receipt = field(default_factory=Receipt, compare=False, repr=False)

    @property
    def actor(self) -> str:
        """Who asked, as the audit log and the owners' notices name them."""
        return self.principal.label

    @property
    def owner(self) -> bool:
        """An owner's own words on an owner's channel: the only request that may confirm a code."""
        return self.principal.speaks_for_owner and self.own_words

    def using(self, via: Via) -> Request:
        """The same person and turn, through another path (the fast path handing over to the model)."""
        return replace(self, via=via)

    def audit(self, action: str, target: str = "", outcome: str = "ok", detail: str = "") -> AuditEntry:
        """An audit row for something done on this request: who, through which path, for which message."""
        return AuditEntry(self.actor, self.via, action, target, outcome, detail, message=self.message, run=self.run)

    @property
    def unattended(self) -> bool:
        """No owner reads this conversation (schedules, the dashboard, an agent): codes go to the owners."""
        return self.via in ("schedule", "dashboard", "heartbeat", "system", "mcp") or not sees_codes(self.principal)


def unattended(principal: Principal, via: Via, conversation: str = "jobs", *, run: int = 0) -> Request:
    """A request no person is typing right now: a schedule (`run`: its job run), the dashboard, the heartbeat."""
    return Request(
        principal=principal, conversation=conversation, channel=via, sender=via, via=via, own_words=False, run=run
    )


def owner_conversation(number: str) -> str:
    """An owner's one conversation, whichever channel they write from."""
    return f"owner:{number}"
