"""The Bot API fake, checked against the real `python-telegram-bot` client: what it sends and what it accepts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.fakes.telegram_api import BOT_ID, TOKEN, FakeTelegram

SAM = 4242
# PTB 22 warns that RetryAfter.retry_after becomes a timedelta; the channel reads both
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def bot_for(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot")


async def test_get_me_and_delete_webhook(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        assert bot.id == BOT_ID and bot.username == "claw_test_bot"
        assert await bot.delete_webhook() is True
    assert fake.webhook_deleted == 1
    assert [m for m, _ in fake.calls] == ["getme", "deletewebhook"]


async def test_a_wrong_token_is_refused_as_telegram_does(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with bot_for(fake, "1:wrong"):
            pass


async def test_updates_honour_the_offset_and_carry_text_photo_and_voice(fake: FakeTelegram) -> None:
    first = fake.message(SAM, "hello")
    second = fake.message(SAM, photo=JPEG, caption="what is this?")
    third = fake.message(SAM, voice=True)
    async with bot_for(fake) as bot:
        updates = await bot.get_updates(timeout=0)
        assert [u.update_id for u in updates] == [first, second, third]
        assert updates[0].message is not None and updates[0].message.text == "hello"
        assert updates[0].message.from_user is not None and updates[0].message.from_user.id == SAM
        photo = updates[1].message
        assert photo is not None and photo.caption == "what is this?" and len(photo.photo) == 2
        file = await bot.get_file(photo.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == JPEG
        assert updates[2].message is not None and updates[2].message.voice is not None
        again = await bot.get_updates(offset=first + 1, timeout=0)  # the offset confirms the first
        assert [u.update_id for u in again] == [second, third]
        assert await bot.get_updates(offset=third + 1, timeout=0) == ()
        assert fake.pending() == []
        fake.redeliver(second)  # as if its confirmation had never arrived
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [second]


async def test_a_long_poll_returns_as_soon_as_someone_writes(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        polling = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        assert not polling.done()
        update_id = fake.message(SAM, "are you there?")
        updates = await asyncio.wait_for(polling, 10)
        assert [u.update_id for u in updates] == [update_id]


async def test_a_newer_poll_ends_the_older_one_with_a_conflict(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot, bot_for(fake) as other:
        older = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        newer = asyncio.create_task(other.get_updates(timeout=1))
        with pytest.raises(Conflict):
            await asyncio.wait_for(older, 10)
        assert await newer == ()


async def test_messages_and_photos_are_recorded_as_sent(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        message = await bot.send_message(SAM, "Turned off 3 lights.")
        photo = await bot.send_photo(SAM, JPEG, caption="FedEx truck just pulled up")
        assert await bot.send_chat_action(SAM, "typing") is True
    assert message.text == "Turned off 3 lights." and message.chat.id == SAM
    assert photo.caption == "FedEx truck just pulled up" and photo.photo
    assert fake.texts(SAM) == ["Turned off 3 lights.", "FedEx truck just pulled up"]
    assert fake.photos(SAM)[0].photo == JPEG
    assert fake.chat_actions == [(SAM, "typing")]


async def test_limits_are_enforced_like_the_real_api(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(SAM, "x" * 4097)
        with pytest.raises(BadRequest, match="caption is too long"):
            await bot.send_photo(SAM, JPEG, caption="x" * 1025)
        assert (await bot.send_message(SAM, "x" * 4096)).text == "x" * 4096


async def test_injected_failures_reach_the_client_as_its_own_errors(fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", 429, retry_after=3)
    fake.fail_next("sendMessage", 500)
    fake.block(777)
    async with bot_for(fake) as bot:
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(SAM, "one")
        assert flood.value.retry_after in (3, timedelta(seconds=3))  # int in v21-22, timedelta later
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(SAM, "two")
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(777, "three")
        fake.outage(60)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(SAM, "four")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.get_updates(timeout=0)
        fake.end_outage()
        await bot.send_message(SAM, "five")
    assert fake.texts(SAM) == ["five"]
    assert [(m, s) for m, s, _ in fake.refused] == [
        ("sendmessage", 429),
        ("sendmessage", 500),
        ("sendmessage", 502),
        ("getupdates", 502),
    ]
