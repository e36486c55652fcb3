"""Frigate's detections as Claw camera events: its MQTT reviews (or events) in, its snapshot fetched over HTTP.

Frigate has already decided something happened; Claw describes the snapshot with the vision model and alerts
under the same rules (cooldowns, snooze, quiet hours, alert mode) as its own cameras. Each Frigate event or
review item is taken once, however many updates Frigate publishes about it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from claw.core.config import FrigateConfig
from claw.core.tasks import OwnedTasks

log = logging.getLogger(__name__)
# (Frigate camera, snapshot JPEG, start time, what Frigate saw) -> recorded, described, maybe alerted.
Record = Callable[[str, bytes, float, str], Awaitable[None]]
REMEMBERED = 1000  # ids already taken, so updates and ends of the same item are not events again


class FrigateEvents:
    """Reads Frigate's messages (the daemon routes them from the MQTT bridge) and records one event per item."""

    def __init__(self, config: FrigateConfig, record: Record) -> None:
        self.config, self.record = config, record
        self.topic = f"{config.topic_prefix}/{config.source}"
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._tasks = OwnedTasks("frigate events")
        self.skipped: dict[str, str] = {}  # item id -> why not (for the log and tests)

    async def on_message(self, topic: str, payload: bytes) -> None:
        """One message from the broker: returns at once; the download and description run in a task."""
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("frigate: a message on %s is not JSON; ignored", topic)
            return
        item = _item(message, self.config.source) if isinstance(message, dict) else None
        if item is None:
            return
        item_id, camera, start, labels, event_id = item
        if item_id in self._seen:
            return
        why = self._unwanted(camera, labels)
        if why:
            self.skipped[item_id] = why
            return
        self._seen[item_id] = None
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        self._tasks.start(self._take(camera, event_id, start, labels), name=f"frigate {camera}")

    def _unwanted(self, camera: str, labels: list[str]) -> str:
        if self.config.cameras and camera not in self.config.cameras:
            return f"camera {camera} is not in [frigate] cameras"
        if self.config.labels and not set(labels) & set(self.config.labels):
            return f"{', '.join(labels) or 'nothing'} is not in [frigate] labels"
        return ""

    async def _take(self, camera: str, event_id: str, start: float, labels: list[str]) -> None:
        url = f"{self.config.url.rstrip('/')}/api/events/{event_id}/snapshot.jpg"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout)) as session,
                session.get(url) as response,
            ):
                if response.status != 200:
                    log.warning("frigate: snapshot of %s on %s: HTTP %d", event_id, camera, response.status)
                    return
                picture = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("frigate: no snapshot of %s from %s (%s)", event_id, self.config.url, type(exc).__name__)
            return
        if not picture.startswith(b"\xff\xd8"):
            log.warning("frigate: the snapshot of %s is not a JPEG", event_id)
            return
        await self.record(camera, picture, start or time.time(), ", ".join(labels))

    async def settle(self) -> None:
        await self._tasks.settle()

    async def stop(self) -> None:
        await self._tasks.stop()


def _item(message: Mapping[str, Any], source: str) -> tuple[str, str, float, list[str], str] | None:
    """(item id, camera, start, labels, the event whose snapshot to fetch) of a new item, else None."""
    if message.get("type") not in ("new", "update"):
        return None  # "end": already taken when it began
    after = message.get("after")
    if not isinstance(after, Mapping) or not isinstance(after.get("camera"), str):
        return None
    start = after.get("start_time")
    start = float(start) if isinstance(start, int | float) else 0.0
    if source == "events":
        if not after.get("has_snapshot") or not isinstance(after.get("id"), str):
            return None  # the snapshot comes with a later update
        label = after.get("label")
        return after["id"], after["camera"], start, [label] if isinstance(label, str) else [], after["id"]
    data = after.get("data")
    if not isinstance(data, Mapping) or not isinstance(after.get("id"), str):
        return None
    detections = [d for d in data.get("detections") or [] if isinstance(d, str)]
    if not detections:
        return None
    labels = [o for o in data.get("objects") or [] if isinstance(o, str)]
    return after["id"], after["camera"], start, labels, detections[0]
