"""Schedules as text ("cron: 30 6 * * mon-fri", "every: 15m", "at: ...", "sunset: -30m") and their triggers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import astral
import astral.sun
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from claw.core.config import LocationConfig
from claw.core.errors import ClawError
from claw.jobs.when import WhenError, compact, duration, moment, natural_schedule

Kind = Literal["cron", "every", "at", "sunrise", "sunset"]
KINDS: tuple[Kind, ...] = ("cron", "every", "at", "sunrise", "sunset")
SYNTAX = (
    "a schedule is one of: 'in: 2m', 'at: 2026-12-24 18:00', 'daily: 07:00', 'weekdays: 06:30', "
    "'cron: 30 6 * * mon-fri', 'every: 15m', 'sunset: -30m', 'sunrise: +10m'"
)
_SUN_SEARCH_DAYS = 370  # polar summer/winter: look a year ahead for the next sunrise or sunset


class ScheduleError(ClawError):
    """The schedule text cannot be read; the message shows the forms that work."""


class Trigger(Protocol):
    """What APScheduler asks of a trigger: the next fire time after `previous`, or from `now` when None."""

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Place:
    """Where the house is: its time zone (every schedule is in it) and its position (sunrise, sunset)."""

    tz: ZoneInfo
    latitude: float = 51.48
    longitude: float = 0.0

    @classmethod
    def from_config(cls, location: LocationConfig) -> Place:
        try:
            tz = ZoneInfo(location.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"unknown time zone '{location.timezone}'") from None
        return cls(tz, location.latitude, location.longitude)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed schedule: its canonical text (what is stored), its kind, and its trigger."""

    text: str
    kind: Kind
    spec: str  # the part after "kind:", canonical
    trigger: Trigger = field(compare=False, repr=False)

    @property
    def once(self) -> bool:
        return self.kind == "at"


def parse(text: str, place: Place, *, now: datetime, anchor: datetime | None = None, relative: bool = True) -> Schedule:
    """Read schedule text; relative forms ("in: 2m", "tomorrow at 7") become a fixed "at:" time.

    `anchor` is when an interval started counting (the job's creation), so restarts keep its phase.
    `relative=False` (config files, stored rows) accepts only forms that mean the same after a restart.
    """
    raw = " ".join(text.strip().split())
    head, colon, rest = raw.partition(":")
    kind, spec = head.strip().lower(), rest.strip()
    if kind in KINDS and (colon or kind in ("sunset", "sunrise")):
        try:
            return _build(kind, spec, place, now, anchor, relative)
        except (ValueError, WhenError) as exc:
            raise ScheduleError(f"bad {kind} schedule '{text}': {exc}. Remember: {SYNTAX}") from None
    if colon and kind in ("daily", "weekdays", "weekends"):
        canonical = _sugar(kind, spec)
    elif not relative:
        raise ScheduleError(
            f"'{text}' is not a fixed schedule; here use 'at: 2026-12-24 18:00', 'daily: 07:00', 'weekdays: 06:30', "
            "'cron: 30 6 * * mon-fri', 'every: 15m', 'sunset: -30m' or 'sunrise: +10m'"
        )
    elif colon and kind == "in":
        canonical = _in(spec, now, place)
    else:
        canonical = natural_schedule(raw, now, place.tz)
    if canonical is None:
        raise ScheduleError(f"I can't read the schedule '{text}': {SYNTAX}")
    return parse(canonical, place, now=now, anchor=anchor, relative=False)


def check(text: str) -> str:
    """Syntax check for config files: the problem in words, or "" when the text is a valid stored schedule."""
    now = datetime(2000, 1, 1, tzinfo=UTC)
    try:
        parse(text, Place(ZoneInfo("UTC")), now=now, relative=False)
    except ScheduleError as exc:
        return str(exc)
    return ""


def _build(kind: str, spec: str, place: Place, now: datetime, anchor: datetime | None, relative: bool) -> Schedule:
    if kind == "cron":
        fields = spec.split()
        if len(fields) != 5:
            raise ValueError("cron needs 5 fields: minute hour day-of-month month day-of-week")
        expr = " ".join(f.lower() for f in fields)
        return Schedule(f"cron: {expr}", "cron", expr, WallClockCron(expr, place.tz))
    if kind == "every":
        interval = duration(spec)
        start = (anchor or now) + interval
        trigger = IntervalTrigger(seconds=int(interval.total_seconds()), start_date=start, timezone=place.tz)
        text = compact(interval)
        return Schedule(f"every: {text}", "every", text, trigger)
    if kind == "at":
        if re.match(r"^\d{4}-\d{2}-\d{2}", spec):
            when = _fixed(spec, place)
        elif relative:
            when = moment(spec, now, place.tz)
        else:
            raise ValueError("a stored 'at:' needs a date and time like 2026-12-24 18:00")
        when = when.replace(microsecond=0)
        text = when.isoformat()
        return Schedule(f"at: {text}", "at", text, DateTrigger(run_date=when, timezone=place.tz))
    offset = _offset(spec)
    text = "" if not offset else ("-" if offset < timedelta(0) else "+") + compact(offset)
    event: Literal["sunrise", "sunset"] = "sunset" if kind == "sunset" else "sunrise"
    return Schedule(f"{kind}: {text}" if text else kind, event, text, SunTrigger(event, offset, place))


