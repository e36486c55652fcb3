"""Newcomers that would pass for a device that guards the house: a second "Front Door" is held, never added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from claw.core.untrusted import clean_name
from claw.home.capabilities import SENSITIVE_KINDS
from claw.home.device import Device
from claw.home.targeting import norm


@dataclass(frozen=True, slots=True)
class Held:
    """An announcement not applied: who asks (the source, and why it is held), what it asks, the device it touches."""

    source: str  # "An MQTT config at homeassistant/switch/x/config, ...,": the code prompt says who asks
    action: str  # "let it replace the Front Door": what the owners' code would let happen
    victim: str = ""  # the known device it would change or take from


def namesake(name: str, devices: Sequence[Device], own_id: str) -> Device | None:
    """The lock, alarm, garage door, gate or camera (not `own_id`) already called `name` or aliased so, if any."""
    wanted = norm(clean_name(name))
    for device in devices:
        if device.id == own_id or device.kind not in SENSITIVE_KINDS:
            continue
        if wanted in {norm(device.name), *(norm(a) for a in device.aliases)}:
            return device
    return None


def what_is(kind: str) -> str:
    """A kind as words: "garage_door" -> "garage door"."""
    return kind.replace("_", " ")


def a(kind: str) -> str:
    """ "a lock", "an alarm": a kind with its article."""
    word = what_is(kind)
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"
