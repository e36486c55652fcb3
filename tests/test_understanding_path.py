"""One way to understand: the grammar claims a message, the handler registered for its action acts, the rest goes
to the model. No ordered list of fast paths; renames, moves and "allow" are grammar intents in every language."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from claw.assistant.answer import Answer
from claw.assistant.home_understanding import HomeUnderstanding
from claw.assistant.router import Router
from claw.assistant.understanding import Ambiguous, Understanding, Understood, Vocabulary
from claw.assistant.understanding.vocabulary import Area, CameraName, Entity
from claw.core import principals
from claw.core.bus import Inbound
from claw.core.config import Config
from claw.core.request import Request
from claw.home.device import Device
from tests.home_fixtures import House, _approved_house


def _understanding(**kw: object) -> HomeUnderstanding:
    return HomeUnderstanding(None, None, (), lambda: 0, languages=("en", "es", "de", "fr"), **kw)  # type: ignore[arg-type]


def _inbound(text: str) -> Inbound:
    owner = principals.dashboard("owner")
    return Inbound(channel="local", sender="owner", actor="owner", conversation="c", text=text, principal=owner)


def _request() -> Request:
    return Request(principal=principals.dashboard("owner"), conversation="c", channel="local", via="fast-path")


def test_the_router_has_one_understanding_path_and_no_ordered_fast_paths() -> None:
    assert not hasattr(Router, "fast_paths")
    assert "fast_paths" not in Router.__init__.__code__.co_names


def test_an_action_has_exactly_one_handler() -> None:
    understanding = _understanding()

    async def one(understood: Understood, devices: Sequence[Device], request: Request) -> str:
        return "one"

    understanding.register("camera_look", one)
    with pytest.raises(ValueError, match="two handlers"):
        understanding.register("camera_look", one)


async def test_a_feature_intent_reaches_its_handler_with_the_words_as_written() -> None:
    seen: list[Understood] = []

    async def look(understood: Understood, devices: Sequence[Device], request: Request) -> Answer:
        seen.append(understood)
        return Answer(f"the {understood.values['camera']} camera", ())

    understanding = _understanding(cameras=lambda: ("Driveway",))
    understanding.register("camera_look", look)
    answer = await understanding.answer(_inbound("show me the driveway camera"), _request())
    assert answer is not None and answer.text == "the Driveway camera"
    assert seen and seen[0].action == "camera_look" and seen[0].language == "en"


async def test_a_handler_that_declines_sends_the_message_to_the_model() -> None:
    async def decline(understood: Understood, devices: Sequence[Device], request: Request) -> None:
        return None

    for online in (True, False):  # offline too: the model is tried again, and the router says it is down
        understanding = _understanding(cameras=lambda: ("Driveway",), model_online=lambda online=online: online)
        understanding.register("camera_look", decline)
        request = _request()
        assert await understanding.answer(_inbound("show me the driveway camera"), request) is None
        assert request.receipt.language == "en"


def test_cameras_are_names_the_grammar_knows() -> None:
    vocabulary = Vocabulary(cameras=(CameraName("Driveway", ("driveway camera",)),))
    grammar = Understanding(vocabulary, ("en",))
    assert grammar.slot_lists["camera"].values  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "action", "values"),
    [
        ("rename the desk lamp to reading lamp", "rename", {"new_name": "reading lamp"}),
        ("move the desk lamp to the kitchen", "move", {"new_room": "kitchen"}),
        ("allow the front door", "allow", {}),
        ("renombra la Desk Lamp a lámpara de lectura", "rename", {"new_name": "lámpara de lectura"}),
        ("mueve la Desk Lamp a la cocina", "move", {"new_room": "cocina"}),
        ("benenne die Desk Lamp in Leselampe um", "rename", {"new_name": "leselampe"}),
        ("verschiebe die Desk Lamp in die Küche", "move", {"new_room": "küche"}),
        ("renomme la Desk Lamp en lampe de lecture", "rename", {"new_name": "lampe de lecture"}),
        ("déplace la Desk Lamp dans la cuisine", "move", {"new_room": "cuisine"}),
        ("autorise la Front Door", "allow", {}),
    ],
)
def test_managing_devices_is_a_grammar_intent_in_every_language(text: str, action: str, values: dict[str, str]) -> None:
    vocabulary = Vocabulary(
        entities=(
            Entity("l1", "Desk Lamp", room="Study", kind="light", features=frozenset({"on"})),
            Entity("k1", "Front Door", room="Hallway", kind="lock", features=frozenset({"locked"})),
        ),
        areas=(Area("Study"), Area("Hallway"), Area("Kitchen", ("cocina", "küche", "cuisine"))),
    )
    outcome = _grammar(vocabulary).understand(text)
    assert isinstance(outcome, Understood), outcome
    assert outcome.action == action
    assert outcome.targets == (("k1",) if action == "allow" else ("l1",))
    assert {k: outcome.values[k] for k in values} == values
    assert set(values) <= set(outcome.free)  # free text: given back to the handler as the owner typed it


_GRAMMARS: dict[int, Understanding] = {}


def _grammar(vocabulary: Vocabulary) -> Understanding:
    key = hash(vocabulary)
    if key not in _GRAMMARS:
        _GRAMMARS[key] = Understanding(vocabulary, ("en", "es", "de", "fr"))
    return _GRAMMARS[key]


async def test_rename_and_move_by_chat_change_the_registry_and_the_floor(house: House) -> None:
    reply = await house.say("rename the desk lamp to reading lamp")
    assert "Reading Lamp" in reply, reply
    lamp = house.device("Reading Lamp")
    assert "Desk Lamp" in lamp.aliases  # the old name still works
    await house.say("turn on the reading lamp")
    assert house.sim.device("Desk Lamp").state["on"] is True
    reply = await house.say("move the bedroom lamp to the kitchen")
    assert "Kitchen" in reply, reply
    assert house.device("Bedroom Lamp").room == "Kitchen"
    places = house.home.actions.resolver()  # the one index: a device's floor is its room's, not where it was
    assert places.floor_of(house.device("Bedroom Lamp")) == places.floor_of(house.device("Kitchen Ceiling"))


@pytest.mark.parametrize("on", [True, False])
async def test_a_room_wide_power_command_from_the_model_leaves_the_rooms_lock_and_alarm_alone(
    house: House, on: bool
) -> None:
    """The model's `turn_on_off {"room": "hallway"}` once asked to unlock the Front Door (and locked it on "off")."""
    model = Request(principal=principals.dashboard("owner"), conversation="c", channel="local", via="llm")
    door, alarm = house.sim.device("Front Door").state.copy(), house.sim.device("Alarm Panel").state.copy()
    before = len(house.app.guard.pending())
    await house.app.tools.call("turn_on_off", {"on": on, "room": "hallway"}, request=model)
    assert house.sim.device("Hallway Light").state["on"] is on  # the room's lights did as asked
    assert house.sim.device("Front Door").state == door and house.sim.device("Alarm Panel").state == alarm
    assert len(house.app.guard.pending()) == before and not model.receipt.held  # nothing held for a code either


