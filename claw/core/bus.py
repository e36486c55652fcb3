"""Typed messages and the queues between channels and the brain: data flows one way."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from claw.core.principals import NOBODY, Principal
from claw.core.store.messages import Answering

log = logging.getLogger(__name__)

OutKind = Literal["reply", "alert", "job", "notice", "confirm"]


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Media:
    """A picture to send: bytes on disk, shown by the dashboard and served to Twilio by token."""

    path: str
    content_type: str = "image/jpeg"
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Inbound:
    """Text from a person, already checked (allowed sender) and persisted by its channel."""

    channel: str  # "local", "whatsapp", "dashboard"
    sender: str  # the owner's identity on that channel, e.g. "+15551234567" or "local"
    actor: str  # the owner's name, for the audit log and memory provenance
    conversation: str  # whose memory: one per owner
    text: str
    id: str = field(default_factory=new_id)
    images: tuple[bytes, ...] = ()
    received: float = field(default_factory=time.time)
    message_id: int = 0  # its row in the store, taken into the history when its turn starts
    resumed: bool = False  # a restart interrupted its turn (or came before it): answered now, acting at most once
    principal: Principal = NOBODY  # who wrote it, as its channel checked (NOBODY: it may do nothing)


@dataclass(frozen=True, slots=True)
class Outbound:
    """Something to tell someone; `recipient=None` means every owner, on each channel that notifies."""

    channel: str | None
    recipient: str | None
    text: str
    kind: OutKind = "reply"
    media: tuple[Media, ...] = ()
    in_reply_to: str | None = None
    id: str = field(default_factory=new_id)
    title: str = ""  # short form for templates and notifications
    answering: Answering | None = None  # a reply: the channel stores it with its message marked answered, atomically


class Channel(Protocol):
    """A way to reach people: Twilio WhatsApp, the terminal, the dashboard."""

    name: str

    async def deliver(self, message: Outbound) -> None:
        """Take responsibility for a message (persist it, queue it); must not block for long."""


class Bus:
    """Inbound queue for the router; outbound fan-out to the channels that take it."""

    def __init__(self) -> None:
        self.inbound: asyncio.Queue[Inbound] = asyncio.Queue()
        self._channels: dict[str, Channel] = {}
        self._listeners: list[Callable[[Outbound], Awaitable[None]]] = []

    def add_channel(self, channel: Channel) -> None:
        self._channels[channel.name] = channel

    def channel(self, name: str) -> Channel | None:
        return self._channels.get(name)

    def listen(self, listener: Callable[[Outbound], Awaitable[None]]) -> None:
        """Observe every outbound message (the dashboard's live feed)."""
        self._listeners.append(listener)

    async def publish(self, message: Inbound) -> None:
        await self.inbound.put(message)

    async def send(self, message: Outbound) -> None:
        """Hand a message to its channel, or to every channel when it is for all owners."""
        targets = [self._channels[message.channel]] if message.channel in self._channels else []
        if message.channel is None:
            targets = list(self._channels.values())
        elif not targets:
            log.warning("no channel %r for outbound %s; dropped", message.channel, message.id)
        for channel in targets:
            try:
                await channel.deliver(message)
            except Exception:  # one broken channel must not stop the others
                log.exception("channel %s failed to take message %s", channel.name, message.id)
        for listener in self._listeners:
            try:
                await listener(message)
            except Exception:
                log.exception("outbound listener failed")
