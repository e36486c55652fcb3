"""Typed outcomes, rendered speech (issue 20): replies and codes in the message's language, a code said once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from claw.assistant.speech import (
    answer_question,
    said_in,
    say_pending,
    say_refusal,
    say_results,
    say_routine,
    say_scheduled,
    say_thermostat,
    use_units,
)
from claw.core.config import Config
from claw.core.errors import InvalidValue, NothingSaved
from claw.core.principals import agent, owner
from claw.core.ratelimit import CommandLimits, Refusal
from claw.core.request import Request
from claw.core.safety import ALPHABET, Ask, Pending
from claw.core.units import CELSIUS, FAHRENHEIT, to_celsius
from claw.home.actions import RoutineOutcome
from claw.home.capabilities import ALARM, LOCK, POWER, SETPOINT, TEMPERATURE, Capability
from claw.home.control import Change, Reason, Result
from claw.home.device import Device
from tests.home_fixtures import House, _approved_house

CODE = re.compile(rf"\b[{ALPHABET}]{{4}}\b")
# Words that give English away in a reply meant to be in Spanish, German or French.
ENGLISH = re.compile(
    r"\b(Reply|valid|minutes|unlock|already|others?|was|were|Turned|the|and|is|are|Yes|locked)\b", re.IGNORECASE
)


@pytest_asyncio.fixture
async def house(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[House]:
    """The approved demo house, understanding English, Spanish, German and French; no model."""
    h = await _approved_house(tmp_path, make_config, assistant={"languages": ["en", "es", "de", "fr"]})
    try:
        yield h
    finally:
        await h.app.stop()
        await h.sim.stop()


def codes(reply: str) -> list[str]:
    """The confirmation codes a reply carries (after "OK")."""
    return re.findall(rf"\bOK ([{ALPHABET}]{{4}})\b", reply)


def english_in(reply: str, *names: str) -> list[str]:
    """English words left in a reply, device names (the owner's words) set aside."""
    for name in names:
        reply = reply.replace(name, "")
    return ENGLISH.findall(reply)


@pytest.mark.parametrize(
    ("said", "prompt"),
    [
        ("abre la Front Door", "Responde OK "),
        ("öffne die Front Door", "Antworte OK "),
        ("déverrouille la Front Door", "Répondez OK "),
        ("unlock the front door", "Reply OK "),
    ],
)
async def test_a_held_unlock_carries_one_code_in_the_message_s_language(house: House, said: str, prompt: str) -> None:
    house.sim.device("Front Door").set_state(locked=True)
    await house.home.refresh(house.device("Front Door"))
    reply = await house.say(said)
    assert len(codes(reply)) == 1 and reply.count(codes(reply)[0]) == 1, reply  # the code once, never twice
    assert reply.startswith(prompt), reply
    assert "Front Door" in reply and house.device("Front Door").state["locked"] is True  # held, not done
    if not prompt.startswith("Reply"):
        assert english_in(reply, "Front Door") == [], reply
    done = await house.say(f"OK {codes(reply)[0]}")
    assert house.device("Front Door").state["locked"] is False
    unlocked = {"Responde": "He abierto", "Antworte": "aufgeschlossen", "Répondez": "déverrouillé", "Reply": "Unlocked"}
    assert unlocked[prompt.split(maxsplit=1)[0]] in done, done  # said in the language it was asked in


@pytest.mark.parametrize(
    ("said", "done_word"),
    [("apaga todas las luces", "He apagado"), ("Schalte alle Lichter aus", "ausgeschaltet")],
)
async def test_all_lights_off_with_some_already_off_has_no_english(house: House, said: str, done_word: str) -> None:
    lights = [d for d in house.home.registry.devices() if d.kind == "light"]
    assert len(lights) > 3
    for light in lights[1:]:  # one on, the rest already off: "8 others were already off" in the language
        house.sim.device(light.name).set_state(on=False)
    house.sim.device(lights[0].name).set_state(on=True)
    for light in lights:
        await house.home.refresh(house.device(light.name))
    reply = await house.say(said)
    assert done_word in reply and lights[0].name in reply, reply
    assert english_in(reply, *(d.name for d in lights)) == [], reply
    assert not any(house.sim.device(d.name).state.get("on") for d in lights)


async def test_two_kitchen_lights_already_off_agree_in_the_plural(house: House) -> None:
    for name in ("Kitchen Ceiling", "Kitchen Island"):
        house.sim.device(name).set_state(on=False)
        await house.home.refresh(house.device(name))
    reply = await house.say("apaga las luces de la cocina")
    assert reply in (
        "Kitchen Ceiling y Kitchen Island ya estaban apagadas.",
        "Kitchen Island y Kitchen Ceiling ya estaban apagadas.",
    ), reply


async def test_a_spanish_question_about_the_front_door_is_answered_in_spanish(house: House) -> None:
    house.sim.device("Front Door").set_state(locked=True)
    await house.home.refresh(house.device("Front Door"))
    reply = await house.say("¿está cerrada la puerta principal?")
    assert reply.startswith("Sí") and "Front Door" in reply and "cerrada" in reply, reply
    names = [d.name for d in house.home.registry.devices()]
    assert english_in(reply, *names) == [], reply


# -- the renderer on its own -------------------------------------------------------------------------


def lamp(name: str, on: bool) -> Device:
    return Device(name, name, "light", "x", "a", capabilities=(POWER,), state={"on": on})


def plug(name: str) -> Device:
    return Device(name, name, "switch", "x", "a", capabilities=(POWER,), state={"on": False})


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Turned off the Bedroom Lamp. 8 others were already off."),
        ("es", "He apagado Bedroom Lamp. Otras 8 ya estaban apagadas."),
        ("de", "Bedroom Lamp ausgeschaltet. 8 weitere waren schon aus."),
        ("fr", "J'ai éteint Bedroom Lamp. 8 autres étaient déjà éteintes."),
    ],
)
def test_others_already_off_are_counted_in_every_language(language: str, said: str) -> None:
    results = [Result(lamp("Bedroom Lamp", False), "done")] + [
        Result(lamp(f"L{i}", False), "already") for i in range(8)
    ]
    assert say_results(results, Change(power=False), language) == said


