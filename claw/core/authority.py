"""The one authority table: what each kind of principal may read, act on, manage and confirm.

Consulted by the tool registry (`assistant/toolbox.py`), the Guard (`core/safety.py`), device control
(`home/control.py`), the HTTP API (`web/`) and MCP (`web/mcp/`); no other place decides these.

- *read*: the home's state, events, jobs, history.
- *act*: ordinary changes to devices, routines, media. Sensitive changes (unlock, disarm, open a garage,
  mute a camera) are held by the Guard for an owner's code whoever asks; "code" here holds every change.
- *manage*: how Claw runs the house: its jobs, owners, names, what it watches and remembers.
- *confirm*: release a held action with its one-time code.
- *see codes*: be shown a live code (in a reply, the pending list, a notice). Only owners' channels are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from claw.core.principals import Kind, Principal

Power = Literal["read", "act", "manage", "confirm", "see codes"]
Verdict = Literal["yes", "code", "no"]  # allowed; held for an owner's code; refused

TABLE: Final[Mapping[Kind, Mapping[Power, Verdict]]] = {
    "owner": {"read": "yes", "act": "yes", "manage": "yes", "confirm": "yes", "see codes": "yes"},
    "dashboard": {"read": "yes", "act": "yes", "manage": "yes", "confirm": "yes", "see codes": "yes"},
    "agent": {"read": "yes", "act": "yes", "manage": "code", "confirm": "no", "see codes": "no"},
    "model": {"read": "yes", "act": "yes", "manage": "code", "confirm": "no", "see codes": "no"},
    "job": {"read": "yes", "act": "yes", "manage": "code", "confirm": "no", "see codes": "no"},
    "skill": {"read": "yes", "act": "code", "manage": "no", "confirm": "no", "see codes": "no"},
    "system": {"read": "yes", "act": "yes", "manage": "code", "confirm": "no", "see codes": "no"},
    "nobody": {"read": "no", "act": "no", "manage": "no", "confirm": "no", "see codes": "no"},
}

# Which command limit (config [limits]) counts a principal's device commands: an owner's own commands get a
# ceiling far above any person or slider; agents, the model, jobs and skills get the tight one.
Limit = Literal["owner", "agent"]
LIMITS: Final[Mapping[Kind, Limit]] = {
    "owner": "owner",
    "dashboard": "owner",
    "agent": "agent",
    "model": "agent",
    "job": "agent",
    "skill": "agent",
    "system": "agent",
    "nobody": "agent",
}


def decide(principal: Principal, power: Power) -> Verdict:
    """The table's answer for `principal` and `power`."""
    return TABLE[principal.kind][power]


def may(principal: Principal, power: Power) -> bool:
    """True only when the table says yes outright (no code)."""
    return decide(principal, power) == "yes"


def sees_codes(principal: Principal) -> bool:
    return may(principal, "see codes")


def limit_for(principal: Principal) -> Limit:
    return LIMITS[principal.kind]


def refusal(principal: Principal, power: Power) -> str:
    """Plain words for a refused request (one sentence, second person)."""
    if principal.kind == "nobody":
        return "This request does not say who asked, so nothing was done."
    doing = {
        "read": "read this",
        "act": "change devices",
        "manage": "change how Claw runs the house",
        "confirm": "confirm codes",
        "see codes": "see codes",
    }[power]
    return f"{principal.label} may not {doing}: only an owner can, from their own phone or the dashboard."
