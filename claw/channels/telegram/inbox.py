"""Inbound Telegram updates: owner check, persist once (deduplicated by update id), then to the brain in order."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from pathlib import Path

from telegram import Bot, Message, Update
from telegram.error import TelegramError

from claw.channels.strangers import Strangers
from claw.core import principals
from claw.core.bus import Bus, Inbound, Outbound
from claw.core.config import Owner
from claw.core.owners import Owners
from claw.core.ratelimit import RateLimit
from claw.core.request import owner_conversation
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store import outbox as rows_db
from claw.core.store.audit import AuditEntry, get_setting, set_setting
from claw.core.store.messages import Answering
from claw.core.store.messages import Message as Stored
from claw.core.store.outbox import Arriving
from claw.core.tasks import OwnedTasks
from claw.core.untrusted import FORWARDED

log = logging.getLogger(__name__)

CHANNEL = "telegram"
VOICE_REPLY = "I can't listen to voice notes yet — please type it instead (photos are fine: I can look at those)."
# One polite line: how to become an owner is the owners' business (it is in their audit), not a stranger's.
DENY_REPLY = "Hello! I'm a private home assistant and only talk to the people who own this house."
DENIED_SETTING = "telegram.denied"  # JSON list of user ids already told no (told once, audited every time)
PHOTO_LIMIT = 20 * 1024 * 1024  # the Bot API's getFile limit
DOWNLOADS = 4  # photos fetched at once, off the poll loop
LIMITED_REPLY = "You sent more than {limit} messages in a minute, so I'm not reading the rest; try again in a minute."


class Inbox:
    """`accept` handles one update: deny strangers once, persist owners' messages once, publish them in order."""

    def __init__(
        self, *, store: Store, bus: Bus, owners: Owners, media_dir: Path, bot_id: str, messages_per_minute: int
    ) -> None:
        self.store, self.bus = store, bus
        self.owners = owners  # the one identity map: an owner removed anywhere is removed here too
        self.media_dir = media_dir
        self.bot_id = bot_id  # update ids count per bot: a new bot must not look like replays of the old one
        self._denied: set[int] | None = None
        self._strangers = Strangers(store, "telegram")
        self._senders = RateLimit(messages_per_minute)  # beyond: a loop or a stolen phone, not taken
        self._told_slow = RateLimit(1)
        self.messages_per_minute = messages_per_minute
        self._tasks = OwnedTasks("telegram photos")
        self._lanes: dict[str, asyncio.Task[None]] = {}  # owner -> their latest message still on its way in
        self._downloads = asyncio.Semaphore(DOWNLOADS)

    def owner_of(self, chat_id: str) -> Owner | None:
        try:
            return self.owners.by_telegram(int(chat_id))
        except ValueError:
            return None

    async def accept(self, bot: Bot, update: Update) -> str:
        """One update from getUpdates; "ignored", "denied", "limited", "duplicate", "voice" or "accepted".

        Returns before a photo is downloaded: that, and the message's way to the brain, run in a task
        (each owner's messages still reach the brain in the order they were written).
        """
        message = update.message
        user = message.from_user if message is not None else None
        if message is None or user is None or user.is_bot:
            return "ignored"  # edits, channel posts, service messages: not allowed_updates, or nobody wrote
        owner = self.owners.by_telegram(user.id)
        if owner is None or message.chat.type != "private" or message.chat.id != user.id:
            await self._deny(user.id, message, update.update_id, owner=owner is not None)  # only their own chat
            return "denied"
        if not self._senders.allow(str(user.id)):
            log.warning(
                "telegram: %s sent over %d messages in a minute; update %d not taken",
                owner.name,
                self.messages_per_minute,
                update.update_id,
            )
            if self._told_slow.allow(str(user.id)):  # said once a minute, so a loop does not become two
                slow = LIMITED_REPLY.format(limit=self.messages_per_minute)
                await self.bus.send(Outbound(channel=CHANNEL, recipient=str(user.id), text=slow, kind="notice"))
            return "limited"
        voice = message.voice is not None or message.audio is not None or message.video_note is not None
        text = message.text or message.caption or ""
        content = text or ("[voice note]" if voice else "[photo]" if message.photo else "(empty message)")
        if relayed(message):  # someone else's words (a forward, an inline bot's text): they inform, never act
            content = FORWARDED + content
            text = FORWARDED + (text or "(photo)") if text or message.photo else ""
        conversation = owner_conversation(owner.key)
        chat = str(message.chat.id)
        stored = Stored("user", content, channel=CHANNEL, sender=owner.name, images=1 if message.photo else 0)
        external = f"telegram:{self.bot_id}:{update.update_id}"
        now = time.time()
        [(message_id, _)] = await self.store.run(
            rows_db.arrived, [Arriving(CHANNEL, conversation, stored, external, chat, now)]
        )
        if message_id is None:
            log.info("telegram: update %d from %s seen before; ignored", update.update_id, owner.name)
            return "duplicate"
        if voice and not text and not message.photo:
            await self._say(owner, chat, message_id, VOICE_REPLY)
            return "voice"
        if not message.photo and owner.key not in self._lanes:
            await self.bus.publish(self._inbound(owner, chat, text or content, (), message_id, now))
            return "accepted"
        # A photo is fetched off the poll loop (a slow download must not hold up everyone's messages);
        # what this owner writes meanwhile waits behind it, so their messages keep their order.
        previous = self._lanes.get(owner.key)
        later = self._later(previous, bot, message, owner, chat, text, content, message_id, now, external)
        task = self._tasks.start(later, name=f"telegram message {message_id}")
        self._lanes[owner.key] = task
        task.add_done_callback(functools.partial(self._arrived, owner.key))
        return "accepted"

    def _arrived(self, key: str, task: asyncio.Task[None]) -> None:
        if self._lanes.get(key) is task:
            del self._lanes[key]  # nothing of this owner's is on its way any more

    async def _later(
        self,
        previous: asyncio.Task[None] | None,
        bot: Bot,
        message: Message,
        owner: Owner,
        chat: str,
        text: str,
        content: str,
        message_id: int,
        received: float,
        external: str,
    ) -> None:
        """Fetch the photo (a few at once), wait for the owner's earlier message to go in, then publish."""
        images: tuple[bytes, ...] = ()
        if message.photo:
            async with self._downloads:
                picture = await self._download(bot, message, external)
            images = (picture,) if picture else ()
            if not picture:
                text = f"{text}\n[a photo that could not be fetched]".strip()
        if previous is not None:
            await asyncio.wait([previous])  # its own failure is logged by its owner; order is what matters here
        body = text or ("(photo)" if images else content)
        await self.bus.publish(self._inbound(owner, chat, body, images, message_id, received))

    async def settle(self) -> None:
        """Wait until every message in hand has reached the brain (tests, shutdown)."""
        await self._tasks.settle()

    async def stop(self) -> None:
        await self._tasks.stop()
        self._lanes.clear()

    def _inbound(
        self,
        owner: Owner,
        chat: str,
        text: str,
        images: tuple[bytes, ...],
        message_id: int,
        received: float,
        *,
        resumed: bool = False,
    ) -> Inbound:
        return Inbound(
            resumed=resumed,
            channel=CHANNEL,
            sender=chat,
            actor=owner.name,
            conversation=owner_conversation(owner.key),
            text=text,
            images=images,
            message_id=message_id,
            received=received,
            principal=principals.owner(owner.name, CHANNEL),
        )

    async def recover(self) -> None:
        """Messages persisted before a stop but never taken up go to the brain now (photos from disk)."""
        by_conversation = {owner_conversation(o.key): o for o in self.owners.all() if o.telegram}
        for waiting in await self.store.run(rows_db.unanswered, CHANNEL):
            owner = by_conversation.get(waiting.conversation)
            if owner is None:
                continue
            path = self.media_dir / f"{_safe(waiting.external_id)}.jpg"
            images = (await asyncio.to_thread(path.read_bytes),) if waiting.images and path.is_file() else ()
            log.info("telegram: answering message #%d from %s left over from the last run", waiting.id, owner.name)
            chat = str(owner.telegram)  # a private chat's id is the user's id
            inbound = self._inbound(owner, chat, waiting.content, images, waiting.id, time.time(), resumed=True)
            await self.bus.publish(inbound)

    async def _say(self, owner: Owner, chat: str, message_id: int, text: str) -> None:
        """Answer without a turn: the message and the reply join the history, the model is not asked."""
        await self.store.run(log_db.take, message_id)
        said = Stored("assistant", text, channel=CHANNEL, sender="claw")
        answering = Answering(owner_conversation(owner.key), message_id, (said,))
        await self.bus.send(Outbound(channel=CHANNEL, recipient=chat, text=text, kind="reply", answering=answering))

    async def _deny(self, user_id: int, message: Message, update_id: int, *, owner: bool = False) -> None:
        """Audited (up to a few a minute each: a flood is counted, not written); told once (a stranger is not
        answered again, whatever they send). `owner`: an owner's id, but not in their own private chat."""
        where = f"update {update_id}, {message.chat.type} chat {message.chat.id}"
        # How to let a stranger in is for the owners' eyes (here, in the audit), never in the stranger's reply.
        detail = (
            f"an owner's id outside their own private chat with the bot; ignored ({where})"
            if owner
            else f"not an owner; ignored ({where}). If this is one of you, add telegram = {user_id} to your "
            "[[owners]] entry and restart Claw"
        )
        audited = await self._strangers.refused(
            f"user {user_id}",
            AuditEntry(
                actor=f"unknown:telegram:{user_id}",
                path="telegram",
                action="telegram message",
                target=str(user_id),
                outcome="denied",
                detail=detail,
            ),
        )
        if not audited:
            return  # a flood of strangers: counted, not answered
        denied = await self._denied_ids()
        if user_id in denied or message.chat.type != "private":
            return
        denied.add(user_id)
        await self.store.run(set_setting, DENIED_SETTING, json.dumps(sorted(denied)[-1000:]))
        await self.bus.send(Outbound(channel=CHANNEL, recipient=str(message.chat.id), text=DENY_REPLY, kind="notice"))

    async def _denied_ids(self) -> set[int]:
        if self._denied is None:
            raw = await self.store.run(get_setting, DENIED_SETTING, "[]")
            try:
                self._denied = {int(v) for v in json.loads(raw)}
            except (ValueError, TypeError):
                log.error("telegram: %s is unreadable; strangers may be told no once more", DENIED_SETTING)
                self._denied = set()
        return self._denied

    async def _download(self, bot: Bot, message: Message, external: str) -> bytes | None:
        """The largest size of the photo, kept in the state dir for a restart; None if it can't be had."""
        largest = message.photo[-1]
        if largest.file_size and largest.file_size > PHOTO_LIMIT:
            log.warning("telegram: photo in %s is over 20 MB; ignored", external)
            return None
        try:
            file = await bot.get_file(largest.file_id)
            data = bytes(await file.download_as_bytearray())
        except (TelegramError, OSError) as exc:
            log.warning("telegram: photo in %s could not be fetched: %s", external, exc)
            return None
        path = self.media_dir / f"{_safe(external)}.jpg"
        await asyncio.to_thread(_save, path, data)
        return data


def relayed(message: Message) -> bool:
    """The message carries someone else's words: a forward (with or without a caption) or an inline bot's."""
    return message.forward_origin is not None or message.via_bot is not None or bool(message.is_automatic_forward)


def _safe(external: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in external)[:80] or "photo"


def _save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
