"""Frigate's detections as Claw camera events: its MQTT reviews (or events) in, its snapshot fetched over HTTP.

Frigate has already decided something happened; Claw describes the snapshot with the vision model and alerts
under the same rules (cooldowns, snooze, quiet hours, alert mode) as its own cameras. Each Frigate event or
review item is taken once, however many updates Frigate publishes about it.

Anyone who can publish on the broker can speak as Frigate, so a message is data to check, never a command:
only the cameras the owner named (or all, when `all_cameras = true`), ids of Frigate's own shape put into the
snapshot URL as one escaped path segment, names cleaned to one bounded line, a bounded snapshot read, and
per camera at most one download in flight and one waiting (the newest): a flood of reviews costs a few
downloads and vision calls, not one each.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from claw.core.config import FrigateConfig
from claw.core.tasks import OwnedTasks
from claw.core.untrusted import clean_name

log = logging.getLogger(__name__)
# (Frigate camera, snapshot JPEG, start time, what Frigate saw) -> recorded, described, maybe alerted.
Record = Callable[[str, bytes, float, str], Awaitable[None]]
REMEMBERED = 1000  # ids already taken (or skipped), so updates and ends of the same item are not events again
SNAPSHOT_LIMIT = 8 * 1024 * 1024  # bytes: Frigate's snapshots are a few hundred kB; more is not a snapshot
BUSY_CAMERAS = 4  # cameras whose snapshot is downloaded and described at once
WAITING_CAMERAS = 32  # cameras with a newer item waiting for its turn; beyond, new items are dropped (and logged)
CAMERA_CHARS = 48  # a camera's name in alerts, prompts and file names
# Frigate's own ids ("1718000000.123456-ab12cd"): letters, digits, dot, dash, underscore; never a path.
ID_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


@dataclass(frozen=True, slots=True)
class Item:
    """One Frigate review item (or event) worth an event: which snapshot to fetch, on which camera."""

    id: str
    camera: str  # cleaned: one bounded line
    start: float
    labels: tuple[str, ...]
    event_id: str  # the detection whose snapshot to fetch


class FrigateEvents:
    """Reads Frigate's messages (the daemon routes them from the MQTT bridge) and records one event per item."""

    def __init__(self, config: FrigateConfig, record: Record) -> None:
        self.config, self.record = config, record
        self.topic = f"{config.topic_prefix}/{config.source}"
        self.base = URL(config.url)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._tasks = OwnedTasks("frigate events")
        self._busy: set[str] = set()  # cameras whose item is being taken now
        self._waiting: OrderedDict[str, Item] = OrderedDict()  # camera -> its newest item not yet taken
        self.skipped: OrderedDict[str, str] = OrderedDict()  # item id -> why not (for the log and tests)
        self._dropped = 0  # items dropped because too many cameras waited (logged once per 100)

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
        if item.id in self._seen:
            return
        why = self._unwanted(item)
        if why:
            self._skip(item.id, why)  # not remembered: a later update may add a wanted label
            return
        self._remember(item.id)
        if item.camera in self._busy or len(self._busy) >= BUSY_CAMERAS:
            self._wait(item)
            return
        self._busy.add(item.camera)
        self._tasks.start(self._work(item), name=f"frigate {item.camera}")

    def _unwanted(self, item: Item) -> str:
        if not (item.camera in self.config.cameras or (self.config.all_cameras and item.camera)):
            return f"camera {item.camera} is not in [frigate] cameras"
        if self.config.labels and not set(item.labels) & set(self.config.labels):
            return f"{', '.join(item.labels) or 'nothing'} is not in [frigate] labels"
        return ""

    def _wait(self, item: Item) -> None:
        """The camera's newest item waits for its turn; an older one waiting is dropped (the newer says more)."""
        older = self._waiting.pop(item.camera, None)
        if older is not None:
            self._skip(older.id, f"a newer item on camera {item.camera} came before its turn")
        elif len(self._waiting) >= WAITING_CAMERAS:
            self._skip(item.id, f"over {WAITING_CAMERAS} cameras are waiting for a snapshot")
            self._dropped += 1
            if self._dropped % 100 == 1:
                log.warning("frigate: over %d cameras waiting; %d item(s) dropped", WAITING_CAMERAS, self._dropped)
            return
        self._waiting[item.camera] = item

    async def _work(self, item: Item | None) -> None:
        """Take items one at a time: this camera's newest waiting item, then another camera's, until none waits."""
        while item is not None:
            camera = item.camera
            try:
                await self._take(item)
            except Exception:  # one bad item must not strand the cameras waiting behind it
                log.exception("frigate: the item %s on %s failed", item.id, camera)
            item = self._waiting.pop(camera, None)
            if item is None:
                self._busy.discard(camera)
                item = self._next_camera()

    def _next_camera(self) -> Item | None:
        for camera in self._waiting:
            if camera not in self._busy:
                self._busy.add(camera)
                return self._waiting.pop(camera)
        return None

    def _remember(self, item_id: str) -> None:
        self._seen[item_id] = None
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)

    def _skip(self, item_id: str, why: str) -> None:
        self.skipped[item_id] = why
        while len(self.skipped) > REMEMBERED:
            self.skipped.popitem(last=False)

    def snapshot_url(self, event_id: str) -> URL:
        """`<url>/api/events/<id>/snapshot.jpg`, the id one escaped path segment (never a path or a query)."""
        return self.base.joinpath("api", "events", quote(event_id, safe=""), "snapshot.jpg", encoded=True)

    async def _take(self, item: Item) -> None:
        url = self.snapshot_url(item.event_id)
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout)) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                if response.status != 200:
                    log.warning("frigate: snapshot of %s on %s: HTTP %d", item.event_id, item.camera, response.status)
                    return
                picture = await _bounded(response)
                if picture is None:
                    log.warning("frigate: the snapshot of %s is over %d bytes; ignored", item.event_id, SNAPSHOT_LIMIT)
                    return
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("frigate: no snapshot of %s from %s (%s)", item.event_id, self.config.url, type(exc).__name__)
            return
        if not picture.startswith(b"\xff\xd8"):
            log.warning("frigate: the snapshot of %s is not a JPEG", item.event_id)
            return
        await self.record(item.camera, picture, item.start or time.time(), ", ".join(item.labels))

    async def settle(self) -> None:
        await self._tasks.settle()

    async def stop(self) -> None:
        self._waiting.clear()
        await self._tasks.stop()


