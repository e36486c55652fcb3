"""Issue 20's "where it still goes wrong": each case against the grammar on a house that has those devices."""

from __future__ import annotations

from typing import Any

import pytest

from claw.assistant.home_words import vocabulary as home_vocabulary
from claw.assistant.understanding import (
    Ambiguous,
    Area,
    Compound,
    Floor,
    LastTouched,
    Outcome,
    RoutineName,
    Understanding,
    Understood,
    Vocabulary,
)
from claw.assistant.understanding.vocabulary import derived_names
from claw.core.config import LocationConfig
from claw.core.units import FAHRENHEIT, from_celsius, step_to_celsius, temperature_unit, to_celsius
from claw.home import capabilities as caps
from claw.home.device import Device
from claw.home.hass import entities as hass_entities
from claw.home.hass.catalogue import Snapshot, offers
from claw.home.places import room_floors
from claw.home.targeting import Resolver, Target
from tests.home_fixtures import HomeOnly
from tests.test_understanding import DIMMABLE, MEDIA, entity, understood
from tests.test_understanding import ambiguous as asked  # `asked` here and in test_understanding_household

LANGUAGES = ("en", "es", "de", "fr")


def house() -> Vocabulary:
    """The end-to-end house of issue 20: Home Assistant floors on some devices, plugs, three locks, sensors."""
    entities = (
        entity("light.kitchen_ceiling", "Kitchen Ceiling", "Kitchen", "light", features=DIMMABLE),
        entity("light.kitchen_island", "Kitchen Island", "Kitchen", "light", features=DIMMABLE),
        entity("light.living_lamp", "Living Room Lamp", "Living Room", "light", features=DIMMABLE),
        entity("light.living_ceiling", "Living Room Ceiling", "Living Room", "light", features=DIMMABLE),
        entity("light.bedroom_lamp", "Bedroom Lamp", "Bedroom", "light", features=DIMMABLE),
        entity("light.bedroom_ceiling", "Bedroom Ceiling", "Bedroom", "light", features=DIMMABLE),
        entity("light.desk_lamp", "Desk Lamp", "Study", "light", features=DIMMABLE),
        entity("light.hallway", "Hallway Light", "Hallway", "light", features=DIMMABLE),
        entity("light.hallway_pendant", "Hallway Pendant", "Hallway", "light", features=DIMMABLE),
        entity("light.landing", "Landing Light", "Landing", "light", floor="First Floor", features=DIMMABLE),
        entity("climate.thermostat", "Thermostat", "Hallway", "thermostat", features={"target_temp", "current_temp"}),
        entity("switch.pool_pump", "Pool Pump", "Garden", "pump"),
        entity("heater.spa", "Spa Heater", "Garden", "heater", features={"on", "target_temp", "current_temp"}),
        entity("cover.garage", "Garage Door", "Garage", "garage_door", "garage", {"state"}),
        entity("lock.front", "Front Door", "Hallway", "lock", features={"locked"}),
        entity("lock.back", "Back Door Lock", "Kitchen", "lock", features={"locked"}),
        entity("lock.side", "Side Door", "Utility Room", "lock", floor="Ground Floor", features={"locked"}),
        entity("alarm.panel", "Alarm Panel", "Hallway", "alarm", features={"mode"}),
        entity(
            "sensor.back",
            "Back Door Sensor",
            "Kitchen",
            "sensor",
            "contact",
            {"contact", "battery"},
            aliases=("Back Door",),
        ),
        entity("sensor.nursery", "Nursery Climate", "Nursery", "sensor", "temperature", {"current_temp", "humidity"}),
        entity("sensor.cellar", "Cellar Humidity", "Cellar", "sensor", "humidity", {"humidity"}, floor="Basement"),
        entity("sensor.patio", "Patio Door", "Dining Room", "sensor", "door", {"contact"}),
        entity("sensor.motion", "Hallway Motion", "Hallway", "sensor", "motion", {"motion"}),
        entity("sensor.leak", "Washer Leak", "Utility Room", "sensor", "moisture", {"moisture"}),
        entity("switch.kettle", "Kettle Plug", "Kitchen", "switch"),
        entity("switch.kitchen_plug", "Kitchen Plug", "Kitchen", "switch"),
        entity("fan.bedroom", "Bedroom Fan", "Bedroom", "fan", floor="First Floor"),
        entity("valve.garden", "Garden Valve", "Garden", "valve", features={"state"}),
        entity("media.study", "Study", "Study", "speaker", features=MEDIA),
        entity("media.kitchen", "Kitchen", "Kitchen", "speaker", features=MEDIA),
        entity("media.tv", "TV", "Living Room", "tv", features=MEDIA | {"on"}),
    )
    rooms = ("Kitchen", "Living Room", "Bedroom", "Study", "Hallway", "Garden", "Garage", "Nursery", "Cellar")
    areas = (
        *(Area(r, ("cocina", "Küche", "cuisine") if r == "Kitchen" else ()) for r in rooms),
        Area("Landing", floor="First Floor"),
        Area("Utility Room"),
        Area("Dining Room"),
    )
    floors = (Floor("First Floor", ("upstairs",)), Floor("Ground Floor", ("downstairs",)), Floor("Basement"))
    routines = (RoutineName("Sleepy Time", ("sleepy time", "good night", "bedtime")),)
    return Vocabulary(entities=entities, areas=areas, floors=floors, routines=routines)


