"""Who is speaking: an owner on a channel, the dashboard session, an agent, a job, a skill, the system — or nobody."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The model is not a principal of its own: it acts *for* the request's principal, and the authority table
# has a row for that ("model"), looked up whenever the model chose the call (see `model_for`).
Kind = Literal["owner", "dashboard", "agent", "model", "job", "skill", "system", "nobody"]


@dataclass(frozen=True, slots=True)
class Principal:
    """One speaker, immutable: what kind it is, its name, and where it speaks from."""

    kind: Kind
    name: str
    channel: str = ""  # owner: whatsapp, telegram or local; agent: MCP or API
    acting_for: str = ""  # model: the label of whom it acts for; job: its creator

    @property
    def label(self) -> str:
        """How the audit log and every code prompt name it: "Sam", "Claude Desktop (MCP)", "the job 'night check'"."""
        if self.kind == "agent":
            return f"{self.name} ({self.channel or 'agent'})"
        if self.kind == "job":
            return f"the job '{self.name}'"
        if self.kind == "skill":
            return f"the skill '{self.name}'"
        if self.kind == "model":
            return f"the model for {self.acting_for}" if self.acting_for else "the model"
        return self.name

    @property
    def speaks_for_owner(self) -> bool:
        """An owner typing on one of their own channels (WhatsApp, Telegram, the dashboard session)."""
        return self.kind in ("owner", "dashboard")


NOBODY = Principal("nobody", "nobody")  # a request that did not say who asked: it may do nothing


def owner(name: str, channel: str) -> Principal:
    """An owner writing on `channel` (whatsapp, telegram, local)."""
    return Principal("owner", name, channel)


def dashboard(name: str) -> Principal:
    """The owner's dashboard session (the dashboard token, `claw chat`, loopback without a token)."""
    return Principal("dashboard", name, "dashboard")


def agent(name: str, surface: str = "MCP") -> Principal:
    """Another program with an agent token: an MCP client, or an API client holding an agent token."""
    return Principal("agent", name, surface)


def agent_conversation(principal: Principal) -> str:
    """An agent's own conversation, apart from every owner's: its history, its codes' binding."""
    return f"agent:{principal.name}"


def job(name: str, creator: str = "") -> Principal:
    """A scheduled job acting for whoever made it."""
    return Principal("job", name, "schedule", creator)


def skill(name: str) -> Principal:
    return Principal("skill", name, "skill")


def system(what: str) -> Principal:
    """Claw itself: discovery, the heartbeat, start-up checks."""
    return Principal("system", what, "system")


def model_for(principal: Principal) -> Principal:
    """The model acting on `principal`'s turn: it is the model's choice, so the model's row applies."""
    if principal.kind == "model":
        return principal
    return Principal("model", "model", principal.channel, principal.label)
