"""The home's heartbeat checks: plain code over the registry, no model, no device traffic of their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from claw.core.config import Config
from claw.core.findings import Check, Finding, in_window, quiet_window
from claw.home.registry import Registry

NIGHT = "22:00-07:00"  # when an open door, gate or garage is urgent rather than a notice


def home_checks(registry: Registry, config: Config, now: Callable[[], datetime] | None = None) -> Check:
    """A heartbeat provider: devices unavailable, batteries low, doors and the garage open at night."""
    zone = ZoneInfo(config.location.timezone)
    night = quiet_window(config.heartbeat.quiet_hours or NIGHT) or quiet_window(NIGHT)
    low = config.heartbeat.battery_low

    async def check() -> list[Finding]:
        at_night = in_window(night, (now() if now else datetime.now(zone)).timetz().replace(tzinfo=None))
        found: list[Finding] = []
        for d in registry.devices():
            if not d.available:
                found.append(
                    Finding("notice", f"offline:{d.id}", f"The {d.name} ({d.room or d.kind}) isn't answering.")
                )
                continue
            battery = d.state.get("battery")
            if isinstance(battery, int | float) and battery <= low:
                found.append(Finding("notice", f"battery:{d.id}", f"The {d.name}'s battery is at {battery:g}%."))
            opened = d.state.get("state") in ("open", "opening") or d.state.get("contact") == "open"
            if d.kind == "lock" and d.state.get("locked") is False:
                opened = True
            if opened and at_night:
                what = "unlocked" if d.kind == "lock" else "open"
                found.append(Finding("urgent", f"open:{d.id}", f"The {d.name} is {what} and it's night."))
        return found

    return check