@pytest.mark.parametrize(
    ("devices", "language", "said"),
    [
        (("Kettle Plug",), "es", "Kettle Plug ya estaba apagado."),
        (("Kitchen Ceiling",), "es", "Kitchen Ceiling ya estaba apagada."),
        (("Kitchen Ceiling", "Kitchen Island"), "es", "Kitchen Ceiling y Kitchen Island ya estaban apagadas."),
        (("Kettle Plug", "Kitchen Island"), "es", "Kettle Plug y Kitchen Island ya estaban apagados."),
        (("Kitchen Ceiling", "Kitchen Island"), "fr", "Kitchen Ceiling et Kitchen Island étaient déjà éteintes."),
        (("Kettle Plug",), "fr", "Kettle Plug était déjà éteint."),
        (("Kettle Plug", "Kitchen Island"), "de", "Kettle Plug und Kitchen Island waren schon aus."),
    ],
)
def test_already_agrees_in_gender_and_number(devices: tuple[str, ...], language: str, said: str) -> None:
    made = [plug(n) if "Plug" in n else lamp(n, False) for n in devices]
    assert say_results([Result(d, "already") for d in made], Change(power=False), language) == said


def test_a_pending_code_is_said_once_per_language_and_withheld_from_agents() -> None:
    async def run() -> str:
        return ""

    held = Pending("AY7N", Ask("unlock", ("Front Door",)), run, "Sam", "fast-path", "c", 0.0, 2, with_code=True)
    assert say_pending(held, "en") == "Reply OK AY7N to unlock the Front Door (valid 2 minutes)."
    assert say_pending(held, "es") == "Responde OK AY7N para abrir Front Door (válido 2 min)."
    assert say_pending(held, "de") == "Antworte OK AY7N, um Front Door aufzuschließen (2 Min. gültig)."
    assert say_pending(held, "fr") == "Répondez OK AY7N pour déverrouiller Front Door (valable 2 min)."
    hidden = Pending("AY7N", Ask("disarm", ("Alarm Panel",)), run, "bot", "mcp", "m", 0.0, 2, with_code=False)
    for language in ("en", "es", "de", "fr"):
        said = say_pending(hidden, language)
        assert "AY7N" not in said and "Alarm Panel" in said and "2" in said


