"""WhatsApp through Twilio: signed webhooks in, the outbox out, one conversation per owner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from claw.channels.delivery import Outbox
from claw.channels.whatsapp.inbox import Inbox
from claw.channels.whatsapp.owners import OwnerChanges, Owners, normalize
from claw.channels.whatsapp.sender import TwilioTransport
from claw.channels.whatsapp.text import split_body, title_of
from claw.channels.whatsapp.twilio_http import PERMANENT_CODES, TEMPLATE_CODES
from claw.core.backoff import Backoff
from claw.core.bus import Bus, Outbound
from claw.core.config import Config
from claw.core.errors import ConfigError
from claw.core.media import MediaTokens
from claw.core.safety import Guard
from claw.core.secrets import secret
from claw.core.store import Store
from claw.core.store import outbox as rows_db
from claw.core.store.outbox import Draft, OutboxRow
from claw.core.supervisor import Component, Supervisor

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
NO_PUBLIC_URL = "(pictures need [whatsapp] public_url)"
DELIVERY_TRIES = 3  # a message Twilio accepted but could not deliver (not for a permanent reason) is resent this often
DELIVERED = frozenset({"delivered", "read"})
ACCEPTED = frozenset({"accepted", "scheduled", "queued", "sending", "sent"})
FAILED = frozenset({"failed", "undelivered", "canceled"})


class WhatsApp:
    """The WhatsApp channel (`name = "whatsapp"`): built by the daemon when `[whatsapp] enabled`."""

    name = "whatsapp"

    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        bus: Bus,
        media: MediaTokens,
        supervisor: Supervisor,
        guard: Guard,
    ) -> None:
        if not config.whatsapp.sender:
            raise ConfigError(config.source, "whatsapp.sender", "is empty", 'set it, e.g. "whatsapp:+14155238886"')
        self.config = config
        self.wa = config.whatsapp
        self.store, self.bus, self.supervisor = store, bus, supervisor
        self.public_url = self.wa.public_url.rstrip("/")
        self.owners = Owners(config.owners, store)
        self.owner_changes = OwnerChanges(self.owners, guard, store)
        self.transport = TwilioTransport(self.wa, media)
        self.outbox = Outbox(
            store,
            self.transport,
            backoff=Backoff(self.wa.retry_base, self.wa.retry_max_delay, jitter=True),
            give_up=self.wa.give_up_hours * 3600,
            on_dead=self._dead_letter,
        )
        self.inbox = Inbox(
            store=store,
            bus=bus,
            owners=self.owners,
            config=self.wa,
            media_dir=config.state_path / "whatsapp" / "media",
            opened=self._opened,
        )
        self._components: list[Component] = []
        self._warned: set[str] = set()
        self._started = False

    # -- lifetime ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.owners.load()
        if not secret("twilio_auth_token") or not secret("twilio_account_sid"):
            log.error("whatsapp: TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN missing: webhooks get 503, replies wait")
        if not self.public_url:
            log.warning("whatsapp: [whatsapp] public_url is empty: pictures go out as text, no delivery receipts")
        # The SDK imports its modules lazily (~0.2 s): a first send mid-burst would block the event loop.
        await asyncio.to_thread(self.transport.warm)
        await self.inbox.recover()
        self._started = True
        self._components = [
            self.supervisor.start("whatsapp outbox", self.outbox.run),
            self.supervisor.start("whatsapp intake", self.inbox.run),
        ]
        log.info("whatsapp: %d owner(s), sending as %s", len(self.owners.all()), self.wa.sender)

    async def stop(self) -> None:
        if not self._started:
            return  # start() failed before anything was running
        tasks = [c.task for c in self._components if c.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._components = []
        await self.transport.close()
        await self.inbox.close()

    def routes(self, app: web.Application) -> None:
        """The public listener's webhooks: messages and delivery receipts."""
        app.router.add_post("/twilio/whatsapp", self._webhook)
        app.router.add_post("/twilio/status", self._status)

    # -- the channel ------------------------------------------------------------------------------

    async def deliver(self, message: Outbound) -> None:
        """Persist one row per part per owner before anything is sent; the outbox sends them in order."""
        recipients = self._recipients(message)
        if not recipients:
            return
        text = message.text.strip() or "\n".join(m.caption for m in message.media if m.caption)
        media = tuple((m.path, m.content_type) for m in message.media)
        if media and not self.public_url:
            text = f"{text}\n\n{NO_PUBLIC_URL}" if text else NO_PUBLIC_URL
            media = ()
        parts = split_body(text) if text else [""]
        title = title_of(text, message.title) if text or message.title else "A picture"
        drafts = [
            Draft(
                channel=self.name,
                recipient=recipient,
                body=part,
                dedupe_key=f"{message.id}:{recipient}:{number}",
                media=media if number == 0 else (),
                kind=message.kind,
                title=title,
            )
            for recipient in recipients
            for number, part in enumerate(parts)
        ]
        await self.store.run(rows_db.enqueue, drafts)
        for recipient in recipients:
            self.outbox.kick(recipient)

    def _recipients(self, message: Outbound) -> list[str]:
        if message.channel not in (None, self.name):
            return []
        if message.recipient is None:
            return [o.number for o in self.owners.all()]
        number = normalize(message.recipient)
        if message.channel == self.name:
            return [number] if len(number) > 6 else []
        return [number] if self.owners.find(number) else []  # a broadcast aimed at one person

    # -- the public listener ----------------------------------------------------------------------

    async def _verified(self, request: web.Request) -> MultiDict[str]:
        """The form, if `X-Twilio-Signature` matches it and the public URL; else 403 (503 without a token)."""
        token = secret("twilio_auth_token")
        if not token:
            self._warn_once("token", "whatsapp: webhook refused (503): TWILIO_AUTH_TOKEN is not set")
            raise web.HTTPServiceUnavailable(text="not configured")
        form = await request.post()
        params: MultiDict[str] = MultiDict((k, v) for k, v in form.items() if isinstance(v, str))
        base = self.public_url or f"{request.scheme}://{request.host}"
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not RequestValidator(token).validate(base + request.raw_path, params, signature):
            log.warning("whatsapp: %s refused: bad or missing signature (from %s)", request.path, request.remote)
            raise web.HTTPForbidden(text="bad signature")
        return params

    async def _webhook(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        await self.inbox.accept(params)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def _status(self, request: web.Request) -> web.Response:
        """Twilio's delivery receipts: the row is named in the callback URL we gave with the message."""
        params = await self._verified(request)
        try:
            row_id = int(request.query.get("row", "0"))
        except ValueError:
            row_id = 0
        store = self.store
        row = await store.run(rows_db.get, row_id) if row_id else None
        sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
        if row is None or row.channel != self.name or (row.provider_id and row.provider_id != sid):
            return web.Response(status=204)  # not ours, or about an earlier attempt
        if status in DELIVERED:
            await store.run(rows_db.mark_delivered, row.id, sid)
        elif status in ACCEPTED:
            await store.run(rows_db.mark_sent, row.id, sid)
        elif status in FAILED and row.status not in ("held", "dead", "skipped"):
            await self._undelivered(row, _int(params.get("ErrorCode", "")))
        return web.Response(status=204)

    async def _undelivered(self, row: OutboxRow, code: int | None) -> None:
        store = self.store
        if code in TEMPLATE_CODES and row.kind != "template":
            # Accepted, then refused: the window was closed after all. Hold it behind a template.
            await store.run(rows_db.close_window, row.recipient)
            await store.run(rows_db.hold, row.id, template=bool(self.wa.template_sid))
            log.info(
                "whatsapp: #%d to %s failed outside the window; held for their next message", row.id, row.recipient
            )
            self.outbox.kick(row.recipient)
        elif code in PERMANENT_CODES or row.attempts >= DELIVERY_TRIES:
            detail = f"Twilio could not deliver it (error {code})" if code else "Twilio could not deliver it"
            await store.run(rows_db.kill, row.id, detail)
            await self._dead_letter(row, detail)
        else:
            delay = self.outbox.backoff.delay(row.attempts)
            await store.run(
                rows_db.reschedule,
                row.id,
                status="queued",
                delay=delay,
                error=f"undelivered (error {code}); resending",
                after=row.status,
                forget=True,
            )
            self.outbox.kick(row.recipient)

    def _opened(self, number: str, released: int) -> None:
        if released:
            log.info("whatsapp: %s wrote; %d held message(s) go out first", number, released)
        self.outbox.kick(number)

    async def _dead_letter(self, row: OutboxRow, detail: str) -> None:
        """Tell the dashboard's feed, through the local channel only (`app.notify` would come back here)."""
        owner = self.owners.find(row.recipient)
        who = owner.name if owner else row.recipient
        text = f"A WhatsApp message to {who} could not be delivered ({detail}): {row.body[:200]}"
        title = "WhatsApp message undelivered"
        await self.bus.send(Outbound(channel="local", recipient=None, text=text, kind="notice", title=title))

    # -- what others read -------------------------------------------------------------------------

    async def snapshot(self) -> dict[str, Any]:
        """For the dashboard: counts by status, the latest rows and the dead letters."""
        store = self.store
        recent = await store.run(rows_db.recent, limit=50)
        dead = await store.run(rows_db.recent, limit=50, status="dead")
        return {
            "counts": await store.run(rows_db.counts, self.name),
            "recent": [r.as_dict() for r in recent],
            "dead": [r.as_dict() for r in dead],
        }

    async def status_line(self) -> str:
        counts = await self.store.run(rows_db.counts, self.name)
        waiting = sum(counts.get(s, 0) for s in ("queued", "sending", "unknown"))
        line = f"WhatsApp: {waiting} waiting to send, {counts.get('held', 0)} held for the 24 h window"
        dead = counts.get("dead", 0)
        return line + (f", {dead} undeliverable (see the dashboard)." if dead else ".")

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.error(text)


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None
