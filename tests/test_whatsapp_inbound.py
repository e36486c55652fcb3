"""WhatsApp in: signed webhooks, owners only, each message once, photos to the brain, voice notes answered."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable

import pytest

from claw.assistant.toolbox import CURRENT_REQUEST
from claw.core.config import Config
from claw.core.principals import owner
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store.audit import recent
from claw.core.store.messages import Message
from claw.core.store.outbox import Arriving, arrived
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio, inbound_params
from tests.whatsapp_support import ALEX, JPEG, SAM, STRANGER, Daemon, eventually, start_daemon

pytest_plugins = ["tests.whatsapp_fixtures"]


async def stored(d: Daemon) -> int:
    return await d.app.store.run(log_db.count)


async def test_signed_message_gets_an_empty_twiml_and_a_reply_later(daemon: Daemon, ollama: ScriptedOllama) -> None:
    ollama.on("porch", Reply.text("Happy to help with the porch."))  # no claim a tool did not back
    daemon.fake.record_inbound(f"whatsapp:{SAM}")
    params = inbound_params(f"whatsapp:{SAM}", "is the porch light on?")
    started = time.perf_counter()
    status, content_type, body = await daemon.post(params)
    assert (status, content_type) == (200, "text/xml")
    assert body.endswith("<Response/>")
    assert time.perf_counter() - started < 1.0
    await eventually(lambda: daemon.bodies(SAM), what="the reply at the fake")
    assert daemon.bodies(SAM) == ["Happy to help with the porch."]
    sent = daemon.fake.messages[0]
    assert (sent["from"], sent["to"]) == ("whatsapp:+14155238886", f"whatsapp:{SAM}")
    assert sent["status_callback"].startswith(f"{daemon.base}/twilio/status?row=")
    history = await daemon.app.store.run(log_db.live, f"owner:{SAM}")
    assert [(m.role, m.content) for m in history] == [
        ("user", "is the porch light on?"),
        ("assistant", "Happy to help with the porch."),
    ]
    await daemon.fake.settle()
    rows = await daemon.rows()
    assert [(r.status, r.provider_id) for r in rows] == [("delivered", sent["sid"])]


async def test_bad_or_missing_signatures_are_refused_before_anything(daemon: Daemon, ollama: ScriptedOllama) -> None:
    params = inbound_params(f"whatsapp:{SAM}", "unlock the front door")
    assert (await daemon.post(params, token="not-the-token"))[0] == 403
    assert (await daemon.post(params, signature=""))[0] == 403
    assert (await daemon.post(params, signature="bm90IGEgc2lnbmF0dXJl"))[0] == 403
    # Signed for another URL (what a proxy-rewritten URL would look like): refused too.
    assert (await daemon.post(params, signed_url="http://127.0.0.1:1/twilio/whatsapp"))[0] == 403
    assert (await daemon.post({"MessageSid": "SM1"}, path="/twilio/status", signature="x"))[0] == 403
    await asyncio.sleep(0.2)
    assert await stored(daemon) == 0
    assert ollama.chat_requests == []
    assert daemon.fake.messages == []


async def test_missing_auth_token_is_503(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    status, _, _ = await daemon.post(inbound_params(f"whatsapp:{SAM}", "hello"))
    assert status == 503
    assert "TWILIO_AUTH_TOKEN" in caplog.text
    assert await stored(daemon) == 0


async def test_unknown_sender_gets_nothing_and_one_audit_entry(daemon: Daemon, ollama: ScriptedOllama) -> None:
    params = inbound_params(f"whatsapp:{STRANGER}", "open the garage", profile_name="Sam")
    for _ in range(2):  # the replay is not audited again
        status, content_type, body = await daemon.post(params)
        assert (status, content_type) == (200, "text/xml")
        assert body.endswith("<Response/>")
    await asyncio.sleep(0.3)
    assert ollama.chat_requests == []
    assert daemon.fake.messages == []
    assert await stored(daemon) == 0
    audit = await daemon.app.store.run(recent)
    assert [(a["actor"], a["path"], a["outcome"]) for a in audit] == [(f"unknown:{STRANGER}", "webhook", "denied")]


async def test_replayed_message_sid_is_handled_once(daemon: Daemon, ollama: ScriptedOllama) -> None:
    daemon.fake.record_inbound(f"whatsapp:{SAM}")
    params = inbound_params(f"whatsapp:{SAM}", "good night")
    results = await asyncio.gather(*(daemon.post(params) for _ in range(3)))
    assert [r[0] for r in results] == [200, 200, 200]
    await eventually(lambda: daemon.bodies(SAM), what="the reply")
    await asyncio.sleep(0.3)
    assert daemon.bodies(SAM) == ["ok: good night"]
    assert len(ollama.chat_requests) == 1
    assert await stored(daemon) == 2  # the message and the reply


async def test_each_owner_has_their_own_conversation(daemon: Daemon, ollama: ScriptedOllama) -> None:
    await daemon.say("I am Sam", SAM)
    await daemon.say("I am Alex", ALEX)
    await eventually(lambda: daemon.bodies(SAM) and daemon.bodies(ALEX), what="both replies")
    assert daemon.bodies(SAM) == ["ok: I am Sam"]
    assert daemon.bodies(ALEX) == ["ok: I am Alex"]
    sam = await daemon.app.store.run(log_db.live, f"owner:{SAM}")
    alex = await daemon.app.store.run(log_db.live, f"owner:{ALEX}")
    assert [m.content for m in sam] == ["I am Sam", "ok: I am Sam"]
    assert [m.content for m in alex] == ["I am Alex", "ok: I am Alex"]


async def test_photo_is_fetched_with_auth_stored_and_shown_to_the_model(daemon: Daemon, ollama: ScriptedOllama) -> None:
    ollama.on(lambda r: bool(r.images), lambda r: Reply.text(f"I see {len(r.images)} picture"))
    url = daemon.fake.add_media(JPEG, "image/jpeg")
    params = await daemon.say("what is this?", media=[(url, "image/jpeg")])
    await eventually(lambda: daemon.bodies(SAM), what="the reply")
    assert daemon.bodies(SAM) == ["I see 1 picture"]
    assert base64.b64decode(ollama.chat_requests[0]["messages"][-1]["images"][0]) == JPEG
    saved = list((daemon.app.state / "whatsapp" / "media").iterdir())
    assert [p.read_bytes() for p in saved] == [JPEG]
    assert saved[0].name.startswith(params["MessageSid"])
    assert ("GET", url.split(daemon.fake.url, 1)[1]) in daemon.fake.requests


async def test_voice_note_gets_a_clear_answer_without_the_model(daemon: Daemon, ollama: ScriptedOllama) -> None:
    url = daemon.fake.add_media(b"OggS voice", "audio/ogg")
    await daemon.say("", media=[(url, "audio/ogg")])
    await eventually(lambda: daemon.bodies(SAM), what="the voice-note answer")
    assert daemon.bodies(SAM)[0].startswith("I can't listen to voice notes yet")
    await asyncio.sleep(0.2)
    assert ollama.chat_requests == []
    history = await daemon.app.store.run(log_db.live, f"owner:{SAM}")
    assert [m.role for m in history] == ["user", "assistant"]


async def test_owner_changes_need_a_code_and_persist(
    wa_config: Callable[..., Config], fake: FakeTwilio, ollama: ScriptedOllama
) -> None:
    newcomer = "+15553334444"
    config = wa_config()
    d = await start_daemon(config, fake)
    try:
        sam = Request(principal=owner("Sam", "whatsapp"), conversation=f"owner:{SAM}", channel="whatsapp", sender=SAM)
        token = CURRENT_REQUEST.set(sam)  # as during Sam's turn with the model
        try:
            held = json.loads(await d.app.tools.call("add_owner", {"name": "Kim", "number": newcomer}))
        finally:
            CURRENT_REQUEST.reset(token)
        assert held["status"] == "needs_confirmation"
        assert d.part.owners.find(newcomer) is None
        code = d.app.guard.pending()[0].code
        alex = Request(
            principal=owner("Alex", "whatsapp"), conversation=f"owner:{ALEX}", channel="whatsapp", sender=ALEX
        )
        assert "doesn't match" in await d.app.guard.confirm(code, alex)  # only in the conversation it was issued to
        assert d.part.owners.find(newcomer) is None
        assert "is now an owner" in await d.app.guard.confirm(code, sam)
        assert d.part.owners.find(newcomer) is not None
    finally:
        await d.app.stop()
    d = await start_daemon(config, fake)  # runtime owners survive a restart
    try:
        await d.say("hello from Kim", newcomer)
        await eventually(lambda: d.bodies(newcomer), what="Kim's reply")
        assert d.bodies(newcomer) == ["ok: hello from Kim"]
        kim = Request(principal=owner("Kim", "whatsapp"), conversation=f"owner:{newcomer}", channel="whatsapp")
        last = json.loads(await d.app.tools.call("remove_owner", {"who": "Kim"}, request=kim))
        assert last["status"] == "needs_confirmation" and d.part.owners.find(newcomer) is not None
    finally:
        await d.app.stop()


async def test_a_message_persisted_before_a_stop_is_answered_after_the_restart(
    wa_config: Callable[..., Config], fake: FakeTwilio
) -> None:
    config = wa_config()
    d = await start_daemon(config, fake)
    await d.app.stop()
    # As if the daemon had died between persisting a webhook and its turn: the row waits, untaken.
    store = Store(d.app.store.path)
    await store.open()
    message = Message("user", "are the lights off?", channel="whatsapp", sender="Sam")
    arriving = Arriving("whatsapp", f"owner:{SAM}", message, "SM" + "1" * 32, SAM, time.time())
    assert await store.run(arrived, [arriving]) == [(1, 0)]  # what the webhook does, in one transaction
    await store.close()
    fake.record_inbound(f"whatsapp:{SAM}")
    d = await start_daemon(config, fake)
    try:
        await eventually(lambda: d.bodies(SAM), what="the late answer")
        assert d.bodies(SAM) == ["ok: are the lights off?"]
    finally:
        await d.app.stop()
