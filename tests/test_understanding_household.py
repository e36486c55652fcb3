"""How households really text (issue 20's figures): joined commands that share a verb, a reason after a comma,
the verbs people use ("kill", "put … on", "start"), halves and bits of shades, batteries, "lock up"."""

from __future__ import annotations

from dataclasses import replace

import pytest

from claw.assistant.understanding import Compound, LastTouched, Understanding, Understood
from tests.home_fixtures import House
from tests.test_understanding import entity
from tests.test_understanding_fixes import LANGUAGES, asked, house, said, understood


@pytest.fixture(scope="module")
def home() -> Understanding:
    """Issue 20's house with shades in the bedroom."""
    words = house()
    shades = entity("cover.bedroom_shades", "Bedroom Shades", "Bedroom", "shade", "shade", {"position"})
    return Understanding(replace(words, entities=(*words.entities, shades)), languages=LANGUAGES)


SPA, BEDROOM_LAMP, SHADES = ("heater.spa",), ("light.bedroom_lamp",), ("cover.bedroom_shades",)


def parts(outcome: object) -> list[tuple[str, tuple[str, ...]]]:
    assert isinstance(outcome, Compound), outcome
    return [(p.action, p.targets) for p in outcome.parts]


# -- one verb, several things -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("turn off the pool pump and the spa heater", [("turn_off", ("switch.pool_pump",)), ("turn_off", SPA)]),
        ("turn on the desk lamp & the bedroom lamp", [("turn_on", ("light.desk_lamp",)), ("turn_on", BEDROOM_LAMP)]),
        ("close the garage and the blinds in the bedroom", [("close", ("cover.garage",)), ("close", SHADES)]),
    ],
)
def test_a_part_without_a_verb_borrows_the_one_before(
    home: Understanding, text: str, expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    got = parts(said(home, text))
    assert [a for a, _ in got] == [a for a, _ in expected]
    for (_, targets), (_, wanted) in zip(got, expected, strict=True):
        assert not wanted or targets == wanted


def test_rooms_joined_by_and_share_their_last_words(home: Understanding) -> None:
    kitchen_and_bedroom = parts(said(home, "turn off the kitchen and bedroom lights"))
    assert kitchen_and_bedroom == [
        ("turn_off", ("light.kitchen_ceiling", "light.kitchen_island")),
        ("turn_off", ("light.bedroom_lamp", "light.bedroom_ceiling")),
    ]  # the kitchen's lights, not the kettle and the plug beside them
    two_rooms = parts(said(home, "lights off in the kitchen and living room"))
    assert [set(t) for _, t in two_rooms] == [
        {"light.kitchen_ceiling", "light.kitchen_island"},
        {"light.living_lamp", "light.living_ceiling"},
    ]


def test_also_and_too_only_join(home: Understanding) -> None:
    got = parts(said(home, "turn off the kitchen lights and also the desk lamp"))
    assert got[1] == ("turn_off", ("light.desk_lamp",))


# -- a reason after the command -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "target"),
    [
        ("desk lamp on please, expecting a delivery", "turn_on", "light.desk_lamp"),
        ("turn on the desk lamp, I'm reading", "turn_on", "light.desk_lamp"),
        ("unlock the front door, we're at the gate", "unlock", "lock.front"),
    ],
)
def test_a_clause_that_only_explains_is_let_go(home: Understanding, text: str, action: str, target: str) -> None:
    done = understood(said(home, text))
    assert (done.action, done.targets) == (action, (target,))


@pytest.mark.parametrize(
    "text",
    [
        "turn off the kitchen lights and order a pizza",  # an order the house cannot carry out: the model's
        "turn on the desk lamp, but not in the study",  # a correction
        "arm the alarm, we're off to bed",  # "bed" says which mode: not a mere reason
        "turn on the spa heater, we're using it tonight",  # "tonight" may be when
        "turn on the desk lamp, no wait",  # a change of mind
    ],
)
def test_a_clause_that_may_change_the_command_is_never_dropped(home: Understanding, text: str) -> None:
    outcome = said(home, text)  # the first part alone would be understood: the whole goes to the model
    assert not isinstance(outcome, Understood | Compound), outcome


# -- the verbs and measures people use ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "targets"),
    [
        ("kill the lights in the kitchen", "turn_off", {"light.kitchen_ceiling", "light.kitchen_island"}),
        ("kill the desk lamp", "turn_off", {"light.desk_lamp"}),
        ("put the desk lamp on", "turn_on", {"light.desk_lamp"}),
        ("start the kettle plug", "turn_on", {"switch.kettle"}),
        ("heat up the spa", "turn_on", {"heater.spa"}),
        ("fan on in the bedroom", "turn_on", {"fan.bedroom"}),
        ("turn the fan off everywhere", "turn_off", {"fan.bedroom"}),
        ("trun off the desk lamp", "turn_off", {"light.desk_lamp"}),
        ("🔒 front door", "lock", {"lock.front"}),
        ("unlock front door 🔓", "unlock", {"lock.front"}),
        ("lock up", "lock", {"lock.front", "lock.back", "lock.side"}),
        ("lock the doors", "lock", {"lock.front", "lock.back", "lock.side"}),
        ("make sure the front door is locked", "lock", {"lock.front"}),
        ("unlock everything", "unlock", {"lock.front", "lock.back", "lock.side"}),
    ],
)
def test_household_verbs(home: Understanding, text: str, action: str, targets: set[str]) -> None:
    done = understood(said(home, text))
    assert (done.action, set(done.targets)) == (action, targets)


