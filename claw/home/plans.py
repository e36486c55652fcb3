"""A device command as plain data: what a scheduled job stores and runs without reading English again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from claw.core.errors import ClawError
from claw.home.control import Change
from claw.home.targeting import Target

_TARGET_KEYS = frozenset(Target.__dataclass_fields__)
_CHANGE_KEYS = frozenset(Change.__dataclass_fields__)


def plan_of(target: Target, change: Change) -> dict[str, Any]:
    """{"target": {...}, "change": {...}}: JSON-safe, only the fields that were said."""
    said_target = {k: v for k, v in asdict(target).items() if v not in ("", False, None)}
    said_change = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(change).items()}
    said_change = {k: v for k, v in said_change.items() if v not in ("", None, {})}
    return {"target": said_target, "change": said_change}


def from_plan(plan: Mapping[str, Any]) -> tuple[Target, Change]:
    """The target and change a stored plan names; ClawError when it is not one of ours."""
    target, change = plan.get("target"), plan.get("change")
    if not isinstance(target, Mapping) or not isinstance(change, Mapping):
        raise ClawError("the stored command is damaged (no target or change); schedule it again")
    if set(target) - _TARGET_KEYS or set(change) - _CHANGE_KEYS:
        raise ClawError("the stored command has fields this Claw does not know; schedule it again")
    return Target(**target), Change(**change)
