"""One configured camera: its reader threads, the change detector, event grouping and whether it is on line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

from claw.core.backoff import DEFAULT_BACKOFF, Backoff
from claw.core.config import AlertsConfig, CameraConfig
from claw.eyes.detector import ChangeDetector
from claw.eyes.detector_settings import DetectorSettings
from claw.eyes.events import Change, Event, Grouper, Sample
from claw.eyes.pictures import Frame, thumbnail
from claw.eyes.reader import Handoff, Reader, redact, with_password

log = logging.getLogger(__name__)

Sink = Callable[[Change, Event], None]
QUEUE = 8  # samples waiting for the event loop; older ones are dropped when it falls behind
MAIN_FRESH = 2.0  # seconds a main-stream frame may be older than the detect frame it stands in for


class Camera:
    """Frames come in on threads (detection runs there too); samples cross into the loop; `run` groups them."""

    def __init__(self, config: CameraConfig, alerts: AlertsConfig, *, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self.config = config
        self.name = config.name
        self.settings = DetectorSettings(mask=config.mask, zones=dict(config.zones))
        main_url = with_password(config.url, config.name)
        detect_url = with_password(config.detect_url, config.name) if config.detect_url else main_url
        self.detect = Reader(config.name, detect_url, config.fps, self._on_frame, backoff=backoff)
        # With a separate detect stream, the main stream is read beside it for the pictures people see.
        self.main = Reader(f"{config.name} main", main_url, config.fps, backoff=backoff) if config.detect_url else None
        self.grouper = Grouper(
            config.name,
            quiet=alerts.event_quiet_seconds,
            min_frames=alerts.min_motion_frames,
            settle=alerts.settle_seconds,
            longest=alerts.max_event_seconds,
        )
        self.latest: Sample | None = None
        self.online: bool | None = None  # None until the first picture or the first timeout
        self.since = time.time()  # when the current on-line state began
        self.started = self.since
        self.recalibrations = 0
        self._detector: ChangeDetector | None = None
        self._handoff: Handoff[Sample] | None = None
        self._ended = asyncio.Event()

    @property
    def dropped(self) -> int:
        """Samples dropped because the event loop fell behind."""
        return self._handoff.dropped if self._handoff is not None else 0

    @property
    def url(self) -> str:
        return redact(self.config.url)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the reader threads; samples go to `loop`."""
        if self._handoff is None:
            self._handoff = Handoff(loop, QUEUE)
        self.started = self.since = time.time()
        self.detect.start()
        if self.main is not None:
            self.main.start()

    def request_stop(self) -> None:
        """Ask the reader threads to end; returns at once."""
        self.detect.request_stop()
        if self.main is not None:
            self.main.request_stop()

    def join(self, timeout: float = 1.0) -> None:
        """Wait for the reader threads (blocking, bounded: one blocked in a read ends by itself later)."""
        self.detect.join(timeout)
        if self.main is not None:
            self.main.join(timeout)

    def _on_frame(self, ts: float, frame: Frame) -> None:
        """In the reader's thread: detect, pair with the main stream's frame, hand on to the loop."""
        if self._detector is None:
            self._detector = ChangeDetector(self.settings, (frame.shape[1], frame.shape[0]))
        motion = self._detector.detect(frame)
        main = None
        if self.main is not None and (latest := self.main.latest) is not None and abs(latest[0] - ts) <= MAIN_FRESH:
            main = latest[1]
        if self._handoff is not None:
            self._handoff.put(Sample(ts, frame, thumbnail(frame), motion, main))

    async def run(self, sink: Sink) -> None:
        """Group the samples into events forever (a supervised component); `sink` hears every change."""
        assert self._handoff is not None, "Camera.start() first"
        while True:
            sample = await self._handoff.get()
            self.latest = sample
            if sample.motion is not None and sample.motion.calibrating:
                self.recalibrations += 1
                log.debug("camera %s: the whole picture changed; re-learning the scene", self.name)
            self._tell(sink, self.grouper.feed(sample))

    def expire(self, now: float, sink: Sink) -> None:
        """End an event whose camera went quiet without sending frames (called by the monitor)."""
        self._tell(sink, self.grouper.expire(now))

    def _tell(self, sink: Sink, changes: list[tuple[Change, Event]]) -> None:
        for change, event in changes:
            sink(change, event)
            if change == "ended":
                ended, self._ended = self._ended, asyncio.Event()
                ended.set()

    async def next_event_end(self) -> None:
        """Wait until the next event on this camera has ended (the scene has settled again)."""
        await self._ended.wait()

    def check(self, now: float) -> Literal["offline", "back", "online"] | None:
        """A change of on-line state, if one happened: offline after `offline_after` s without a picture."""
        last = self.detect.last_frame
        quiet_for = now - (last or self.started)
        if self.online is not False and quiet_for >= self.config.offline_after:
            self.online, self.since = False, last or self.started
            return "offline"
        if self.online is not True and last and now - last < self.config.offline_after:
            was, self.online, self.since = self.online, True, last
            return "back" if was is False else "online"
        return None

    @property
    def problem(self) -> str:
        """Why the camera is not delivering, as the reader last saw it."""
        return self.detect.problem or "sends no pictures"
