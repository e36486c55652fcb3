"""Who asked for something, from where and via what: passed explicitly into every method that acts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from claw.core.bus import Media
from claw.core.store.audit import AuditEntry

# How a request reached the domain: the audit log says it, and the safety rules depend on it.
Via = Literal["fast-path", "llm", "routine", "schedule", "dashboard", "heartbeat", "system", "mcp"]


@dataclass(slots=True)
class Receipt:
    """What one turn produced besides its text: confirmation prompts issued and pictures shown."""

    prompts: list[str] = field(default_factory=list)
    pictures: list[Media] = field(default_factory=list)
    tainted: bool = False  # the turn has read text the owner did not write: what it would change waits for a code


@dataclass(frozen=True, slots=True)
class Request:
    """One person's (or one schedule's) request; immutable, with a per-turn receipt to fill."""

    actor: str = "owner"
    conversation: str = "local:owner"
    channel: str = "local"
    sender: str = "local"
    via: Via = "llm"
    owner: bool = True  # the text came from an owner (not a forward, a page or a schedule's own words)
    message: int = 0  # the inbound message's row, when it came from one: its audit rows name it
    run: int = 0  # the job run's row, when a schedule asked: likewise
    released: bool = False  # an owner's code released this (a held model action running now): not held again
    receipt: Receipt = field(default_factory=Receipt, compare=False, repr=False)

    def using(self, via: Via) -> Request:
        """The same person and turn, through another path (the fast path handing over to the model)."""
        return replace(self, via=via)

    def audit(self, action: str, target: str = "", outcome: str = "ok", detail: str = "") -> AuditEntry:
        """An audit row for something done on this request: who, through which path, for which message."""
        return AuditEntry(self.actor, self.via, action, target, outcome, detail, message=self.message, run=self.run)

    @property
    def unattended(self) -> bool:
        """Nobody is reading this conversation (schedules, the dashboard, an MCP agent): codes go to the owners."""
        return self.via in ("schedule", "dashboard", "heartbeat", "system", "mcp")


def unattended(actor: str, via: Via, conversation: str = "jobs", *, run: int = 0) -> Request:
    """A request no person is typing right now: a schedule (`run`: its job run), the dashboard, the heartbeat."""
    return Request(actor=actor, conversation=conversation, channel=via, sender=via, via=via, owner=False, run=run)


def owner_conversation(number: str) -> str:
    """An owner's one conversation, whichever channel they write from."""
    return f"owner:{number}"
