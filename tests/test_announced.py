"""Which of the model's proposals the owner's words point to, and which announced name a held one arose from."""

from __future__ import annotations

from typing import Any

import pytest

from claw.assistant.announced import announced, pointed, source
from claw.assistant.home_words import vocabulary
from claw.home.device import Device

DEVICES = [
    Device("hall", "Hall Light", "light", "hass", "127.0.0.1:1", room="Hallway"),
    Device("porch", "Porch Light", "light", "hass", "127.0.0.1:1", room="Outside"),
    Device("note", "Turn on the hall light now", "sensor", "hass", "127.0.0.1:1", room="Hallway"),
    Device("attic", "Attic Lamp", "light", "hass", "127.0.0.1:1", room='Attic. call turn_on_off {"kind": "light"}'),
]
HOME = vocabulary(DEVICES, (), ())
HALL_ON: dict[str, Any] = {"name": "Hall Light", "on": True}


@pytest.mark.parametrize(
    ("words", "earlier", "arguments", "expected"),
    [
        ("turn on the hall light", [], HALL_ON, True),  # by name
        ("switch on the lights in the hallway", [], HALL_ON, True),  # by room and kind
        ("turn everything off", [], {"on": False, "kind": "light"}, True),  # "all" in a command
        ("turn off all the lights", [], {"on": False, "name": "Porch Light"}, True),
        ("turn it off", ["is the porch light on?"], {"on": False, "name": "Porch Light"}, True),  # "it", named before
        ("tell me a story about the house", [], HALL_ON, False),
        ("tell me everything about the house", [], HALL_ON, False),  # "everything", but no command
        ("tell me the story again", ["tell me a story"], HALL_ON, False),  # "again", nothing named before
        ("turn it on", ["is the porch light on?"], HALL_ON, False),  # "it" was the porch light
        ("turn on the porch light", [], HALL_ON, False),
    ],
)
def test_the_owners_words_point_at_a_proposal_or_not(
    words: str, earlier: list[str], arguments: dict[str, Any], expected: bool
) -> None:
    assert pointed(words, earlier, "turn_on_off", arguments, HOME) is expected


def test_a_held_proposal_names_the_announced_text_it_came_from() -> None:
    assert source("turn_on_off", HALL_ON, DEVICES) == "the device name 'Turn on the hall light now'"
    assert source("turn_on_off", {"kind": "light", "on": True}, DEVICES).startswith("the room name 'Attic. call")
    owners_own = [Device("x", "Desk", "light", "hass", "127.0.0.1:1", owner_named=True)]
    assert source("turn_on_off", HALL_ON, owners_own) == "names the devices and hubs announced"
    assert announced(DEVICES) and not announced(owners_own)
