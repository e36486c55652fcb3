"""The compact home overview every prompt carries: rooms, kinds and names, no states (cacheable)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from claw.assistant import tokens
from claw.home.device import Device
from claw.home.routines import Routine

MAX_TOKENS = 2500  # the overview must leave room for memory and conversation whatever the home's size


def overview(devices: Sequence[Device], routines: Sequence[Routine]) -> str:
    """Every name for small homes; large homes list fewer names per room and kind (home_state has the rest)."""
    if not devices:
        return "## The home\nNo devices are known yet."
    text = ""
    for names_per_group in (8, 4, 2, 0):
        text = _render(devices, routines, names_per_group)
        if tokens.count(text) <= MAX_TOKENS:
            break
    return text


def _render(devices: Sequence[Device], routines: Sequence[Routine], names_per_group: int) -> str:
    rooms: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for d in devices:
        if not d.ignored:
            rooms[d.room or "no room"][d.kind].append(d.name + ("" if d.available else " (offline)"))
    lines = ["## The home (use home_state for live states; target devices by name, room or kind)"]
    for room in sorted(rooms):
        parts = []
        for kind, names in sorted(rooms[room].items()):
            label = kind.replace("_", " ")
            if len(names) > names_per_group:
                parts.append(f"{len(names)} {label}s")
            else:
                parts.append(f"{label}: {', '.join(sorted(names))}")
        lines.append(f"- {room}: " + "; ".join(parts))
    if routines:
        lines.append(
            "Routines: " + "; ".join(f"{r.name} ({r.description})" if r.description else r.name for r in routines)
        )
    return "\n".join(lines)
