"""Follows each confirmed camera event: pictures on disk and a row in the store, the description, the alert."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from claw.core.bus import Media
from claw.core.config import CameraConfig
from claw.core.media import MediaTokens
from claw.core.store import Store
from claw.core.store import events as history
from claw.core.store.events import EventRecord
from claw.core.tasks import OwnedTasks
from claw.eyes.alerts import Rules, clock
from claw.eyes.description import Describer
from claw.eyes.events import Event, Sample
from claw.eyes.pictures import MODEL_WIDTH, Frame, contact_sheet, jpeg

log = logging.getLogger(__name__)
# Sends an alert to the owners: text, the pictures, a short title.
Alert = Callable[[str, tuple[Media, ...], str], Awaitable[None]]

DAY = 24 * 3600.0  # pictures linked from the dashboard stay viewable this long


def slug(name: str) -> str:
    """A camera name as a folder name."""
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "camera"


def _write(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)  # readers never see half a picture
    return len(data)


class Recorder:
    """One task per confirmed event; per camera, events are described one at a time and in order."""

    def __init__(
        self,
        *,
        store: Store,
        rules: Rules,
        describer: Describer,
        root: Path,
        tz: ZoneInfo,
        paused: Callable[[], Awaitable[bool]],
        alert: Alert,
        publish: Callable[[str, dict[str, Any]], None],
        media: MediaTokens,
    ) -> None:
        self.store, self.rules, self.describer, self.root, self.tz = store, rules, describer, root, tz
        self.paused, self.alert, self.publish, self.media = paused, alert, publish, media
        self._tasks = OwnedTasks("camera event handling")
        self._locks: dict[str, asyncio.Lock] = {}

    def follow(self, camera: CameraConfig, event: Event) -> None:
        """Take on a confirmed event (from the camera's grouping loop; returns at once)."""
        self._tasks.start(self._follow(camera, event), name=f"event {camera.name}")

    async def settle(self) -> None:
        """Wait for every event in hand to be finished (tests, benchmarks, shutdown)."""
        await self._tasks.settle()

    async def stop(self) -> None:
        await self._tasks.stop()

    async def _follow(self, camera: CameraConfig, event: Event) -> None:
        store = self.store
        stamp = datetime.fromtimestamp(event.start, self.tz).strftime("%Y%m%d-%H%M%S")
        folder = self.root / slug(camera.name) / f"{stamp}-{secrets.token_hex(3)}"
        shot, frames = event.best, event.strip_frames()  # taken on the loop: the event still grows
        picture, for_model, strip = await asyncio.to_thread(self._pictures, folder, shot, frames, event.start)
        event_id = await store.run(
            history.insert,
            camera.name,
            event.start,
            snapshot=str(folder / "snapshot.jpg"),
            clip=str(folder / "strip.jpg"),
            score=shot.score,
            zones=sorted(event.zones),
            bytes=picture,
        )
        lock = self._locks.setdefault(camera.name, asyncio.Lock())
        async with lock:
            description = await self.describer.describe(
                camera.name, for_model, strip, room=camera.room, when=clock(event.start, self.tz)
            )
        paused = await self.paused()
        now = time.time()
        verdict = self.rules.decide(camera, description, now, paused=paused)
        if verdict.send:
            self.rules.sent(camera.name, now)  # no await since decide: cooldowns hold across cameras
        await store.run(
            history.update,
            event_id,
            title=description.title,
            description=description.sentence,
            what=description.what,
            alert=description.alert,
            alerted=verdict.send,
        )
        snapshot = folder / "snapshot.jpg"
        if verdict.send:
            media = (Media(str(snapshot), "image/jpeg", caption=description.title),)
            await self.alert(description.text, media, description.title)
        log.info(
            "camera %s: event %d at %s: %s [%s] — %s",
            camera.name,
            event_id,
            clock(event.start, self.tz),
            description.title,
            description.what,
            "alert sent" if verdict.send else f"not sent: {verdict.reason}",
        )
        record = await store.run(history.get, event_id)
        if record is not None:
            self.publish("event", self.payload(record))
        await event.finished.wait()
        await self._finish(event_id, folder, shot, event)

    def _pictures(
        self, folder: Path, shot: Sample, frames: list[tuple[float, Frame]], start: float
    ) -> tuple[int, bytes, bytes | None]:
        """Write the snapshot and the strip so far; (bytes written, the model's picture, the strip's JPEG)."""
        full = jpeg(shot.picture)
        written = _write(folder / "snapshot.jpg", full)
        strip = jpeg(contact_sheet(frames, start)) if len(frames) > 1 else None
        if strip is not None:
            written += _write(folder / "strip.jpg", strip)
        small = full if shot.picture.shape[1] <= MODEL_WIDTH else jpeg(shot.picture, max_width=MODEL_WIDTH)
        return written, small, strip

    async def _finish(self, event_id: int, folder: Path, described: Sample, event: Event) -> None:
        """The event has ended: keep its final best frame (if better than the one described) and strip."""

        def write() -> tuple[str, int]:
            best = folder / "snapshot.jpg"
            if event.best is not described:
                best = folder / "best.jpg"  # the alert's picture stays as it was sent
                _write(best, jpeg(event.best.picture))
            _write(folder / "strip.jpg", jpeg(event.strip()))
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            return str(best), size

        snapshot, size = await asyncio.to_thread(write)
        await self.store.run(
            history.update,
            event_id,
            end_ts=event.end,
            snapshot=snapshot,
            clip=str(folder / "strip.jpg"),
            score=event.best.score,
            zones=sorted(event.zones),
            bytes=size,
        )

    def url(self, path: str) -> str:
        """A dashboard link to a picture (a day-long token)."""
        return f"/media/{self.media.issue(path, 'image/jpeg', ttl=DAY)}" if path else ""

    def payload(self, record: EventRecord) -> dict[str, Any]:
        """An event as the dashboard and GET /api/events show it."""
        return {
            "id": record.id,
            "camera": record.camera,
            "ts": record.start_ts,
            "end_ts": record.end_ts,
            "title": record.title,
            "description": record.description or record.title,
            "what": record.what,
            "alert": record.alert,
            "alerted": record.alerted,
            "notable": record.notable,
            "zones": list(record.zones),
            "snapshot": self.url(record.snapshot),
            "strip": self.url(record.clip),
        }
