"""The outbox sender: persisted rows go out in order per recipient, retried, checked, never sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from claw.core.backoff import Backoff
from claw.core.store import Store
from claw.core.store import outbox as rows_db
from claw.core.store.outbox import OutboxRow

log = logging.getLogger(__name__)

Verdict: TypeAlias = Literal["retry", "unknown", "permanent", "template"]


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider accepted the message under this id."""

    provider_id: str


@dataclass(frozen=True, slots=True)
class Held:
    """Not sendable now (outside the 24 h window): hold it; `template` queues a template behind it."""

    template: bool


class Transport(Protocol):
    """How rows reach a provider (Twilio WhatsApp today; another bridge later)."""

    channel: str

    async def send(self, row: OutboxRow) -> Sent | Held:
        """Send one row once; raise on failure (never retry inside)."""

    async def find(self, row: OutboxRow) -> list[str]:
        """Provider ids of already-sent messages that look like `row`, oldest first (the resend check)."""

    def judge(self, exc: BaseException) -> tuple[Verdict, str]:
        """What a failure means, and a short description with the provider's error code."""


SEND_GRACE = 3.0  # seconds a stop waits for sends already under way (inside the supervisor's 4 s)

DeadLetter = Callable[[OutboxRow, str], Awaitable[None]]


class Outbox:
    """One lane per recipient sends its oldest pending row, waits out backoffs, and never skips ahead."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        backoff: Backoff | None = None,
        give_up: float = 24 * 3600.0,
        on_dead: DeadLetter | None = None,
    ) -> None:
        self.store, self.transport = store, transport
        self.channel = transport.channel
        self.backoff = backoff or Backoff(jitter=True)
        self.give_up = give_up
        self.on_dead = on_dead
        self.sent = 0  # accepted by the provider since start (benchmarks, status line)
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._kicked: dict[str, bool] = {}
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()  # recipients whose lane is between send and its record
        self._stopping = False

    def kick(self, recipient: str | None = None) -> None:
        """New or released rows: make sure a lane runs for `recipient` (None: look at every recipient)."""
        if recipient is not None:
            self._kicked[recipient] = True
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled (a supervised component); lanes are owned here and stopped with it."""
        recovered = await self.store.run(rows_db.recover, self.channel)
        if recovered:
            log.warning(
                "%s outbox: %d message(s) were being sent at shutdown; checking before resending",
                self.channel,
                recovered,
            )
        try:
            while True:
                self._wake.clear()
                for recipient in await self.store.run(rows_db.pending_recipients, self.channel):
                    if recipient not in self._lanes:
                        self._lanes[recipient] = asyncio.create_task(
                            self._lane(recipient), name=f"{self.channel} outbox {recipient}"
                        )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=5.0)
        finally:
            # A graceful stop lets a send already on the wire be recorded (Telegram cannot be asked later).
            self._stopping = True
            busy = [task for recipient, task in self._lanes.items() if recipient in self._in_flight]
            if busy:
                await asyncio.wait(busy, timeout=SEND_GRACE)
            lanes = [task for task in self._lanes.values() if not task.done()]
            for task in lanes:
                task.cancel()
            for task in lanes:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._lanes.clear()

    async def _lane(self, recipient: str) -> None:
        try:
            while not self._stopping:
                self._kicked.pop(recipient, None)
                row = await self.store.run(rows_db.head, self.channel, recipient)
                if row is None:
                    if self._kicked.pop(recipient, False):
                        continue  # something arrived while we looked
                    del self._lanes[recipient]  # in the same step as the check: run() starts a new lane
                    return
                wait = row.next_attempt - time.time()
                if wait > 0:
                    await asyncio.sleep(min(wait, 2.0))  # re-read: a release or a callback may change the head
                    continue
                self._in_flight.add(recipient)
                try:
                    await self._attempt(row)
                finally:
                    self._in_flight.discard(recipient)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s outbox lane for %s failed; it restarts on the next wake-up", self.channel, recipient)
            self._lanes.pop(recipient, None)
            await asyncio.sleep(1.0)
            self.kick()

    async def _attempt(self, row: OutboxRow) -> None:
        """One step for one row: check (if its last send is unknown), send, and record what happened."""
        # Trying since it was made, or since its recipient last wrote (a held row is released then).
        if time.time() - max(row.created, row.last_inbound) > self.give_up:
            await self._dead(row, f"not sent after {self.give_up / 3600:.0f} h ({row.error or 'no answer'})")
            return
        if not await self.store.run(rows_db.claim, row.id):
            return  # a status callback settled it meanwhile
        checked = row.status == "unknown"
        try:
            if checked and await self._already_sent(row):
                return
            result = await self.transport.send(row)
        except asyncio.CancelledError:
            raise  # the row stays 'sending': start-up turns it into 'unknown' and checks before resending
        except Exception as exc:
            await self._failed(row, exc, checked=checked)
            return
        if isinstance(result, Held):
            await self.store.run(rows_db.hold, row.id, template=result.template)
            log.info(
                "%s outbox: #%d for %s held until they write (window closed%s)",
                self.channel,
                row.id,
                row.recipient,
                ", template queued" if result.template else "",
            )
            return
        await self.store.run(rows_db.mark_sent, row.id, result.provider_id)
        self.sent += 1
        log.debug("%s outbox: #%d sent to %s as %s", self.channel, row.id, row.recipient, result.provider_id)

    async def _already_sent(self, row: OutboxRow) -> bool:
        """Look the message up at the provider; adopt a match no other row owns."""
        candidates = await self.transport.find(row)
        owned = await self.store.run(rows_db.claimed, candidates, besides=row.id)
        for provider_id in candidates:
            if provider_id not in owned:
                await self.store.run(rows_db.mark_sent, row.id, provider_id)
                log.info("%s outbox: #%d had gone out already (%s); not resent", self.channel, row.id, provider_id)
                return True
        return False

    async def _failed(self, row: OutboxRow, exc: BaseException, *, checked: bool) -> None:
        verdict, detail = self.transport.judge(exc)
        attempts = row.attempts + 1
        if verdict == "template" and row.kind == "template":
            await self._dead(row, detail)  # a template refused as if free-form: it will never pass
        elif verdict == "template":
            await self.store.run(rows_db.close_window, row.recipient)
            await self.store.run(rows_db.reschedule, row.id, status="queued", delay=0.0, error=detail)
            log.info("%s outbox: #%d refused outside the window; it goes the template way", self.channel, row.id)
        elif verdict == "permanent":
            await self._dead(row, detail)
        else:
            # After an unknown outcome the next attempt looks first; a plain retry means nothing left.
            status = "unknown" if verdict == "unknown" or checked else "queued"
            delay = self.backoff.delay(attempts)
            await self.store.run(rows_db.reschedule, row.id, status=status, delay=delay, error=detail)
            log.info(
                "%s outbox: #%d to %s failed (%s, %s); next try in %.1f s",
                self.channel,
                row.id,
                row.recipient,
                detail,
                verdict,
                delay,
            )

    async def _dead(self, row: OutboxRow, detail: str) -> None:
        await self.store.run(rows_db.kill, row.id, detail)
        log.error("%s outbox: #%d to %s dead-lettered: %s", self.channel, row.id, row.recipient, detail)
        if self.on_dead is not None:
            try:
                await self.on_dead(row, detail)
            except Exception:
                log.exception("dead-letter notice failed")
