"""A small model's structured decisions as Claw reads and settles them (issue 21), without a server.

The mistakes are the ones Qwen2.5-Coder 0.5B made in bench/real_model.py: every target field filled with
filler, a speaker called like its room taken for the room, an action without its value, a decision cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio

from claw.assistant import decisions, grounding, honesty
from claw.assistant.llm import ToolCall
from claw.assistant.loop import _refusals
from claw.assistant.understanding import Area, Entity, RoutineName, Vocabulary
from claw.core.config import Config
from tests.fakes.ollama_script import ChatRequest, Reply
from tests.fakes.openai_server import ScriptedOpenAI
from tests.home_fixtures import House, _approved_house

TOOLS = ("turn_on_off", "set_value", "home_state", "run_routine", "remember")


def _light(name: str, room: str) -> Entity:
    return Entity(f"id-{name}", name, room=room, kind="light", features=frozenset({"on", "brightness"}))


HOME = Vocabulary(
    entities=(
        _light("Desk Lamp", "Study"),
        _light("Bedroom Lamp", "Bedroom"),
        _light("Bedroom Ceiling", "Bedroom"),
        _light("Living Room Lamp", "Living Room"),
        Entity("id-lr-speaker", "Living Room", room="Living Room", kind="speaker", features=frozenset({"volume"})),
        Entity("id-study-speaker", "Study", room="Study", kind="speaker", features=frozenset({"volume"})),
        Entity("id-thermostat", "Thermostat", room="Hallway", kind="thermostat", features=frozenset({"target_temp"})),
        Entity("id-spa", "Spa Heater", room="Garden", kind="heater", features=frozenset({"on", "target_temp"})),
        Entity("id-shades", "Bedroom Shades", room="Bedroom", kind="shade", features=frozenset({"position"})),
    ),
    areas=tuple(Area(r) for r in ("Study", "Bedroom", "Living Room", "Hallway", "Garden")),
    routines=(RoutineName("Good Night", ("good night",)),),
)


def test_the_schema_has_one_shape_per_action_with_the_fields_it_needs_and_no_ids() -> None:
    shape = decisions.schema(HOME, TOOLS)
    by_action: dict[str, dict[str, object]] = {}
    for branch in shape["anyOf"]:
        action = branch["properties"]["action"]
        for name in action.get("enum") or [action["const"]]:
            by_action[name] = branch
    assert set(by_action) == {"reply", "turn_on", "turn_off", "set", "check", "run_routine", "use_tool"}
    assert by_action["reply"]["required"] == ["action", "text"]  # a reply names no device: none to fill in
    assert {"setting", "value", "device"} <= set(by_action["set"]["required"])  # a setting comes with its value
    assert "text" not in by_action["turn_off"]["properties"]  # an action is said by the domain, not the model
    assert "Desk Lamp" in by_action["turn_off"]["properties"]["device"]["enum"]  # type: ignore[index]
    assert not any(e.id in json.dumps(shape) for e in HOME.entities)
    assert decisions.reply_only()["properties"].keys() == {"action", "text"}


def test_an_action_the_model_could_not_say_fully_is_wanted_never_its_text() -> None:
    unset = decisions.read('{"action": "set", "device": "Desk Lamp", "text": "Brightness set to 20"}', TOOLS)
    assert unset.calls == () and unset.text == ""  # "set to 20" did not happen: never said
    assert unset.wanted == ToolCall("set_value", {"name": "Desk Lamp"})
    routine = decisions.read('{"action": "run_routine", "text": "The alarm is out of the way."}', TOOLS)
    assert routine.calls == () and routine.text == "" and routine.wanted is not None
    done = decisions.read(
        '{"action": "turn_off", "device": "Desk Lamp", "room": "", "kind": "", "text": "Off!"}', TOOLS
    )
    assert done.calls == (ToolCall("turn_on_off", {"on": False, "name": "Desk Lamp"}),) and done.text == ""
    said = decisions.read('{"action": "reply", "text": "Hello there."}', TOOLS)
    assert said.calls == () and said.text == "Hello there."


def test_a_decision_cut_short_is_a_question_or_the_reply_so_far_never_raw_json() -> None:
    cut = decisions.read('{ "action": "set", "device": "Living Room", "room":', TOOLS)
    assert cut.readable and cut.calls == () and cut.wanted == ToolCall("set_value", {"name": "Living Room"})
    poem = decisions.read('{"action": "reply", "text": "Raindrops fall\\non the', TOOLS)
    assert poem.calls == () and poem.text == "Raindrops fall\non the"
    assert decisions.read("Just words.", TOOLS).readable is False


def test_target_fields_that_contradict_each_other_keep_the_device_the_words_name() -> None:
    words = "the desk lamp can go off now, I'm done working"
    proposed = {"on": False, "name": "Desk Lamp", "room": "Living Room", "kind": "speaker"}
    args, verdict = grounding.settle(words, "turn_on_off", proposed, HOME)
    assert verdict.ok and args == {"on": False, "name": "Desk Lamp"}


def test_a_device_the_words_do_not_name_is_replaced_by_the_one_they_do() -> None:
    # the model named the speaker called "Study" (the desk lamp's room); the owner named the desk lamp
    args, verdict = grounding.settle(
        "the desk lamp can go off now", "turn_on_off", {"on": False, "name": "Study"}, HOME
    )
    assert verdict.ok and args == {"on": False, "name": "Desk Lamp"}
    # ... but never a device that cannot do it: the owner's words name nothing with a power switch
    args, verdict = grounding.settle("the thermostat", "turn_on_off", {"on": True, "name": "Desk Lamp"}, HOME)
    assert not verdict.ok


def test_a_pick_among_like_devices_in_several_rooms_is_asked_by_name() -> None:
    # "the lamp": four lights in four rooms; the model's filler room must not decide which one goes off
    proposed = {"on": False, "name": "Living Room", "room": "Living Room", "kind": "light"}
    args, verdict = grounding.settle("switch off the lamp, it's late", "turn_on_off", proposed, HOME)
    assert not verdict.ok and verdict.question.endswith("?")
    assert "which one should I turn off" in verdict.question
    assert all(n in verdict.question for n in ("Desk Lamp", "Bedroom Lamp", "Living Room Lamp"))
    # a word of its name that no other lamp has singles it out; a word three lights share does not
    args, verdict = grounding.settle("someone left the desk light on again", "turn_on_off", proposed, HOME)
    assert verdict.ok and args == {"on": False, "name": "Desk Lamp"}  # not the speaker the model named
    desk = {"on": False, "name": "Desk Lamp", "room": "Living Room", "kind": "light"}
    args, verdict = grounding.settle("someone left the desk light on again", "turn_on_off", desk, HOME)
    assert verdict.ok and args["name"] == "Desk Lamp"
    ceiling = {"on": True, "name": "Bedroom Ceiling"}
    home = Vocabulary(entities=(*HOME.entities, _light("Kitchen Ceiling", "Kitchen")), areas=HOME.areas)
    args, verdict = grounding.settle("the ceiling light should be on", "turn_on_off", ceiling, home)
    assert not verdict.ok and "Kitchen Ceiling" in verdict.question and "Bedroom Ceiling" in verdict.question
    assert "Desk Lamp" not in verdict.question  # the question names the ceilings, not every light
    # a room alone, with nothing to say what is wanted there ("cosy"), is asked; a need or a kind lets it stand
    args, verdict = grounding.settle(
        "make it cosy in the bedroom", "turn_on_off", {"on": True, "name": "Bedroom Ceiling"}, HOME
    )
    assert not verdict.ok and "Bedroom Lamp" in verdict.question and "Bedroom Ceiling" in verdict.question
    # a room's name inside a device's name does not single it out ("chilly in the bedroom" is no lamp)
    args, verdict = grounding.settle(
        "I'm chilly in the bedroom", "turn_on_off", {"on": True, "name": "Bedroom Lamp"}, HOME
    )
    assert not verdict.ok
    hall = Vocabulary(
        entities=(
            *HOME.entities,
            _light("Hallway Light", "Hallway"),
            Entity("id-door", "Front Door", room="Hallway", kind="lock"),
        ),
        areas=HOME.areas,
    )
    args, verdict = grounding.settle(
        "I'm chilly in the hallway", "turn_on_off", {"on": True, "name": "Hallway Light"}, hall
    )
    assert not verdict.ok and "Hallway Light" in verdict.question and "Front Door" in verdict.question
    # a named room narrows the choice: the model may pick among its devices
    args, verdict = grounding.settle(
        "it is way too dark in the bedroom", "turn_on_off", {"on": True, "name": "Bedroom Ceiling"}, HOME
    )
    assert verdict.ok and args["name"] == "Bedroom Ceiling"
    # ... and the wrong action there is still caught
    args, verdict = grounding.settle(
        "it is way too dark in the bedroom", "turn_on_off", {"on": False, "name": "Bedroom Lamp"}, HOME
    )
    assert verdict.why == "contradicts"


def test_a_level_asked_for_is_never_a_light_turned_off() -> None:
    # the 0.5B model's habit: "down to twenty percent" or "tone it down a bit" proposed as off
    for words in (
        "bring the living room lamp down to about twenty percent",
        "the living room lamp is too bright, tone it down a bit",
        "make the living room lamp a little dimmer",
    ):
        _, verdict = grounding.settle(words, "turn_on_off", {"on": False, "name": "Living Room Lamp"}, HOME)
        assert verdict.why == "level" and verdict.question.endswith("?") and "Living Room Lamp" in verdict.question
    _, said = grounding.settle("desk lamp to 20%", "turn_on_off", {"on": False, "name": "Desk Lamp"}, HOME)
    assert said.why == "level" and '"set the Desk Lamp to 20%"' in said.question  # the owner's own number
    for words in (
        "turn the desk lamp down to 0%",
        "too bright in the study",
        "dim the desk lamp, no, just turn it off",
    ):
        _, verdict = grounding.settle(words, "turn_on_off", {"on": False, "name": "Desk Lamp"}, HOME)
        assert verdict.ok, words  # 0 % is off; "too bright" alone may be off; "off" said is off
    _, up = grounding.settle(
        "bring the desk lamp up to 80 percent", "turn_on_off", {"on": True, "name": "Desk Lamp"}, HOME
    )
    assert up.ok  # turning a light on on the way to a level is no contradiction


def test_a_question_about_the_house_changes_nothing() -> None:
    asked = ("is the desk lamp wasting power", "what's the desk lamp doing", "how's the study looking, lights wise")
    for words in (*asked, "did I leave the desk lamp on?"):
        _, verdict = grounding.settle(words, "turn_on_off", {"on": False, "name": "Desk Lamp"}, HOME)
        assert verdict.why == "question" and "Desk Lamp" not in verdict.question, words  # no action offered
    # requests phrased as questions, and a question followed by a command, still act
    for words in (
        "can you turn off the desk lamp",
        "do you mind switching the desk lamp off",
        "is it too dark in here? turn on the desk lamp",
        "when you get a sec, the desk lamp",
    ):
        _, verdict = grounding.settle(words, "turn_on_off", {"on": True, "name": "Desk Lamp"}, HOME)
        assert verdict.why != "question", words


def test_an_unusable_proposal_asks_for_the_devices_the_words_support() -> None:
    verdict = grounding.ask("it's freezing in here", "set_value", {}, HOME)
    assert verdict.question.endswith("?") and "Thermostat" in verdict.question and "Spa Heater" in verdict.question
    assert "Desk Lamp" not in verdict.question
    one = grounding.ask("bring the desk lamp down to twenty percent", "set_value", {"setting": "brightness"}, HOME)
    assert "Desk Lamp" in one.question and one.question.endswith("?")
    nothing = grounding.ask("make the house nicer", "turn_on_off", {"on": True}, HOME)
    assert nothing.question.endswith("?") and not nothing.ok


def test_a_device_called_like_its_room_that_cannot_do_it_becomes_the_room_devices_that_can() -> None:
    # "too bright in the study": the model names the speaker called "Study"; the one light there can do it
    args, verdict = grounding.settle("too bright in the study", "turn_on_off", {"on": False, "name": "Study"}, HOME)
    assert verdict.ok and args == {"on": False, "name": "Desk Lamp"}
    # with two that can, which one is asked
    dim = {"setting": "brightness", "value": 30, "name": "Living Room", "room": "Living Room"}
    home = Vocabulary(entities=(*HOME.entities, _light("Living Room Ceiling", "Living Room")), areas=HOME.areas)
    args, verdict = grounding.settle("movie time in the living room, make it dim", "set_value", dim, home)
    assert not verdict.ok and "Living Room Lamp" in verdict.question and "Living Room Ceiling" in verdict.question


def test_pointing_words_keep_the_models_target_made_consistent() -> None:
    args, verdict = grounding.settle(
        "turn it off", "turn_on_off", {"on": False, "name": "Desk Lamp", "room": "Garden", "kind": "light"}, HOME
    )
    assert verdict.ok and args == {"on": False, "name": "Desk Lamp", "kind": "light"}


# --- through the brain, with a scripted server and the simulated house ------------------------------------


@contextlib.asynccontextmanager
async def _scripted_house(
    tmp_path: Path, make_config: Callable[..., Config], decisions: str
) -> AsyncIterator[tuple[House, ScriptedOpenAI]]:
    """The demo house, every sensitive device approved, its model a scripted OpenAI server."""
    api = ScriptedOpenAI()
    await api.start()
    h = await _approved_house(
        tmp_path, make_config, llm={"api": "openai", "base_url": api.base_url, "decisions": decisions}
    )
    try:
        yield h, api
    finally:
        await h.app.stop()
        await h.sim.stop()
        await api.stop()


@pytest_asyncio.fixture
async def house(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[tuple[House, ScriptedOpenAI]]:
    async with _scripted_house(tmp_path, make_config, "structured") as scripted:
        yield scripted


def _says(**decision: Any) -> Callable[[ChatRequest], Reply]:
    return lambda req: Reply.text(json.dumps(decision))


async def test_filler_fields_still_act_on_the_device_the_owner_named(house: tuple[House, ScriptedOpenAI]) -> None:
    h, api = house
    api.on("done working", _says(action="turn_off", device="Desk Lamp", room="Living Room", kind="speaker"))
    reply = await h.say("the desk lamp can go off now, I'm done working")
    assert h.sim.device("Desk Lamp").state["on"] is False and "Desk Lamp" in reply


async def test_an_unusable_action_is_a_question_naming_candidates_never_the_models_claim(
    house: tuple[House, ScriptedOpenAI],
) -> None:
    h, api = house
    before = {name: dict(d.state) for name, d in h.sim.devices.items()}
    api.on("twenty", _says(action="set", device="", room="", kind="", text="Brightness set to 20."))
    reply = await h.say("bring the desk lamp down to about twenty percent")
    assert reply.endswith("?") and "Desk Lamp" in reply and "set to 20" not in reply
    api.on("freezing", _says(action="turn_on", device="Living Room", room="Living Room", kind="light"))
    reply = await h.say("it's freezing in here")  # the words name no device: asked, not done
    assert "?" in reply and "Living Room" not in reply  # not the speaker the model named: what serves warmth
    assert {name: dict(d.state) for name, d in h.sim.devices.items()} == before


async def test_what_was_read_is_answered_from_the_house_never_acted_on(house: tuple[House, ScriptedOpenAI]) -> None:
    h, api = house
    api.on(lambda r: not r.tool_results, _says(action="check", device="Garage Door", room="", kind=""))
    api.on(lambda r: bool(r.tool_results), _says(action="turn_on", device="Garage Door", room="", kind=""))
    sent = len(api.chat_requests)
    reply = await h.say("could a car get into the garage right now")
    assert len(api.chat_requests) == sent + 1  # the state read is said in the domain's words: no second call
    assert "Garage Door" in reply and "closed" in reply and "{" not in reply
    assert h.sim.device("Garage Door").state["state"] == "closed"


async def test_a_refused_action_says_why_not_that_the_model_said_nothing(house: tuple[House, ScriptedOpenAI]) -> None:
    h, api = house
    api.on("glow", _says(action="set", device="Desk Lamp", room="", kind="", setting="brightness", value=500))
    reply = await h.say("could the desk lamp glow at 500")
    assert reply != honesty.EMPTY and "500" in reply  # the domain's reason
    assert h.sim.device("Desk Lamp").state["brightness"] != 500
    # a tool's error (no such device) is said as such, not as "my model returned nothing usable"
    refused = [("turn_on_off", "acts", json.dumps({"error": "no device called 'Moon Lamp'"}))]
    assert _refusals(refused) == "I couldn't do that: no device called 'Moon Lamp'."
    assert _refusals([("turn_on_off", "acts", "Turned off the Desk Lamp."), *refused]) == ""


async def test_no_health_probe_while_an_answer_streams(house: tuple[House, ScriptedOpenAI]) -> None:
    h, api = house
    api.on("story", Reply.text("once upon a time " * 20, chunk_delay=0.02))
    assert not h.app.model.busy
    turn = asyncio.create_task(h.say("tell me a story"))
    while not api.chat_requests or "story" not in json.dumps(api.chat_requests[-1]):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert h.app.model.busy  # the daemon's model watcher skips its /v1/models probe now
    await turn
    assert not h.app.model.busy


async def test_a_setting_copied_from_the_live_state_asks_for_the_value(house: tuple[House, ScriptedOpenAI]) -> None:
    h, api = house
    at = h.sim.device("Living Room Lamp").state["brightness"]
    copied = {"action": "set", "device": "Living Room Lamp", "room": "", "kind": "", "setting": "brightness"}
    api.on("cosier", _says(**copied, value=at))
    reply = await h.say("the living room lamp could be cosier")  # no number: the model took the one it was shown
    assert reply.endswith("?") and "Living Room Lamp's brightness is at" in reply and "already" not in reply
    api.on("glow at", _says(**copied, value=at))
    reply = await h.say(f"the living room lamp should glow at {at}")  # the owner's own number: done (already so)
    assert "what should I set" not in reply
    api.on("cooler", _says(action="set", device="Thermostat", room="", kind="", setting="target_temp", value=21.0))
    reply = await h.say("the thermostat could be cooler, 18 would do")  # its number, offered back as the command
    assert 'did you mean "set the Thermostat to 18 degrees"?' in reply
    assert h.sim.device("Thermostat").state["target_temp"] == 21.0


async def test_an_action_on_nothing_the_words_name_gets_a_reply_instead(house: tuple[House, ScriptedOpenAI]) -> None:
    h, api = house
    before = {name: dict(d.state) for name, d in h.sim.devices.items()}
    api.on(lambda r: r.format == decisions.reply_only(), _says(action="reply", text="Try a comedy tonight."))
    api.on("film", _says(action="turn_on", device="", room="", kind=""))
    assert await h.say("what's a good film for tonight") == "Try a comedy tonight."
    api.on("tonight's menu", _says(action="run_routine", routine="Good Night"))
    assert await h.say("what's on tonight's menu") == "Try a comedy tonight."  # no routine in the words
    assert {name: dict(d.state) for name, d in h.sim.devices.items()} == before


@pytest_asyncio.fixture
async def tools_house(
    tmp_path: Path, make_config: Callable[..., Config]
) -> AsyncIterator[tuple[House, ScriptedOpenAI]]:
    async with _scripted_house(tmp_path, make_config, "tools") as scripted:
        yield scripted


def _writes(name: str, **arguments: Any) -> Callable[[ChatRequest], Reply]:
    return lambda req: Reply.text(json.dumps({"name": name, "arguments": arguments}))


async def test_nothing_usable_from_the_model_is_asked_about_the_devices_the_words_name(
    tools_house: tuple[House, ScriptedOpenAI],
) -> None:
    # what Qwen2.5-Coder 0.5B gives with native tools: a call to a tool named after the request (arguments of the
    # right shape), the owner's words said back, a canned refusal; none of it runs, none of it is a dead end
    h, api = tools_house
    before = {name: dict(d.state) for name, d in h.sim.devices.items()}
    api.on("cooling", _writes("switch_the_thermostat_over_to_cooling", mode="cool"))
    reply = await h.say("switch the thermostat over to cooling")
    assert 'did you mean "set the Thermostat mode to cool"?' in reply  # the owner's word and the call agree
    api.on("shades a bit", _writes("close_shades", position=100))  # 100: not the owner's number
    reply = await h.say("close the shades a bit")
    assert reply.endswith("?") and "Living Room Shades" in reply and "Bedroom Shades" in reply
    assert "100" not in reply
    api.on("spa warm", _writes("is_spa_warm", current_temp=18.0, on=False))
    reply = await h.say("is the spa warm yet")  # a question: answered from the house, nothing offered or done
    assert "Spa Heater" in reply and "?" not in reply and "{" not in reply
    assert {name: dict(d.state) for name, d in h.sim.devices.items()} == before
    api.on("long day", _writes("relax_mode"))
    reply = await h.say("I had a long day at work")  # names no device: no question about devices
    assert reply == honesty.EMPTY
    api.on("shades a touch", Reply.text("Lower the shades a touch."))  # the owner's words said back
    reply = await h.say("lower the shades a touch")
    assert reply.endswith("?") and "Living Room Shades" in reply and "Bedroom Shades" in reply
    api.on("lamp, it's late", Reply.text("Switching off the lamp, it's late."))  # a claim, with nothing done
    assert "Switching" not in await h.say("the lamp, it's late")
    api.on("desk light on again", Reply.text("I'm sorry, but I can't assist with that."))
    reply = await h.say("someone left the desk light on again")  # a canned refusal is no answer: asked
    assert reply == "I'd rather ask than guess: what should I do with the Desk Lamp?"
    api.on("board game", Reply.text("I'm sorry, but I can't assist with that."))
    assert "can't assist" in await h.say("recommend a board game for four")  # no device: the model's own words
    assert {name: dict(d.state) for name, d in h.sim.devices.items()} == before
