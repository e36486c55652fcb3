"""Why did that happen: the household's timeline answers "why", "who" and "while I was away" without a model."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from claw.assistant.why import ChangeRecorder, Timeline
from claw.core.store import Store
from claw.core.store import timeline as timeline_db
from claw.core.store.audit import AuditEntry, write, write_many
from tests.dashboard_home import house
from tests.home_fixtures import House


async def settle(h: House) -> None:
    """Let the timeline note the device changes now (it waits a moment for the audit row in production)."""
    await h.home.refresh(h.device("Porch Light"))
    await h.home.refresh(h.device("Front Door"))
    await h.app.changes.settle()


@pytest_asyncio.fixture
async def quick(tmp_path: Path) -> AsyncIterator[House]:
    """The demo house (sensitive devices approved) in four languages, no model, changes noted at once."""
    async with house(tmp_path, assistant={"languages": ["en", "es", "de", "fr"]}) as (app, sim):
        assert app.home is not None
        app.changes.settle_seconds = 0.01
        yield House(app, sim, app.home)


async def test_why_names_the_owner_the_channel_and_the_words(quick: House) -> None:
    h = quick
    await h.say("turn on the porch light")
    await settle(h)
    reply = await h.say("why did the porch light turn on?")
    who = h.app.local.actor
    assert reply.startswith("Porch Light: turned on at ") and f'{who} on chat ("turn on the porch light")' in reply
    assert not h.app.model.online  # no model was asked: there is none


async def test_a_change_by_hand_is_said_to_be_by_hand(quick: House) -> None:
    h = quick
    await h.home.refresh(h.device("Porch Light"))  # the recorder's first reading
    h.sim.device("Porch Light").set_state(on=True)  # someone at the switch
    await h.home.refresh(h.device("Porch Light"))
    await h.app.changes.settle()
    reply = await h.say("why is the porch light on?")
    assert "by hand or by the device itself" in reply and "nobody asked me" in reply


async def test_who_unlocked_the_door_today_after_a_code(quick: House) -> None:
    h = quick
    held = await h.say("unlock the front door")
    code = re.search(r"OK ([A-Z0-9]{4})", held)
    assert code is not None
    assert "Unlocked" in await h.say(f"OK {code.group(1)}")
    await settle(h)
    reply = await h.say("who unlocked the door today?")
    assert reply.startswith("Today, Front Door: unlocked at ") and h.app.local.actor in reply
    # in the other languages, the same answer in their words
    assert (await h.say("¿quién abrió la puerta hoy?")).startswith("Hoy, Front Door: abierto (cerradura) a las ")
    assert (await h.say("Wer hat heute die Tür aufgeschlossen?")).startswith("Heute, Front Door: entriegelt um ")
    assert (await h.say("Qui a déverrouillé la porte aujourd'hui ?")).startswith(
        "Aujourd'hui, Front Door : déverrouillé à "
    )


async def test_why_in_every_language(quick: House) -> None:
    h = quick
    await h.say("turn on the porch light")
    await settle(h)
    said = {
        "¿por qué se encendió la Porch Light?": "Causa: ",
        "Warum ist das Porch Light angegangen?": "Ursache: ",
        "Pourquoi la Porch Light s'est allumée ?": "Cause : ",
        "why did the porch light turn on?": "Cause: ",
    }
    for question, cause in said.items():
        reply = await h.say(question)
        assert reply.startswith("Porch Light") and cause in reply, (question, reply)


async def test_what_did_you_do_while_i_was_away(quick: House) -> None:
    h = quick
    await h.say("turn off the porch light")
    store = h.app.store
    now = time.time()
    await store.run(write, AuditEntry("the job 'dusk'", "schedule", "turn on", "Porch Light", ts=now))
    await store.run(write, AuditEntry("Claude Desktop (MCP)", "mcp", "turn off", "Kitchen Island", ts=now))
    reply = await h.say("what did you do while I was away?")
    assert reply.startswith("Since ") and "the job 'dusk'" in reply and "the agent Claude Desktop (MCP)" in reply
    assert "turn off the porch light" not in reply  # the owner's own commands are not news to them
    # since that question nothing happened, and the answer says so (here in Spanish)
    assert (await h.say("¿qué hiciste mientras estaba fuera?")).startswith("No pasó nada desde las ")


async def test_nothing_recorded_is_said_plainly(quick: House) -> None:
    reply = await quick.say("why did the porch light turn on?")
    assert reply == "I have no record of the Porch Light changing in the last 7 days."


async def test_a_routine_is_named_as_the_cause(tmp_path: Path) -> None:
    store = Store(tmp_path / "claw.db")
    await store.open()
    try:
        now = time.time()
        await store.run(
            write_many,
            [
                AuditEntry("Sam", "fast-path", "turn off", "Porch Light", ts=now, message=0),
                AuditEntry("Sam", "fast-path", "routine sleepy time", "", ts=now + 0.5),
            ],
        )
        timeline = Timeline(store)
        assert (await timeline.why(["Porch Light"], "en")).endswith(
            "Cause: the routine 'sleepy time', started by Sam on chat."
        )
        assert "la rutina 'sleepy time', iniciada por Sam" in await timeline.why(["porch light"], "es")
        assert "die Routine 'sleepy time', gestartet von Sam" in await timeline.why(["Porch Light"], "de")
        assert "la routine 'sleepy time', lancée par Sam" in await timeline.why(["Porch Light"], "fr")
    finally:
        await store.close()


async def test_a_device_change_after_claws_command_is_linked_to_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "claw.db")
    await store.open()
    try:
        now = time.time()
        await store.run(write, AuditEntry("Sam", "fast-path", "turn on", "Porch Light", ts=now))
        assert await store.run(timeline_db.record_change, "p1", "Porch Light", "on", now + 0.2) > 0
        assert await store.run(timeline_db.record_change, "p1", "Porch Light", "off", now + 60) == 0
        found = await store.run(timeline_db.entries, now - 1, now + 100)
        assert [(e.kind, e.what) for e in found] == [("device", "off"), ("action", "turn on")]
    finally:
        await store.close()


async def test_the_recorder_ignores_readings_that_change_nothing_worth_asking(tmp_path: Path) -> None:
    from claw.home.device import Device

    store = Store(tmp_path / "claw.db")
    await store.open()
    recorder = ChangeRecorder(store, settle_seconds=0.0)
    try:
        lamp = Device(
            id="l1", name="Lamp", kind="light", driver="x", address="127.0.0.1", state={"on": False, "brightness": 10}
        )
        recorder.on_device("state", lamp)
        lamp.state = {"on": False, "brightness": 40}
        recorder.on_device("state", lamp)
        lamp.state = {"on": True, "brightness": 40}
        recorder.on_device("state", lamp)
        await recorder.settle()
        found = await store.run(timeline_db.entries, 0, time.time() + 1)
        assert [(e.target, e.what, e.via) for e in found] == [("Lamp", "on", "hand")]
    finally:
        await recorder.stop()
        await store.close()
