"""Outbox rows to the Bot API: sendMessage, or sendPhoto with the alert's picture; flood control honoured."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from telegram import Bot
from telegram.error import RetryAfter

from claw.channels.delivery import Sent, Verdict
from claw.channels.telegram import bot_api
from claw.core.config import TelegramConfig
from claw.core.errors import ChannelError
from claw.core.store.outbox import OutboxRow

log = logging.getLogger(__name__)

PHOTO_LIMIT = 10 * 1024 * 1024  # the Bot API refuses larger photo uploads


class MissingToken(ChannelError):
    """The bot token is not set: messages wait in the outbox until it is."""


class TelegramTransport:
    """Sends one outbox row with the real `python-telegram-bot` client (through `[telegram] api_base`)."""

    channel = "telegram"

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self.bot: Bot | None = None
        self._quiet_until = 0.0  # monotonic: after a 429 no call goes out before this (flood control is per bot)
        self._warned = False

    def client(self) -> Bot:
        """The bot, made on first use; raises MissingToken while the token is missing."""
        if self.bot is None:
            token = bot_api.bot_token(self.config)
            if not token:
                if not self._warned:
                    log.error("telegram: %s is not set; messages wait in the outbox", self.config.token_env)
                    self._warned = True
                raise MissingToken(f"the Telegram bot token is missing (set {self.config.token_env}; see claw doctor)")
            self.bot = bot_api.make_bot(self.config, token)
        return self.bot

    async def close(self) -> None:
        if self.bot is not None:
            await self.bot.shutdown()
            self.bot = None

    async def send(self, row: OutboxRow) -> Sent:
        bot = self.client()
        wait = self._quiet_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # Telegram said how long to keep quiet; every lane waits it out
        chat_id = int(row.recipient)
        picture = await asyncio.to_thread(_picture, row)
        try:
            if picture is not None:
                message = await bot.send_photo(chat_id, picture, caption=row.body or None)
            else:
                body = row.body
                if row.media:
                    body = (body + "\n\n" if body else "") + "(the picture is no longer available)"
                message = await bot.send_message(chat_id, body)
        except RetryAfter as exc:
            self._quiet_until = max(self._quiet_until, time.monotonic() + bot_api.retry_after(exc))
            raise
        return Sent(f"{chat_id}:{message.message_id}")

    async def find(self, row: OutboxRow) -> list[str]:
        """The Bot API cannot list what a bot sent: nothing to adopt, the row is sent again."""
        return []

    def judge(self, exc: BaseException) -> tuple[Verdict, str]:
        if isinstance(exc, MissingToken):
            return "retry", str(exc)
        verdict, detail = bot_api.judge(exc)
        token = bot_api.bot_token(self.config)
        return verdict, detail.replace(token, "<token>") if token else detail


def _picture(row: OutboxRow) -> bytes | None:
    """The row's first picture, read at send time (a queued alert may go out long after it was taken)."""
    for path, _ in row.media[:1]:
        try:
            data = Path(path).read_bytes()
        except OSError:
            log.warning("telegram: picture %s for #%d is gone; sending the text", path, row.id)
            return None
        if len(data) > PHOTO_LIMIT:
            log.warning("telegram: picture %s is over 10 MB; sending the text", path)
            return None
        return data
    return None