def test_one_door_of_three_still_asks(home: Understanding) -> None:
    assert "Front Door" in asked(said(home, "lock the door")).question


def test_halfway_and_a_bit_for_shades_and_lights(home: Understanding) -> None:
    half = understood(said(home, "open the bedroom shades halfway"))
    assert (half.action, half.values["position"]) == ("set_position", 50)
    down = understood(said(home, "pull down the bedroom blinds"))
    assert (down.action, down.targets, down.values["position"]) == ("set_position", ("cover.bedroom_shades",), 0)
    bit = understood(said(home, "open the bedroom blinds a little"))
    assert bit.action == "adjust_position" and 0 < bit.values["position_step"] < 25
    lamp = understood(said(home, "set the bedroom lamp to half"))
    assert (lamp.action, lamp.values["brightness"]) == ("set_brightness", 50)
    study = understood(said(home, "full brightness in the study"))
    assert (study.action, study.targets, study.values["brightness"]) == ("set_brightness", ("light.desk_lamp",), 100)


def test_too_bright_and_a_bare_percent_need_something_just_touched(home: Understanding) -> None:
    island = LastTouched(("light.kitchen_island",))
    dimmer = understood(said(home, "too bright", context=island))
    assert (dimmer.action, dimmer.targets) == ("adjust_brightness", ("light.kitchen_island",))
    assert dimmer.values["brightness_step"] < 0
    half = understood(said(home, "50% please", context=island))
    assert (half.action, half.values["brightness"]) == ("set_brightness", 50)
    assert not isinstance(said(home, "too bright"), Understood)  # out of the blue: never a guess
    assert not isinstance(said(home, "50%"), Understood)


def test_music_words(home: Understanding) -> None:
    for text in ("shh", "kill the music"):
        done = understood(said(home, text))
        assert (done.action, done.values.get("target")) == ("pause", "playing")
    louder = understood(said(home, "turn the music up"))
    assert louder.action == "adjust_volume" and louder.values["volume_step"] > 0
    study = understood(said(home, "turn it down in the study"))
    assert (study.action, study.targets) == ("adjust_volume", ("media.study",))


@pytest.mark.parametrize(
    "text",
    ["is the Back Door Sensor battery low?", "are any batteries low?", "which batteries are low?", "battery levels"],
)
def test_battery_questions_are_answered_from_the_readings(home: Understanding, text: str) -> None:
    done = understood(said(home, text))
    assert done.action == "get_state" and done.targets == ("sensor.back",)  # the one device with a battery


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        ("did i leave the garage open", ("cover.garage",)),
        ("did I leave anything on in the garden?", ("switch.pool_pump", "heater.spa")),
        ("is anything playing", ("media.study", "media.kitchen", "media.tv")),
        ("what's the pool pump doing", ("switch.pool_pump",)),
        ("what's going on with the garage door", ("cover.garage",)),
        ("how's the spa heater doing right now", SPA),
    ],
)
def test_household_state_questions(home: Understanding, text: str, targets: tuple[str, ...]) -> None:
    done = understood(said(home, text))
    assert done.action == "get_state" and set(done.targets) == set(targets)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("es", "¿qué hace la Pool Pump ahora?"),
        ("es", "qué pasa con la pool pump"),
        ("de", "was macht die Pool Pump gerade?"),
        ("de", "was ist mit der Pool Pump los"),
        ("fr", "que fait la Pool Pump en ce moment ?"),
        ("fr", "qu'est-ce qui se passe avec la pool pump"),
    ],
)
def test_what_a_device_is_doing_is_its_state_in_every_language(home: Understanding, language: str, text: str) -> None:
    done = understood(said(home, text, language))
    assert done.action == "get_state" and done.targets == ("switch.pool_pump",)


# -- end to end: narrowing to the one device not already so -------------------------------------------


async def test_the_safe_way_narrows_to_the_one_device_not_already_so(house: House) -> None:
    await house.say("turn off the living room lamp")
    await house.say("turn off the bedroom lamp")
    await house.say("turn on the desk lamp")
    reply = await house.say("turn off the lamp")
    assert house.sim.device("Desk Lamp").state["on"] is False, reply  # the only lamp still on
    reply = await house.say("turn on the lamp")
    assert "?" in reply and house.sim.device("Living Room Lamp").state["on"] is False, reply  # on: asks
