"""One safety core: codes bound to their action, conversation and an owner; one kill switch; an audit of who."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from claw.core.principals import agent, owner, system
from claw.core.request import Request, unattended
from claw.core.safety import ALPHABET, Ask, Guard, KillSwitch
from claw.core.store import Store
from claw.core.store.audit import recent
from tests.home_fixtures import House

SAM = Request(
    principal=owner("Sam", "whatsapp"), conversation="owner:+15551230001", channel="whatsapp", sender="+15551230001"
)
ALEX = Request(
    principal=owner("Alex", "whatsapp"), conversation="owner:+15551230002", channel="whatsapp", sender="+15551230002"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """The core layer alone: a store, nothing else running."""
    db = Store(tmp_path / "claw.db")
    await db.open()
    yield db
    await db.close()


async def test_a_code_runs_exactly_the_held_closure_once(store: Store) -> None:
    guard = Guard(store)
    ran: list[str] = []

    async def unlock() -> str:
        ran.append("unlock")
        return "Unlocked the Front Door."

    pending = await guard.hold(Ask("unlock", ("Front Door",)), unlock, SAM)
    assert SAM.receipt.held[-1] is pending  # the reply will carry the code, said in the message's language
    assert pending.prompt == "Reply OK " + pending.code + " to unlock the Front Door (valid 2 minutes)."
    assert await guard.confirm(pending.code, SAM) == "Unlocked the Front Door."
    assert "doesn't match" in await guard.confirm(pending.code, SAM)  # once only
    assert ran == ["unlock"]


async def test_a_bare_code_counts_only_where_it_is_pending(store: Store) -> None:
    guard = Guard(store)

    async def noop() -> str:
        return "done"

    pending = await guard.hold("open the Garage Door", noop, SAM)
    assert guard.code_in(pending.code, SAM) == pending.code
    assert guard.code_in(pending.code.lower() + "!", SAM) == pending.code
    assert guard.code_in(pending.code, ALEX) is None  # someone else's conversation: just a word
    assert guard.code_in(f"OK {pending.code}", ALEX) == pending.code  # "OK <code>" is always an attempt
    for word in ("away", "next", "mute", "warm"):  # four letters of the code alphabet, and a routine or a command
        assert set(word.upper()) <= set(ALPHABET)
        if word.upper() != pending.code:
            assert guard.code_in(word, SAM) is None


async def test_a_code_is_bound_to_the_conversation_and_an_owner(store: Store) -> None:
    guard = Guard(store)
    ran: list[str] = []

    async def unlock() -> str:
        ran.append("unlock")
        return "Unlocked."

    pending = await guard.hold("unlock the Front Door", unlock, SAM)
    assert "doesn't match" in await guard.confirm(pending.code, ALEX)  # another owner echoing Sam's code
    forwarded = Request(
        principal=SAM.principal, conversation=SAM.conversation, channel="whatsapp", sender=SAM.sender, own_words=False
    )
    assert "doesn't match" in await guard.confirm(pending.code, forwarded)  # text Sam did not write
    assert ran == []
    assert await guard.confirm(pending.code, SAM) == "Unlocked."
    rows = await store.run(recent, 10)
    confirmed = next(r for r in rows if r["outcome"] == "confirmed")
    assert confirmed["actor"] == "Sam" and "requested by Sam" in confirmed["detail"]
    assert "confirmed by Sam" in confirmed["detail"]
    denied = [r for r in rows if r["outcome"] == "denied"]
    assert {r["actor"] for r in denied} == {"Alex", "Sam"} and len(denied) == 2


async def test_a_code_from_a_schedule_goes_to_the_owners_and_any_owner_may_confirm(store: Store) -> None:
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    guard = Guard(store, notify=notify)

    async def disarm() -> str:
        return "Disarmed."

    pending = await guard.hold("disarm the Alarm Panel", disarm, unattended(system("scheduler"), "schedule"))
    assert told and pending.code in told[0] and "scheduler asks to disarm the Alarm Panel" in told[0]
    assert guard.code_in(pending.code, ALEX) == pending.code
    assert await guard.confirm(pending.code, ALEX) == "Disarmed."
    rows = await store.run(recent, 10)
    confirmed = next(r for r in rows if r["outcome"] == "confirmed")
    assert "requested by scheduler via schedule; confirmed by Alex" in confirmed["detail"]


async def test_the_kill_switch_is_one_flag_that_stops_unattended_runs_only(store: Store) -> None:
    switch = KillSwitch(store)
    assert not await switch.paused()
    await switch.set(True, SAM, "paused from a test")
    assert await switch.paused()
    assert await switch.refuse(unattended(system("scheduler"), "schedule"), "routine away")
    assert not await switch.refuse(SAM, "routine away")  # an owner asking in person is not an automation
    rows = await store.run(recent, 10)
    assert [r["outcome"] for r in rows if r["action"] == "routine away"] == ["denied"]
    await switch.set(False, SAM)
    assert not await switch.refuse(unattended(system("scheduler"), "schedule"), "routine away")


async def test_away_is_a_routine_even_while_a_code_waits(house: House) -> None:
    held = await house.say("unlock the front door")
    assert "Reply OK" in held
    reply = await house.say("away")  # four letters of the code alphabet: once swallowed as a wrong code
    assert "doesn't match" not in reply
    assert reply.lower().startswith("away:")
    assert house.device("Front Door").state["locked"] is True


async def test_a_held_action_cannot_be_released_by_asking_again(house: House) -> None:
    first = await house.say("unlock the front door")
    second = await house.say("unlock the front door")
    assert "Reply OK" in first and "Reply OK" in second
    assert house.device("Front Door").state["locked"] is True
    code = second.split("Reply OK ")[1][:4]
    assert "Unlocked" in await house.say(f"OK {code}")
    assert house.device("Front Door").state["locked"] is False


async def test_wrong_codes_lock_the_conversation_out_and_tell_the_owners(store: Store) -> None:
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    guard = Guard(store, notify=notify)

    async def unlock() -> str:
        return "Unlocked."

    pending = await guard.hold("unlock the Front Door", unlock, SAM)
    guesses = [c for c in ("AAAA", "CCCC", "DDDD", "EEEE", "FFFF", "HHHH") if c != pending.code]
    replies = [await guard.confirm(code, ALEX) for code in guesses[:5]]
    assert "won't take codes here" in replies[-1] and len(told) == 1 and "Alex" in told[0]
    assert "won't take codes" in await guard.confirm(pending.code, ALEX)  # even the right one, for a while
    assert await guard.confirm(pending.code, SAM) == "Unlocked."  # Sam's conversation is not locked out
    rows = await store.run(recent, 20)
    assert any(r["outcome"] == "locked out" for r in rows)


async def test_a_held_action_is_a_typed_record_said_in_the_language_it_was_asked_in(store: Store) -> None:
    """The receipt carries the Pending (code, verb, names, minutes), never prose; its outcome is rendered by `speak`."""
    spoken: list[tuple[object, str]] = []

    def speak(outcome: object, language: str) -> str:
        spoken.append((outcome, language))
        return f"{language}: {outcome}"

    guard = Guard(store, speak=speak)
    turn = Request(principal=SAM.principal, conversation=SAM.conversation, channel="whatsapp", sender=SAM.sender)
    turn.receipt.language = "es"

    async def unlock() -> object:
        return ("unlocked", "Front Door")  # a typed outcome: the Guard never words it itself

    pending = await guard.hold(Ask("unlock", ("Front Door",)), unlock, turn)
    assert turn.receipt.held == [pending]
    assert (pending.ask.verb, pending.ask.names, pending.minutes) == ("unlock", ("Front Door",), 2)
    assert pending.with_code and pending.language == "es" and pending.requested_by == "Sam"
    assert await guard.confirm(pending.code, turn) == "es: ('unlocked', 'Front Door')"
    assert spoken == [(("unlocked", "Front Door"), "es")]
    bot = Request(principal=agent("camera-bot", "MCP"), conversation="mcp:camera-bot", via="mcp")
    withheld = await guard.hold(Ask("open", ("Garage Door",)), unlock, bot)
    assert not withheld.with_code and withheld.code not in withheld.shown and "Waiting for an owner" in withheld.shown