async def test_the_router_adds_a_held_code_only_when_the_reply_lacks_it() -> None:
    from claw.assistant.answer import Answer
    from claw.assistant.router import _receipted

    async def run() -> str:
        return ""

    turn = Request(principal=owner("Sam", "whatsapp"), conversation="owner:1", channel="whatsapp", sender="1")
    turn.receipt.language = "es"
    held = Pending("AY7N", Ask("unlock", ("Front Door",)), run, "Sam", "fast-path", "owner:1", 0.0, 2, with_code=True)
    turn.receipt.held.append(held)
    added = _receipted(Answer("Vale."), turn).text
    assert added == "Vale. Responde OK AY7N para abrir Front Door (válido 2 min)."
    kept = _receipted(Answer("Responde OK AY7N para abrir Front Door (válido 2 min)."), turn).text
    assert kept.count("AY7N") == 1  # compared by code: never the same code twice, in any wording
    other = _receipted(Answer("Código AY7N enviado."), turn).text
    assert other == "Código AY7N enviado."


def test_a_state_question_is_answered_in_the_language_asked() -> None:
    door = Device("d", "Front Door", "lock", "x", "a", capabilities=(LOCK,), state={"locked": True})
    side = Device("s", "Side Door", "lock", "x", "a", capabilities=(LOCK,), state={"locked": False})
    asked = {"state": "locked", "query": "one_yesno"}
    assert answer_question([door], "get_state", asked, "es") == "Sí, Front Door está cerrada con llave."
    assert answer_question([door], "get_state", asked, "de") == "Ja, Front Door ist abgeschlossen."
    assert answer_question([door], "get_state", asked, "fr") == "Oui, Front Door est verrouillée."
    assert answer_question([door], "get_state", asked, "en") == "Yes, the Front Door is locked."
    every = {"state": "locked", "query": "all"}
    assert answer_question([door, side], "get_state", every, "es") == (
        "No: Side Door está abierta (Front Door está cerrada con llave)."
    )


def test_a_camera_s_held_mute_and_mode_are_said_without_english() -> None:
    async def run() -> str:
        return ""

    mute = Ask("mute", ("driveway",), "mute the driveway camera for half an hour", "30")
    mode = Ask("mode", ("driveway",), "switch to night mode, which disarms the driveway camera", "night")
    for ask, spanish in (
        (mute, "Responde OK AY7N para silenciar la cámara driveway durante 30 min (válido 2 min)."),
        (mode, "Responde OK AY7N para pasar al modo noche, que desarma la cámara driveway (válido 2 min)."),
    ):
        held = Pending("AY7N", ask, run, "Sam", "fast-path", "c", 0.0, 2, with_code=True)
        assert held.prompt == f"Reply OK AY7N to {ask.detail} (valid 2 minutes)."  # the owners' English, as before
        assert say_pending(held, "es") == spanish
        for language in ("de", "fr"):
            assert english_in(say_pending(held, language), "driveway") == [], say_pending(held, language)


# -- validation, refusals, device failures and schedules: typed, said per language (speech2) -----------------------

# English that would give these shapes away inside a Spanish, German or French reply.
ENGLISH_SHAPES = re.compile(
    r"\b(must|between|not|number|commands?|paused|answer(ed)?|within|reach|Once|next|I'll|run|"
    r"schedule|Automations|Target|temperature|didn't|sent|nothing|changed|try|again|set)\b",
    re.IGNORECASE,
)


