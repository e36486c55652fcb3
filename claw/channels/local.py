"""The local channel: `claw chat`, `POST /api/chat` and the dashboard's chat panel."""

from __future__ import annotations

import asyncio
import collections
import logging

from claw.core.bus import Bus, Inbound, Outbound
from claw.core.errors import DiskFull
from claw.core.principals import Principal, dashboard
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store.messages import Message

log = logging.getLogger(__name__)


class LocalChannel:
    """Requests wait for their reply; notifications for the owners are kept for the dashboard feed."""

    def __init__(
        self,
        bus: Bus,
        store: Store,
        *,
        actor: str,
        conversation: str,
        name: str = "local",
        keeps_notices: bool = True,
        principal: Principal | None = None,
    ) -> None:
        self.bus, self.store = bus, store
        self.actor, self.conversation, self.name = actor, conversation, name
        # who types here: the owner's dashboard session (`claw chat`, the chat panel), unless told otherwise
        self.principal = principal or dashboard(actor)
        self.keeps_notices = keeps_notices  # an API client is not where owners read their alerts
        self._waiting: dict[str, asyncio.Future[Outbound]] = {}
        self.notifications: collections.deque[Outbound] = collections.deque(maxlen=200)

    async def ask(
        self,
        text: str,
        *,
        images: tuple[bytes, ...] = (),
        timeout: float = 300.0,
        conversation: str | None = None,
        sender: str = "local",
        principal: Principal | None = None,
    ) -> Outbound:
        """Persist the message, hand it to the router and wait for the reply; `principal`: who wrote it when
        not this channel's own speaker (an agent holding its token)."""
        conversation = conversation or self.conversation
        speaker = principal or self.principal
        message = Message("user", text, channel=self.name, sender=speaker.name, images=len(images))
        message_id = await self.store.run(log_db.record_inbound, conversation, message, None)
        inbound = Inbound(
            channel=self.name,
            sender=sender,
            actor=speaker.name,
            conversation=conversation,
            text=text,
            images=images,
            message_id=message_id or 0,
            principal=speaker,
        )
        future: asyncio.Future[Outbound] = asyncio.get_running_loop().create_future()
        self._waiting[inbound.id] = future
        try:
            await self.bus.publish(inbound)
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(inbound.id, None)

    async def deliver(self, message: Outbound) -> None:
        if message.answering is not None and message.channel == self.name:
            try:
                await self.store.run(log_db.answer_alone, message.answering)  # the reply joins the history
            except DiskFull as exc:  # the waiting owner still hears why; the message stays unanswered, for later
                log.error("local: reply to message #%d not stored: %s", message.answering.message_id, exc)
        future = self._waiting.get(message.in_reply_to or "")
        if future is not None and message.kind != "notice":
            if not future.done():
                future.set_result(message)
        elif message.recipient is None and self.keeps_notices:
            self.notifications.append(message)
