"""The real `python-telegram-bot` client pointed at any Bot API base, and what its errors mean for the outbox.

Errors a Bot API call raises, and what `judge` makes of them:

- `RetryAfter` (429, flood control): "retry", after at least `retry_after` seconds (`retry_after` says it).
- `Forbidden` (403: the user blocked the bot, or never started it): "permanent".
- `BadRequest` (400: chat not found, text too long): "permanent" (checked before `NetworkError`, its base).
- `InvalidToken` (401/404): "retry" — the token is fixed by the owner, and the message waits until then.
- `TimedOut`, other `NetworkError` (refused, reset, 5xx, 502 while Telegram is down): "retry". The Bot API
  has no idempotency key and no way to list sent messages, so a timeout after Telegram took the request can,
  rarely, send a message twice; refusals and 5xx answers never do.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from claw.channels.delivery import Verdict
from claw.core.config import TelegramConfig
from claw.core.secrets import secret

REAL_API = "https://api.telegram.org"
CREDENTIAL = "telegram_bot_token"  # the systemd credential's name


def bot_token(config: TelegramConfig) -> str | None:
    """The bot token from systemd credentials (telegram_bot_token) or the environment (`token_env`)."""
    return secret(CREDENTIAL, config.token_env)


def make_bot(config: TelegramConfig, token: str) -> Bot:
    """A `Bot` on `[telegram] api_base`: every call bounded by `send_timeout`, long polls by `poll_timeout` more."""
    base = (config.api_base or REAL_API).rstrip("/")
    limit = config.send_timeout
    calls = HTTPXRequest(
        connection_pool_size=8,
        read_timeout=limit,
        write_timeout=limit,
        connect_timeout=limit,
        pool_timeout=limit,
        media_write_timeout=limit * 3,
    )
    polls = HTTPXRequest(connection_pool_size=1, read_timeout=limit, connect_timeout=limit, pool_timeout=limit)
    return Bot(
        token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=calls, get_updates_request=polls
    )


def retry_after(exc: BaseException) -> float:
    """Seconds Telegram asked us to wait (0 unless `exc` is a RetryAfter); int in PTB 21-22, timedelta later."""
    if not isinstance(exc, RetryAfter):
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the type will change; both are handled
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def judge(exc: BaseException) -> tuple[Verdict, str]:
    """What a failed send means for the outbox (see the module docstring), and a short description."""
    detail = describe(exc)
    if isinstance(exc, RetryAfter | InvalidToken):
        return "retry", detail
    if isinstance(exc, Forbidden | BadRequest | ChatMigrated):
        return "permanent", detail
    return "retry", detail


def describe(exc: BaseException) -> str:
    """One line, never the token (PTB's messages do not carry URLs; others are cut short)."""
    if isinstance(exc, RetryAfter):
        return f"Telegram flood control: retry after {retry_after(exc):g} s"
    if isinstance(exc, TelegramError):
        return f"Telegram: {exc.message}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
