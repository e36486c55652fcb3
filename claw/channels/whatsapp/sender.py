"""Outbox rows to Twilio's Messages API: free-form inside the 24 h window, the template outside it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException

from claw.channels.delivery import Held, Sent, Verdict
from claw.channels.whatsapp.twilio_http import classify, make_client, needs_template
from claw.core.config import WhatsAppConfig
from claw.core.errors import ChannelError
from claw.core.media import MAX_BYTES, MediaTokens
from claw.core.secrets import secret
from claw.core.store.outbox import OutboxRow

log = logging.getLogger(__name__)

WINDOW_MARGIN = 120.0  # seconds: stop free-form a little before Twilio would refuse it
FAILED = frozenset({"failed", "undelivered", "canceled"})


class MissingCredentials(ChannelError):
    """TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is not set: messages wait in the outbox until it is."""


class TwilioTransport:
    """Sends one outbox row with the real `twilio` client (through `[whatsapp] api_base`)."""

    channel = "whatsapp"

    def __init__(self, config: WhatsAppConfig, media: MediaTokens) -> None:
        self.config = config
        self.media = media
        self.public_url = config.public_url.rstrip("/")
        self._client: Any = None
        self._warned = False

    def window_open(self, last_inbound: float, now: float | None = None) -> bool:
        """Free-form is allowed: the recipient wrote within the window (less a safety margin)."""
        now = time.time() if now is None else now
        return last_inbound > 0 and now - last_inbound < self.config.window_hours * 3600 - WINDOW_MARGIN

    def client(self) -> Any:
        """The Twilio client, made on first use; raises MissingCredentials while a secret is missing."""
        if self._client is None:
            sid, token = secret("twilio_account_sid"), secret("twilio_auth_token")
            if not sid or not token:
                if not self._warned:
                    log.error("whatsapp: TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN missing; messages wait in the outbox")
                    self._warned = True
                raise MissingCredentials("Twilio credentials are missing (see `claw doctor`)")
            self._client = make_client(sid, token, self.config.api_base or None, timeout=self.config.send_timeout)
        return self._client

    def warm(self) -> None:
        """Make the client and load the SDK's lazily imported modules now (in a thread), not on the first send."""
        with contextlib.suppress(MissingCredentials):
            self.client().messages.list  # noqa: B018  # the attribute access is what imports

    async def close(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()
            self._client = None

    async def send(self, row: OutboxRow) -> Sent | Held:
        client = self.client()
        kwargs: dict[str, Any] = {"to": f"whatsapp:{row.recipient}", "from_": self.config.sender}
        if self.public_url:
            kwargs["status_callback"] = f"{self.public_url}/twilio/status?row={row.id}"
        if row.kind == "template":
            kwargs["content_sid"] = self.config.template_sid
            kwargs["content_variables"] = json.dumps({"1": row.body}, ensure_ascii=False)
        elif not self.window_open(row.last_inbound):
            return Held(template=bool(self.config.template_sid))
        else:
            urls = self._media_urls(row)
            body = row.body
            if row.media and not urls:
                body = (body + "\n\n" if body else "") + "(the picture is no longer available)"
            kwargs["body"] = body
            if urls:
                kwargs["media_url"] = urls
        # The client bounds each request already; this bounds the whole call (SDK parsing included).
        message = await asyncio.wait_for(client.messages.create_async(**kwargs), self.config.send_timeout + 2)
        return Sent(str(message.sid))

    def _media_urls(self, row: OutboxRow) -> list[str]:
        """Fresh tokens at send time: a held picture may go out hours after it was taken."""
        urls: list[str] = []
        for path, content_type in row.media:
            try:
                size = Path(path).stat().st_size
            except OSError:
                log.warning("whatsapp: picture %s for #%d is gone; sending the text", path, row.id)
                continue
            if size > MAX_BYTES:
                log.warning("whatsapp: picture %s is over 5 MB; Twilio would refuse it", path)
                continue
            urls.append(f"{self.public_url}/media/{self.media.issue(path, content_type)}")
        return urls

    async def find(self, row: OutboxRow) -> list[str]:
        """Messages to the recipient since shortly before the row was made, whose body matches it."""
        client = self.client()
        after = datetime.fromtimestamp(row.created - 60, UTC)
        found = await asyncio.wait_for(
            client.messages.list_async(to=f"whatsapp:{row.recipient}", date_sent_after=after, limit=500, page_size=500),
            self.config.send_timeout * 3,
        )
        matches = []
        for m in reversed(found):  # Twilio lists newest first
            if m.status in FAILED:
                continue
            body = m.body or ""
            if (row.kind == "template" and row.body and row.body in body) or body == row.body:
                matches.append(str(m.sid))
        return matches

    def judge(self, exc: BaseException) -> tuple[Verdict, str]:
        if isinstance(exc, MissingCredentials):
            return "retry", str(exc)
        if needs_template(exc):
            return "template", _describe(exc)
        return classify(exc), _describe(exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TwilioRestException):
        return f"Twilio {exc.status} error {exc.code}: {exc.msg}"[:300]
    if isinstance(exc, TwilioException) and len(exc.args) > 1:
        status = getattr(exc.args[1], "status_code", "?")
        return f"Twilio answered {status} ({exc.args[0]})"[:300]
    return f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