def _fixed(spec: str, place: Place) -> datetime:
    spec = re.sub(r"^(\d{4}-\d{2}-\d{2})[ T](\d)(?=:)", r"\1T0\2", spec.strip())  # "2026-12-24 7:00"
    value = datetime.fromisoformat(spec.replace(" ", "T", 1))
    return value.replace(tzinfo=place.tz) if value.tzinfo is None else value


def _offset(spec: str) -> timedelta:
    if not spec:
        return timedelta(0)
    sign = -1 if spec.startswith("-") else 1
    return sign * duration(spec.lstrip("+-").strip())


def _in(spec: str, now: datetime, place: Place) -> str:
    try:
        when = now + duration(spec)
    except WhenError as exc:
        raise ScheduleError(str(exc)) from None
    return "at: " + when.astimezone(place.tz).replace(microsecond=0).isoformat()


def _sugar(kind: str, spec: str) -> str | None:
    """daily/weekdays/weekends: HH:MM -> cron."""
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", spec.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    days = {"daily": "*", "weekdays": "mon-fri", "weekends": "sat,sun"}.get(kind)
    return f"cron: {int(match[2])} {int(match[1])} * * {days}" if days else None


def second_of_fold(moment_: datetime, tz: ZoneInfo) -> bool:
    """True for the repeat of a wall-clock time when clocks go back (the second 01:30 on that night)."""
    local = moment_.astimezone(tz)
    first = local.replace(tzinfo=None).replace(tzinfo=tz, fold=0)
    return first.astimezone(UTC) != local.astimezone(UTC)


class WallClockCron(BaseTrigger):  # type: ignore[misc]
    """Cron in the house's time zone; a fixed-hour job runs once when a wall-clock hour repeats (as cron does)."""

    __slots__ = ("cron", "fixed_hour", "tz")

    def __init__(self, expr: str, tz: ZoneInfo) -> None:
        self.cron = CronTrigger.from_crontab(expr, timezone=tz)
        self.fixed_hour = expr.split()[1] != "*"
        self.tz = tz

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        fire: datetime | None = self.cron.get_next_fire_time(previous_fire_time, now)
        while fire is not None and self.fixed_hour and second_of_fold(fire, self.tz):
            fire = self.cron.get_next_fire_time(fire, fire)
        # a time in the spring gap (01:30 that never happens) becomes the real instant, 02:30 BST
        return fire.astimezone(UTC).astimezone(self.tz) if fire is not None else None

    def __str__(self) -> str:
        return str(self.cron)


class SunTrigger(BaseTrigger):  # type: ignore[misc]
    """Every day at sunrise or sunset plus an offset, for the house's position, in its time zone."""

    __slots__ = ("event", "observer", "offset", "place")

    def __init__(self, event: Literal["sunrise", "sunset"], offset: timedelta, place: Place) -> None:
        self.event, self.offset, self.place = event, offset, place
        self.observer = astral.Observer(latitude=place.latitude, longitude=place.longitude)

    def at(self, day: date) -> datetime | None:
        """The fire time for one local day, or None where the sun does not rise or set that day."""
        compute = astral.sun.sunset if self.event == "sunset" else astral.sun.sunrise
        try:
            moment_: datetime = compute(self.observer, date=day, tzinfo=self.place.tz)
        except ValueError:  # astral: the sun stays above (or below) the horizon all day
            return None
        return (moment_ + self.offset).replace(microsecond=0)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        start = previous_fire_time + timedelta(microseconds=1) if previous_fire_time else now
        first = start.astimezone(self.place.tz).date() - timedelta(days=1)  # a big offset can cross midnight
        for n in range(_SUN_SEARCH_DAYS):
            fire = self.at(first + timedelta(days=n))
            if fire is not None and fire >= start:
                return fire
        return None

    def __str__(self) -> str:
        return f"{self.event}{self.offset}"


def first_after(trigger: Trigger, now: datetime) -> datetime | None:
    """The first fire time strictly after `now` (a one-off's own time, even if past: the caller judges)."""
    return trigger.get_next_fire_time(None, now + timedelta(microseconds=1))


def occurrences(trigger: Trigger, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
    """Fire times from `start` (itself one) up to and including `end`, at most `limit` of them."""
    out: list[datetime] = []
    fire: datetime | None = start
    while fire is not None and fire <= end and len(out) < limit:
        out.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return out