@pytest.fixture(scope="module")
def home() -> Understanding:
    return Understanding(house(), languages=LANGUAGES)


def said(home: Understanding, text: str, language: str = "en", **kw: Any) -> Outcome:
    return home.understand(text, language=language, **kw)


# -- which devices a group means ----------------------------------------------------------------


def test_all_the_lamps_are_the_lamps_not_the_ceiling_lights(home: Understanding) -> None:
    done = understood(said(home, "turn off all the lamps"))
    assert set(done.targets) == {"light.living_lamp", "light.bedroom_lamp", "light.desk_lamp"}


@pytest.mark.parametrize(
    ("text", "language"),
    [("apaga todas las lámparas", "es"), ("schalte alle Lampen aus", "de"), ("éteins toutes les lampes", "fr")],
)
def test_all_the_lamps_in_other_languages(home: Understanding, text: str, language: str) -> None:
    done = understood(said(home, text, language))
    assert set(done.targets) == {"light.living_lamp", "light.bedroom_lamp", "light.desk_lamp"}


def test_a_lamp_where_none_is_called_a_lamp_asks_between_the_lights(home: Understanding) -> None:
    question = asked(said(home, "hallway lamp off"))
    assert "Hallway Light" in question.question and "Hallway Pendant" in question.question
    done = understood(home.follow_up(question.partial, "hallway pendant"))
    assert (done.action, done.targets) == ("turn_off", ("light.hallway_pendant",))


def test_volume_with_several_speakers_asks_which_with_a_working_answer(home: Understanding) -> None:
    louder = understood(said(home, "turn up the volume"))
    assert louder.values["target"] == "playing" and louder.targets == ()
    question = home.choose_player(louder, ["media.kitchen", "media.study"])
    assert isinstance(question, Ambiguous) and "Kitchen" in question.question and "TV" not in question.question
    done = understood(home.follow_up(question.partial, "study"))
    assert (done.action, done.targets) == ("adjust_volume", ("media.study",)) and "target" not in done.values
    nobody = home.choose_player(louder, [])
    assert isinstance(nobody, Ambiguous) and "TV" in nobody.question  # none playing: every player, still a reply
    one = home.choose_player(louder, ["media.kitchen"])
    assert isinstance(one, Understood) and one.targets == ("media.kitchen",)


def test_skip_and_resume_with_nothing_playing_never_ask_a_dead_question(home: Understanding) -> None:
    skip = understood(said(home, "skip"))
    assert home.choose_player(skip, []) is None  # nothing to skip: a plain answer, no question
    resume = understood(said(home, "resume"))
    question = home.choose_player(resume, [])
    assert isinstance(question, Ambiguous)
    assert understood(home.follow_up(question.partial, "kitchen")).targets == ("media.kitchen",)


def test_everything_off_in_the_garden_includes_the_spa_heater_never_a_lock(home: Understanding) -> None:
    done = understood(said(home, "switch everything off in the garden"))
    assert set(done.targets) == {"switch.pool_pump", "heater.spa"}
    everything = understood(said(home, "turn off everything"))
    assert "heater.spa" in everything.targets and "climate.thermostat" not in everything.targets
    assert not {"lock.front", "lock.back", "alarm.panel", "cover.garage", "valve.garden"} & set(everything.targets)