def _item(message: Mapping[str, Any], source: str) -> Item | None:
    """The new item a message announces, else None (an update, an end, or not Frigate's shape)."""
    if message.get("type") not in ("new", "update"):
        return None  # "end": already taken when it began
    after = message.get("after")
    if not isinstance(after, Mapping) or not isinstance(after.get("camera"), str):
        return None
    item_id, camera = after.get("id"), clean_name(after["camera"], CAMERA_CHARS)
    if not isinstance(item_id, str) or not ID_SHAPE.fullmatch(item_id) or not camera:
        return None
    start = after.get("start_time")
    start = float(start) if isinstance(start, int | float) and 0 < start < 1e11 else 0.0
    if source == "events":
        if not after.get("has_snapshot"):
            return None  # the snapshot comes with a later update
        label = after.get("label")
        return Item(item_id, camera, start, _labels([label]), item_id)
    data = after.get("data")
    if not isinstance(data, Mapping):
        return None
    detections = [d for d in data.get("detections") or [] if isinstance(d, str) and ID_SHAPE.fullmatch(d)]
    if not detections:
        return None
    return Item(item_id, camera, start, _labels(data.get("objects") or []), detections[0])


async def _bounded(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None past SNAPSHOT_LIMIT (said up front or found while reading: never held whole)."""
    if (response.content_length or 0) > SNAPSHOT_LIMIT:
        return None
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > SNAPSHOT_LIMIT:
            return None
    return bytes(body)


def _labels(values: Any) -> tuple[str, ...]:
    """Frigate's object labels ("person", "car"), cleaned and bounded."""
    if not isinstance(values, list):
        return ()
    return tuple(dict.fromkeys(c for v in values[:8] if isinstance(v, str) and (c := clean_name(v, 32))))
