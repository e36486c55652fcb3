"""A device's state in one plain word, as a person would say it: on, off, open, closed, locked, armed."""

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


def already_words(device: Device) -> str:
    """What "already" means for this device: "off", "closed", "locked", "armed for the night"."""
    word = state_word(device)
    mode = device.state.get("mode")
    if word == "armed" and isinstance(mode, str):
        return {"night": "armed for the night", "away": "armed (away)", "home": "armed (home)"}.get(mode, "armed")
    if word == "on" and isinstance(device.state.get("brightness"), int | float):
        return f"on at {device.state['brightness']}%"
    return word if word != "unknown" else "set that way"


def degrees(value: object) -> str:
    """A temperature as people say it: 21 → "21°C", 20.5 → "20.5°C", anything else → "?°C"."""
    return f"{value:g}°C" if isinstance(value, int | float) and not isinstance(value, bool) else "?°C"


def thermostat_sentence(device: Device) -> str:
    """ "The Thermostat reads 20.5°C and heats to 21°C.": the reading, then what it does about it."""
    s = device.state
    now, target = degrees(s.get("current_temp")), degrees(s.get("target_temp"))
    mode = s.get("mode")
    if s.get("on") is False or mode == "off":
        doing = "is off"
    elif mode == "heat":
        doing = f"heats to {target}"
    elif mode == "cool":
        doing = f"cools to {target}"
    elif mode in ("auto", "heat_cool"):
        doing = f"keeps {target}"
    elif isinstance(mode, str) and mode:
        doing = f"is in {mode.replace('_', ' ')} mode at {target}"
    else:
        doing = f"is set to {target}"
    return f"The {device.name} reads {now} and {doing}."
