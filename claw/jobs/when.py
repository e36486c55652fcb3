"""Plain-English times ("in 2 minutes", "at 7", "tomorrow at 9am", "every weekday at 6:30") as schedule text."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "sixty": 60,
    "ninety": 90,
}
UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_UNIT = "|".join(sorted(UNITS, key=len, reverse=True))
_WORD_NUMBER = "|".join(sorted(NUMBERS, key=len, reverse=True))
_AMOUNT = rf"(?:(\d+(?:\.\d+)?)\s*|\b({_WORD_NUMBER})\s+)"  # digits may touch the unit ("2m"), words may not
_PIECE = re.compile(rf"{_AMOUNT}({_UNIT})(?![a-z])")
_DURATION = re.compile(rf"^(?:{_AMOUNT}(?:{_UNIT})(?![a-z])[\s,]*(?:and\s+)?)+$")
_CLOCK = re.compile(
    r"^(?:(?P<noon>noon|midday)|(?P<midnight>midnight)|"
    r"(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?(?:\s*o'?clock)?)$"
)
_DAY_WORD = r"today|tonight|tomorrow|(?:on\s+|next\s+)?(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*"
_MOMENT = re.compile(rf"^(?:(?P<day>{_DAY_WORD})\s+)?(?:at\s+)?(?P<clock>[^\s].*?)(?:\s+(?P<day2>{_DAY_WORD}))?$")
_SUN = re.compile(
    r"^(?:at\s+)?(?:(?P<n>[\w.-]+)\s*(?P<unit>[a-z]+)\s+(?P<side>before|after)\s+)?(?P<event>sunset|sunrise|dusk|dawn)"
    r"(?:\s+(?:every\s*day|daily|each\s+day))?$"
)
_EVERY_AT = re.compile(
    r"^(?:(?:every|each)\s+(?P<days>day|weekday|weekdays|weekend|weekends|"
    r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*(?:\s*(?:,|and)\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*)*)"
    r"|daily)\s+at\s+(?P<clock>.+)$"
)


class WhenError(ValueError):
    """A time or duration that could not be read; the message says what would work."""


def duration(text: str) -> timedelta:
    """ "2m", "90 seconds", "1h30m", "an hour", "half an hour" -> timedelta; WhenError otherwise."""
    words = " ".join(text.lower().replace("-", " ").split())
    words = words.replace("forty five", "forty-five")
    if words in ("half an hour", "half hour", "a half hour"):
        return timedelta(minutes=30)
    if words.endswith(" and a half"):
        base = words.removesuffix(" and a half")
        unit = _PIECE.findall(base)[-1][2] if _PIECE.findall(base) else "s"
        return duration(base) + timedelta(seconds=UNITS[unit] / 2)
    if not words or not _DURATION.match(words):
        raise WhenError(f"'{text}' is not a duration (try 2m, 90s, 1h30m or '2 minutes')")
    seconds = sum(_number(digits or word) * UNITS[unit] for digits, word, unit in _PIECE.findall(words))
    if seconds <= 0:
        raise WhenError(f"'{text}' is not a positive duration")
    return timedelta(seconds=seconds)


def compact(delta: timedelta) -> str:
    """timedelta -> "1h30m" (the stored form of intervals and offsets)."""
    seconds = int(abs(delta.total_seconds()))
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"


def clock_time(text: str) -> tuple[time, bool]:
    """ "7", "7:30pm", "19:00", "noon" -> (time, ambiguous): ambiguous when it could be morning or evening."""
    words = " ".join(text.lower().split())
    match = _CLOCK.match(words)
    if match is None:
        raise WhenError(f"'{text}' is not a time of day (try 07:30, 7pm or 19:00)")
    if match["noon"]:
        return time(12, 0), False
    if match["midnight"]:
        return time(0, 0), False
    hour, minute = int(match["h"]), int(match["m"] or 0)
    ampm = (match["ampm"] or "").replace(".", "")
    if minute > 59 or hour > 23 or (ampm and not 1 <= hour <= 12):
        raise WhenError(f"'{text}' is not a time of day")
    if ampm:
        hour = hour % 12 + (12 if ampm == "pm" else 0)
        return time(hour, minute), False
    explicit_24h = hour == 0 or hour > 12 or match["h"].startswith("0")
    return time(hour, minute), not explicit_24h


def moment(text: str, now: datetime, tz: tzinfo) -> datetime:
    """A future moment from "2026-12-24 18:00", "tomorrow at 9", "friday 7pm", "at 7" (the next 7 o'clock)."""
    words = " ".join(text.strip().lower().split())
    iso = _iso(words, tz)
    if iso is not None:
        return iso
    match = _MOMENT.match(words)
    if match is None:
        raise WhenError(f"'{text}' is not a time (try 'at 19:00', 'tomorrow at 9am' or 2026-12-24 18:00)")
    day_word = match["day"] or match["day2"] or ""
    clock, ambiguous = clock_time(match["clock"])
    found = next_time(clock, ambiguous, day_word, now, tz)
    if found is None:
        raise WhenError(f"'{text}' is already past; say a later time")
    return found


def next_time(clock: time, ambiguous: bool, day: str, now: datetime, tz: tzinfo) -> datetime | None:
    """The first future moment at clock on day ("", "today", "tonight", "tomorrow", "mon".."sun", "next fri");
    an ambiguous clock ("at 7") is whichever of 07:00 and 19:00 comes first. None when it is already past."""
    if (
        day not in ("", "today", "tonight", "tomorrow")
        and day.removeprefix("on ").removeprefix("next ")[:3] not in DAYS
    ):
        return None
    if day == "tonight" and ambiguous and clock.hour < 12:
        clock, ambiguous = time(clock.hour + 12, clock.minute), False
    candidates = [clock] + ([time(clock.hour + 12, clock.minute)] if ambiguous and clock.hour < 12 else [])
    if ambiguous and clock.hour == 12:
        candidates.append(time(0, clock.minute))
    for date_ in _days(day, now.astimezone(tz).date()):
        future = sorted(o for o in (_local(date_, c, tz) for c in candidates) if o > now)
        if future:
            return future[0]
    return None


def said_clock(hour: int, minute: int, half: str | None) -> tuple[time, bool] | None:
    """A clock said in parts (7, 30, "pm"; half is am, pm, night or None) -> (time, ambiguous), or None.

    "night" is the evening for 5-11 ("11 at night" is 23:00) and the small hours otherwise ("2 at night")."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    if half is None:
        return time(hour, minute), 1 <= hour <= 12
    if not 1 <= hour <= 12:
        return (time(hour, minute), False) if half == "pm" and hour > 12 else None  # "19 Uhr abends"
    if half == "night":
        return time(hour + 12 if 5 <= hour <= 11 else hour % 12, minute), False
    return time(hour % 12 + (12 if half == "pm" else 0), minute), False


def weekly(days: str, clock: time) -> str:
    """ "cron: 30 6 * * mon-fri" for days ("*", "mon-fri", "sat,sun", "mon") at clock."""
    return f"cron: {clock.minute} {clock.hour} * * {days}"


def sun_schedule(event: str, offset_seconds: float = 0.0) -> str:
    """ "sunset", "sunset: -30m" (offset_seconds < 0: before the event)."""
    if not offset_seconds:
        return event
    sign = "-" if offset_seconds < 0 else "+"
    return f"{event}: {sign}{compact(timedelta(seconds=abs(offset_seconds)))}"


def natural_schedule(text: str, now: datetime, tz: tzinfo) -> str | None:
    """Schedule text ("cron: 30 6 * * mon-fri", "at: ...") for an English phrase, or None if not understood."""
    words = " ".join(text.strip().lower().rstrip(".!").split())
    if words.startswith("in "):
        try:
            return "at: " + (now + duration(words[3:])).astimezone(tz).isoformat(timespec="seconds")
        except WhenError:
            return None
    if words.startswith("every "):
        try:
            return "every: " + compact(duration(words.removeprefix("every ").removeprefix("each ")))
        except WhenError:
            pass
        if words in ("every minute", "every hour", "every day"):
            return "every: " + {"every minute": "1m", "every hour": "1h", "every day": "1d"}[words]
    sun = _SUN.match(words)
    if sun is not None:
        event = {"dusk": "sunset", "dawn": "sunrise"}.get(sun["event"], sun["event"])
        if not sun["n"]:
            return event
        try:
            offset = duration(f"{sun['n']} {sun['unit']}")
        except WhenError:
            return None
        return f"{event}: {'-' if sun['side'] == 'before' else '+'}{compact(offset)}"
    every = _EVERY_AT.match(words)
    if every is not None:
        try:
            clock, _ = clock_time(every["clock"])  # a bare "7" in a routine means 07:00
        except WhenError:
            return None
        return f"cron: {clock.minute} {clock.hour} * * {_cron_days(every['days'] or 'day')}"
    try:
        return "at: " + moment(words, now, tz).isoformat(timespec="seconds")
    except WhenError:
        return None


def _cron_days(text: str) -> str:
    if text in ("day", "daily"):
        return "*"
    if text.startswith("weekday"):
        return "mon-fri"
    if text.startswith("weekend"):
        return "sat,sun"
    names = re.findall(r"(mon|tue|wed|thu|fri|sat|sun)[a-z]*", text)
    return ",".join(dict.fromkeys(names))


def _days(word: str, today: date) -> list[date]:
    """The days a time could fall on, earliest first."""
    if word == "":
        return [today, today + timedelta(days=1)]
    if word in ("today", "tonight"):
        return [today]
    if word == "tomorrow":
        return [today + timedelta(days=1)]
    strictly_next = word.startswith("next ")
    index = DAYS.index(word.removeprefix("on ").removeprefix("next ")[:3])
    ahead = (index - today.weekday()) % 7
    if ahead == 0 and strictly_next:
        ahead = 7
    return [today + timedelta(days=ahead), today + timedelta(days=ahead + 7)]


def _local(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)


def _iso(words: str, tz: tzinfo) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", words):
        return None
    try:
        value = datetime.fromisoformat(words.upper().replace(" ", "T", 1))
    except ValueError:
        raise WhenError(f"'{words}' is not a date and time (try 2026-12-24 18:00)") from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _number(text: str) -> float:
    return float(NUMBERS[text]) if text in NUMBERS else float(text)
