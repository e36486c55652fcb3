"""Camera events told as a digest: one line per camera and kind, with a count and the clearest picture of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from claw.core.store.events import EventRecord
from claw.eyes.alerts import clock


@dataclass(frozen=True, slots=True)
class Bunch:
    """The events of one camera and one kind ("18 times something moved at the driveway"), oldest first."""

    camera: str
    what: str
    events: tuple[EventRecord, ...]

    @property
    def best(self) -> EventRecord:
        """The event to show: the strongest change that has a picture (the first one on a tie)."""
        pictured = [e for e in self.events if e.snapshot] or list(self.events)
        return max(pictured, key=lambda e: e.score)

    def line(self, tz: ZoneInfo) -> str:
        """ "14:05 driveway: FedEx truck just pulled up", or "19:02–20:40 driveway: … (18 times)"."""
        first, last, best = self.events[0], self.events[-1], self.best
        if len(self.events) == 1:
            return f"{clock(first.start_ts, tz)} {self.camera}: {best.title}"
        span = f"{clock(first.start_ts, tz)}–{clock(last.start_ts, tz)}"
        same = all(e.title == best.title for e in self.events)
        count = f"{len(self.events)} times" if same else f"and {len(self.events) - 1} more like it"
        return f"{span} {self.camera}: {best.title} ({count})"


def bunches(records: Sequence[EventRecord]) -> list[Bunch]:
    """Events grouped by camera and kind, in the order each group began."""
    groups: dict[tuple[str, str], list[EventRecord]] = {}
    for record in sorted(records, key=lambda r: (r.start_ts, r.id)):
        groups.setdefault((record.camera, record.what), []).append(record)
    return [Bunch(camera, what, tuple(found)) for (camera, what), found in groups.items()]


def dated(ts: float, tz: ZoneInfo) -> str:
    """A moment with its date, for the model ("2026-12-07 20:46"): a bare "20:46" could be any day."""
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")
