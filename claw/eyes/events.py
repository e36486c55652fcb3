"""Camera events: sampled frames with motion group into one event, with its best frame and a frame strip."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Literal

from claw.eyes.detector import Motion
from claw.eyes.pictures import Frame, contact_sheet, pick

Change = Literal["confirmed", "ended", "dropped"]
KEEP_THUMBS = 64  # thumbnails kept per event for its strip; halved (every other one) when full
PRE_ROLL = 2.0  # seconds before an event whose view the strip shows first (the detector reports late by design)


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled frame of a camera and what the detector saw in it; `main` is the main stream's frame then."""

    ts: float
    frame: Frame
    thumb: Frame
    motion: Motion | None
    main: Frame | None = None

    @property
    def moving(self) -> bool:
        """True when the detector reported a change (a re-calibration notice is not one)."""
        return self.motion is not None and not self.motion.calibrating

    @property
    def picture(self) -> Frame:
        """The frame to show people: the main stream's when there is one."""
        return self.main if self.main is not None else self.frame

    @property
    def score(self) -> float:
        return self.motion.score if self.motion is not None else 0.0

    @property
    def whole(self) -> bool:
        """True when no changed box touches the frame's edge: the object is in view, not still coming in."""
        if self.motion is None or not self.motion.boxes:
            return False
        h, w = self.frame.shape[:2]
        mx, my = max(2, w // 100), max(2, h // 100)
        return all(x > mx and y > my and x + bw < w - mx and y + bh < h - my for x, y, bw, bh in self.motion.boxes)


class Event:
    """One stretch of change on one camera while it happens; `finished` is set when it has ended."""

    def __init__(self, camera: str, first: Sample, before: tuple[float, Frame] | None) -> None:
        self.camera = camera
        self.start = first.ts
        self.last_motion = first.ts
        self.end: float | None = None
        self.motion_frames = 1
        self.best = first
        self.before = before  # a thumbnail of the view a moment before the change
        self.whole_seen = first.whole
        self.thumbs: list[tuple[float, Frame]] = [(first.ts, first.thumb)]
        self.zones: set[str] = set(first.motion.zones if first.motion else ())
        self.confirmed = False
        self.finished = asyncio.Event()

    def add(self, sample: Sample) -> None:
        """Take one more changed frame: the best frame is the one the detector scored highest."""
        self.motion_frames += 1
        self.last_motion = sample.ts
        self.whole_seen = self.whole_seen or sample.whole
        if sample.score > self.best.score:
            self.best = sample
        if sample.motion is not None:
            self.zones.update(sample.motion.zones)
        self.thumbs.append((sample.ts, sample.thumb))
        if len(self.thumbs) > KEEP_THUMBS:
            self.thumbs = self.thumbs[::2]

    def strip_frames(self, want: int = 4) -> list[tuple[float, Frame]]:
        """Up to `want` thumbnails in time order: the view before, the first change, the best, the latest."""
        chosen: dict[float, Frame] = {}
        if self.before is not None:
            chosen[self.before[0]] = self.before[1]
        for ts, thumb in (self.thumbs[0], (self.best.ts, self.best.thumb), self.thumbs[-1]):
            chosen.setdefault(ts, thumb)
        spare = [t for t in self.thumbs if t[0] not in chosen]
        for i in pick(len(spare), max(0, want - len(chosen))):
            chosen[spare[i][0]] = spare[i][1]
        return sorted(chosen.items(), key=lambda item: item[0])[:want]

    def strip(self, want: int = 4) -> Frame:
        """The frame strip as one picture (2 x 2 for four frames), offsets from the event's start on each."""
        return contact_sheet(self.strip_frames(want), self.start)


class Grouper:
    """Turns one camera's samples into events, in order; `feed` says which events changed state.

    An event is confirmed (worth describing) after `min_frames` changed frames, once its object is whole in
    view or `settle` seconds have passed, whichever is first: a car coming in from the street is described
    when it is in the picture, not when its bumper is.
    """

    def __init__(self, camera: str, *, quiet: float, min_frames: int, settle: float, longest: float) -> None:
        self.camera = camera
        self.quiet, self.min_frames, self.settle, self.longest = quiet, min_frames, settle, longest
        self.current: Event | None = None
        self._recent: deque[tuple[float, Frame]] = deque()  # quiet thumbnails of the last PRE_ROLL seconds

    def feed(self, sample: Sample) -> list[tuple[Change, Event]]:
        """Account one sample: an event may be confirmed (worth describing), end, or be dropped (a blip)."""
        out: list[tuple[Change, Event]] = []
        event = self.current
        if event is None:
            if sample.moving:
                event = self.current = Event(self.camera, sample, self._recent[0] if self._recent else None)
        elif sample.moving:
            event.add(sample)
        if event is not None:
            if not event.confirmed and self._ready(event, sample.ts):
                event.confirmed = True
                out.append(("confirmed", event))
            if sample.ts - event.last_motion >= self.quiet or sample.ts - event.start >= self.longest:
                out.extend(self._close(event))
        if not sample.moving:
            self._recent.append((sample.ts, sample.thumb))
            while sample.ts - self._recent[0][0] > PRE_ROLL:
                self._recent.popleft()
        return out

    def expire(self, now: float) -> list[tuple[Change, Event]]:
        """End the open event when no frame has come for the quiet time (the camera went silent)."""
        event = self.current
        if event is None or now - event.last_motion < self.quiet:
            return []
        return self._close(event)

    def _ready(self, event: Event, now: float) -> bool:
        return event.motion_frames >= self.min_frames and (event.whole_seen or now - event.start >= self.settle)

    def _close(self, event: Event) -> list[tuple[Change, Event]]:
        self.current = None
        event.end = event.last_motion
        out: list[tuple[Change, Event]] = []
        if not event.confirmed and event.motion_frames >= self.min_frames:
            event.confirmed = True  # it ended before the settle time was up: describe it now
            out.append(("confirmed", event))
        out.append(("ended" if event.confirmed else "dropped", event))
        event.finished.set()
        return out
