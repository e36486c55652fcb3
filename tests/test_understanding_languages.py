"""Spanish, German and French cover what English covers: each family of phrasings against the grammar alone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from claw.assistant.home_words import FLOOR_WORDS
from claw.assistant.understanding import Area, Floor, NotUnderstood, RoutineName, Understanding, Vocabulary
from claw.core.config import Config
from tests.home_fixtures import House, _approved_house
from tests.test_understanding import DIMMABLE, MEDIA, entity, understood


def house() -> Vocabulary:
    """A home named in English, spoken to in Spanish, German and French."""
    entities = (
        entity("light.living_lamp", "Living Room Lamp", "Living Room", "light", features=DIMMABLE),
        entity("light.living_ceiling", "Living Room Ceiling", "Living Room", "light", features=DIMMABLE),
        entity("light.bedroom_lamp", "Bedroom Lamp", "Bedroom", "light", features=DIMMABLE),
        entity("light.desk_lamp", "Desk Lamp", "Study", "light", features=DIMMABLE),
        entity("light.landing", "Landing Light", "Landing", "light", features=DIMMABLE),
        entity("climate.thermostat", "Thermostat", "Hallway", "thermostat", features={"target_temp", "current_temp"}),
        entity("switch.pool_pump", "Pool Pump", "Garden", "pump"),
        entity("switch.kettle", "Kettle Plug", "Kitchen", "switch"),
        entity("cover.bedroom_shades", "Bedroom Shades", "Bedroom", "shade", "shade", {"position"}),
        entity("lock.front", "Front Door", "Hallway", "lock", features={"locked"}),
        entity("lock.back", "Back Door Lock", "Kitchen", "lock", features={"locked"}),
        entity("alarm.panel", "Alarm Panel", "Hallway", "alarm", features={"mode"}),
        entity("sensor.back", "Back Door Sensor", "Kitchen", "sensor", "contact", {"contact", "battery"}),
        entity("sensor.patio", "Patio Door", "Dining Room", "sensor", "door", {"contact"}),
        entity("sensor.cellar", "Cellar Humidity", "Cellar", "sensor", "humidity", {"humidity"}),
        entity("fan.bedroom", "Bedroom Fan", "Bedroom", "fan"),
        entity("media.kitchen", "Kitchen", "Kitchen", "speaker", features=MEDIA),
    )
    rooms = ("Kitchen", "Living Room", "Study", "Hallway", "Garden", "Cellar", "Dining Room")
    areas = (
        *(Area(r) for r in rooms),
        Area("Bedroom", ("schlafzimmer",), floor="First Floor"),
        Area("Landing", floor="First Floor"),
    )
    floors = (Floor("First Floor", FLOOR_WORDS["first"]), Floor("Ground Floor", FLOOR_WORDS["ground"]))
    routines = (
        RoutineName("away", ("we're leaving", "nobody home")),
        RoutineName("sleepy time", ("good night", "time for bed")),
    )
    return Vocabulary(entities=entities, areas=areas, floors=floors, routines=routines)


@pytest.fixture(scope="module")
def home() -> Understanding:
    return Understanding(house(), languages=("en", "es", "de", "fr"))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ist der Back Door Sensor Akku schwach?", "de"),
        ("ist der Ladestand des Akkus vom Back Door Sensor niedrig?", "de"),
        ("Batterie vom Back Door Sensor?", "de"),
        ("sind irgendwelche Akkus schwach?", "de"),
        ("wie viele Batterien sind schwach?", "de"),
        ("¿está baja la batería del Back Door Sensor?", "es"),
        ("¿batería del Back Door Sensor?", "es"),
        ("¿hay alguna batería baja?", "es"),
        ("¿qué baterías están bajas?", "es"),
        ("batterie du Back Door Sensor ?", "fr"),
        ("y a-t-il des piles faibles ?", "fr"),
    ],
)
def test_battery_questions_read_the_battery(home: Understanding, text: str, language: str) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.targets) == ("get_state", ("sensor.back",))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("kannst du bitte die Poolpumpe ausschalten?", "de"),
        ("¿puedes apagar la bomba de la piscina?", "es"),
        ("oye, apaga la bomba de la piscina", "es"),
        ("tu peux éteindre la pompe de la piscine ?", "fr"),
        ("pourrais-tu couper la pompe de la piscine", "fr"),
    ],
)
def test_a_polite_request_is_the_command_and_the_pump_has_its_household_name(
    home: Understanding, text: str, language: str
) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.targets) == ("turn_off", ("switch.pool_pump",))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wasserkocher an", "de"),
        ("pon el hervidor", "es"),
        ("enciende el hervidor", "es"),
        ("lance la bouilloire", "fr"),
    ],
)
def test_the_kettle_is_the_kettle_plug(home: Understanding, text: str, language: str) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.targets) == ("turn_on", ("switch.kettle",))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Licht im ersten Stock an", "de"),
        ("enciende las luces del primer piso", "es"),
        ("allume les lumières du premier étage", "fr"),
    ],
)
def test_a_floor_in_the_message_s_language(home: Understanding, text: str, language: str) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, set(done.targets)) == ("turn_on", {"light.bedroom_lamp", "light.landing"})


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ist oben noch Licht an?", "de"),
        ("¿hay luces encendidas arriba?", "es"),
        ("il reste de la lumière en haut ?", "fr"),
    ],
)
def test_lights_left_on_upstairs_is_a_question(home: Understanding, text: str, language: str) -> None:
    done = understood(home.understand(text, language=language))
    assert done.action == "get_state" and set(done.targets) == {"light.bedroom_lamp", "light.landing"}


@pytest.mark.parametrize(
    ("text", "language", "routine"),
    [
        ("nos vamos", "es", "away"),
        ("me voy, no hay nadie en casa", "es", "away"),
        ("on part", "fr", "away"),
        ("ich gehe schlafen", "de", "sleepy time"),
        ("je vais me coucher", "fr", "sleepy time"),
    ],
)
def test_routine_triggers_in_every_language(home: Understanding, text: str, language: str, routine: str) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.routine) == ("run_routine", routine)
    heard = understood(home.understand(text))  # no language given: the trigger says which, for the reply
    assert (heard.routine, heard.language) == (routine, language)


@pytest.mark.parametrize(
    ("text", "language", "measure", "sign"),
    [
        ("Heizung runter", "de", "temperature", -1),
        ("dreh die Heizung ein bisschen hoch", "de", "temperature", 1),
        ("sube un poco la calefacción", "es", "temperature", 1),
        ("monte un peu le chauffage", "fr", "temperature", 1),
        ("Living Room Lamp heller", "de", "brightness", 1),
        ("baja un poco la Living Room Lamp", "es", "brightness", -1),
        ("baisse un peu la Living Room Lamp", "fr", "brightness", -1),
        ("Bedroom Shades ein Stück runter", "de", "position", -1),
        ("baja un poco las Bedroom Shades", "es", "position", -1),
        ("monte un peu les Bedroom Shades", "fr", "position", 1),
    ],
)
def test_relative_changes(home: Understanding, text: str, language: str, measure: str, sign: int) -> None:
    done = understood(home.understand(text, language=language))
    assert done.action == f"adjust_{measure}"
    assert float(done.values[f"{measure}_step"]) * sign > 0


@pytest.mark.parametrize(
    ("text", "language"),
    [("Heizung 2 Grad höher", "de"), ("sube 2 grados", "es"), ("monte de 2 degrés", "fr")],
)
def test_degrees_more_is_that_many_degrees(home: Understanding, text: str, language: str) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.targets, done.values["temperature_step"]) == (
        "adjust_temperature",
        ("climate.thermostat",),
        2.0,
    )


@pytest.mark.parametrize(
    ("text", "language", "action", "key", "value"),
    [
        ("öffne die Bedroom Shades zur Hälfte", "de", "set_position", "position", 50),
        ("abre las Bedroom Shades a la mitad", "es", "set_position", "position", 50),
        ("ouvre les Bedroom Shades à moitié", "fr", "set_position", "position", 50),
        ("Living Room Lamp ganz hell", "de", "set_brightness", "brightness", 100),
        ("Living Room Lamp al máximo", "es", "set_brightness", "brightness", 100),
        ("Living Room Lamp à fond", "fr", "set_brightness", "brightness", 100),
        ("Lautstärke 35 in der Kitchen", "de", "set_volume", "volume", 35),
        ("volumen a 35 en la Kitchen", "es", "set_volume", "volume", 35),
        ("volume à 35 dans la Kitchen", "fr", "set_volume", "volume", 35),
        ("Alarm auf Nachtmodus", "de", "set_mode", "mode", "night"),
    ],
)
def test_half_full_and_levels_in_words(
    home: Understanding, text: str, language: str, action: str, key: str, value: object
) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.values[key]) == (action, value)


@pytest.mark.parametrize(
    ("text", "language", "target", "state"),
    [
        ("Ist die Front Door geschlossen?", "de", "lock.front", "locked"),
        ("hab ich die Back Door Lock abgeschlossen?", "de", "lock.back", "locked"),
        ("¿cerré la Back Door Lock?", "es", "lock.back", "locked"),
        ("j'ai bien fermé la Back Door Lock ?", "fr", "lock.back", "locked"),
        ("läuft die Pool Pump noch?", "de", "switch.pool_pump", "on"),
        ("la Pool Pump tourne encore ?", "fr", "switch.pool_pump", "on"),
    ],
)
def test_is_it_locked_or_running_asks_about_that_device(
    home: Understanding, text: str, language: str, target: str, state: str
) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.targets, done.values["state"]) == ("get_state", (target,), state)


@pytest.mark.parametrize(
    ("text", "language", "query"),
    [
        ("Sind irgendwelche Türen nicht geschlossen?", "de", "any"),
        ("¿Hay alguna apertura abierta?", "es", "any"),
        ("¿Cuántas aberturas hay abiertas?", "es", "how_many"),
        ("¿hay alguna puerta abierta?", "es", "any"),
    ],
)
def test_open_doors_are_the_door_sensors_not_the_locks(
    home: Understanding, text: str, language: str, query: str
) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.values["query"]) == ("get_state", query)
    assert set(done.targets) == {"sensor.back", "sensor.patio"}


@pytest.mark.parametrize(
    ("text", "language", "target"),
    [
        ("wie hoch ist die Luftfeuchtigkeit im Cellar?", "de", "sensor.cellar"),
        ("¿cuánta humedad hay en el Cellar?", "es", "sensor.cellar"),
        ("quel est le taux d'humidité dans le Cellar ?", "fr", "sensor.cellar"),
        ("wie warm ist es drinnen?", "de", "climate.thermostat"),
        ("¿a cuánto está el termostato?", "es", "climate.thermostat"),
        ("le thermostat est réglé sur combien ?", "fr", "climate.thermostat"),
    ],
)
def test_readings_in_every_language(home: Understanding, text: str, language: str, target: str) -> None:
    done = understood(home.understand(text, language=language))
    assert (done.action, done.targets) == ("get_state", (target,))


@pytest.mark.parametrize(
    ("text", "language", "action", "target"),
    [
        ("étiens la Desk Lamp", "fr", "turn_off", "light.desk_lamp"),  # two letters swapped
        ("éteins le ventilo", "fr", "turn_off", "fan.bedroom"),
        ("pausier die Musik", "de", "pause", ""),
    ],
)
def test_slips_and_everyday_words(home: Understanding, text: str, language: str, action: str, target: str) -> None:
    done = understood(home.understand(text, language=language))
    assert done.action == action and (not target or done.targets == (target,))


@pytest.mark.parametrize(
    ("text", "action", "targets"),
    [
        ("mach das Schlafzimmerlicht aus", "turn_off", {"light.bedroom_lamp"}),
        ("Schlafzimmerlampe an", "turn_on", {"light.bedroom_lamp"}),
    ],
)
def test_a_german_compound_of_room_and_light(home: Understanding, text: str, action: str, targets: set[str]) -> None:
    done = understood(home.understand(text, language="de"))
    assert (done.action, set(done.targets)) == (action, targets)


def test_lights_without_a_verb_order_and_with_a_question_mark_ask(home: Understanding) -> None:
    order = understood(home.understand("luces del Living Room encendidas", language="es"))
    assert order.action == "turn_on" and set(order.targets) == {"light.living_lamp", "light.living_ceiling"}
    question = understood(home.understand("¿luces del Living Room encendidas?", language="es"))
    assert question.action == "get_state"


@pytest.mark.parametrize(("text", "language"), [("schon gut, egal", "de"), ("laisse tomber", "fr")])
def test_never_mind_in_other_words(home: Understanding, text: str, language: str) -> None:
    assert understood(home.understand(text, language=language)).action == "nevermind"


@pytest.mark.parametrize(
    ("text", "language"),
    [("kannst du mir sagen, wie spät es ist?", "de"), ("¿puedes contarme un chiste?", "es")],
)
def test_a_polite_opener_never_makes_a_command_of_a_request_for_the_model(
    home: Understanding, text: str, language: str
) -> None:
    assert isinstance(home.understand(text, language=language), NotUnderstood)


@pytest_asyncio.fixture
async def polyglot(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[House]:
    """The approved demo house, understanding all four languages, no model server."""
    h = await _approved_house(tmp_path, make_config, assistant={"languages": ("en", "es", "de", "fr")})
    try:
        yield h
    finally:
        await h.app.stop()
        await h.sim.stop()


async def test_a_polite_request_with_a_question_mark_acts_in_the_daemon(polyglot: House) -> None:
    lamp = polyglot.sim.device("Bedroom Lamp")
    await polyglot.say("turn off the bedroom lamp")
    assert lamp.state.get("on") is False
    for text, wanted in (
        ("¿puedes encender la Bedroom Lamp?", True),
        ("kannst du die Bedroom Lamp ausmachen?", False),
        ("tu peux allumer la Bedroom Lamp ?", True),
    ):
        reply = await polyglot.say(text)
        assert lamp.state.get("on") is wanted, (text, reply)
    await polyglot.say("Bedroom Lamp aus?")  # a bare state with "?" asks; it never switches anything
    assert lamp.state.get("on") is True
