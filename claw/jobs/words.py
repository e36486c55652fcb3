"""Schedules and times in plain words, as the claw repeats them back: "Every weekday at 06:30"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from claw.jobs.schedule import Schedule
from claw.jobs.when import DAY_NAMES, DAYS, duration

_UNIT_WORDS = (("d", "day"), ("h", "hour"), ("m", "minute"), ("s", "second"))


def schedule(s: Schedule, tz: ZoneInfo) -> str:
    """ "Every weekday at 06:30", "Every day 30 minutes before sunset", "Once, Sat 21 Nov 07:47"."""
    if s.kind == "cron":
        return _cron(s.spec)
    if s.kind == "every":
        return "Every " + span(duration(s.spec), singular_one=True)
    if s.kind == "at":
        return "Once, " + moment(datetime.fromisoformat(s.spec), tz)
    offset = timedelta(0)
    if s.spec:
        offset = duration(s.spec.lstrip("+-")) * (-1 if s.spec.startswith("-") else 1)
    if not offset:
        return f"Every day at {s.kind}"
    side = "before" if offset < timedelta(0) else "after"
    return f"Every day {span(abs(offset))} {side} {s.kind}"


def moment(when: datetime, tz: ZoneInfo) -> str:
    """ "Mon 23 Nov 06:30" in the house's time zone."""
    local = when.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def span(delta: timedelta, *, singular_one: bool = False) -> str:
    """timedelta -> "2 minutes", "1 hour 30 minutes"; with singular_one, "hour" instead of "1 hour"."""
    seconds = int(abs(delta.total_seconds()))
    parts: list[str] = []
    for unit, word in _UNIT_WORDS:
        size = {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count} {word}{'s' if count != 1 else ''}")
    text = " ".join(parts) or "0 seconds"
    return text.removeprefix("1 ") if singular_one and len(parts) == 1 and text.startswith("1 ") else text


def until(when: datetime, now: datetime) -> str:
    """ "in 2 minutes" (rounded to the minute beyond one minute)."""
    seconds = max(0, round((when - now).total_seconds()))
    if seconds >= 60:
        seconds = round(seconds / 60) * 60
    return "in " + span(timedelta(seconds=seconds))


def _cron(spec: str) -> str:
    minute, hour, dom, month, dow = spec.split()
    if dom != "*" or month != "*":
        return f"On the cron schedule '{spec}'"
    days = _days(dow)
    if days is None:
        return f"On the cron schedule '{spec}'"
    if re.fullmatch(r"\d+", minute) and re.fullmatch(r"\d+(,\d+)*", hour):
        times = " and ".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(","))
        return f"{days} at {times}"
    if hour == "*" and dow == "*":
        if re.fullmatch(r"\d+", minute):
            return f"Every hour at {int(minute):02d} past"
        step = re.fullmatch(r"(?:\*|0)/(\d+)", minute)
        if step:
            return "Every " + span(timedelta(minutes=int(step[1])), singular_one=True)
    return f"On the cron schedule '{spec}'"


def _days(dow: str) -> str | None:
    if dow in ("*", "0-6", "mon-sun"):
        return "Every day"
    if dow in ("mon-fri", "1-5"):
        return "Every weekday"
    if dow in ("sat,sun", "sun,sat", "6,0", "0,6"):
        return "Every Saturday and Sunday"
    names = dow.split(",")
    if all(n in DAYS for n in names):
        full = [DAY_NAMES[DAYS.index(n)].capitalize() for n in names]
        return "Every " + (" and ".join(full) if len(full) <= 2 else ", ".join(full[:-1]) + " and " + full[-1])
    return None