def test_a_device_s_floor_follows_its_room(home: Understanding) -> None:
    done = understood(said(home, "first floor lights on"))
    assert set(done.targets) == {"light.bedroom_lamp", "light.bedroom_ceiling", "light.landing"}
    question = understood(said(home, "any lights on upstairs?"))
    assert question.action == "get_state" and "light.bedroom_lamp" in question.targets
    assert room_floors([("Bedroom", "First Floor"), ("Bedroom", ""), ("Kitchen", "")], {"Kitchen": "Ground"}) == {
        "Bedroom": "First Floor",
        "Kitchen": "Ground",
    }


# -- offline dead ends ---------------------------------------------------------------------------


def test_a_room_s_temperature_and_humidity_come_from_its_sensor(home: Understanding) -> None:
    assert understood(said(home, "what's the temperature in the nursery?")).targets == ("sensor.nursery",)
    assert understood(said(home, "what's the humidity in the cellar?")).targets == ("sensor.cellar",)
    assert understood(said(home, "how humid is it in the cellar")).targets == ("sensor.cellar",)
    assert understood(said(home, "what's the temperature in the hallway")).targets == ("climate.thermostat",)


@pytest.mark.parametrize(
    ("text", "language", "action", "target"),
    [
        ("unlock the back door", "en", "unlock", "lock.back"),
        ("switch on the kettle", "en", "turn_on", "switch.kettle"),
        ("abre la puerta principal", "es", "unlock", "lock.front"),
        ("abre la cerradura de la puerta principal", "es", "unlock", "lock.front"),
        ("desbloquea la Front Door", "es", "unlock", "lock.front"),
        ("desbloquea la puerta principal", "es", "unlock", "lock.front"),
        ("cierra la puerta principal con llave", "es", "lock", "lock.front"),
        ("öffne die Haustür", "de", "unlock", "lock.front"),
        ("schließ die Haustür ab", "de", "lock", "lock.front"),
        ("ouvre la porte d'entrée", "fr", "unlock", "lock.front"),
        ("verrouille la porte d'entrée", "fr", "lock", "lock.front"),
        ("open the garden valve", "en", "open", "valve.garden"),
        ("close the garden valve", "en", "close", "valve.garden"),
    ],
)
def test_the_door_or_plug_meant_is_named_not_asked(
    home: Understanding, text: str, language: str, action: str, target: str
) -> None:
    done = understood(said(home, text, language))
    assert (done.action, done.targets) == (action, (target,))


def test_a_door_question_stays_with_the_door_sensor(home: Understanding) -> None:
    done = understood(said(home, "is the back door open?"))
    assert done.targets == ("sensor.back",)
    assert understood(said(home, "¿está abierta la puerta trasera?", "es")).targets == ("sensor.back",)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿está cerrada la puerta principal?", "es"),
        ("ist die Haustür abgeschlossen?", "de"),
        ("la porte d'entrée est-elle verrouillée ?", "fr"),
    ],
)
def test_is_the_front_door_locked_asks_about_that_door_only(home: Understanding, text: str, language: str) -> None:
    done = understood(said(home, text, language))
    assert (done.action, done.targets, done.values["state"]) == ("get_state", ("lock.front",), "locked")


def test_a_plug_named_after_its_room_keeps_its_whole_name() -> None:
    assert derived_names("Kitchen Plug", "Kitchen") == ()
    kettle = derived_names("Kettle Plug", "Kitchen")
    assert kettle[0] == "kettle" and {"wasserkocher", "hervidor", "bouilloire"} <= set(kettle)
    assert "puerta principal" in derived_names("Front Door Lock", "Hallway")


def test_at_seven_without_am_or_pm_is_the_next_seven(home: Understanding) -> None:
    done = understood(said(home, "turn on the kitchen lights at 7"))
    assert set(done.targets) == {"light.kitchen_ceiling", "light.kitchen_island"}
    assert (done.values["at"], done.values["or_at"]) == ("07:00", "19:00")


