"""The eyes: one pipeline per camera, events, alerts, watches, retention and what the owner may change."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import shutil
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from claw.core.backoff import DEFAULT_BACKOFF, Backoff
from claw.core.bus import Media
from claw.core.config import CameraConfig, Config
from claw.core.errors import ClawError, TargetNotFound
from claw.core.findings import Finding
from claw.core.media import MediaTokens
from claw.core.request import Request
from claw.core.safety import Ask, Guard, KillSwitch
from claw.core.store import Store
from claw.core.store import events as history
from claw.core.store.audit import get_setting, set_setting, write
from claw.core.store.events import EventRecord
from claw.core.supervisor import Supervisor
from claw.core.tasks import OwnedTasks
from claw.eyes.alerts import MODES, Mode, Rules, clock
from claw.eyes.camera import Camera
from claw.eyes.description import Describer, camera_phrase
from claw.eyes.events import Change, Event
from claw.eyes.frigate import FrigateEvents
from claw.eyes.outcomes import ModeSet, Muted, Unmuted, Watching
from claw.eyes.pictures import jpeg
from claw.eyes.recorder import Alert, Recorder, slug
from claw.eyes.watch import Watches

log = logging.getLogger(__name__)

SETTINGS = ("eyes.mode", "eyes.muted", "eyes.away")
Notice = Callable[[str, str], Awaitable[None]]  # (text, title): a camera went offline or came back


class Eyes:
    """Cameras watched for change; built once by the daemon with exactly what it uses."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        guard: Guard,
        killswitch: KillSwitch,
        supervisor: Supervisor,
        describer: Describer,
        alert: Alert,
        notice: Notice,
        publish: Callable[[str, dict[str, Any]], None],
        media: MediaTokens,
        warm: Callable[[], Coroutine[Any, Any, None]] | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        sweep_every: float = 600.0,
    ) -> None:
        self.config = config
        self.store, self.guard, self.killswitch, self.supervisor = store, guard, killswitch, supervisor
        self.describer, self.notice, self.warm = describer, notice, warm
        self.backoff = backoff
        self.sweep_every = sweep_every
        self.tz = ZoneInfo(config.location.timezone)
        self.root = config.state_path / "events"
        self.cameras: dict[str, Camera] = {}
        self.rules = Rules(config.alerts, self.tz)
        self.recorder = Recorder(
            store=store,
            rules=self.rules,
            describer=describer,
            root=self.root,
            tz=self.tz,
            paused=killswitch.paused,
            alert=alert,
            publish=publish,
            media=media,
        )
        self.watches = Watches(
            describer,
            lambda text, media, title: alert(text, media, title, ""),
            self.root / "watches",
            interval=config.alerts.watch_interval,
            paused=self.paused,
        )
        self._tasks = OwnedTasks("eyes")
        # Frigate's detections ([frigate]): the daemon routes its MQTT messages to `frigate.on_message`
        self.frigate = FrigateEvents(config.frigate, self.frigate_event) if config.frigate.enabled else None

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        now = time.time()
        if closed := await self.store.run(history.close_dangling):
            log.info("eyes: closed %d camera events left open by the last stop", closed)
        self.rules.restore({k: await self.store.run(get_setting, k) for k in SETTINGS}, now)
        unfinished = await self.recorder.unfinished()
        loop = asyncio.get_running_loop()
        for config in self.config.cameras:
            camera = Camera(config, self.config.alerts, backoff=self.backoff)
            self.cameras[camera.name] = camera
            camera.start(loop)
            self.supervisor.start(f"camera {camera.name}", functools.partial(camera.run, self._on_change))
        self.supervisor.start("camera monitor", self._monitor)
        self._tasks.start(self.recorder.resume(unfinished, self.config.cameras), name="alerts a stop left unsent")
        self.supervisor.start("camera retention", self._sweep_forever)
        if self.warm is not None:  # load the vision model ahead of the first event (a cold load takes tens of s)
            self._tasks.start(self.warm(), name="warm the vision model")
        log.info("eyes: %d camera(s), alert mode %s", len(self.cameras), self.rules.mode)

    async def stop(self) -> None:
        cameras = list(self.cameras.values())
        for camera in cameras:
            camera.request_stop()  # all at once, then wait for them together, off the loop
        await asyncio.to_thread(_join, cameras, 0.8)
        await self.watches.stop()
        await self.recorder.stop()
        if self.frigate is not None:
            await self.frigate.stop()
        await self._tasks.stop()

    # --- the pipeline ----------------------------------------------------------------------------

    async def frigate_event(self, camera: str, picture: bytes, start: float, label: str) -> None:
        """A Frigate detection, under the rules of the [[cameras]] entry of the same name, else the defaults."""
        known = next((c for c in self.config.cameras if c.name == camera), None)
        log.info("frigate: %s on camera %s", label or "something", camera)
        await self.recorder.snapshot_event(known or CameraConfig(name=camera, url=f"frigate:{camera}"), picture, start)

    def _on_change(self, change: Change, event: Event) -> None:
        camera = self.cameras[event.camera]
        if change == "confirmed":
            self.recorder.follow(camera.config, event)
        elif change == "dropped":
            log.debug("camera %s: a %d-frame blip, not an event", event.camera, event.motion_frames)

    async def _monitor(self) -> None:
        """Say once when a camera stops sending pictures, and once when it is back; end stalled events."""
        step = min(1.0, min((c.config.offline_after for c in self.cameras.values()), default=1.0) / 4)
        while True:
            now = time.time()
            for camera in self.cameras.values():
                camera.expire(now, self._on_change)
                change = camera.check(now)
                if change == "offline":
                    since = clock(camera.since, self.tz)
                    log.warning("camera %s is offline (no picture since %s): %s", camera.name, since, camera.problem)
                    await self.notice(
                        f"{camera_phrase(camera.name).capitalize()} stopped sending pictures (nothing since {since}). "
                        "I'll tell you when it is back.",
                        "Camera offline",
                    )
                elif change == "back":
                    log.info("camera %s is back", camera.name)
                    await self.notice(f"{camera_phrase(camera.name).capitalize()} is back.", "Camera back")
                elif change == "online":
                    log.info("camera %s delivers pictures", camera.name)
            await asyncio.sleep(step)

    async def offline_findings(self) -> list[Finding]:
        """Heartbeat check: every camera that sends no pictures."""
        return [
            Finding(
                "notice",
                f"camera:{c.name}:offline",
                f"{camera_phrase(c.name)} has sent no picture since {clock(c.since, self.tz)} ({c.problem})",
            )
            for c in self.cameras.values()
            if c.online is False
        ]

    async def _sweep_forever(self) -> None:
        while True:
            await self.sweep()
            await asyncio.sleep(self.sweep_every)

    async def sweep(self, now: float | None = None) -> int:
        """Delete events (rows and pictures) past `retention_days`, then the oldest past `retention_mb`."""
        cfg = self.config.alerts
        now = time.time() if now is None else now
        before = now - cfg.retention_days * 86400
        doomed = await self.store.run(history.expired, before, int(cfg.retention_mb * 1024 * 1024))
        await asyncio.to_thread(_remove, [Path(r.snapshot).parent for r in doomed if r.snapshot], self.root)
        await self.store.run(history.delete, [r.id for r in doomed])
        await asyncio.to_thread(_remove_old, self.root / "watches", before)
        if doomed:
            log.info("eyes: retention removed %d camera events", len(doomed))
        return len(doomed)

    # --- what the owner can ask and do (tools and the fast path call these) ----------------------

    async def paused(self) -> bool:
        return await self.killswitch.paused()

    def camera(self, name: str | None) -> Camera:
        """A camera by name, alias-free ("the driveway camera", "driveway"); the only one when not named."""
        if not name or not name.strip():
            if len(self.cameras) == 1:
                return next(iter(self.cameras.values()))
            raise TargetNotFound("which camera you mean", sorted(self.cameras))
        wanted = _words(name)
        for camera in self.cameras.values():
            if wanted and wanted in (_words(camera.name), _words(camera.config.room)):
                return camera
        raise TargetNotFound(f"a camera called '{name}'", sorted(self.cameras))

    async def recent(
        self,
        *,
        camera: str | None = None,
        since: float | None = None,
        until: float | None = None,
        what: tuple[str, ...] = (),
        notable: bool | None = None,
        limit: int = 20,
    ) -> list[EventRecord]:
        name = self.camera(camera).name if camera else None
        return await self.store.run(
            history.recent, camera=name, since=since, until=until, what=what, notable=notable, limit=limit
        )

    async def event(self, event_id: int) -> EventRecord | None:
        """One stored event by its number."""
        return await self.store.run(history.get, event_id)

    def line(self, record: EventRecord) -> str:
        """One event in words: "14:05 driveway: FedEx truck just pulled up"."""
        return f"{clock(record.start_ts, self.tz)} {record.camera}: {record.title}"

    def media(self, record: EventRecord) -> Media:
        return Media(record.snapshot, "image/jpeg", caption=record.title)

    async def mute(self, camera: str | None, minutes: float, request: Request) -> Muted | Unmuted:
        """Snooze a camera's alerts (a sensitive action: held for the owner's code); 0 minutes unmutes."""
        target = self.camera(camera)
        phrase = camera_phrase(target.name)
        if minutes <= 0:
            self.rules.mute(target.name, None)
            await self._save("unmute", phrase, request)
            return Unmuted(target.name)
        until = time.time() + minutes * 60

        async def apply() -> Muted:
            self.rules.mute(target.name, until)
            await self._save("mute", f"{phrase} until {clock(until, self.tz)}", request)
            return Muted(target.name, until, clock(until, self.tz))

        # the owners' notice and the audit log keep the English; the asker hears it in the message's language
        ask = Ask("mute", (target.name,), f"mute {phrase} for {_span(minutes)}", str(round(minutes)))
        return await self.guard.gate(run=apply, request=request, ask=ask)

    async def set_mode(self, mode: str, request: Request) -> ModeSet:
        """Change the alert mode; a change that disarms a camera counts as disabling alerts (needs the code)."""
        if mode not in MODES:
            raise ClawError(f"there is no '{mode}' mode; use home, away or night")
        new: Mode = mode
        if new == self.rules.mode:
            return ModeSet(new, self._armed(), already=True)
        disarmed = [
            c.name for c in self.cameras.values() if self.rules.armed(c.config) and new not in c.config.armed_modes
        ]

        async def apply() -> ModeSet:
            self.rules.set_mode(new, time.time())
            await self._save("set mode", mode, request)
            return ModeSet(new, self._armed())

        if not disarmed:
            return await apply()
        names = ", ".join(camera_phrase(n) for n in disarmed)
        ask = Ask("mode", tuple(disarmed), f"switch to {mode} mode, which disarms {names}", mode)
        return await self.guard.gate(run=apply, request=request, ask=ask)

    def _armed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras.values() if self.rules.armed(c.config))

    async def watch(self, camera: str | None, condition: str, minutes: float, asked_by: str) -> Watching:
        target = self.camera(camera)
        minutes = max(1.0, min(minutes, 24 * 60))
        try:
            self.watches.start(target, condition, minutes, asked_by)
        except ValueError as exc:
            raise ClawError(str(exc)) from None
        return Watching(target.name, condition, minutes)

    async def _save(self, action: str, target: str, turn: Request) -> None:
        for key, value in self.rules.state().items():
            await self.store.run(set_setting, key, value)
        await self.store.run(write, turn.audit(action, target, "ok", "camera alerts"))

    # --- what the dashboard and the prompt see ---------------------------------------------------

    async def events_snapshot(self) -> list[dict[str, Any]]:
        """GET /api/events: recent events, newest first, with a link to each picture."""
        return [self.recorder.payload(r) for r in await self.recent(limit=50)]

    async def cameras_snapshot(self) -> list[dict[str, Any]]:
        """GET /api/cameras: each camera's state and a fresh picture of what it sees."""
        now = time.time()
        out = []
        for camera in self.cameras.values():
            muted = self.rules.muted_until(camera.name, now)
            armed = self.rules.armed(camera.config)
            picture = await self.latest_picture(camera)
            status = "offline" if camera.online is False else ("muted" if muted else ("armed" if armed else "disarmed"))
            out.append(
                {
                    "name": camera.name,
                    "room": camera.config.room,
                    "online": camera.online is not False,
                    "status": status,
                    "last_frame": camera.detect.last_frame or None,
                    "ts": camera.latest.ts if camera.latest else None,
                    "snapshot": self.recorder.url(picture.path) if picture else "",
                    "muted_until": muted,
                    "armed": armed,
                    "mode": self.rules.mode,
                    "recalibrations": camera.recalibrations,
                    "dropped_frames": camera.dropped,
                }
            )
        return out

    async def latest_picture(self, camera: Camera) -> Media | None:
        """What the camera sees now, saved as its latest.jpg; None before its first picture."""
        sample = camera.latest
        if sample is None:
            return None
        path = self.root / slug(camera.name) / "latest.jpg"

        def save() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name("latest.jpg.part")
            tmp.write_bytes(jpeg(sample.picture, quality=75))
            tmp.replace(path)

        await asyncio.to_thread(save)
        return Media(str(path), "image/jpeg", caption=f"{camera.name} now")

    def overview(self) -> str:
        names = ", ".join(f"{c.name} ({c.config.room})" if c.config.room else c.name for c in self.cameras.values())
        return f"Cameras: {names}. Ask recent_events / show_event about what they saw." if names else ""


def _join(cameras: list[Camera], timeout: float) -> None:
    for camera in cameras:
        camera.join(timeout)


def _words(name: str) -> str:
    """ "The Driveway camera" -> "driveway": how people name a camera, reduced to what tells it apart."""
    return " ".join(w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in ("the", "my", "our", "camera", "cam"))


def _span(minutes: float) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        hours = int(minutes // 60)
        return "an hour" if hours == 1 else f"{hours} hours"
    return f"{minutes:.0f} minutes"


def _remove(folders: list[Path], root: Path) -> None:
    for folder in folders:
        if folder.is_dir() and root in folder.parents:  # never outside the events folder
            shutil.rmtree(folder, ignore_errors=True)


def _remove_old(folder: Path, before: float) -> None:
    if folder.is_dir():
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_mtime < before:
                    path.unlink()
