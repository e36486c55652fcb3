"""Watches: "tell me when the package is picked up" looks again until the condition holds or time runs out."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from claw.core.bus import Media
from claw.eyes.camera import Camera
from claw.eyes.description import Describer, camera_phrase
from claw.eyes.pictures import MODEL_WIDTH, jpeg
from claw.eyes.recorder import slug

log = logging.getLogger(__name__)

MAX_WATCHES = 5  # each one costs a vision call every interval
Notify = Callable[[str, tuple[Media, ...], str], Awaitable[None]]  # (text, media, title)


@dataclass(slots=True)
class Watch:
    """One condition being watched on one camera until `until`."""

    id: int
    camera: str
    condition: str
    asked_by: str
    until: float
    checks: int = 0
    unanswered: int = 0  # checks the vision model could not answer
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Watches:
    """Owns the watch tasks: each wakes on its camera's next settled event or every `interval` seconds."""

    def __init__(
        self,
        describer: Describer,
        notify: Notify,
        folder: Path,
        *,
        interval: float,
        paused: Callable[[], Awaitable[bool]],
    ) -> None:
        self.describer, self.notify, self.folder = describer, notify, folder
        self.interval = interval
        self.paused = paused
        self.active: dict[int, Watch] = {}
        self._ids = itertools.count(1)

    def start(self, camera: Camera, condition: str, minutes: float, asked_by: str) -> Watch:
        """Begin watching; raises ValueError when too many watches are running."""
        if len(self.active) >= MAX_WATCHES:
            raise ValueError(f"I'm already watching for {len(self.active)} things; that is my limit")
        watch = Watch(next(self._ids), camera.name, condition, asked_by, time.time() + minutes * 60)
        watch.task = asyncio.get_running_loop().create_task(self._run(watch, camera), name=f"watch {watch.id}")
        self.active[watch.id] = watch
        log.info("watch %d on %s for %.0f min: %s", watch.id, camera.name, minutes, condition)
        return watch

    async def stop(self) -> None:
        tasks = [w.task for w in self.active.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.active.clear()

    async def _run(self, watch: Watch, camera: Camera) -> None:
        try:
            while (left := watch.until - time.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(camera.next_event_end(), min(self.interval, left))
                if await self._look(watch, camera):
                    return
            await self._give_up(watch, camera)
        finally:
            self.active.pop(watch.id, None)

    async def _look(self, watch: Watch, camera: Camera) -> bool:
        """One look with the vision model; True when the condition held and the owners were told."""
        sample = camera.latest
        if sample is None or time.time() - sample.ts > max(5.0, camera.config.offline_after):
            return False  # no fresh picture: the camera is offline; the next look may have one
        picture = await asyncio.to_thread(jpeg, sample.picture, max_width=MODEL_WIDTH)
        watch.checks += 1
        verdict = await self.describer.check(camera.name, watch.condition, picture)
        if verdict is None:
            watch.unanswered += 1
            return False
        met, sentence = verdict
        if not met:
            return False
        path = self.folder / f"{slug(camera.name)}-{int(sample.ts)}-{watch.id}.jpg"
        await asyncio.to_thread(_save, path, picture)
        text = f"Heads-up from {camera_phrase(camera.name)}: {watch.condition}."
        if sentence:
            text += f" {sentence}"
        if await self.paused():
            log.info("watch %d: condition met, but alerts are paused (kill switch): not sent", watch.id)
            return True
        await self.notify(text, (Media(str(path), "image/jpeg", caption=watch.condition),), "Watch")
        log.info("watch %d on %s: condition met after %d looks", watch.id, camera.name, watch.checks)
        return True

    async def _give_up(self, watch: Watch, camera: Camera) -> None:
        why = (
            " My vision model did not answer, so I could not tell."
            if watch.checks and watch.unanswered == watch.checks
            else ""
        )
        log.info("watch %d on %s: time is up after %d looks", watch.id, camera.name, watch.checks)
        if not await self.paused():
            await self.notify(
                f"I stopped watching {camera_phrase(camera.name)}: still no sign that {watch.condition}.{why}",
                (),
                "Watch ended",
            )


def _save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