@pytest.mark.parametrize(
    "text", ["turn of the kitchen light", "lights off in da living room pls", "switch of the kitchen lights"]
)
def test_texting_slips(home: Understanding, text: str) -> None:
    assert understood(said(home, text)).action == "turn_off"


def test_warmer_means_the_heating(home: Understanding) -> None:
    warmer = understood(said(home, "make it warmer"))
    assert (warmer.action, warmer.targets) == ("adjust_temperature", ("climate.thermostat",))
    assert warmer.values["temperature_step"] > 0
    bit = understood(said(home, "turn the heat up a bit"))
    assert bit.targets == ("climate.thermostat",)
    assert 0 < bit.values["temperature_step"] < warmer.values["temperature_step"]
    lamp = understood(said(home, "make it warmer", context=LastTouched(("light.desk_lamp",))))
    assert lamp.action == "adjust_color_temp" and lamp.values["color_temp_step"] < 0  # the lamp just touched


def test_warm_white_is_a_colour_temperature(home: Understanding) -> None:
    done = understood(said(home, "set the living room lamp to warm white"))
    assert (done.action, done.targets, done.values["color_temp"]) == ("set_color_temp", ("light.living_lamp",), 2700)


@pytest.mark.parametrize(("text", "language"), [("nevermind", "en"), ("never mind", "en"), ("olvídalo", "es")])
def test_never_mind_is_a_polite_end_not_a_media_command(home: Understanding, text: str, language: str) -> None:
    done = understood(said(home, text, language))
    assert done.action == "nevermind" and done.targets == () and "target" not in done.values


def test_play_on_the_tv_in_a_room_without_one_asks(home: Understanding) -> None:
    question = asked(said(home, "play The Office on the TV in the Kitchen"))
    assert "TV" in question.question
    done = understood(home.follow_up(question.partial, "tv"))
    assert (done.action, done.targets, done.values["search"]) == ("play", ("media.tv",), "the office")
    there = understood(said(home, "play the office on the tv in the living room"))
    assert (there.targets, there.values["search"]) == (("media.tv",), "the office")


@pytest.mark.parametrize(("text", "language"), [("buenas noches", "es"), ("gute Nacht", "de"), ("bonne nuit", "fr")])
def test_good_night_in_every_language_runs_the_night_routine(home: Understanding, text: str, language: str) -> None:
    done = understood(said(home, text, language))
    assert (done.action, done.routine) == ("run_routine", "Sleepy Time")


def test_buenas_noches_still_greets_where_no_routine_says_good_night() -> None:
    plain = Understanding(Vocabulary(entities=house().entities[:2]), languages=("es",))
    assert understood(plain.understand("buenas noches", language="es")).action == "greet"


def test_and_lock_it_locks_the_one_door_meant(home: Understanding) -> None:
    outcome = said(home, "shut the front door and lock it")
    parts = outcome.parts if isinstance(outcome, Compound) else (understood(outcome),)
    assert [(p.action, p.targets) for p in parts] == [("lock", ("lock.front",))]
    locked = understood(said(home, "lock it", context=LastTouched(("lock.front",))))
    assert locked.targets == ("lock.front",)


# -- sensors, units, aliases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "targets", "state"),
    [
        ("is there motion in the hallway?", ("sensor.motion",), "detected"),
        ("is anyone in the hallway", ("sensor.motion",), "detected"),
        ("are any doors open?", ("sensor.back", "sensor.patio"), "open"),
        ("which doors are open", ("sensor.back", "sensor.patio"), "open"),
        ("is there a leak in the utility room", ("sensor.leak",), "wet"),
        ("is the patio door open?", ("sensor.patio",), "open"),
    ],
)
def test_binary_sensors_answer_state_questions(
    home: Understanding, text: str, targets: tuple[str, ...], state: str
) -> None:
    done = understood(said(home, text))
    assert (done.action, done.targets, done.values["state"]) == ("get_state", targets, state)


