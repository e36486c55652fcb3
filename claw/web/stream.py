"""The live feed: one hub that fans events out to every open dashboard as server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0  # proxies and browsers drop idle streams; a comment line keeps them open
QUEUE_SIZE = 512  # a client this far behind is told to reload rather than slowing the house down


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One thing that happened: `kind` is the SSE event name (device, notification, event, audit, ...)."""

    id: int
    kind: str
    data: Any

    def frame(self) -> bytes:
        """The event in SSE wire format."""
        body = json.dumps(self.data, default=str, ensure_ascii=False, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.kind}\ndata: {body}\n\n".encode()


class Subscription:
    """One listener's bounded queue; `overflowed` is set when it fell too far behind and lost events."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(size)
        self.overflowed = False

    def offer(self, event: LiveEvent | None) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()  # make room for the end marker
            self.queue.put_nowait(None)


class Live:
    """Publish from anywhere on the loop (never blocks); subscribers each get every later event."""

    def __init__(self, *, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._ids = itertools.count(1)
        self._subscribers: set[Subscription] = set()
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, data: Any) -> None:
        """Send `data` (JSON-able) as event `kind` to every subscriber; cheap when nobody listens."""
        if not self._subscribers:
            return
        event = LiveEvent(next(self._ids), kind, data)
        for subscription in list(self._subscribers):
            subscription.offer(event)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A Subscription for the duration of the `with` block."""
        subscription = Subscription(self.queue_size)
        if self.closed:
            subscription.offer(None)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    def close(self) -> None:
        """End every open stream (shutdown); later subscribers end at once."""
        self.closed = True
        for subscription in list(self._subscribers):
            subscription.offer(None)

    async def events(self, subscription: Subscription, keepalive: float) -> AsyncIterator[LiveEvent | None]:
        """Events as they come; None after `keepalive` seconds of quiet; stops on close or overflow."""
        while True:
            try:
                event = await asyncio.wait_for(subscription.queue.get(), keepalive)
            except TimeoutError:
                yield None
                continue
            if event is None:
                return
            yield event


async def stream(request: web.Request, live: Live, *, keepalive: float = KEEPALIVE_S) -> web.StreamResponse:
    """`GET /api/stream`: the live feed as text/event-stream until the client leaves or the daemon stops."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        }
    )
    with live.subscribe() as subscription:
        await response.prepare(request)
        # `retry` tells EventSource how soon to reconnect; `hello` lets the page know the stream is up.
        await response.write(b"retry: 2000\n\n" + LiveEvent(0, "hello", {"subscribers": live.subscribers}).frame())
        try:
            async for event in live.events(subscription, keepalive):
                await response.write(b": keep-alive\n\n" if event is None else event.frame())
            if subscription.overflowed:
                await response.write(LiveEvent(0, "reset", {"reason": "fell behind"}).frame())
        except ConnectionResetError:
            pass  # the browser went away: nothing more to send
    return response
