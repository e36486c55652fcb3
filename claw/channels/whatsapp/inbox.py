"""Inbound WhatsApp messages, after the signature check: owner check, persist once, then to the brain in order."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import mimetypes
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from claw.channels.strangers import Strangers
from claw.channels.whatsapp.twilio_http import basic_auth_header
from claw.core import principals
from claw.core.bus import Bus, Inbound, Outbound
from claw.core.config import Owner, WhatsAppConfig
from claw.core.owners import Owners, normalize
from claw.core.ratelimit import RateLimit
from claw.core.request import owner_conversation
from claw.core.secrets import secret
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store import outbox as rows_db
from claw.core.store.audit import AuditEntry
from claw.core.store.messages import Answering, Message
from claw.core.store.outbox import Arriving
from claw.core.untrusted import FORWARDED

log = logging.getLogger(__name__)

MEDIA_LIMIT = 16 * 1024 * 1024  # WhatsApp's own limit for inbound media
VOICE_REPLY = "I can't listen to voice notes yet — please type it instead (photos are fine: I can look at those)."
Transcriber = Callable[[Path, str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Arrival:
    """A persisted inbound message waiting for its media and its place on the bus."""

    owner: Owner
    message_id: int
    sid: str
    text: str
    media: tuple[tuple[str, str], ...]  # (url, content type)
    received: float


class Inbox:
    """`accept` answers the webhook fast; `run` fetches media and publishes, one message at a time, in order."""

    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        owners: Owners,
        config: WhatsAppConfig,
        media_dir: Path,
        opened: Callable[[str, int], None],
    ) -> None:
        self.store, self.bus, self.owners, self.config = store, bus, owners, config
        self.media_dir = media_dir
        self.opened = opened  # the owner wrote (their window is open): (number, held rows released)
        self.transcribe: Transcriber | None = None  # set by a part that can transcribe audio
        self._queue: asyncio.Queue[Arrival] = asyncio.Queue()
        self._denied: collections.OrderedDict[str, None] = collections.OrderedDict()  # replayed unknown sids
        self._session: aiohttp.ClientSession | None = None
        self._pending: list[tuple[Arriving, asyncio.Future[tuple[int | None, int]]]] = []
        self._senders = RateLimit(config.messages_per_minute)  # beyond: a loop or a stolen phone, refused (429)
        self._strangers = Strangers(store, "whatsapp")
        self._writer: asyncio.Task[None] | None = None

    async def accept(self, params: Mapping[str, str]) -> str:
        """Handle one verified webhook form; returns "denied", "limited", "duplicate" or "accepted"."""
        number = normalize(params.get("From", "")) or normalize(params.get("WaId", ""))
        sid = params.get("MessageSid", "")
        owner = self.owners.find(number) if number else None
        if owner is None:
            await self._deny(number, sid)
            return "denied"
        if not self._senders.allow(owner.number):
            limit = self.config.messages_per_minute
            log.warning("whatsapp: %s sent over %d messages in a minute; %s refused (429)", owner.name, limit, sid)
            return "limited"
        media = tuple(
            (params.get(f"MediaUrl{i}", ""), params.get(f"MediaContentType{i}", "application/octet-stream"))
            for i in range(_int(params.get("NumMedia", "0")))
        )
        text = params.get("Body", "")
        labels = " ".join(f"[{_label(kind)}]" for _, kind in media)
        if params.get("Forwarded", "").lower() == "true":
            # a forward, caption or not (a photo alone too), reads as the owner's own otherwise: labelled, it informs
            text = FORWARDED + (text or labels or "(empty message)")
        photos = sum(1 for _, kind in media if kind.startswith("image/"))
        content = text or labels or "(empty message)"
        message = Message("user", content, channel="whatsapp", sender=owner.name, images=photos)
        now = time.time()
        conversation = owner_conversation(owner.number)
        message_id, released = await self._persist(
            Arriving("whatsapp", conversation, message, sid or None, owner.number, now)
        )
        if message_id is None:
            log.info("whatsapp: %s from %s seen before; ignored", sid, owner.name)
            return "duplicate"
        self.opened(owner.number, released)
        self._queue.put_nowait(Arrival(owner, message_id, sid, text, media, now))
        return "accepted"

    async def _persist(self, item: Arriving) -> tuple[int | None, int]:
        """Group commit: webhooks arriving together share one transaction instead of one each."""
        future: asyncio.Future[tuple[int | None, int]] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="whatsapp inbound writes")
        return await future

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self.store.run(rows_db.arrived, [item for item, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # the request may have gone (Twilio retries; the id dedupes)
                    future.set_result(result)

    async def _deny(self, number: str, sid: str) -> None:
        if sid and sid in self._denied:
            return  # a replay of a message already audited
        if sid:
            self._denied[sid] = None
            while len(self._denied) > 1000:
                self._denied.popitem(last=False)
        await self._strangers.refused(
            number,
            AuditEntry(
                actor=f"unknown:{number or '?'}",
                path="webhook",
                action="whatsapp message",
                target=number,
                outcome="denied",
                detail=f"not an owner; ignored ({sid})" if sid else "not an owner; ignored",
            ),
        )

    async def run(self) -> None:
        """Publish accepted messages in arrival order (a supervised component)."""
        while True:
            arrival = await self._queue.get()
            try:
                await self._publish(arrival)
            except Exception:
                log.exception("whatsapp: message %s from %s could not be handled", arrival.sid, arrival.owner.name)

    async def recover(self) -> None:
        """Messages persisted before a stop but never taken up go to the brain now (photos from disk)."""
        for waiting in await self.store.run(rows_db.unanswered, "whatsapp"):
            owner = self.owners.find(waiting.conversation.removeprefix("owner:"))
            if owner is None:
                continue
            images = (
                tuple(await asyncio.to_thread(_read_images, self.media_dir, waiting.external_id))
                if waiting.external_id and waiting.images
                else ()
            )
            log.info("whatsapp: answering message #%d from %s left over from the last run", waiting.id, owner.name)
            await self.bus.publish(self._inbound(owner, waiting.content, images, waiting.id, resumed=True))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        for _, future in self._pending:
            future.cancel()
        self._pending = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _publish(self, arrival: Arrival) -> None:
        images: list[bytes] = []
        notes: list[str] = []
        voice: list[Path] = []
        for index, (url, kind) in enumerate(arrival.media):
            saved = await self._download(url, kind, arrival.sid, index)
            if saved is None:
                notes.append(f"[a {_label(kind)} that could not be fetched]")
            elif kind.startswith("image/"):
                images.append(saved[1])
            elif kind.startswith("audio/"):
                voice.append(saved[0])
            else:
                notes.append(f"[a {_label(kind)} I can't open]")
        text = arrival.text
        unheard = 0
        for path in voice:
            heard = await self._transcribe(path, arrival)
            if heard is None:
                unheard += 1
            else:
                text = f"{text}\n{heard}".strip()
        if not text and not images and not notes:
            # Only an unheard voice note: it is answered here, and the model is not asked.
            await self._say(arrival, VOICE_REPLY if unheard else "(an empty message)", answers=True)
            return
        if unheard:
            await self._say(arrival, VOICE_REPLY, answers=False)  # the rest of the message gets its own answer
        body = "\n".join(p for p in (text or ("(photo)" if images else ""), *notes) if p)
        await self.bus.publish(self._inbound(arrival.owner, body, tuple(images), arrival.message_id, arrival.received))

    def _inbound(
        self,
        owner: Owner,
        text: str,
        images: tuple[bytes, ...],
        message_id: int,
        received: float | None = None,
        *,
        resumed: bool = False,
    ) -> Inbound:
        return Inbound(
            resumed=resumed,
            channel="whatsapp",
            sender=owner.number,
            actor=owner.name,
            conversation=owner_conversation(owner.number),
            text=text,
            images=images,
            message_id=message_id,
            received=received or time.time(),
            principal=principals.owner(owner.name, "whatsapp"),
        )

    async def _transcribe(self, path: Path, arrival: Arrival) -> str | None:
        if not self.config.voice_transcription:
            return None
        if self.transcribe is None:
            log.warning("whatsapp: voice_transcription is on but nothing in this Claw can transcribe audio")
            return None
        try:
            return await self.transcribe(path, arrival.owner.name)
        except Exception:
            log.exception("whatsapp: transcribing %s failed", path.name)
            return None

    async def _say(self, arrival: Arrival, text: str, *, answers: bool) -> None:
        """Reply without a turn; `answers`: this is the whole answer (stored and marked with the reply)."""
        conversation = owner_conversation(arrival.owner.number)
        said = Message("assistant", text, channel="whatsapp", sender="claw")
        answering = None
        if answers:
            await self.store.run(log_db.take, arrival.message_id)
            answering = Answering(conversation, arrival.message_id, (said,))
        await self.bus.send(
            Outbound(channel="whatsapp", recipient=arrival.owner.number, text=text, kind="reply", answering=answering)
        )

    async def _download(self, url: str, kind: str, sid: str, index: int) -> tuple[Path, bytes] | None:
        """Fetch one attachment with Twilio basic auth into the state dir; None if it can't be had."""
        account, token = secret("twilio_account_sid"), secret("twilio_auth_token")
        url = self._located(url)
        if not self._trusted(url) or not account or not token:
            log.warning("whatsapp: not fetching media from %s (not Twilio, or no credentials)", urlsplit(url).hostname)
            return None
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        headers = {"Authorization": basic_auth_header(account, token)}
        try:
            async with self._session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as resp:
                if resp.status != 200:
                    log.warning("whatsapp: media %d of %s answered %d", index, sid, resp.status)
                    return None
                data = await resp.content.read(MEDIA_LIMIT + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("whatsapp: media %d of %s could not be fetched: %s", index, sid, exc)
            return None
        if len(data) > MEDIA_LIMIT:
            log.warning("whatsapp: media %d of %s is over 16 MB; ignored", index, sid)
            return None
        path = self.media_dir / f"{_safe(sid)}-{index}{mimetypes.guess_extension(kind) or '.bin'}"
        await asyncio.to_thread(_save, path, data)
        return path, data

    def _located(self, url: str) -> str:
        """Where to fetch a MediaUrl: a twilio.com URL goes to `[whatsapp] api_base` when one is set
        (path and query kept), as every REST call does, so a daemon pointed elsewhere never calls Twilio."""
        if not self.config.api_base:
            return url
        parts = urlsplit(url)
        if not _twilio_host(parts.hostname):
            return url
        return self.config.api_base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")

    def _trusted(self, url: str) -> bool:
        """The configured API base if there is one, else Twilio over HTTPS: the only place our credentials go."""
        parts = urlsplit(url)
        if self.config.api_base:
            base = urlsplit(self.config.api_base)
            return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        return parts.scheme == "https" and _twilio_host(parts.hostname)


def _twilio_host(hostname: str | None) -> bool:
    host = (hostname or "").lower()
    return host == "twilio.com" or host.endswith(".twilio.com")


def _int(value: str) -> int:
    try:
        return max(0, min(int(value), 10))
    except ValueError:
        return 0


def _label(kind: str) -> str:
    major = kind.split("/", maxsplit=1)[0]
    return {"image": "photo", "audio": "voice note", "video": "video"}.get(major, f"{kind} file")


def _safe(sid: str) -> str:
    return "".join(ch for ch in sid if ch.isalnum())[:64] or "media"


def _save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _read_images(folder: Path, sid: str) -> list[bytes]:
    images = []
    for path in sorted(folder.glob(f"{_safe(sid)}-*")):
        kind = mimetypes.guess_type(path.name)[0] or ""
        if kind.startswith("image/"):
            images.append(path.read_bytes())
    return images
