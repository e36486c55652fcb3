"""The time source of the scheduler: the system clock, or a hand-driven one for tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the time as an aware datetime."""

    @property
    def manual(self) -> bool:
        """True when time only moves by hand (then nothing fires on its own: call `Jobs.run_due`)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    manual = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Time that stands still until moved: `advance(minutes=30)` or `set(datetime)`."""

    manual = True

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0) -> None:
        self._now += timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
