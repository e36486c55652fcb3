"""Every acknowledged message is answered exactly once, across stops and restarts (issue 13, hole 1)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlite_utils

from claw.core.bus import Media
from claw.core.config import AlertsConfig, CameraConfig, Config
from claw.core.media import MediaTokens
from claw.core.store import Store
from claw.core.store import audit as audit_db
from claw.core.store import events as history
from claw.core.store import jobs as jobs_db
from claw.core.store import messages as log_db
from claw.core.store import outbox as rows_db
from claw.core.store.audit import AuditEntry
from claw.core.store.driver import sqlite_driver
from claw.core.store.jobs import JobState, Run
from claw.core.store.messages import Answering, Message
from claw.core.store.outbox import Arriving, Draft
from claw.core.store.schema import MIGRATIONS
from claw.eyes.alerts import Rules
from claw.eyes.description import Description
from claw.eyes.recorder import Recorder
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio
from tests.whatsapp_support import SAM, eventually, start_daemon

pytest_plugins = ["tests.whatsapp_fixtures"]

CONVERSATION = f"owner:{SAM}"


async def _persisted(store: Store, text: str, sid: str) -> int:
    """An inbound message as the webhook leaves it: stored, acknowledged, not yet answered."""
    [(message_id, _)] = await store.run(
        rows_db.arrived,
        [
            Arriving(
                "whatsapp", CONVERSATION, Message("user", text, channel="whatsapp", sender="Sam"), sid, SAM, time.time()
            )
        ],
    )
    assert message_id is not None
    return message_id


async def _store(config: Config) -> Store:
    store = Store(config.state_path / "claw.db")
    await store.open()
    return store


async def test_a_turn_interrupted_by_a_stop_is_answered_once_after_the_restart(
    wa_config: Callable[..., Config], fake: FakeTwilio, ollama: ScriptedOllama
) -> None:
    config = wa_config()
    ollama.on("what's the weather", Reply.text("Sunny.", delay=30))  # the turn is in flight when we stop
    d = await start_daemon(config, fake)
    await d.say("what's the weather")
    await eventually(lambda: ollama.requests, what="the turn to reach the model")
    await d.app.stop()
    assert d.bodies(SAM) == []

    ollama.clear_rules()
    ollama.on("what's the weather", Reply.text("Sunny."))
    d = await start_daemon(config, fake)
    try:
        await eventually(lambda: d.bodies(SAM) == ["Sunny."], what="the answer after the restart")
        await d.app.stop()
        d = await start_daemon(config, fake)  # a second restart answers nothing again
        await asyncio.sleep(0.3)
        assert d.bodies(SAM) == ["Sunny."]
        history = [m.content for m in await d.app.store.run(log_db.live, CONVERSATION)]
        assert history == ["what's the weather", "Sunny."]  # asked once, answered once
    finally:
        await d.app.stop()


async def test_an_action_already_done_is_not_done_again_and_the_reply_says_so(
    wa_config: Callable[..., Config], fake: FakeTwilio, ollama: ScriptedOllama
) -> None:
    config = wa_config()
    fake.record_inbound(f"whatsapp:{SAM}")  # the owner wrote just now: Twilio's window is open
    store = await _store(config)
    message_id = await _persisted(store, "unlock the front door", "SM" + "1" * 32)
    assert await store.run(log_db.take, message_id) == 1  # its turn had started when the process died
    await store.run(
        audit_db.write, AuditEntry("Sam", "llm", "unlock", "Front Door", "confirmed", "", message=message_id)
    )
    await store.close()

    d = await start_daemon(config, fake)
    try:
        [reply] = await eventually(lambda: d.bodies(SAM), what="the resumed answer")
        assert "restarted" in reply and "unlock Front Door (confirmed)" in reply
        assert ollama.requests == []  # nothing was asked, so nothing could act again
    finally:
        await d.app.stop()


async def test_a_message_that_keeps_crashing_us_is_given_up_with_a_reply(
    wa_config: Callable[..., Config], fake: FakeTwilio, ollama: ScriptedOllama
) -> None:
    config = wa_config()
    fake.record_inbound(f"whatsapp:{SAM}")  # the owner wrote just now: Twilio's window is open
    store = await _store(config)
    message_id = await _persisted(store, "do the thing that kills you", "SM" + "2" * 32)
    for _ in range(10):
        await store.run(log_db.take, message_id)
    await store.close()

    d = await start_daemon(config, fake)
    try:
        [reply] = await eventually(lambda: d.bodies(SAM), what="the give-up reply")
        assert "could not finish" in reply and "10 times" in reply
        assert ollama.requests == []
    finally:
        await d.app.stop()


async def test_the_reply_its_outbox_rows_and_the_answered_mark_are_one_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path / "claw.db")
    await store.open()
    try:
        message_id = await _persisted(store, "hello", "SM" + "3" * 32)
        reply = Answering(CONVERSATION, message_id, (Message("assistant", "Hi!", channel="whatsapp"),))
        draft = Draft("whatsapp", SAM, "Hi!", dedupe_key="a:1")
        assert await store.run(rows_db.enqueue, [draft], reply) == 1
        again = Draft("whatsapp", SAM, "Hi!", dedupe_key="b:1")  # a second answer to the same message
        assert await store.run(rows_db.enqueue, [again], reply) == 0
        assert [r.body for r in await store.run(rows_db.recent)] == ["Hi!"]
        assert [m.content for m in await store.run(log_db.live, CONVERSATION)] == ["Hi!"]
        assert await store.run(rows_db.unanswered, "whatsapp") == []

        def broken(db: object) -> None:  # a crash mid-transaction: nothing of it may remain
            waiting = Answering(CONVERSATION, second, (Message("assistant", "lost?"),))
            rows_db.enqueue(db, [Draft("whatsapp", SAM, "x", dedupe_key="a:1"), _poison()], waiting)  # type: ignore[arg-type]

        second = await _persisted(store, "again", "SM" + "4" * 32)
        with contextlib.suppress(ValueError):
            await store.run(broken)
        assert [w.id for w in await store.run(rows_db.unanswered, "whatsapp")] == [second]
        assert "lost?" not in [m.content for m in await store.run(log_db.live, CONVERSATION)]
    finally:
        await store.close()


def _poison() -> Draft:
    """A draft that fails to write (malformed media), after the reply and the first row were written."""
    return Draft("whatsapp", SAM, "x", dedupe_key="poison", media=(("only a path",),))  # type: ignore[arg-type]


async def test_upgrading_keeps_waiting_messages_waiting_and_marks_the_rest_answered(tmp_path: Path) -> None:
    path = tmp_path / "claw.db"
    conn = sqlite_driver().connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    for number, step in enumerate(MIGRATIONS[:3], start=1):
        conn.execute("BEGIN")
        step(db)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    conn.execute(
        "INSERT INTO messages (conversation, role, content, channel, ts, seq)"
        " VALUES (?, 'user', 'old', 'whatsapp', 1, 1)",
        [CONVERSATION],
    )
    conn.execute(
        "INSERT INTO messages (conversation, role, content, channel, ts, seq, external_id)"
        " VALUES (?, 'user', 'waiting', 'whatsapp', 2, NULL, 'SMx')",
        [CONVERSATION],
    )
    conn.close()
    store = Store(path)
    await store.open()
    try:
        assert [w.content for w in await store.run(rows_db.unanswered, "whatsapp")] == ["waiting"]
    finally:
        await store.close()


async def test_an_alert_decided_before_a_stop_is_sent_at_start_up_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "claw.db")
    await store.open()
    sent: list[tuple[str, str]] = []

    async def alert(text: str, media: tuple[Media, ...], title: str, key: str) -> None:
        sent.append((text, key))

    recorder = Recorder(
        store=store,
        rules=Rules(AlertsConfig(), ZoneInfo("UTC")),
        describer=_Blind(),
        root=tmp_path,
        tz=ZoneInfo("UTC"),
        paused=_never,
        alert=alert,
        publish=lambda kind, payload: None,
        media=MediaTokens(),
    )
    try:
        event = await store.run(history.insert, "Driveway", time.time(), snapshot=str(tmp_path / "shot.jpg"))
        await store.run(history.update, event, title="FedEx truck", description="A FedEx truck pulled up.", alerted=2)
        await recorder.resume(await recorder.unfinished(), [CameraConfig("Driveway", "x")])
        assert sent == [("A FedEx truck pulled up.", f"camera-event-{event}")]
        assert await recorder.unfinished() == []  # marked queued: the next start sends nothing
    finally:
        await store.close()


async def test_one_key_is_one_message_per_owner_however_often_it_is_sent(
    wa_config: Callable[..., Config], fake: FakeTwilio
) -> None:
    d = await start_daemon(wa_config(), fake)
    try:
        fake.record_inbound(f"whatsapp:{SAM}")
        await d.app.store.run(rows_db.opened, "whatsapp", SAM, time.time())
        for _ in range(2):  # sent, then sent again by a restart that did not see it marked
            await d.app.notify("FedEx truck just pulled up", kind="alert", key="camera-event-7")
        await eventually(lambda: d.bodies(SAM), what="the alert")
        await asyncio.sleep(0.2)
        assert d.bodies(SAM) == ["FedEx truck just pulled up"]
    finally:
        await d.app.stop()


async def test_a_job_run_a_stop_interrupted_runs_again_only_if_it_had_not_acted(tmp_path: Path) -> None:
    store = Store(tmp_path / "claw.db")
    await store.open()
    try:
        state = JobState("lights")
        acted, idle = await store.run(
            jobs_db.account, state, [Run("lights", 100.0, "running"), Run("bins", 200.0, "running")]
        )
        assert idle > acted
        await store.run(audit_db.write, AuditEntry("scheduler", "schedule", "turn off", "Porch", run=acted))
        left = await store.run(jobs_db.unfinished)
        assert [(r.id, r.acted) for r in left] == [(acted, True), (idle, False)]
        await store.run(jobs_db.interrupt, [acted], 300.0)  # what start-up does with a run that had acted
        assert {r.status for r in await store.run(jobs_db.runs, "lights")} == {"interrupted"}
        assert {r.status for r in await store.run(jobs_db.runs, "bins")} == {"running"}  # until it runs again
    finally:
        await store.close()


async def _never() -> bool:
    return False


class _Blind:
    """A describer that must not be asked: an alert already decided is sent as it was decided."""

    async def describe(self, camera: str, picture: bytes, strip: bytes | None, **_: str) -> Description:
        raise AssertionError("asked to describe a decided event")

    async def check(self, camera: str, condition: str, picture: bytes) -> tuple[bool, str] | None:
        raise AssertionError("asked to check")
