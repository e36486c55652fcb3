"""Telegram end to end: the daemon long-polls the Bot API fake, answers through the outbox, alerts by preference."""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.channels.telegram.inbox import DENY_REPLY, VOICE_REPLY
from claw.core.bus import Media
from claw.core.config import Config
from claw.core.errors import ConfigError
from claw.core.store import Store
from claw.core.store import audit as audit_db
from claw.core.store import messages as log_db
from claw.core.store import outbox as rows_db
from claw.daemon import Daemon, build
from claw.doctor import doctor
from claw_sim.home import SimHome
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.home_fixtures import house_config, start_house
from tests.whatsapp_support import eventually

SAM, ALEX, STRANGER = 4242, 4343, 9999
SAM_NUMBER, ALEX_NUMBER = "+15551234567", "+15557654321"
# PTB 22 warns that RetryAfter.retry_after becomes a timedelta; the channel reads both
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


@pytest_asyncio.fixture
async def bot_api() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def tg_config(
    make_config: Callable[..., Config], ollama: ScriptedOllama, bot_api: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Config]:
    """A config for a Telegram daemon (Sam also has WhatsApp; Alex is on Telegram only), the token in the env."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)

    def make(make: Callable[..., Config] = make_config, **sections: Any) -> Config:
        telegram = {
            "enabled": True,
            "api_base": bot_api.url,
            "poll_timeout": 5,
            "send_timeout": 2.0,
            "retry_base": 0.05,
            "retry_max_delay": 0.3,
            **sections.pop("telegram", {}),
        }
        owners = sections.pop(
            "owners",
            [{"name": "Sam", "number": SAM_NUMBER, "telegram": SAM}, {"name": "Alex", "telegram": ALEX}],
        )
        return make(llm_host=ollama.url, telegram=telegram, owners=owners, **sections)

    return make


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[Daemon]:
    """A Telegram daemon, started, and stopped when the block ends (raised or not)."""
    app = build(config, parts={"telegram"})
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@contextlib.asynccontextmanager
async def stopped_store(config: Config) -> AsyncIterator[Store]:
    """The daemon's database, opened while the daemon is stopped, and closed when the block ends."""
    store = Store(config.state_path / "claw.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest_asyncio.fixture
async def claw(tg_config: Callable[..., Config]) -> AsyncIterator[Daemon]:
    async with running(tg_config()) as app:
        yield app


async def replies(bot_api: FakeTelegram, chat: int, count: int = 1, timeout: float = 10.0) -> list[str]:
    return list(await eventually(lambda: len(bot_api.texts(chat)) >= count and bot_api.texts(chat), timeout, "replies"))


async def test_an_owner_writes_and_the_reply_comes_back_on_telegram(
    claw: Daemon, bot_api: FakeTelegram, ollama: ScriptedOllama
) -> None:
    ollama.on(r"what's up", Reply.text("All quiet at home, Sam."))
    bot_api.message(SAM, "/help")  # the fast path: no model
    assert "Commands" in (await replies(bot_api, SAM))[0]
    bot_api.message(SAM, "what's up?")  # a model turn
    assert (await replies(bot_api, SAM, 2))[1] == "All quiet at home, Sam."
    assert bot_api.webhook_deleted == 1  # polling needs no webhook (and no public URL)
    history = [m for m in ollama.chat_requests if "what's up?" in str(m.get("messages"))]
    assert history and any(msg.get("content") == "what's up?" for msg in history[0]["messages"])
    # Sam's one conversation, whichever channel: the same as on WhatsApp (keyed by Sam's number)
    stored = await claw.store.run(log_db.live, f"owner:{SAM_NUMBER}")
    assert [(m.role, m.channel) for m in stored if "what's up" in m.content] == [("user", "telegram")]


async def test_a_stranger_is_told_no_once_and_every_message_is_audited(
    claw: Daemon, bot_api: FakeTelegram, ollama: ScriptedOllama
) -> None:
    bot_api.message(STRANGER, "sleepy time", first_name="Mallory")
    bot_api.message(STRANGER, "unlock the front door", first_name="Mallory")
    bot_api.message(SAM, "/help")  # handled after the stranger's two: both were seen by then
    await replies(bot_api, SAM)
    told = await replies(bot_api, STRANGER)
    assert told == [DENY_REPLY]  # one polite line: nothing about how to become an owner, nor their id
    assert "\n" not in DENY_REPLY and "owners" not in DENY_REPLY and str(STRANGER) not in DENY_REPLY
    audit = await claw.store.run(audit_db.recent, 100, f"unknown:telegram:{STRANGER}")
    assert [a["outcome"] for a in audit] == ["denied", "denied"]
    assert all(f"add telegram = {STRANGER} to your [[owners]] entry" in a["detail"] for a in audit)  # for the owners
    assert not ollama.chat_requests  # nothing a stranger says reaches the model


async def test_an_update_delivered_again_after_a_restart_is_not_answered_twice(
    tg_config: Callable[..., Config], bot_api: FakeTelegram, ollama: ScriptedOllama
) -> None:
    config = tg_config()
    async with running(config):
        first = bot_api.message(SAM, "remember the milk")
        assert await replies(bot_api, SAM) == ["ok: remember the milk"]
    # As if the daemon had died before it stored its offset: Telegram delivers the update again.
    async with stopped_store(config) as store:
        await store.run(audit_db.set_setting, f"telegram.offset.{TOKEN.split(':')[0]}", "")
    bot_api.redeliver(first)
    bot_api.message(SAM, "and the eggs")  # written while Claw was stopped: answered when it starts
    async with running(config):
        assert await replies(bot_api, SAM, 2) == ["ok: remember the milk", "ok: and the eggs"]
        asked = [r for r in ollama.chat_requests if r["messages"][-1].get("content") == "remember the milk"]
        assert len(asked) == 1


async def test_a_stop_during_a_send_waits_for_its_answer_so_it_is_not_sent_again(
    tg_config: Callable[..., Config], bot_api: FakeTelegram, ollama: ScriptedOllama
) -> None:
    config = tg_config()
    async with running(config):
        bot_api.answer_delay = 1.0  # Telegram has the message; its answer is on the way when the stop comes
        bot_api.message(SAM, "remember the milk")
        await eventually(lambda: bot_api.texts(SAM) == ["ok: remember the milk"], what="the reply to reach Telegram")
    bot_api.answer_delay = 0.0
    async with stopped_store(config) as store:
        rows = await store.run(rows_db.recent)
    assert [row.status for row in rows] == ["sent"]  # recorded, not left 'sending' for a blind resend
    async with running(config):
        bot_api.message(SAM, "and the eggs")
        assert await replies(bot_api, SAM, 2) == ["ok: remember the milk", "ok: and the eggs"]


async def test_a_voice_note_gets_a_plain_answer_and_no_turn(
    claw: Daemon, bot_api: FakeTelegram, ollama: ScriptedOllama
) -> None:
    bot_api.message(SAM, voice=True)
    assert await replies(bot_api, SAM) == [VOICE_REPLY]
    assert not ollama.chat_requests


async def test_a_photo_from_an_owner_reaches_the_model(
    claw: Daemon, bot_api: FakeTelegram, ollama: ScriptedOllama
) -> None:
    ollama.on(lambda req: bool(req.images), Reply.text("That is a parcel on the porch."))
    bot_api.message(SAM, photo=JPEG, caption="what is this?")
    assert await replies(bot_api, SAM) == ["That is a parcel on the porch."]
    seen = [r for r in ollama.chat_requests if any(m.get("images") for m in r["messages"])]
    assert seen and seen[0]["messages"][-1]["content"] == "what is this?"


async def test_a_long_reply_is_split_at_telegrams_limit(
    tg_config: Callable[..., Config], bot_api: FakeTelegram, ollama: ScriptedOllama
) -> None:
    story = " ".join(f"Sentence {i} of a long answer about the house." for i in range(400))  # ~19 000 characters
    ollama.on(r"tell me everything", Reply.text(story))
    async with running(tg_config(llm={"reply_tokens": 8000})):  # an answer this long is allowed here
        bot_api.message(SAM, "tell me everything")
        parts = await replies(bot_api, SAM, 5)
    assert all(len(p) <= 4096 for p in parts) and len(parts) == 5
    assert [re.search(r"\((\d)/5\)$", p).group(1) for p in parts] == ["1", "2", "3", "4", "5"]  # type: ignore[union-attr]
    assert " ".join(re.sub(r" \(\d/5\)$", "", p) for p in parts) == story


async def test_flood_control_is_honoured_before_the_next_send(claw: Daemon, bot_api: FakeTelegram) -> None:
    bot_api.fail_next("sendMessage", 429, retry_after=1)
    bot_api.message(SAM, "/help")
    assert len(await replies(bot_api, SAM)) == 1
    [(_, status, refused_at)] = bot_api.refused
    sent_at = bot_api.sent[0].at
    assert status == 429 and sent_at - refused_at >= 1.0  # not one call before Telegram said it may
    assert [m for m, _ in bot_api.calls].count("sendmessage") == 2


async def test_an_outage_loses_nothing_and_sends_nothing_twice(claw: Daemon, bot_api: FakeTelegram) -> None:
    bot_api.message(SAM, "/help")
    await replies(bot_api, SAM)
    bot_api.outage(2.0)  # the benchmark runs the same with 30 s
    for n in range(5):
        await claw.notify(f"Alert {n}", kind="alert")
    bot_api.message(SAM, "/status")  # written while Telegram is down: fetched once it is back
    await eventually(lambda: not bot_api.down, 10, "the outage to end")
    texts = await replies(bot_api, SAM, 7, timeout=15)
    assert texts[1:6] == [f"Alert {n}" for n in range(5)]
    assert texts[6].startswith("Model ")
    assert len(texts) == 7
    assert any(status == 502 for _, status, _ in bot_api.refused)


async def test_a_blocked_bot_dead_letters_and_says_so_on_the_dashboard(claw: Daemon, bot_api: FakeTelegram) -> None:
    bot_api.block(ALEX)
    await claw.notify("The garage is open.", kind="notice")
    rows = await eventually(lambda: claw.store.run(rows_db.recent, limit=10, status="dead"), 10, "the dead letter")
    assert rows[0].recipient == str(ALEX) and "blocked" in rows[0].error
    notes = await eventually(lambda: [n for n in claw.local.notifications if "could not be delivered" in n.text], 5)
    assert "Alex" in notes[0].text


async def test_alerts_go_to_each_owners_preferred_channel(
    tmp_path: Path,
    tg_config: Callable[..., Config],
    bot_api: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sam prefers Telegram; Alex has only WhatsApp; Kim has both and no preference (WhatsApp)."""
    twilio = FakeTwilio()
    await twilio.start()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", twilio.auth_token)
    kim_number = "+15550001111"
    config = tg_config(
        whatsapp={
            "enabled": True,
            "api_base": twilio.url,
            "sender": "whatsapp:+14155238886",
            "retry_base": 0.05,
            "retry_max_delay": 0.3,
        },
        owners=[
            {"name": "Sam", "number": SAM_NUMBER, "telegram": SAM, "prefer": "telegram"},
            {"name": "Alex", "number": ALEX_NUMBER},
            {"name": "Kim", "number": kim_number, "telegram": 4444},
        ],
    )
    app = build(config, parts={"whatsapp", "telegram"})
    await app.start()
    try:
        for number in (ALEX_NUMBER, kim_number, SAM_NUMBER):  # everyone wrote lately: WhatsApp's windows are open
            twilio.record_inbound(f"whatsapp:{number}")
            await app.store.run(rows_db.opened, "whatsapp", number, time.time())
        picture = tmp_path / "driveway.jpg"
        picture.write_bytes(JPEG)
        await app.notify("FedEx truck just pulled up.", kind="alert", media=(Media(str(picture)),), title="FedEx truck")
        [photo] = await eventually(lambda: bot_api.photos(SAM), 10, "the alert on Telegram")
        assert photo.photo == JPEG and photo.text == "FedEx truck just pulled up."
        for number in (ALEX_NUMBER, kim_number):
            [sent] = await eventually(lambda n=number: twilio.delivered(f"whatsapp:{n}"), 10, "the alert on WhatsApp")
            assert sent["body"].startswith("FedEx truck just pulled up.")
        assert twilio.delivered(f"whatsapp:{SAM_NUMBER}") == []  # Sam asked for Telegram only
        assert bot_api.texts(4444) == []  # Kim gets it once, on WhatsApp
        # Replies come back where the owner wrote: Telegram.
        bot_api.message(SAM, "/help")
        await eventually(lambda: len(bot_api.texts(SAM)) == 2, 10, "the reply on Telegram")
        # Sam blocks the bot: the next alert is dead-lettered, and Sam hears of it on WhatsApp.
        bot_api.block(SAM)
        await app.notify("The garage has been open for an hour.", kind="notice")
        [told] = await eventually(lambda: twilio.delivered(f"whatsapp:{SAM_NUMBER}"), 10, "the notice on WhatsApp")
        assert "could not be delivered" in told["body"] and "blocked" in told["body"]
    finally:
        await app.stop()
        await twilio.stop()


async def test_a_sensitive_action_on_telegram_needs_the_code_from_the_same_owner(
    tmp_path: Path, make_config: Callable[..., Config], tg_config: Callable[..., Config], bot_api: FakeTelegram
) -> None:
    subnet = random.randint(60, 200)
    probe = SimHome(tmp_path / "probe", cameras=False, speakers=False, port=0, subnet=subnet)
    sensitive = [{"id": d.device_id, "controllable": True} for d in probe.devices.values() if d.kind == "lock"]

    def with_house(**sections: Any) -> Config:
        return house_config(make_config, home={"devices": sensitive}, **sections)

    house = await start_house(tmp_path, tg_config(make=with_house), subnet=subnet, parts=("home", "telegram"))
    try:
        await replies(bot_api, SAM)  # "I found 15 new devices…" comes first (it raced the answers below)
        await replies(bot_api, ALEX)
        bot_api.message(SAM, "unlock the front door")
        held = (await replies(bot_api, SAM, 2))[1]
        code = re.search(r"OK ([A-Z0-9]{4})", held).group(1)  # type: ignore[union-attr]
        assert house.sim.device("Front Door").state["locked"] is True
        bot_api.message(ALEX, f"OK {code}")  # another owner, another conversation: refused
        assert "doesn't match" in (await replies(bot_api, ALEX, 2))[1]
        assert house.sim.device("Front Door").state["locked"] is True
        bot_api.message(SAM, f"OK {code}")
        done = await replies(bot_api, SAM, 3)
        assert "nlocked" in done[2]
        assert house.sim.device("Front Door").state["locked"] is False
    finally:
        await house.app.stop()
        await house.sim.stop()


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"telegram": {"token_env": "123456:AAE-secret"}}, "telegram.token_env"),
        ({"telegram": {"poll_timeout": 0}}, "telegram.poll_timeout"),
        ({"telegram": {"api_base": "api.telegram.org"}}, "telegram.api_base"),
        ({"owners": [{"name": "Sam", "telegram": 5, "prefer": "whatsapp"}]}, "owners"),
        ({"owners": [{"name": "Sam"}]}, "owners"),
        ({"owners": [{"name": "Sam", "telegram": 5}, {"name": "Alex", "telegram": 5}]}, "owners.telegram"),
    ],
)
def test_bad_telegram_settings_refuse_to_start_naming_the_key(
    make_config: Callable[..., Config], section: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make_config(**section)
    assert error.value.key.startswith(key)


async def test_doctor_checks_the_token_against_the_bot_api(
    tmp_path: Path,
    bot_api: FakeTelegram,
    ollama: ScriptedOllama,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "claw.toml"
    path.write_text(
        f'state_dir = "state"\n[llm]\nhost = "{ollama.url}"\n[telegram]\nenabled = true\napi_base = "{bot_api.url}"\n'
        '[[owners]]\nname = "Sam"\ntelegram = 4242\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    await doctor(path)
    assert "FAIL  the Telegram bot token is missing: set TELEGRAM_BOT_TOKEN" in capsys.readouterr().out
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:wrong")
    await doctor(path)
    out = capsys.readouterr().out
    assert "FAIL  Telegram refused the bot token (401 Unauthorized)" in out and "1:wrong" not in out
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    await doctor(path)
    out = capsys.readouterr().out
    assert "ok    Telegram answers as @claw_test_bot" in out and TOKEN not in out
    assert [m for m, _ in bot_api.calls] == ["getme", "getme"]