async def test_dimming_a_light_that_is_off_leaves_it_off(house: House) -> None:
    await house.say("turn off the desk lamp")
    reply = await house.say("dim the desk lamp a bit")
    assert house.sim.device("Desk Lamp").state["on"] is False, reply  # not switched on at 1 %
    assert "already off" in reply, reply


async def test_a_command_put_off_is_told_back_in_the_language_it_was_asked_in(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    from tests.test_speech import no_english

    house = await _approved_house(
        tmp_path, make_config, parts=("home", "jobs"), assistant={"languages": ["en", "es", "de", "fr"]}
    )
    try:
        reply = await house.say("ejecuta buenos días a las 7")
        assert reply.startswith("Ejecutaré «good morning». Una vez, "), reply
        assert no_english(reply, "good morning") == [], reply
        reply = await house.say("schalte das Porch Light in 10 Minuten aus")
        assert no_english(reply, "Porch Light", "porch light") == [], reply
    finally:
        await house.app.stop()
        await house.sim.stop()


OFFLINE = {
    "es": ("cuéntame un chiste sobre la Desk Lamp", "Mi modelo está desconectado"),
    "de": ("erzähl mir einen Witz über die Desk Lamp", "Mein Modell ist offline"),
    "fr": ("raconte-moi une blague sur la Desk Lamp", "Mon modèle est hors ligne"),
    "en": ("tell me a joke about the desk lamp", "My model is offline"),
}


async def test_words_not_understood_while_the_model_is_offline_are_answered_in_their_language(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    house = await _approved_house(tmp_path, make_config, assistant={"languages": ["en", "es", "de", "fr"]})
    try:  # the daemon's model server (127.0.0.1:9) is down
        for text, start in OFFLINE.values():
            reply = await house.say(text)
            assert reply.startswith(start), reply
            assert "Desk Lamp" in reply, reply  # the closest name is offered
    finally:
        await house.app.stop()
        await house.sim.stop()


def test_a_german_compound_lamp_that_is_no_lamp_asks_which_light() -> None:
    """ "Flurlampe aus" with a Hallway Light and a Hallway Pendant (neither a lamp) switched both off."""
    vocabulary = Vocabulary(
        entities=(
            Entity("h1", "Hallway Light", room="Hallway", kind="light", features=frozenset({"on"})),
            Entity("h2", "Hallway Pendant", room="Hallway", kind="light", features=frozenset({"on"})),
        ),
        areas=(Area("Hallway", ("flur",)),),
    )
    grammar = _grammar(vocabulary)
    assert isinstance(grammar.understand("Flurlampe aus"), Ambiguous)
    lights = grammar.understand("Flurlicht aus")  # the hallway's lights: both, as said
    assert isinstance(lights, Understood) and set(lights.targets) == {"h1", "h2"}


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("¿cuántas luces están encendidas?", "on"),  # "cuántas" was "corrected" to "cuánta": a word built in a template
        ("¿está encendida la Kettle Plug?", "on"),  # the state before the name, as people ask it
        ("¿sigue encendida la Kettle Plug?", "on"),
        ("¿está cerrada con llave la Front Door?", "locked"),
    ],
)
def test_spanish_state_questions_are_read_as_written(text: str, state: str) -> None:
    vocabulary = Vocabulary(
        entities=(
            Entity("k", "Kettle Plug", room="Kitchen", kind="switch", features=frozenset({"on"})),
            Entity("l", "Desk Lamp", room="Study", kind="light", features=frozenset({"on"})),
            Entity("f", "Front Door", room="Hallway", kind="lock", features=frozenset({"locked"})),
        )
    )
    outcome = _grammar(vocabulary).understand(text)
    assert isinstance(outcome, Understood) and outcome.action == "get_state", outcome
    assert outcome.values["state"] == state and outcome.language == "es"


