"""The grammar fast path in the running daemon, on the simulated home: every failure quoted in issue 12."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from claw.assistant.speech import answer_question
from claw.core.config import Config
from claw.home.capabilities import Capability
from claw.home.device import Device
from tests.home_fixtures import House, _approved_house, wait_for

LIGHTS = (
    "Kitchen Ceiling",
    "Kitchen Island",
    "Living Room Lamp",
    "Living Room Ceiling",
    "Bedroom Lamp",
    "Bedroom Ceiling",
    "Desk Lamp",
    "Hallway Light",
    "Porch Light",
)


def on(house: House, name: str) -> bool:
    return bool(house.sim.device(name).state.get("on"))


def no_dead_end(reply: str) -> None:
    assert not reply.startswith("I don't know"), reply
    assert "UPnP" not in reply and "Error" not in reply and "TypeError" not in reply, reply


async def test_a_room_less_command_asks_and_the_one_word_answer_finishes_it(house: House) -> None:
    before = {n: on(house, n) for n in LIGHTS}
    question = await house.say("turn on the lights")
    assert "which room" in question.lower() and "9 lights" in question
    assert {n: on(house, n) for n in LIGHTS} == before  # never broadened: nothing changed
    done = await house.say("kitchen")
    assert "Kitchen" in done
    assert on(house, "Kitchen Ceiling") and on(house, "Kitchen Island")
    assert on(house, "Hallway Light") == before["Hallway Light"]


async def test_all_the_lights_in_the_house_is_explicit_and_acts(house: House) -> None:
    no_dead_end(await house.say("switch off all the lights in the house"))
    assert not any(on(house, n) for n in LIGHTS)


async def test_delays_become_a_one_shot_job_repeated_back(house_with_jobs: House) -> None:
    house = house_with_jobs
    reply = await house.say("turn off the porch light in 10 minutes")
    assert reply.startswith("I'll turn off the porch light.") and "in 10 minutes" in reply
    question = await house.say("turn off the lights in 10 minutes")
    assert "which room" in question.lower()
    assert (await house.say("bedroom")).startswith("I'll turn off the lights.")
    jobs = house.app.jobs
    assert jobs is not None
    planned = [j for j in jobs.jobs.values() if j.source == "chat"]
    assert len(planned) == 2 and all(j.plan for j in planned)


async def test_levels_rooms_and_values_never_go_to_the_wrong_device(house: House) -> None:
    no_dead_end(await house.say("set the bedroom lamp brightness to 50%"))
    assert house.sim.device("Bedroom Lamp").state["brightness"] == 50
    shades = house.sim.device("Bedroom Shades").state.get("position")
    question = await house.say("set bedroom to 50%")
    assert "?" in question and house.sim.device("Bedroom Shades").state.get("position") == shades
    target = house.sim.device("Thermostat").state.get("target_temp")
    assert target != 50
    no_dead_end(await house.say("turn on the lights in the living room for me"))
    assert on(house, "Living Room Lamp") and on(house, "Living Room Ceiling")


async def test_questions_are_answered_from_state(house: House) -> None:
    assert (await house.say("are all the doors locked?")).startswith("Yes, the Front Door is locked")
    any_on = await house.say("is anything on?")
    no_dead_end(any_on)
    which = await house.say("which lights are on")
    for name in LIGHTS:
        if on(house, name):
            assert name in which


async def test_sensitive_and_unknown_things_are_never_dead_ends(house: House) -> None:
    held = await house.say("open the garage door")
    assert "Reply OK" in held and house.sim.device("Garage Door").state["state"] == "closed"
    for text in ("lock kitchen door", "lock up", "what did the camera see today", "play corner light off"):
        no_dead_end(await house.say(text))
    assert house.sim.sonos is not None
    assert all(s.state.transport != "PLAYING" for s in house.sim.sonos.speakers)


async def test_music_never_crashes_the_speaker(house: House) -> None:
    playing = await house.say("play some music in the kitchen")
    no_dead_end(playing)
    assert playing.startswith("Playing")
    kitchen = house.device("Kitchen")
    assert kitchen.available
    await house.say("pause")
    no_dead_end(await house.say("next song in the kitchen"))
    assert house.device("Kitchen").available
    nothing = await house.say("next song")
    no_dead_end(nothing)


async def test_replies_say_what_happened_in_plain_words(house: House) -> None:
    house.sim.device("Garage Door").set_state(state="open")
    await house.home.refresh(house.device("Garage Door"))
    assert await house.say("close the garage door") == "Closed the Garage Door."
    assert "already closed" in await house.say("close the garage door")
    await house.say("close the bedroom shades")
    assert "Opened the Bedroom Shades" in await house.say("open the bedroom shades")
    assert "must be between 5 and 30°C, not 45" in await house.say("set the thermostat to 45")


async def test_sleepy_time_locks_the_front_door_and_says_so(house: House) -> None:
    house.sim.device("Front Door").set_state(locked=False)
    await house.home.refresh(house.device("Front Door"))
    reply = await house.say("sleepy time")
    assert "Locked the Front Door" in reply
    await wait_for(lambda: house.sim.device("Front Door").state["locked"] is True, 5, "the door to lock")
    again = await house.say("sleepy time")
    assert "already armed for the night" in again


SLANG = """---
name: house-slang
description: How this household talks.
claw:
  sentences:
    en:
      HassTurnOff: ["nix [the] {name}", "lights out in [the] {area}"]
      ClawRunRoutine: ["night night house"]
