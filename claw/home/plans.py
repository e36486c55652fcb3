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


def plan_for_devices(ids: list[str], names: list[str], change: Change) -> dict[str, Any]:
    """{"ids": [...], "names": [...], "change": {...}}: exactly these devices (a delayed command's targets)."""
    return {"ids": list(ids), "names": list(names), "change": plan_of(Target(), change)["change"]}


def from_plan(plan: Mapping[str, Any]) -> tuple[Target | tuple[str, ...], Change]:
    """The target (or device ids) and change a stored plan names; ClawError when it is not one of ours."""
    target, change, ids = plan.get("target"), plan.get("change"), plan.get("ids")
    if not isinstance(change, Mapping) or set(change) - _CHANGE_KEYS:
        raise ClawError("the stored command is damaged or from a newer Claw; schedule it again")
    if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
        return tuple(ids), Change(**change)
    if not isinstance(target, Mapping) or set(target) - _TARGET_KEYS:
        raise ClawError("the stored command is damaged or from a newer Claw; schedule it again")
    return Target(**target), Change(**change)