@pytest.mark.parametrize("text", ["rename the front door to porch light", "move the front door to the garden"])
async def test_an_agent_cannot_rename_or_move_a_device_by_chat_without_the_owners_code(house: House, text: str) -> None:
    """The grammar's rename and move go by the authority table as the tools do: an agent's change waits for a code."""
    agent = principals.agent("Claude Desktop")
    conversation = principals.agent_conversation(agent)
    inbound = Inbound(
        channel="mcp", sender="agent", actor=agent.name, conversation=conversation, text=text, principal=agent
    )
    before = len(house.app.guard.pending())
    answer = await house.app.router.handle(inbound)
    door = house.device("Front Door")
    assert (door.name, door.room) == ("Front Door", "Hallway"), answer.text  # nothing renamed or moved
    assert len(house.app.guard.pending()) == before + 1  # held for the owners' code
    assert not any(p.code in answer.text for p in house.app.guard.pending())  # which the agent never sees


async def test_an_older_build_ending_last_never_replaces_the_newer_grammar(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a busy machine the start-up build can end after the one begun for newer names: the newer one stays,
    and a message is answered at once instead of waiting on a grammar that never matches (a busy loop)."""
    version = [0]
    pauses = iter([0.4, 0.05])  # the first build (old names) is the slow one

    def build(words: Vocabulary, languages: Sequence[str], **_: object) -> object:
        time.sleep(next(pauses))
        return ("grammar", len(words.entities), version[0])

    monkeypatch.setattr("claw.assistant.home_understanding.Understanding", build)
    home = HomeUnderstanding(None, None, (), lambda: version[0])  # type: ignore[arg-type]
    home.warm()  # the start-up build, for version 0
    version[0] = 1  # names changed meanwhile
    newer = await asyncio.wait_for(home.grammar(), 2)
    await asyncio.sleep(0.6)  # the old build ends now, after the newer one
    assert await asyncio.wait_for(home.grammar(), 1) is newer  # (before: a loop that never yielded)