---
# House slang
"""


async def test_a_skill_file_adds_phrasings_to_the_same_grammar(house: House) -> None:
    assert "Did you mean" in await house.say("nix the desk lamp") or on(house, "Desk Lamp")  # not known yet
    skill = house.app.config.state_path / "skills" / "house-slang" / "SKILL.md"
    skill.parent.mkdir(parents=True, exist_ok=True)
    skill.write_text(SLANG, encoding="utf-8")
    assert "house-slang" in await house.app.skills.reload_if_changed()
    house.sim.device("Desk Lamp").set_state(on=True)
    await house.home.refresh(house.device("Desk Lamp"))
    assert "Turned off the Desk Lamp" in await house.say("nix the desk lamp")
    house.sim.device("Kitchen Ceiling").set_state(on=True)
    await house.home.refresh(house.device("Kitchen Ceiling"))
    await house.say("lights out in the kitchen")
    assert not on(house, "Kitchen Ceiling")


async def test_a_broken_sentence_in_a_skill_is_reported_by_line_not_loaded(house: House) -> None:
    skill = house.app.config.state_path / "skills" / "house-slang" / "SKILL.md"
    skill.parent.mkdir(parents=True, exist_ok=True)
    skill.write_text(SLANG.replace("nix [the] {name}", "nix [the {name}"), encoding="utf-8")
    await house.app.skills.reload_if_changed()
    listing = {s["name"]: s for s in await house.app.snapshot("skills")}
    problems = " ".join(str(p) for p in listing["house-slang"]["errors"])
    assert "claw.sentences.en.HassTurnOff" in problems and "not a sentence template" in problems
    assert ":7" in problems or "'line': 7" in problems or '"line": 7' in problems


async def test_replies_come_in_the_language_of_the_message(tmp_path: Path, make_config: Callable[..., Config]) -> None:
    house = await _approved_house(tmp_path, make_config, assistant={"languages": ["en", "es", "de", "fr"]})
    try:
        house.sim.device("Kitchen Ceiling").set_state(on=True)
        await house.home.refresh(house.device("Kitchen Ceiling"))
        spanish = await house.say("apaga las luces de la cocina")
        assert spanish.startswith("He apagado") and not on(house, "Kitchen Ceiling")
        german = await house.say("schalte das Licht in der Küche an")
        assert "eingeschaltet" in german and on(house, "Kitchen Ceiling")
        french = await house.say("éteins les lumières de la cuisine")
        assert french.startswith("J'ai éteint") and not on(house, "Kitchen Ceiling")
        assert (await house.say("turn on the kitchen lights")).startswith("Turned on")
    finally:
        await house.app.stop()
        await house.sim.stop()


def test_a_sensor_s_readings_are_said_with_their_units() -> None:
    humidity = Device(
        "ha.sensor.cellar_humidity", "Cellar Humidity", "sensor", "hass", "a",
        capabilities=(Capability("humidity", "sensor", "humidity", "%"),), state={"humidity": 55},
    )  # fmt: skip
    meter = Device(
        "m", "Dryer Plug", "sensor", "mqtt", "a",
        capabilities=(Capability("power", "sensor", "power", "W"), Capability("battery", "sensor", "battery", "%")),
        state={"power": 412.0, "battery": 90},
    )  # fmt: skip
    assert answer_question([humidity], "get_state", {}) == "The Cellar Humidity reads 55%."
    assert answer_question([meter], "get_state", {}) == "The Dryer Plug reads 412 W (battery 90%)."