def no_english(reply: str, *names: str) -> list[str]:
    for name in names:
        reply = reply.replace(name, "")
    return ENGLISH.findall(reply) + ENGLISH_SHAPES.findall(reply)


def thermostat(**state: object) -> Device:
    return Device("t", "Thermostat", "thermostat", "x", "a", capabilities=(SETPOINT, TEMPERATURE), state=state)


def refused(capability: Capability, value: object) -> InvalidValue:
    """What the capability says about a value it cannot take."""
    try:
        capability.validate(value)
    except InvalidValue as exc:
        return exc
    raise AssertionError(f"{value!r} was taken")


@pytest.fixture
def imperial() -> Iterator[None]:
    """A home set to imperial units, for one test: the process-wide setting goes back to metric after it."""
    use_units("imperial")
    try:
        yield
    finally:
        use_units("metric")


@pytest.mark.parametrize(
    ("said", "reply"),
    [
        ("set the thermostat to 45", "Target temperature must be between 5 and 30°C, not 45."),
        ("pon el termostato a 45", "La temperatura objetivo de Thermostat tiene que estar entre 5 y 30 °C, no 45."),
        (
            "stell das Thermostat auf 45",
            "Die Zieltemperatur von Thermostat muss zwischen 5 und 30 °C liegen, nicht 45.",
        ),
        ("règle le thermostat à 45", "La température de consigne de Thermostat doit être entre 5 et 30 °C, pas 45."),
    ],
)
async def test_a_value_out_of_range_is_said_in_the_message_s_language(house: House, said: str, reply: str) -> None:
    before = house.sim.device("Thermostat").state.get("target_temp")
    got = await house.say(said)
    assert got == reply
    assert house.sim.device("Thermostat").state.get("target_temp") == before  # nothing was sent
    if not said.startswith("set"):
        assert no_english(got, "Thermostat") == [], got


def test_the_model_keeps_the_validation_s_english_and_the_reply_says_it_per_language() -> None:
    invalid = refused(SETPOINT, 45)
    assert str(invalid) == "Target temperature must be between 5 and 30°C, not 45"  # the tools' text, unchanged
    assert (invalid.problem, invalid.key, invalid.low, invalid.high, invalid.unit) == (
        "range",
        "target_temp",
        5,
        30,
        "°C",
    )
    failed = [Result(thermostat(target_temp=21), "failed", str(invalid), reason="invalid", invalid=invalid)]
    change = Change(values={"target_temp": 45})
    assert say_results(failed, change, "en") == "Target temperature must be between 5 and 30°C, not 45."
    for language in ("es", "de", "fr"):
        said = say_results(failed, change, language)
        assert "5" in said and "30 °C" in said and "45" in said and no_english(said, "Thermostat") == [], said
    alarm = Device("a", "Alarm Panel", "alarm", "x", "a", capabilities=(ALARM,), state={"mode": "home"})
    choice = refused(ALARM, "party")
    failed = [Result(alarm, "failed", str(choice), reason="invalid", invalid=choice)]
    assert say_results(failed, Change(values={"mode": "party"}), "es") == (
        "El modo de Alarm Panel tiene que ser desarmado, en casa, ausente o noche, no «party»."
    )
    assert say_results(failed, Change(values={"mode": "party"}), "en") == f"{choice}."


