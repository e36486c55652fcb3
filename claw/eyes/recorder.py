"""Follows each confirmed camera event: pictures on disk and a row in the store, the description, the alert."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
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
# Sends an alert to the owners: text, the pictures, a short title, and a key (one alert per key, ever).
Alert = Callable[[str, tuple[Media, ...], str, str], Awaitable[None]]
DUE = 2  # `alerted` while an alert is decided but not yet queued: a restart sends it (1: queued, 0: not sent)
RESUME_WITHIN = 600.0  # seconds: an event a stop left undescribed is still worth telling about

DAY = 24 * 3600.0  # pictures linked from the dashboard stay viewable this long


def slug(name: str) -> str:
    """A camera name as a folder name (bounded: a long name must not make the path too long to write)."""
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:60].strip("-") or "camera"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


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
        await self._tell(camera, event_id, for_model, strip, event.start, folder / "snapshot.jpg")
        await event.finished.wait()
        await self._finish(event_id, folder, shot, event)

    async def snapshot_event(self, camera: CameraConfig, picture: bytes, start: float) -> int:
        """An event detected elsewhere (Frigate) with one JPEG: recorded, described and alerted like our own."""
        stamp = datetime.fromtimestamp(start, self.tz).strftime("%Y%m%d-%H%M%S")
        folder = self.root / slug(camera.name) / f"{stamp}-{secrets.token_hex(3)}"
        size = await asyncio.to_thread(_write, folder / "snapshot.jpg", picture)
        snapshot = folder / "snapshot.jpg"
        event_id = await self.store.run(
            history.insert, camera.name, start, snapshot=str(snapshot), clip="", score=0.0, zones=[], bytes=size
        )
        await self._tell(camera, event_id, picture, None, start, snapshot, end_ts=max(start, time.time()))
        return int(event_id)

    async def _send(self, event_id: int, text: str, snapshot: Path, title: str) -> None:
        """Queue the alert under the event's key, then mark it queued: a stop in between sends it again at
        start-up, and the key keeps the owners from getting it twice."""
        media = (Media(str(snapshot), "image/jpeg", caption=title),)
        await self.alert(text, media, title, f"camera-event-{event_id}")
        await self.store.run(history.update, event_id, alerted=1)

    async def unfinished(self) -> list[EventRecord]:
        """Recent events a stop left half done (read before the cameras start, so none of this run's)."""
        return await self.store.run(history.unfinished, time.time() - RESUME_WITHIN)

    async def resume(self, records: Sequence[EventRecord], cameras: Sequence[CameraConfig]) -> None:
        """At start-up: send the alerts a stop left decided but unsent, and describe (and maybe alert on)
        the recent events a stop left undescribed, from their pictures on disk."""
        for record in records:
            snapshot = Path(record.snapshot)
            if record.due:
                log.info(
                    "camera %s: event %d's alert was not sent before the stop; sending it", record.camera, record.id
                )
                await self._send(record.id, record.description or record.title, snapshot, record.title)
                continue
            camera = next((c for c in cameras if c.name == record.camera), None)
            picture = await asyncio.to_thread(_read, snapshot)
            if camera is None or picture is None:
                continue
            log.info("camera %s: event %d was not described before the stop; describing it", record.camera, record.id)
            await self._tell(camera, record.id, picture, None, record.start_ts, snapshot)

    async def _tell(
        self,
        camera: CameraConfig,
        event_id: int,
        picture: bytes,
        strip: bytes | None,
        start: float,
        snapshot: Path,
        **fields: Any,
    ) -> None:
        """Describe an event (one at a time per camera, in order), decide, store, alert, show it on the dashboard."""
        async with self._locks.setdefault(camera.name, asyncio.Lock()):
            description = await self.describer.describe(
                camera.name, picture, strip, room=camera.room, when=clock(start, self.tz)
            )
        paused = await self.paused()
        now = time.time()
        verdict = self.rules.decide(camera, description, now, paused=paused)
        if verdict.send:
            self.rules.sent(camera.name, now)  # no await since decide: cooldowns hold across cameras
        await self.store.run(
            history.update,
            event_id,
            title=description.title,
            description=description.sentence,
            what=description.what,
            alert=description.alert,
            alerted=DUE if verdict.send else 0,
            **fields,
        )
        if verdict.send:
            await self._send(event_id, description.text, snapshot, description.title)
        log.info(
            "camera %s: event %d at %s: %s [%s] — %s",
            camera.name,
            event_id,
            clock(start, self.tz),
            description.title,
            description.what,
            "alert sent" if verdict.send else f"not sent: {verdict.reason}",
        )
        record = await self.store.run(history.get, event_id)
        if record is not None:
            self.publish("event", self.payload(record))

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
