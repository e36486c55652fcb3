"""The compact home overview every prompt carries: rooms, kinds and names, no states (cacheable)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from claw.home.device import Device
from claw.home.routines import Routine

NAMES_PER_GROUP = 6  # beyond this a room's kind is summarised; the home_state tool lists the rest


def overview(devices: Sequence[Device], routines: Sequence[Routine]) -> str:
    """About 8 tokens a device for small homes, growing slowly for large ones."""
    if not devices:
        return "## The home\nNo devices are known yet."
    rooms: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for d in devices:
        if not d.ignored:
            rooms[d.room or "no room"][d.kind].append(d.name + ("" if d.available else " (offline)"))
    lines = ["## The home (use home_state for live states; target devices by name, room or kind)"]
    for room in sorted(rooms):
        parts = []
        for kind, names in sorted(rooms[room].items()):
            label = kind.replace("_", " ")
            if len(names) > NAMES_PER_GROUP:
                parts.append(f"{len(names)} {label}s")
            else:
                parts.append(f"{label}: {', '.join(sorted(names))}")
        lines.append(f"- {room}: " + "; ".join(parts))
    if routines:
        lines.append(
            "Routines: " + "; ".join(f"{r.name} ({r.description})" if r.description else r.name for r in routines)
        )
    return "\n".join(lines)