def test_an_imperial_home_hears_fahrenheit_while_the_model_reads_celsius(imperial: None) -> None:
    invalid = refused(SETPOINT, to_celsius(90, FAHRENHEIT))  # the grammar hands 90 °F over as 32 °C
    assert str(invalid) == "Target temperature must be between 5 and 30°C, not 32"
    failed = [Result(thermostat(), "failed", str(invalid), reason="invalid", invalid=invalid)]
    change = Change(values={"target_temp": 32})
    assert say_results(failed, change, "en") == "Target temperature must be between 41 and 86°F, not 90."
    assert say_results(failed, change, "es") == (
        "La temperatura objetivo de Thermostat tiene que estar entre 41 y 86 °F, no 90."
    )
    with said_in(CELSIUS):  # the model's tools: °C, as their schema says
        assert say_results(failed, change, "en") == "Target temperature must be between 5 and 30°C, not 32."
    done = [Result(thermostat(target_temp=21), "done", state={"target_temp": 21})]
    assert say_results(done, Change(values={"target_temp": 21}), "en") == "Set the Thermostat to 70°F."
    assert say_results(done, Change(values={"target_temp": 21}), "de") == "Thermostat auf 70 °F gestellt."
    reading = thermostat(current_temp=20.5, target_temp=21, mode="heat")
    assert say_thermostat(reading, "en") == "The Thermostat reads 69°F and heats to 70°F."
    assert say_thermostat(reading, "fr") == "Thermostat indique 69 °F et chauffe à 70 °F."


def test_a_metric_home_still_hears_celsius() -> None:
    done = [Result(thermostat(target_temp=21), "done", state={"target_temp": 21})]
    assert say_results(done, Change(values={"target_temp": 21}), "en") == "Set the Thermostat to 21°C."
    assert say_results(done, Change(values={"target_temp": 21.5}), "es") == "He puesto Thermostat a 21,5 °C."
    fan = thermostat(current_temp=20, target_temp=21, mode="fan_only")
    assert say_thermostat(fan, "en") == "The Thermostat reads 20°C and is in fan only mode at 21°C."
    assert say_thermostat(fan, "es") == "Thermostat marca 20 °C y está en modo solo ventilador a 21 °C."


def _refused(limits: CommandLimits, turn: Callable[[], Request]) -> Refusal:
    """The verdict on the turn after the one the limit allowed."""
    assert not limits.admit(turn())  # within the limit: falsy, nothing to say
    why = limits.admit(turn())
    assert why, "the second turn should be over the limit"
    return why


def test_the_command_limit_is_typed_and_said_in_every_language() -> None:
    sam = _refused(CommandLimits(agent=1), lambda: Request(principal=agent("Sam")))
    assert (sam.reason, sam.ceiling, sam.own) == ("limit", 1, False)
    assert (
        str(sam)
        == say_refusal(sam, "en")
        == (
            f"{sam.who} sent over 1 device commands in a minute, so I paused it: nothing was changed; "
            "it can try again in a minute."
        )
    )
    me = _refused(CommandLimits(owner=1), lambda: Request(principal=owner("Sam", "whatsapp"), via="fast-path"))
    assert me.own and say_refusal(me, "en") == (
        "That is over 1 commands in a minute, so I paused: nothing changed; try again in a moment."
    )
    nobody = CommandLimits().admit(Request(via="fast-path"))
    assert nobody.reason == "nobody" and str(nobody) == "This request does not say who asked, so nothing was done."
    for why in (sam, me, nobody):
        for language in ("es", "de", "fr"):
            said = say_refusal(why, language)
            assert said and no_english(said, why.who) == [], said
    assert "1" in say_refusal(me, "de") and sam.who in say_refusal(sam, "fr")


def test_a_limited_command_and_a_limited_routine_say_the_refusal_once_in_the_language() -> None:
    why = _refused(CommandLimits(agent=1), lambda: Request(principal=agent("Sam")))
    limited = [Result(lamp(n, True), "limited", str(why), refusal=why) for n in ("Desk Lamp", "Hallway Light")]
    said = say_results(limited, Change(power=False), "es")
    assert said == say_refusal(why, "es")  # said once for the whole turn
    assert say_results(limited, Change(power=False), "en") == str(why)
    routine = RoutineOutcome("sleepy time", stopped="limited", why=why)
    assert say_routine(routine, "fr") == say_refusal(why, "fr")
    assert say_routine(routine, "en") == str(why)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Automations are paused, so I did not run sleepy time."),
        ("es", "Las automatizaciones están en pausa, así que no he ejecutado sleepy time."),
        ("de", "Automationen sind pausiert, deshalb habe ich sleepy time nicht ausgeführt."),
        ("fr", "Les automatisations sont en pause, je n'ai donc pas lancé sleepy time."),
    ],
)
def test_the_kill_switch_refusal_is_said_in_the_language(language: str, said: str) -> None:
    assert say_routine(RoutineOutcome("sleepy time", stopped="paused"), language) == said


