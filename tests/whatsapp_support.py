"""A daemon with the WhatsApp part, wired to the Twilio fake and the scripted model: helpers for the WhatsApp tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from claw.channels.whatsapp.channel import WhatsApp
from claw.core.config import Config
from claw.core.store import outbox as rows_db
from claw.daemon import Daemon as ClawDaemon
from claw.daemon import build
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook

SENDER = "whatsapp:+14155238886"
SAM = "+15551234567"
ALEX = "+15557654321"
STRANGER = "+15550000000"
TEMPLATE = "HX" + "a" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


@dataclass
class Daemon:
    """A running Daemon with the WhatsApp part, and the ways a test talks to it."""

    app: ClawDaemon
    fake: FakeTwilio
    part: WhatsApp = field(init=False)

    def __post_init__(self) -> None:
        part = self.app.whatsapp
        self.part = part

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.app.config.public.port}"

    async def post(
        self,
        params: dict[str, str],
        *,
        path: str = "/twilio/whatsapp",
        token: str | None = None,
        signed_url: str | None = None,
        signature: str | None = None,
    ) -> tuple[int, str, str]:
        """POST a form to the public listener, signed for `signed_url` (default: the URL posted to)."""
        url = self.base + path
        form, headers = signed_webhook(signed_url or url, params, token or self.fake.auth_token)
        if signature is not None:
            headers = {"X-Twilio-Signature": signature} if signature else {}
        async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as resp:
            return resp.status, resp.content_type, await resp.text()

    async def say(self, text: str, number: str = SAM, **kwargs: Any) -> dict[str, str]:
        """The owner writes (the fake's window opens too, as Twilio's would); returns the form sent."""
        self.fake.record_inbound(f"whatsapp:{number}")
        params = inbound_params(f"whatsapp:{number}", text, **kwargs)
        status, _, _ = await self.post(params)
        assert status == 200
        return params

    def bodies(self, number: str = SAM) -> list[str]:
        """Bodies the fake accepted for `number` and did not fail, in order."""
        return [m["body"] for m in self.fake.delivered(f"whatsapp:{number}")]

    async def rows(self) -> list[rows_db.OutboxRow]:
        return list(reversed(await self.app.store.run(rows_db.recent, limit=1000)))


async def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def start_daemon(config: Config, fake: FakeTwilio) -> Daemon:
    app = build(config, parts={"whatsapp"})
    await app.start()
    return Daemon(app, fake)
