"""Telegram: long polling in (no public URL), the persisted outbox out, one conversation per owner."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import Conflict, InvalidToken, TelegramError

from claw.channels.delivery import Outbox
from claw.channels.message_parts import split_body, title_of
from claw.channels.telegram import bot_api
from claw.channels.telegram.inbox import CHANNEL, Inbox
from claw.channels.telegram.sender import TelegramTransport
from claw.core.backoff import Backoff
from claw.core.bus import Bus, Outbound
from claw.core.config import Config, alert_channel
from claw.core.owners import Owners
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store import outbox as rows_db
from claw.core.store.audit import get_setting, set_setting
from claw.core.store.outbox import Draft, OutboxRow
from claw.core.supervisor import Component, Supervisor

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096  # the Bot API's limit for one message
CAPTION_LIMIT = 1024  # ... and for a photo's caption


class Telegram:
    """The Telegram channel (`name = "telegram"`): built by the daemon when `[telegram] enabled`."""

    name = CHANNEL

    def __init__(self, config: Config, *, store: Store, bus: Bus, supervisor: Supervisor, owners: Owners) -> None:
        self.config = config
        self.tg = config.telegram
        self.store, self.bus, self.supervisor = store, bus, supervisor
        self.transport = TelegramTransport(self.tg)
        self.outbox = Outbox(
            store,
            self.transport,
            backoff=Backoff(self.tg.retry_base, self.tg.retry_max_delay, jitter=True),
            give_up=self.tg.give_up_hours * 3600,
            on_dead=self._dead_letter,
        )
        token = bot_api.bot_token(self.tg) or ""
        self.bot_id = token.split(":", 1)[0] if ":" in token else "bot"
        self.inbox = Inbox(
            store=store,
            bus=bus,
            owners=owners,
            media_dir=config.state_path / "telegram" / "media",
            bot_id=self.bot_id,
            messages_per_minute=self.tg.messages_per_minute,
        )
        self.offset_key = f"telegram.offset.{self.bot_id}"  # the next update id to ask for, per bot
        self._components: list[Component] = []
        self._started = False

    # -- lifetime ---------------------------------------------------------------------------------

    async def start(self) -> None:
        if not bot_api.bot_token(self.tg):
            log.error("telegram: %s is not set: nothing is received, replies wait in the outbox", self.tg.token_env)
        if not any(o.telegram for o in self.inbox.owners.all()):
            log.warning("telegram: no [[owners]] entry has a telegram user id: everyone who writes is refused")
        await self.inbox.recover()
        self._started = True
        self._components = [
            self.supervisor.start("telegram outbox", self.outbox.run),
            self.supervisor.start("telegram intake", self.poll),
        ]
        on_telegram = sum(1 for o in self.inbox.owners.all() if o.telegram)
        log.info("telegram: %d owner(s), long polling %s", on_telegram, self.tg.api_base or bot_api.REAL_API)

    async def stop(self) -> None:
        if not self._started:
            return
        await self.supervisor.cancel(self._components)
        self._components = []
        await self.inbox.stop()
        await self.transport.close()

    # -- in ---------------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Long-poll getUpdates forever (a supervised component); the offset is stored after each update."""
        stored = await self.store.run(get_setting, self.offset_key, "")
        offset = int(stored) if stored.isdigit() else None
        backoff = Backoff(self.tg.retry_base, self.tg.retry_max_delay, jitter=True)
        failures, ready = 0, False
        while True:
            try:
                bot = self.transport.client()
                if not ready:
                    await bot.initialize()  # getMe: checks the token
                    await bot.delete_webhook(drop_pending_updates=False)  # a webhook would make getUpdates fail
                    ready = True
                    log.info("telegram: polling as @%s", bot.username)
                updates = await bot.get_updates(
                    offset=offset, timeout=self.tg.poll_timeout, allowed_updates=["message"]
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = backoff.delay(failures)
                if isinstance(exc, InvalidToken):
                    delay = max(delay, 60.0)  # the owner must fix the token; don't hammer Telegram meanwhile
                if isinstance(exc, Conflict):
                    log.warning("telegram: another program is polling this bot (a second Claw?); retrying")
                elif failures == 1 or isinstance(exc, InvalidToken):
                    log.warning("telegram: getUpdates failed (%s); retrying", self._describe(exc))
                await asyncio.sleep(delay)
                continue
            if failures:
                log.info("telegram: Bot API answers again after %d failed poll(s)", failures)
                failures = 0
            for update in updates:
                try:
                    await self.inbox.accept(bot, update)
                except (TelegramError, OSError) as exc:
                    log.warning("telegram: update %d could not be handled: %s", update.update_id, self._describe(exc))
                except Exception:
                    log.exception("telegram: update %d could not be handled", update.update_id)
                offset = update.update_id + 1
                await self.store.run(set_setting, self.offset_key, str(offset))

    def _describe(self, exc: BaseException) -> str:
        return self.transport.judge(exc)[1]

    # -- out --------------------------------------------------------------------------------------

    async def deliver(self, message: Outbound) -> None:
        """Persist one row per part per owner before anything is sent; the outbox sends them in order."""
        recipients = self._recipients(message)
        if not recipients:
            if message.answering is not None and message.channel == self.name:
                await self.store.run(log_db.answer_alone, message.answering)  # nobody to send to; still answered
            return
        text = message.text.strip() or "\n".join(m.caption for m in message.media if m.caption)
        media = tuple((m.path, m.content_type) for m in message.media)[:1]
        title = title_of(text, message.title) if text or message.title else "A picture"
        parts: list[tuple[str, tuple[tuple[str, str], ...]]]
        if media and len(text) <= CAPTION_LIMIT:
            parts = [(text, media)]  # the picture with its text as the caption
        elif media:
            parts = [(title, media)] + [(p, ()) for p in split_body(text, TEXT_LIMIT)]
        else:
            parts = [(p, ()) for p in split_body(text, TEXT_LIMIT)] if text else []  # nothing to send, still answered
        drafts = [
            Draft(
                channel=self.name,
                recipient=recipient,
                body=body,
                dedupe_key=f"{message.id}:{recipient}:{number}",
                media=pictures,
                kind=message.kind,
                title=title,
            )
            for recipient in recipients
            for number, (body, pictures) in enumerate(parts)
        ]
        await self.store.run(rows_db.enqueue, drafts, message.answering)
        for recipient in recipients:
            self.outbox.kick(recipient)

    def _recipients(self, message: Outbound) -> list[str]:
        """Replies go back to the chat they answer; alerts to each owner whose preferred channel this is."""
        if message.channel not in (None, self.name):
            return []
        if message.channel == self.name and message.recipient is not None:
            return [message.recipient] if message.recipient.lstrip("-").isdigit() else []
        owners = [o for o in self.inbox.owners.all() if o.telegram]
        if message.recipient is not None:  # a broadcast aimed at one person: by number, name or Telegram id
            who = message.recipient
            owners = [o for o in owners if who in (o.number, o.name, str(o.telegram))]
        if message.channel is None:  # an alert or notice: only where the owner prefers to get them
            owners = [o for o in owners if alert_channel(self.config, o) == self.name]
        return [str(o.telegram) for o in owners]

    async def _dead_letter(self, row: OutboxRow, detail: str) -> None:
        """Tell the owner another way (their WhatsApp, if they have it) and the dashboard's feed."""
        owner = self.inbox.owner_of(row.recipient)
        who = owner.name if owner else row.recipient
        text = f"A Telegram message to {who} could not be delivered ({detail}): {row.body[:200]}"
        title = "Telegram message undelivered"
        await self.bus.send(Outbound(channel="local", recipient=None, text=text, kind="notice", title=title))
        if owner is not None and owner.number and self.config.whatsapp.enabled:
            await self.bus.send(
                Outbound(channel="whatsapp", recipient=owner.number, text=text, kind="notice", title=title)
            )

    # -- what others read -------------------------------------------------------------------------

    async def status_line(self) -> str:
        counts = await self.store.run(rows_db.counts, self.name)
        waiting = sum(counts.get(s, 0) for s in ("queued", "sending", "unknown"))
        dead = counts.get("dead", 0)
        line = f"Telegram: {waiting} waiting to send"
        return line + (f", {dead} undeliverable (see the dashboard)." if dead else ".")

    async def snapshot(self) -> dict[str, Any]:
        """For the dashboard's outbox panel when WhatsApp is off: counts by status, the latest and the dead."""
        recent = await self.store.run(rows_db.recent, limit=50)
        dead = await self.store.run(rows_db.recent, limit=50, status="dead")
        return {
            "counts": await self.store.run(rows_db.counts, self.name),
            "recent": [r.as_dict() for r in recent],
            "dead": [r.as_dict() for r in dead],
        }
