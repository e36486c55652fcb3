"""What the dashboard hears: device changes, owner notifications and audit entries, as live events."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from claw.core.bus import Outbound
from claw.core.store import audit as audit_db
from claw.home.device import Device
from claw.web.site import Site

log = logging.getLogger(__name__)

MEDIA_TTL = 24 * 3600.0  # pictures in the dashboard's feed stay viewable for a day


class Feed:
    """Bridges the house to the live stream while the private listener runs (an aiohttp cleanup context)."""

    def __init__(self, claw: Site, *, audit_every: float = 0.5) -> None:
        self.claw = claw
        self.audit_every = audit_every
        self.notifications: collections.deque[dict[str, Any]] = collections.deque(maxlen=100)
        self._watcher: asyncio.Task[None] | None = None
        self._running = False

    async def context(self, _: web.Application) -> AsyncIterator[None]:
        """Start with the listener, stop with it (cleanup_ctx)."""
        self.start()
        try:
            yield
        finally:
            await self.stop()

    def start(self) -> None:
        self._running = True
        home = self.claw.home
        if home is not None:
            home.registry.listeners.append(self._on_device)
        self.claw.bus.listen(self._on_outbound)
        self._watcher = asyncio.get_running_loop().create_task(self._watch_audit(), name="dashboard audit feed")

    async def stop(self) -> None:
        """Unhook from the house and end every open stream."""
        self._running = False
        home = self.claw.home
        if home is not None and self._on_device in home.registry.listeners:
            home.registry.listeners.remove(self._on_device)
        self.claw.live.close()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    def _on_device(self, what: str, device: Device) -> None:
        self.claw.live.publish("device", {"what": what, "device": device.describe()})

    async def _on_outbound(self, message: Outbound) -> None:
        if not self._running or message.recipient is not None:
            return  # replies to one person belong to their conversation, not the house's feed
        item = {
            "id": message.id,
            "ts": time.time(),
            "kind": message.kind,
            "title": message.title,
            "text": message.text,
            "media": [
                {"url": f"/media/{self.claw.media.issue(m.path, m.content_type, ttl=MEDIA_TTL)}", "caption": m.caption}
                for m in message.media
            ],
        }
        self.notifications.appendleft(item)
        self.claw.live.publish("notification", item)

    async def _watch_audit(self) -> None:
        """Every audit entry, whoever wrote it, becomes a live event (the table is the one source)."""
        store = self.claw.store
        last = await store.run(audit_db.last_id)
        while True:
            await asyncio.sleep(self.audit_every)
            try:
                rows = await store.run(audit_db.after, last)
            except Exception:  # a busy or closing database must not end the feed
                log.debug("audit feed: query failed", exc_info=True)
                continue
            for row in rows:
                last = max(last, int(row["id"]))
                self.claw.live.publish("audit", row)
