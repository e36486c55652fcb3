"""A device's state as one word key (on, off, open, closed, locked, armed): the speech layer says it per language."""

from __future__ import annotations

from claw.home.device import Device


def state_word(device: Device) -> str:
    """One word for where a device is now: on/off, open/closed, locked/unlocked, armed/disarmed, playing."""
    s = device.state
    if "locked" in s:
        return "locked" if s["locked"] else "unlocked"
    if device.kind == "alarm" and "mode" in s:
        return "disarmed" if s["mode"] == "disarmed" else "armed"
    if "state" in s and s["state"] in ("open", "opening", "closed", "closing"):
        return "open" if s["state"] in ("open", "opening") else "closed"
    if "contact" in s:
        return "open" if s["contact"] in ("open", True) else "closed"
    if "moisture" in s:  # a leak sensor
        return "wet" if s["moisture"] else "dry"
    for key in ("motion", "occupancy", "presence"):  # what a sensor noticed, in the grammar's words
        if key in s:
            return ("detected" if s[key] else "clear") if key != "presence" else ("home" if s[key] else "away")
    if "position" in s and "on" not in s:
        return "closed" if s["position"] == 0 else "open"
    if device.kind in ("thermostat", "heater") and "mode" in s and "on" not in s:
        return "off" if s["mode"] == "off" else "on"  # a thermostat is "on" while it heats or cools
    if "playback" in s:
        return "playing" if s["playback"] == "playing" else "paused"
    if "on" in s:
        return "on" if s["on"] else "off"
    return "unknown"