def test_a_fahrenheit_home_says_fahrenheit() -> None:
    fahrenheit = Understanding(house(), temperature_unit=FAHRENHEIT)
    done = understood(fahrenheit.understand("set bedroom temp to 50 degrees"))
    assert (done.targets, done.values["temperature"]) == (("climate.thermostat",), 10.0)
    assert understood(fahrenheit.understand("set the thermostat to 68")).values["temperature"] == 20.0
    step = understood(fahrenheit.understand("raise the thermostat by 2 degrees"))
    assert step.values["temperature_step"] == pytest.approx(1.1)
    celsius = Understanding(house())
    assert understood(celsius.understand("set the thermostat to 20")).values["temperature"] == 20.0
    assert (to_celsius(50, FAHRENHEIT), from_celsius(10, FAHRENHEIT), to_celsius(21, "°C")) == (10.0, 50.0, 21)
    assert step_to_celsius(9, FAHRENHEIT) == 5.0 and temperature_unit("imperial") == FAHRENHEIT
    assert LocationConfig(units="imperial").units == "imperial"
    with pytest.raises(ValueError, match="units"):
        LocationConfig(units="kelvin")


def test_home_assistant_aliases_become_device_and_room_aliases() -> None:
    snapshot = Snapshot(
        states=[{"entity_id": "light.reading", "state": "on", "attributes": {"friendly_name": "Lamp 3"}}],
        entities=[{"entity_id": "light.reading", "area_id": "bed", "aliases": ["Reading Light", "", 5]}],
        areas=[{"area_id": "bed", "name": "Bedroom", "aliases": ["Sleeping Room"]}],
        exposed={"exposed_entities": {"light.reading": {"conversation": True}}},
    )
    (offer,) = offers(snapshot, "127.0.0.1:8123")
    assert offer.found is not None
    assert offer.found.info["aliases"] == ["Reading Light"] and offer.found.info["area_aliases"] == ["Sleeping Room"]
    lamp = Device(
        "ha.light.reading", "Lamp 3", "light", "hass", "a", room="Bedroom", aliases=("Reading Light",),
        capabilities=(caps.POWER,), info=dict(offer.found.info),
    )  # fmt: skip
    words = Understanding(home_vocabulary([lamp], [], []))
    assert understood(words.understand("turn off the reading light")).targets == ("ha.light.reading",)
    assert understood(words.understand("turn off the lights in the sleeping room")).targets == ("ha.light.reading",)
    assert Resolver([lamp]).resolve(Target(room="sleeping room")) == [lamp]


def test_valves_open_and_close_through_home_assistant() -> None:
    info = hass_entities.facts("valve.garden", {})
    assert info is not None and hass_entities.kind_of(info) == "valve"
    assert hass_entities.state_of(info, {"state": "opening"}) == {"state": "open"}
    assert hass_entities.service_calls(info, "Garden Valve", {"state": "closed"}) == [("valve", "close_valve", {})]


# -- the model's tools: one target matcher -------------------------------------------------------


def _device(name: str, kind: str, room: str, floor: str = "") -> Device:
    return Device(name, name, kind, "http-json", "a", room=room, floor=floor)


def test_a_room_power_command_leaves_locks_alarms_and_garage_doors_alone() -> None:
    lamp, lock = _device("Kitchen Ceiling", "light", "Kitchen"), _device("Back Door Lock", "lock", "Kitchen")
    alarm, garage = _device("Alarm Panel", "alarm", "Kitchen"), _device("Garage Door", "garage_door", "Kitchen")
    resolver = Resolver([lamp, lock, alarm, garage])
    assert resolver.resolve(Target(room="kitchen"), power=True) == [lamp]
    assert resolver.resolve(Target(everything=True), power=True) == [lamp]
    assert resolver.resolve(Target(room="kitchen", kind="lock"), power=True) == [lock]  # asked for by kind
    assert resolver.resolve(Target(name="back door lock"), power=True) == [lock]  # named
    assert resolver.resolve(Target(room="kitchen")) == [lamp, lock, alarm, garage]  # a question reads them all


def test_the_tools_floor_follows_the_room_too() -> None:
    fan = _device("Bedroom Fan", "fan", "Bedroom", floor="First Floor")
    lamp = _device("Bedroom Lamp", "light", "Bedroom")
    kitchen = _device("Kitchen Ceiling", "light", "Kitchen")
    assert Resolver([fan, lamp, kitchen]).resolve(Target(floor="first floor")) == [fan, lamp]
    assert Resolver([lamp, kitchen], floors={"Kitchen": "Ground Floor"}).resolve(Target(floor="ground floor")) == [
        kitchen
    ]


