"""WhatsApp out: the outbox survives failures, outages and restarts; every message once, in order per owner."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from claw.core.bus import Media, Outbound
from claw.core.config import Config
from claw.core.store import Store
from claw.core.store import outbox as rows_db
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio
from tests.whatsapp_support import ALEX, JPEG, SAM, TEMPLATE, Daemon, eventually, start_daemon

pytest_plugins = ["tests.whatsapp_fixtures"]


def picture(d: Daemon, name: str = "snap.jpg") -> Path:
    path = d.app.state / name
    path.write_bytes(JPEG)
    return path


async def open_window(d: Daemon, number: str = SAM) -> None:
    """As if the owner had written a moment ago (to us and, so, to Twilio)."""
    d.fake.record_inbound(f"whatsapp:{number}")
    await d.app.store.run(rows_db.opened, "whatsapp", number, time.time())


async def statuses(d: Daemon) -> list[str]:
    """Row statuses as a stopped daemon left them on disk."""
    store = Store(d.app.store.path)
    await store.open()
    try:
        return [r.status for r in reversed(await store.run(rows_db.recent))]
    finally:
        await store.close()


async def tell(d: Daemon, text: str, number: str | None = SAM, **kwargs: object) -> None:
    await d.app.bus.send(Outbound(channel="whatsapp", recipient=number, text=text, **kwargs))  # type: ignore[arg-type]


async def test_inside_the_window_text_and_picture_go_out_and_the_picture_is_served(daemon: Daemon) -> None:
    await open_window(daemon)
    await daemon.app.notify("FedEx truck just pulled up", kind="alert", media=(Media(str(picture(daemon))),))
    await eventually(lambda: daemon.fake.delivered(f"whatsapp:{SAM}"), what="the alert")
    await daemon.fake.settle()
    alert = daemon.fake.messages[0]
    assert alert["body"] == "FedEx truck just pulled up"
    assert alert["media_url"][0].startswith(f"{daemon.base}/media/")
    assert alert["media_fetched"] == [(200, "image/jpeg", len(JPEG))]
    assert alert["status"] == "delivered"
    # Alex never wrote: his copy waits behind a template.
    alex = daemon.fake.delivered(f"whatsapp:{ALEX}")
    assert [(m["content_sid"], json.loads(m["content_variables"])) for m in alex] == [
        (TEMPLATE, {"1": "FedEx truck just pulled up"})
    ]


async def test_outside_the_window_a_template_then_the_held_message_before_the_reply(
    daemon: Daemon, ollama: ScriptedOllama
) -> None:
    daemon.fake.templates[TEMPLATE] = "Claw: {{1}}. Reply to see more."
    ollama.on("show me", Reply.text("Here you go."))
    await daemon.app.notify(
        "A FedEx truck pulled up and the driver left a parcel by the door.",
        kind="alert",
        title="FedEx truck just pulled up",
        media=(Media(str(picture(daemon))),),
    )
    await daemon.app.notify("Second thing: the garage is open.", kind="notice")
    await eventually(lambda: len(daemon.bodies(SAM)) == 2, what="two templates")
    assert daemon.bodies(SAM) == [
        "Claw: FedEx truck just pulled up. Reply to see more.",
        "Claw: Second thing: the garage is open.. Reply to see more.",
    ]
    assert all(m["content_sid"] == TEMPLATE and not m["media_url"] for m in daemon.fake.messages)
    assert {r.status for r in await daemon.rows() if r.kind != "template" and r.recipient == SAM} == {"held"}

    await daemon.say("show me")
    await eventually(lambda: len(daemon.bodies(SAM)) == 5, what="the held messages and the reply")
    await daemon.fake.settle()
    bodies = daemon.bodies(SAM)
    assert bodies[2:] == [
        "A FedEx truck pulled up and the driver left a parcel by the door.",
        "Second thing: the garage is open.",
        "Here you go.",
    ]
    held = daemon.fake.delivered(f"whatsapp:{SAM}")[2]
    assert held["media_fetched"] == [(200, "image/jpeg", len(JPEG))]
    await asyncio.sleep(0.2)
    assert len(daemon.bodies(SAM)) == 5  # nothing twice


async def test_without_a_template_messages_wait_for_the_owner(
    wa_config: Callable[..., Config], fake: FakeTwilio
) -> None:
    d = await start_daemon(wa_config(template_sid=""), fake)
    try:
        await tell(d, "The back door was left open.")
        await asyncio.sleep(0.3)
        assert fake.messages == []
        await d.say("anything new?")
        await eventually(lambda: len(d.bodies(SAM)) == 2, what="the held message and the reply")
        assert d.bodies(SAM) == ["The back door was left open.", "ok: anything new?"]
    finally:
        await d.app.stop()


async def test_window_refusal_reported_late_turns_into_a_template(daemon: Daemon) -> None:
    """We think the window is open, Twilio knows better and says so in the status callback."""
    daemon.fake.window_failure = "callback"
    await daemon.app.store.run(rows_db.opened, "whatsapp", SAM, time.time())
    await tell(daemon, "The washing machine is done.")
    await eventually(lambda: any(m["content_sid"] for m in daemon.fake.messages), what="the template")
    await daemon.fake.settle()
    rows = [r for r in await daemon.rows() if r.recipient == SAM]
    assert [(r.kind, r.status) for r in rows] == [("reply", "held"), ("template", "delivered")]
    await daemon.say("what is it?")
    await eventually(lambda: "The washing machine is done." in daemon.bodies(SAM), what="the held text")


async def test_failures_then_recovery_deliver_everything_once_in_order(daemon: Daemon) -> None:
    for number in (SAM, ALEX):
        await open_window(daemon, number)
    fake = daemon.fake
    fake.fail_next(2, status=429, code=20429)  # rate limited: nothing sent
    fake.fail_next(1, status=500, code=20500, after_accept=True)  # accepted, but we are told it failed
    fake.fail_next(1, hang=5)  # no answer: outcome unknown (send_timeout is 1 s)
    fake.fail_next(1, hang=5, after_accept=True)  # accepted, then no answer
    fake.fail_next(1, status=503, code=20503)  # refused
    for i in range(6):
        await tell(daemon, f"sam {i}", SAM)
        await tell(daemon, f"alex {i}", ALEX)
    expected = {SAM: [f"sam {i}" for i in range(6)], ALEX: [f"alex {i}" for i in range(6)]}
    await eventually(lambda: all(daemon.bodies(n) == expected[n] for n in (SAM, ALEX)), timeout=15, what="all messages")
    await asyncio.sleep(0.3)
    assert {n: daemon.bodies(n) for n in (SAM, ALEX)} == expected
    rows = await daemon.rows()
    assert len({r.provider_id for r in rows}) == 12
    assert max(r.attempts for r in rows) >= 2


async def test_outage_then_recovery(daemon: Daemon) -> None:
    await open_window(daemon)
    daemon.fake.fail_for(1.0)
    for i in range(20):
        await tell(daemon, f"during the outage {i}")
    await asyncio.sleep(0.5)
    assert daemon.bodies(SAM) == []
    await eventually(lambda: len(daemon.bodies(SAM)) == 20, timeout=10, what="the backlog")
    assert daemon.bodies(SAM) == [f"during the outage {i}" for i in range(20)]


async def test_crash_between_persisting_and_sending(wa_config: Callable[..., Config], fake: FakeTwilio) -> None:
    config = wa_config(send_timeout=8.0)
    fake.record_inbound(f"whatsapp:{SAM}")
    # 1: Twilio took the message but the daemon died before hearing so -> found, not resent.
    # 2: the daemon died before the request got anywhere -> sent after the restart.
    # 3: persisted, never tried.
    fake.fail_next(1, hang=30, after_accept=True)
    fake.send_status_callbacks = False  # or a receipt would settle the first one before the crash
    d = await start_daemon(config, fake)
    await d.app.store.run(rows_db.opened, "whatsapp", SAM, time.time())
    await tell(d, "one")
    await eventually(lambda: len(fake.messages) == 1, what="the first send to reach the fake")
    await tell(d, "two")
    await tell(d, "three")
    await d.app.stop()
    first, *rest = await statuses(d)
    assert first in ("sending", "unknown") and rest == ["queued", "queued"]  # either way: look before resending
    d = await start_daemon(config, fake)
    try:
        await eventually(lambda: d.bodies(SAM) == ["one", "two", "three"], timeout=8, what="all three once")
        await asyncio.sleep(0.3)
        assert d.bodies(SAM) == ["one", "two", "three"]
        rows = await d.rows()
        assert [r.status in ("sent", "delivered") for r in rows] == [True, True, True]
        assert [m["body"] for m in fake.messages] == ["one", "two", "three"]  # "one" found, never sent again
        assert [m for m, _ in fake.requests].count("POST") == 3
    finally:
        await d.app.stop()


async def test_crash_while_the_request_hangs_unanswered(wa_config: Callable[..., Config], fake: FakeTwilio) -> None:
    config = wa_config(send_timeout=8.0)
    fake.record_inbound(f"whatsapp:{SAM}")
    fake.fail_next(1, hang=30)  # never accepted
    d = await start_daemon(config, fake)
    await d.app.store.run(rows_db.opened, "whatsapp", SAM, time.time())
    await tell(d, "only once")
    await eventually(lambda: "POST" in [m for m, _ in fake.requests], what="the hanging request")
    await d.app.stop()
    assert await statuses(d) in (["sending"], ["unknown"])  # the stop's grace ran out: look before resending
    assert fake.messages == []
    d = await start_daemon(config, fake)
    try:
        await eventually(lambda: d.bodies(SAM) == ["only once"], timeout=8, what="the resend")
        await asyncio.sleep(0.3)
        assert d.bodies(SAM) == ["only once"]
        assert [m for m, _ in fake.requests].count("GET") >= 1  # it looked before resending
    finally:
        await d.app.stop()


async def test_long_reply_is_split_cleanly(daemon: Daemon, ollama: ScriptedOllama) -> None:
    daemon.app.brain.model.config = replace(daemon.app.brain.model.config, reply_tokens=8000)  # allowed this long
    paragraphs = [" ".join(f"Paragraph {p} sentence {s} is here." for s in range(30)) for p in range(4)]
    long = "\n\n".join(paragraphs)
    assert len(long) > 3200
    ollama.on("tell me everything", Reply.text(long))
    await daemon.say("tell me everything")
    await eventually(lambda: len(daemon.bodies(SAM)) >= 3, what="the parts")
    await asyncio.sleep(0.2)
    parts = daemon.bodies(SAM)
    n = len(parts)
    assert all(len(p) <= 1600 for p in parts)
    assert [p.rsplit(" ", 1)[1] for p in parts] == [f"({i}/{n})" for i in range(1, n + 1)]
    joined = " ".join(p.rsplit(" ", 1)[0] for p in parts)
    assert joined.split() == long.split()
    assert all(p.rsplit(" ", 1)[0].endswith(".") for p in parts)  # cut between sentences


async def test_slow_turns_get_a_quick_notice_first(daemon: Daemon, ollama: ScriptedOllama) -> None:
    daemon.app.router.ack_after = 0.2
    ollama.on("think hard", Reply.text("Thought about it.", delay=0.8))
    await daemon.say("think hard")
    await eventually(lambda: len(daemon.bodies(SAM)) == 2, what="the notice and the reply")
    assert daemon.bodies(SAM) == ["On it…", "Thought about it."]


async def test_without_a_public_url_pictures_become_a_note(wa_config: Callable[..., Config], fake: FakeTwilio) -> None:
    d = await start_daemon(wa_config(public_url=False), fake)
    try:
        await open_window(d)
        await tell(d, "Someone at the door.", media=(Media(str(picture(d))),))
        await eventually(lambda: d.bodies(SAM), what="the text")
        assert d.bodies(SAM) == ["Someone at the door.\n\n(pictures need [whatsapp] public_url)"]
        assert fake.messages[0]["media_url"] == []
        assert fake.messages[0]["status_callback"] is None
    finally:
        await d.app.stop()


async def test_permanent_failures_are_dead_lettered_and_visible(daemon: Daemon) -> None:
    await open_window(daemon)
    daemon.fake.fail_next(1, status=400, code=21610)  # the owner replied STOP
    await tell(daemon, "first")
    await tell(daemon, "second")
    await eventually(lambda: daemon.bodies(SAM) == ["second"], what="the second message")
    await daemon.fake.settle()  # the second's delivery receipt is in before deliveries start failing
    daemon.fake.fail_delivery(f"whatsapp:{SAM}", code=63024)
    await tell(daemon, "third")

    await eventually(lambda: dead_count(daemon, 2), timeout=8, what="two dead letters")
    await daemon.fake.settle()
    snap = await daemon.app.snapshot("outbox")  # what the dashboard reads
    assert [r["body"] for r in reversed(snap["dead"])] == ["first", "third"]
    assert "21610" in snap["dead"][1]["error"] and "63024" in snap["dead"][0]["error"]
    assert [m["body"] for m in daemon.fake.messages].count("third") == 3  # resent twice, then given up
    notices = [n.text for n in daemon.app.local.notifications]
    assert any("could not be delivered" in t and "first" in t for t in notices)
    assert "2 undeliverable" in await daemon.part.status_line()


async def dead_count(d: Daemon, n: int) -> bool:
    return bool((await d.part.snapshot())["counts"].get("dead", 0) == n)


async def test_gives_up_after_trying_long_enough_but_held_rows_wait_for_the_owner(
    wa_config: Callable[..., Config], fake: FakeTwilio
) -> None:
    d = await start_daemon(wa_config(give_up_hours=1.0 / 3600, template_sid=""), fake)  # one second
    try:
        await tell(d, "held while Sam is away", ALEX)  # Alex never wrote: held, not failing
        await open_window(d)
        fake.fail_for(30)
        await tell(d, "lost in the outage")
        await eventually(lambda: dead_count(d, 1), timeout=5, what="the give-up")
        rows = {r.body: r for r in await d.rows()}
        assert "not sent after" in rows["lost in the outage"].error
        await asyncio.sleep(0.5)
        fake.fail_for(0)
        await d.say("back", ALEX)
        await eventually(lambda: d.bodies(ALEX) == ["held while Sam is away", "ok: back"], what="the held row")
    finally:
        await d.app.stop()
