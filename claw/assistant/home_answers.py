"""Questions about the house answered from state, in sentences: "is the garage open", "which lights are on"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from claw.home.device import Device
from claw.home.states import already_words, state_word, thermostat_sentence

# The words a state question may ask about, and what each means per kind of device.
OPPOSITE = {"on": "off", "off": "on", "open": "closed", "closed": "open", "locked": "unlocked", "unlocked": "locked"}


def _asked_word(device: Device, asked: str) -> str:
    """HA asks binary sensors and covers with "on"; people mean open (a door sensor) or the cover's own word."""
    if asked == "on" and state_word(device) in ("open", "closed"):
        return "open"
    if asked == "off" and state_word(device) in ("open", "closed"):
        return "closed"
    return asked


def _is(device: Device, asked: str) -> bool:
    return state_word(device) == _asked_word(device, asked)


def _sentence(device: Device) -> str:
    s = device.state
    if not device.available:
        return f"I can't reach the {device.name} right now."
    if device.kind == "thermostat" or "current_temp" in s:
        return thermostat_sentence(device)
    word = state_word(device)
    if word == "on" and "brightness" in s:
        return f"The {device.name} is on at {s['brightness']}%."
    if word == "open" and isinstance(s.get("position"), int | float) and 0 < s["position"] < 100:
        return f"The {device.name} is {s['position']}% open."
    if device.kind == "alarm" and "mode" in s and s["mode"] != "disarmed":
        return f"The {device.name} is {already_words(device)}."
    if word == "playing":
        return f"The {device.name} is playing {s.get('title') or 'something'} (volume {s.get('volume', '?')}%)."
    if device.kind == "speaker":
        return f"The {device.name} is {word} (volume {s.get('volume', '?')}%)."
    readings = _readings(device)
    battery = f" (battery {s['battery']:g}%)" if isinstance(s.get("battery"), int | float) else ""
    if readings and word == "unknown":
        return f"The {device.name} reads {readings}{battery}."
    if readings and device.kind == "sensor":
        return f"The {device.name} is {word} ({readings}){battery}."
    if battery:
        return f"The {device.name} is {word}{battery}."
    if word == "unknown":
        return f"The {device.name}: no readings yet."
    return f"The {device.name} is {word}."


def _readings(device: Device) -> str:
    """A sensor's numbers with their units ("55%", "21.5°C and 40%"); battery is said elsewhere."""
    said = []
    for cap in device.capabilities:
        value = device.state.get(cap.key)
        if (
            cap.type == "sensor"
            and cap.key != "battery"
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            unit = cap.unit or ""
            gap = "" if unit in ("%", "°C", "°F", "") else " "
            said.append(f"{value:g}{gap}{unit}")
    return " and ".join(said)


def _names(devices: Sequence[Device]) -> str:
    names = [f"the {d.name}" for d in devices]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def answer_question(devices: Sequence[Device], action: str, values: Mapping[str, Any]) -> str:
    """The answer to one state question over the devices the grammar resolved (never more than it said)."""
    if not devices:
        return "I don't have a device like that."
    if action == "get_temperature":
        return " ".join(_sentence(d) for d in devices[:12])
    asked, query = str(values.get("state") or ""), str(values.get("query") or "one")
    if not asked or query in ("one", "where"):
        more = f" (and {len(devices) - 12} more)" if len(devices) > 12 else ""
        return " ".join(_sentence(d) for d in devices[:12]) + more
    word = _asked_word(devices[0], asked)
    matching = [d for d in devices if _is(d, asked)]
    others = [d for d in devices if not _is(d, asked)]
    if query == "one_yesno" and len(devices) == 1:
        said = _sentence(devices[0])
        return f"{'Yes' if _is(devices[0], asked) else 'No'}, {said[:1].lower()}{said[1:]}"
    if query == "one_yesno":  # "are the kitchen lights on" over two lights: say which
        query = "any"
    if query == "all":
        if not others and len(devices) == 1:
            return f"Yes, the {devices[0].name} is {word}."
        if not others:
            return f"Yes, {'both are' if len(devices) == 2 else f'all {len(devices)} are'} {word}."
        rest = f" ({_names(matching)} {'is' if len(matching) == 1 else 'are'} {word})" if matching else ""
        return f"No: {_names(others)} {'is' if len(others) == 1 else 'are'} {OPPOSITE.get(word, 'not ' + word)}{rest}."
    if query == "how_many":
        listed = f": {_names(matching)}" if matching and len(matching) <= 8 else ""
        return f"{len(matching)} of {len(devices)} {'is' if len(matching) == 1 else 'are'} {word}{listed}."
    if not matching and len(devices) == 1:  # "which doors are unlocked?" over one door: say how it is
        said = _sentence(devices[0])
        return f"No, {said[:1].lower()}{said[1:]}" if query == "any" else said
    if not matching:  # "which …?" is not a yes/no question: no "No," before the answer
        none = "Neither is" if len(devices) == 2 else f"None of the {len(devices)} is"
        return f"{'No, n' + none[1:] if query == 'any' else none} {word}."
    verb = "is" if len(matching) == 1 else "are"
    lead = "Yes: " if query == "any" else ""
    off = OPPOSITE.get(word, "not " + word)
    rest = f" ({_names(others)} {'is' if len(others) == 1 else 'are'} {off})" if others and query == "any" else ""
    return f"{lead}{_names(matching)[:1].upper()}{_names(matching)[1:]} {verb} {word}{rest}."