async def test_a_moved_device_takes_its_new_room_s_floor_and_a_hub_s_aliases(home_only: HomeOnly) -> None:
    from claw.home.device import Found

    registry = home_only.home.registry
    found = Found("moved-1", "Reading Lamp", "light", "httpjson", "127.0.0.98:80", room="Bedroom", floor="First Floor")
    device = await registry.found(found)
    assert device.floor == "First Floor"
    await registry.update(device, room="Kitchen")
    assert (device.room, device.floor) == ("Kitchen", "")  # the Kitchen's floor now, not the Bedroom's
    again = Found("moved-1", "Reading Lamp", "light", "httpjson", "127.0.0.98:80", info={"aliases": ["Book Light"]})
    await registry.found(again)
    assert "Book Light" in device.aliases


# -- Home Assistant's own test sentences: fans, locks by room, scenes, openings ------------------


@pytest.mark.parametrize(
    ("text", "language", "action"),
    [
        ("turn on the fan in the Bedroom", "en", "turn_on"),
        ("turn off all the fans", "en", "turn_off"),
        ("mach im Bedroom alle Lüfter an", "de", "turn_on"),
        ("stoppe den Ventilator im Bedroom ab", "de", "turn_off"),
        ("alle Ventilatoren aus", "de", "turn_off"),
        ("conecte ventiladores de la Bedroom", "es", "turn_on"),
        ("desactive todos los ventiladores del Bedroom", "es", "turn_off"),
    ],
)
def test_fans_are_switched(home: Understanding, text: str, language: str, action: str) -> None:
    done = understood(said(home, text, language))
    assert (done.action, done.targets) == (action, ("fan.bedroom",))


def test_the_fans_in_here_asks_where_here_is(home: Understanding) -> None:
    question = asked(said(home, "turn on the fans in here"))
    assert understood(home.follow_up(question.partial, "bedroom fan")).targets == ("fan.bedroom",)


@pytest.mark.parametrize(
    ("text", "language", "action"),
    [
        ("lock all locks in the Kitchen", "en", "lock"),
        ("unlock the door in the Kitchen", "en", "unlock"),
        ("turn sleepy time on", "en", "run_routine"),
        ("change to the sleepy time scene", "en", "run_routine"),
        ("activar escena sleepy time", "es", "run_routine"),
    ],
)
def test_locks_by_room_and_scenes(home: Understanding, text: str, language: str, action: str) -> None:
    done = understood(said(home, text, language))
    assert done.action == action
    if action != "run_routine":
        assert done.targets == ("lock.back",)


@pytest.mark.parametrize(
    ("text", "language", "query", "state"),
    [
        ("are there any unlocked doors?", "en", "any", "unlocked"),
        ("which doors are currently locked?", "en", "which", "locked"),
        ("how many openings are open?", "en", "how_many", "open"),
        ("y a-t-il des portes ouvertes?", "fr", "any", "open"),
        ("Toutes les portes sont-elles fermées?", "fr", "all", "closed"),
    ],
)
def test_questions_about_doors(home: Understanding, text: str, language: str, query: str, state: str) -> None:
    done = understood(said(home, text, language))
    assert (done.action, done.values["query"], done.values["state"]) == ("get_state", query, state)


def test_garage_closed_with_a_question_mark_asks_without_one_orders(home: Understanding) -> None:
    assert understood(said(home, "garage closed?")).action == "get_state"
    assert understood(said(home, "garage closed")).action == "close"


@pytest.mark.parametrize(
    ("text", "language", "target"),
    [
        ("what is the battery level of the Back Door Sensor?", "en", "sensor.back"),
        ("what is the Nursery Climate temperature?", "en", "sensor.nursery"),
        ("¿Cuál es la humedad relativa que indica Cellar Humidity?", "es", "sensor.cellar"),
        ("¿qué temperatura hace en la nursery?", "es", "sensor.nursery"),
    ],
)
def test_sensor_readings_by_name(home: Understanding, text: str, language: str, target: str) -> None:
    done = understood(said(home, text, language))
    assert done.action in {"get_state", "get_temperature"} and done.targets == (target,)