@pytest.mark.parametrize(
    ("reason", "detail", "spanish"),
    [
        ("timeout", "the Desk Lamp didn't answer within 2 s", "Desk Lamp no ha respondido en 2 s."),
        ("unreachable", "the Desk Lamp can't be reached (broker)", "Ahora mismo no puedo contactar con Desk Lamp."),
        ("device", "the Desk Lamp was refused by Home Assistant: 500", None),
    ],
)
def test_a_device_failure_keeps_the_driver_s_english_out_of_other_languages(
    reason: Reason, detail: str, spanish: str | None
) -> None:
    failed = [Result(lamp("Desk Lamp", False), "failed", detail, reason=reason, waited=2.0)]
    assert say_results(failed, Change(power=True), "en") == f"{detail[0].upper()}{detail[1:]}."  # English unchanged
    if spanish is not None:
        assert say_results(failed, Change(power=True), "es") == spanish
    for language in ("es", "de", "fr"):
        said = say_results(failed, Change(power=True), language)
        assert "Desk Lamp" in said and no_english(said, "Desk Lamp") == [] and "Home Assistant" not in said, said


@pytest_asyncio.fixture
async def house_with_jobs(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[House]:
    """The demo house in four languages, with the scheduler running (later commands become jobs)."""
    h = await _approved_house(
        tmp_path, make_config, parts=("home", "jobs"), assistant={"languages": ["en", "es", "de", "fr"]}
    )
    try:
        yield h
    finally:
        await h.app.stop()
        await h.sim.stop()


async def test_a_command_put_off_is_told_back_unchanged_in_english_and_per_language(house_with_jobs: House) -> None:
    house = house_with_jobs
    jobs = house.app.jobs
    assert jobs is not None
    reply = await house.say("turn off the porch light in 10 minutes")
    (job,) = [j for j in jobs.jobs.values() if j.source == "chat"]
    assert reply == say_scheduled(jobs.scheduled(job), "en")  # the daemon's English, byte for byte
    assert reply.startswith("I'll turn off the porch light. Once, ") and reply.endswith("(in 10 minutes).")
    assert jobs.confirm(job) == jobs.scheduled(job).english  # the tools' English, unchanged
    porch = house.device("Porch Light")
    plan = {"ids": [porch.id], "names": [porch.name], "change": {"power": False}}
    later = await jobs.create("in: 600s", "device: apaga la luz del porche", owner="Sam", plan=plan)
    spanish = say_scheduled(jobs.scheduled(later), "es")
    assert spanish.startswith("Lo haré: apaga la luz del porche. Una vez, ") and "(dentro de 10 minutos)" in spanish
    assert no_english(spanish) == [], spanish
    weekdays = await jobs.create("cron: 30 6 * * mon-fri", "routine: good morning", owner="Sam")
    for language, lead, every in (
        ("es", "Ejecutaré «good morning». ", "De lunes a viernes a las 06:30; la próxima: "),
        ("de", "Ich starte „good morning“. ", "Werktags um 06:30; nächstes Mal: "),
        ("fr", "Je lancerai « good morning ». ", "Du lundi au vendredi à 06:30 ; prochaine fois : "),
    ):
        said = say_scheduled(jobs.scheduled(weekdays), language)
        assert said.startswith(lead + every), said
        assert no_english(said, "good morning") == [], said
    assert say_scheduled(jobs.scheduled(weekdays), "en") == f"I'll run good morning. {jobs.confirm(weekdays)}."


@pytest.mark.parametrize(
    ("said", "lead"),
    [
        ("ejecuta buenos días a las 7", "Ejecutaré «good morning». Una vez, "),
        ("run good morning at 7am", "I'll run good morning. Once, "),
    ],
)
async def test_a_routine_put_off_is_told_back_in_the_message_s_language(
    house_with_jobs: House, said: str, lead: str
) -> None:
    reply = await house_with_jobs.say(said)
    assert reply.startswith(lead), reply
    if not lead.startswith("I'll"):
        assert no_english(reply, "good morning") == [], reply
    jobs = house_with_jobs.app.jobs
    assert jobs is not None and [j.action.stored for j in jobs.jobs.values() if j.source == "chat"] == [
        "routine: good morning"
    ]


def test_a_speaker_without_that_favourite_offers_what_it_has_in_the_language() -> None:
    kitchen = Device("k", "Kitchen", "speaker", "sonos", "a", capabilities=(POWER,), state={"playback": "stopped"})
    missing = NothingSaved("Kitchen speaker", "jazz", ["Radio 3", "Morning Mix"])
    assert str(missing) == "the Kitchen speaker has nothing saved like 'jazz' (it has: Radio 3, Morning Mix)"
    failed = [Result(kitchen, "failed", str(missing), reason="nothing_saved", saved=missing)]
    change = Change(action="play_favorite", params={"query": "jazz"})
    assert say_results(failed, change, "en") == (
        "The Kitchen speaker has nothing saved like 'jazz' (it has: Radio 3, Morning Mix)."
    )
    assert say_results(failed, change, "es") == (
        "Kitchen no tiene nada guardado como «jazz» (tiene: Radio 3, Morning Mix)."
    )
    for language in ("de", "fr"):
        said = say_results(failed, change, language)
        assert "jazz" in said and "Morning Mix" in said, said
        assert no_english(said, "Kitchen", "Radio 3", "Morning Mix") == [], said
    empty = NothingSaved("Kitchen speaker", "jazz", [])
    said = say_results([Result(kitchen, "failed", str(empty), reason="nothing_saved", saved=empty)], change, "fr")
    assert said == "Kitchen n'a rien d'enregistré qui ressemble à « jazz » (sa liste est vide)."


@pytest.mark.parametrize(
    ("said", "lead"),
    [
        ("play taylor swift in the kitchen", "The Kitchen speaker has nothing saved like 'taylor swift' (it has: "),
        ("pon Taylor Swift en la cocina", "Kitchen no tiene nada guardado como «taylor swift» (tiene: "),
        (
            "spiele Taylor Swift in der Küche",
            "Kitchen hat nichts gespeichert, das wie „taylor swift“ heißt (vorhanden: ",
        ),
    ],
)
async def test_a_favourite_the_speaker_lacks_is_answered_in_the_language(house: House, said: str, lead: str) -> None:
    reply = await house.say(said)
    assert reply.startswith(lead) and "Jazz Classics" in reply, reply  # what it has, offered instead
    if not said.startswith("play"):
        assert no_english(reply, "Kitchen", "Jazz Classics", "Morning News", "Chill Mix", "Rain Sounds") == [], reply


def test_a_leak_sensor_is_wet_or_dry_in_every_language() -> None:
    moisture = Capability("moisture", "sensor", "moisture")
    wet = Device("w", "Basement Leak", "sensor", "x", "a", capabilities=(moisture,), state={"moisture": True})
    dry = Device("d", "Kitchen Leak", "sensor", "x", "a", capabilities=(moisture,), state={"moisture": False})
    asked = {"state": "wet", "query": "one_yesno"}  # the grammar's word for "is the basement leak sensor wet?"
    assert answer_question([wet], "get_state", asked, "en") == "Yes, the Basement Leak is wet."
    assert answer_question([dry], "get_state", asked, "es") == "No, Kitchen Leak está seco."
    assert answer_question([wet], "get_state", asked, "de") == "Ja, Basement Leak ist nass."
    assert answer_question([dry], "get_state", asked, "fr") == "Non, Kitchen Leak est au sec."
