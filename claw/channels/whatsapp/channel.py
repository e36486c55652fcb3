"""WhatsApp through Twilio: signed webhooks in, the outbox out, one conversation per owner."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import StreamReader, web
from aiohttp.web_protocol import RequestPayloadError
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from claw.channels.delivery import Outbox
from claw.channels.message_parts import split_body, title_of
from claw.channels.whatsapp.inbox import Inbox
from claw.channels.whatsapp.sender import TwilioTransport
from claw.channels.whatsapp.twilio_http import PERMANENT_CODES, TEMPLATE_CODES
from claw.core.backoff import Backoff
from claw.core.bus import Bus, Outbound
from claw.core.config import Config, alert_channel
from claw.core.errors import ConfigError
from claw.core.media import MediaTokens
from claw.core.owners import Owners, normalize
from claw.core.secrets import secret
from claw.core.store import Store
from claw.core.store import messages as log_db
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
FORM_TYPE = "application/x-www-form-urlencoded"  # all Twilio posts to the webhooks
FORM_LIMIT = 64 * 1024  # Twilio's forms are a few kB (a 1600-character body, ten media URLs)
CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
MAX_FIELDS = 200  # Twilio sends ~20 (plus two per media item)
REFUSALS_PER_MINUTE = 20  # warning lines for refused webhooks; a flood is counted, not logged line by line


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
        owners: Owners,
    ) -> None:
        if not config.whatsapp.sender:
            raise ConfigError(config.source, "whatsapp.sender", "is empty", 'set it, e.g. "whatsapp:+14155238886"')
        self.config = config
        self.wa = config.whatsapp
        self.store, self.bus, self.supervisor = store, bus, supervisor
        self.public_url = self.wa.public_url.rstrip("/")
        self.owners = owners  # the one identity map, shared with every channel
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
        self._refusal_window, self._refusals_shown, self._refusals_hidden = -60.0, 0, 0

    # -- lifetime ---------------------------------------------------------------------------------

    async def start(self) -> None:
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
        on_whatsapp = sum(1 for o in self.owners.all() if o.number)
        log.info("whatsapp: %d owner(s), sending as %s", on_whatsapp, self.wa.sender)

    async def stop(self) -> None:
        if not self._started:
            return  # start() failed before anything was running
        await self.supervisor.cancel(self._components)
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
            if message.answering is not None and message.channel == self.name:
                await self.store.run(log_db.answer_alone, message.answering)  # nobody to send to; still answered
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
        await self.store.run(rows_db.enqueue, drafts, message.answering)
        for recipient in recipients:
            self.outbox.kick(recipient)

    def _recipients(self, message: Outbound) -> list[str]:
        if message.channel not in (None, self.name):
            return []
        if message.recipient is None:  # everyone: an alert (channel None) goes to each owner's preferred channel
            anyway = message.channel == self.name
            owners = [o for o in self.owners.all() if o.number]  # an owner on Telegram only has no number
            return [o.number for o in owners if anyway or alert_channel(self.config, o) == self.name]
        number = normalize(message.recipient)
        if message.channel == self.name:
            return [number] if len(number) > 6 else []
        return [number] if self.owners.find(number) else []  # a broadcast aimed at one person

    # -- the public listener ----------------------------------------------------------------------

    async def _verified(self, request: web.Request) -> MultiDict[str]:
        """The form Twilio signed, if `X-Twilio-Signature` matches it and the public URL.

        Nothing parses the body before the signature is checked: the raw bytes are read within
        `FORM_LIMIT` (413 beyond it, refused before reading when declared), refused unless they are
        a plain, uncompressed form in a known charset (400), decoded here into the params Twilio
        signs (400 if malformed), then validated (403). 503 without a token. A bad request costs
        one warning line, never a traceback.
        """
        token = secret("twilio_auth_token")
        if not token:
            self._warn_once("token", "whatsapp: webhook refused (503): TWILIO_AUTH_TOKEN is not set")
            raise web.HTTPServiceUnavailable(text="not configured")
        declared = request.content_length if request.headers.get("Content-Length", "").isdigit() else None
        if declared is not None and declared > FORM_LIMIT:
            raise self._refused(request, _too_large(declared), f"body of {declared} bytes")
        if (why := _not_a_form(request)) is not None:
            raise self._refused(request, web.HTTPBadRequest(text="expected a form"), why)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise self._refused(request, web.HTTPForbidden(text="bad signature"), "no signature")
        try:
            body = await _read_limited(request.content, FORM_LIMIT)
        except _TooLarge as exc:
            raise self._refused(request, _too_large(exc.size), f"body over {FORM_LIMIT} bytes") from None
        except (RequestPayloadError, ConnectionError) as exc:
            raise self._refused(
                request, web.HTTPBadRequest(text="unreadable body"), f"unreadable body: {exc}"
            ) from None
        try:
            params = form_params(body)
        except ValueError as exc:
            raise self._refused(request, web.HTTPBadRequest(text="malformed form"), f"malformed form: {exc}") from None
        base = self.public_url or f"{request.scheme}://{request.host}"
        try:
            valid = RequestValidator(token).validate(base + request.raw_path, params, signature)
        except ValueError:  # an unparsable Host or path (UnicodeError included): it can't be what Twilio signed
            valid = False
        if not valid:
            raise self._refused(request, web.HTTPForbidden(text="bad signature"), "bad signature")
        return params

    def _refused(self, request: web.Request, error: web.HTTPException, why: str) -> web.HTTPException:
        """One warning line per refused webhook, at most `REFUSALS_PER_MINUTE` a minute; the rest are counted."""
        now = time.monotonic()
        if now - self._refusal_window >= 60.0:
            if self._refusals_hidden:
                log.warning("whatsapp: %d more webhook(s) refused in the last minute", self._refusals_hidden)
            self._refusal_window, self._refusals_shown, self._refusals_hidden = now, 0, 0
        if self._refusals_shown < REFUSALS_PER_MINUTE:
            self._refusals_shown += 1
            log.warning(
                "whatsapp: %s refused (%d): %s (from %s)",
                request.path,
                error.status,
                " ".join(why.split())[:200],  # one line, whatever the sender put in it
                request.remote,
            )
        else:
            self._refusals_hidden += 1
        return error

    async def _webhook(self, request: web.Request) -> web.Response:
        params = await self._verified(request)
        if await self.inbox.accept(params) == "limited":  # not taken, so not promised: Twilio reports it
            return web.Response(status=429, text="too many messages", headers={"Retry-After": "60"})
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


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _too_large(size: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(max_size=FORM_LIMIT, actual_size=size)


def _not_a_form(request: web.Request) -> str | None:
    """Why the body is not what Twilio posts (a plain form in UTF-8 or ASCII), or None."""
    try:
        request.content_type, request.charset  # noqa: B018 (parsing the header can fail: `charset*` with no `=`)
    except (IndexError, ValueError):
        return "unparsable content type"
    if request.content_type != FORM_TYPE:
        return f"content type {request.content_type[:60]!r}"
    charset = (request.charset or "utf-8").lower()
    if charset not in CHARSETS:
        return f"charset {charset[:40]!r}"
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return f"content encoding {encoding[:40]!r}"
    return None


async def _read_limited(stream: StreamReader, limit: int) -> bytes:
    """The whole body, or `_TooLarge` as soon as more than `limit` bytes have come."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _TooLarge(size)
    return b"".join(chunks)


def form_params(body: bytes) -> MultiDict[str]:
    """Decode a form-encoded body into the params Twilio signs (blank values kept); ValueError if malformed."""
    text = body.decode("utf-8")  # percent-encoded UTF-8: a form is ASCII on the wire (UnicodeError is a ValueError)
    pairs = parse_qsl(
        text, keep_blank_values=True, strict_parsing=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS
    )
    return MultiDict(pairs)


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None
