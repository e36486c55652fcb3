"""Schedules: parsing, plain words, APScheduler triggers across DST changes, sunrise and sunset, on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from claw.core.errors import ConfigError
from claw.daemon import parse_config
from claw.jobs import words
from claw.jobs.clock import ManualClock
from claw.jobs.job import ActionError, parse_action
from claw.jobs.schedule import Place, ScheduleError, SunTrigger, occurrences, parse
from claw.jobs.scheduler import Timer
from claw.jobs.when import WhenError, duration, moment, natural_schedule
from tests.test_jobs_support import LONDON, london

PLACE = Place(LONDON, 51.5, -0.12)


def fires(schedule: str, start: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `start`, as APScheduler computes them, on the house's wall clock."""
    clock = ManualClock(start)
    trigger = parse(schedule, PLACE, now=clock.now(), anchor=clock.now()).trigger
    out: list[datetime] = []
    fire = trigger.get_next_fire_time(None, clock.now())
    while fire is not None and len(out) < count:
        out.append(fire.astimezone(LONDON))
        fire = trigger.get_next_fire_time(fire, fire)
    return out


def test_cron_keeps_wall_clock_time_when_clocks_go_forward() -> None:
    got = fires("weekdays: 06:30", london(2026, 3, 26, 12, 0), 3)  # Thu; clocks change Sun 29 Mar
    assert [(f.day, f.hour, f.minute) for f in got] == [(27, 6, 30), (30, 6, 30), (31, 6, 30)]
    assert [f.astimezone(UTC).hour for f in got] == [6, 5, 5]  # GMT, then BST


def test_cron_in_the_skipped_hour_runs_once_after_the_jump() -> None:
    got = fires("cron: 30 1 * * *", london(2026, 3, 28, 12, 0), 3)
    assert [f.day for f in got] == [29, 30, 31]
    assert got[0].astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # no 01:30 that night: 02:30 BST
    assert (got[0].hour, got[0].minute) == (2, 30)
    assert (got[1].hour, got[2].hour) == (1, 1)


def test_fixed_hour_cron_runs_once_when_the_hour_repeats() -> None:
    got = fires("cron: 30 1 * * *", london(2026, 10, 24, 12, 0), 3)
    assert [f.day for f in got] == [25, 26, 27]  # not twice on the 25th
    assert got[0].astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 01:30 (BST)


def test_hourly_cron_fires_in_both_repeated_hours() -> None:
    got = fires("cron: 0 * * * *", london(2026, 10, 25, 0, 30), 3)
    utc = [f.astimezone(UTC).hour for f in got]
    assert utc == [0, 1, 2]  # 01:00 BST, 01:00 GMT, 02:00 GMT: three real hours
    assert [f.hour for f in got] == [1, 1, 2]


def test_sunset_across_both_dst_changes() -> None:
    spring = fires("sunset: -30m", london(2026, 3, 28, 9, 0), 2)
    assert [f.day for f in spring] == [28, 29]
    assert spring[0].hour == 17 and spring[1].hour == 18  # wall clock jumps an hour with the clocks
    real = spring[1].astimezone(UTC) - spring[0].astimezone(UTC)  # same-zone subtraction is wall-clock time
    assert timedelta(hours=24) < real < timedelta(hours=24, minutes=5)
    autumn = fires("sunset", london(2026, 10, 24, 9, 0), 2)
    assert autumn[0].hour == 17 and autumn[1].hour == 16  # and back
    real = autumn[1].astimezone(UTC) - autumn[0].astimezone(UTC)
    assert timedelta(hours=23, minutes=55) < real < timedelta(hours=24)


def test_sunrise_offset_and_a_day_that_has_no_sunset() -> None:
    got = fires("sunrise: +10m", london(2026, 6, 21, 12, 0), 1)[0]
    assert (got.day, got.hour) == (22, 4) and 50 <= got.minute <= 59  # London: ~04:43 + 10 min
    arctic = SunTrigger("sunset", timedelta(0), Place(LONDON, 78.2, 15.6))  # Svalbard: midnight sun in June
    fire = arctic.get_next_fire_time(None, london(2026, 6, 21, 12, 0))
    assert fire is not None and fire.month == 8  # the first sunset after the polar day


def test_interval_keeps_its_phase_from_creation() -> None:
    created = london(2026, 11, 21, 7, 3)
    trigger = parse("every: 15m", PLACE, now=created, anchor=created).trigger
    later = london(2026, 11, 22, 10, 0)
    assert trigger.get_next_fire_time(None, later) == london(2026, 11, 22, 10, 3)
    assert occurrences(trigger, london(2026, 11, 22, 10, 3), london(2026, 11, 22, 10, 40)) == [
        london(2026, 11, 22, 10, 3),
        london(2026, 11, 22, 10, 18),
        london(2026, 11, 22, 10, 33),
    ]


@pytest.mark.parametrize(
    ("text", "canonical", "plain"),
    [
        ("weekdays: 06:30", "cron: 30 6 * * mon-fri", "Every weekday at 06:30"),
        ("every weekday at 6:30", "cron: 30 6 * * mon-fri", "Every weekday at 06:30"),
        ("daily: 07:00", "cron: 0 7 * * *", "Every day at 07:00"),
        ("cron: 0 9 * * mon,thu", "cron: 0 9 * * mon,thu", "Every Monday and Thursday at 09:00"),
        ("cron: */15 * * * *", "cron: */15 * * * *", "Every 15 minutes"),
        ("cron: 0 9 1 * *", "cron: 0 9 1 * *", "On the cron schedule '0 9 1 * *'"),
        ("every: 90m", "every: 1h30m", "Every 1 hour 30 minutes"),
        ("every hour", "every: 1h", "Every hour"),
        ("sunset: -30m", "sunset: -30m", "Every day 30 minutes before sunset"),
        ("20 minutes after sunrise", "sunrise: +20m", "Every day 20 minutes after sunrise"),
        ("at sunset every day", "sunset", "Every day at sunset"),
        ("in: 2m", "at: 2026-11-21T07:47:00+00:00", "Once, Sat 21 Nov 07:47"),
        ("at: 2026-12-24 18:00", "at: 2026-12-24T18:00:00+00:00", "Once, Thu 24 Dec 18:00"),
        ("at: 2026-12-24 7:00", "at: 2026-12-24T07:00:00+00:00", "Once, Thu 24 Dec 07:00"),
        ("tomorrow at 9am", "at: 2026-11-22T09:00:00+00:00", "Once, Sun 22 Nov 09:00"),
    ],
)
def test_schedules_read_and_said_back(text: str, canonical: str, plain: str) -> None:
    now = london(2026, 11, 21, 7, 45)
    schedule = parse(text, PLACE, now=now, anchor=now)
    assert schedule.text == canonical
    assert words.schedule(schedule, LONDON) == plain
    again = parse(schedule.text, PLACE, now=now, anchor=now, relative=False)  # the stored form reads the same
    assert again.text == canonical


def test_bare_hour_means_the_next_one_and_24h_is_taken_literally() -> None:
    tz = LONDON
    assert moment("at 7", london(2026, 11, 21, 7, 45), tz) == london(2026, 11, 21, 19, 0)
    assert moment("at 7", london(2026, 11, 21, 5, 0), tz) == london(2026, 11, 21, 7, 0)
    assert moment("at 07:00", london(2026, 11, 21, 7, 45), tz) == london(2026, 11, 22, 7, 0)
    assert moment("tonight at 9", london(2026, 11, 21, 7, 45), tz) == london(2026, 11, 21, 21, 0)
    assert moment("friday 7pm", london(2026, 11, 21, 7, 45), tz) == london(2026, 11, 27, 19, 0)
    assert natural_schedule("friday at 7pm", london(2026, 11, 21, 7, 45), tz) == "at: 2026-11-27T19:00:00+00:00"
    assert natural_schedule("every friday at 7pm", london(2026, 11, 21, 7, 45), tz) == "cron: 0 19 * * fri"
    assert duration("an hour and a half") == timedelta(minutes=90)
    assert duration("1h30m") == duration("90 minutes") == timedelta(minutes=90)
    with pytest.raises(WhenError):
        duration("soon")


def test_confirmation_names_the_next_run() -> None:
    now = london(2026, 11, 21, 7, 45)  # a Saturday
    schedule = parse("weekdays: 06:30", PLACE, now=now, anchor=now)
    upcoming = schedule.trigger.get_next_fire_time(None, now)
    assert upcoming is not None
    assert f"{words.schedule(schedule, LONDON)} — next: {words.moment(upcoming, LONDON)}" == (
        "Every weekday at 06:30 — next: Mon 23 Nov 06:30"
    )
    assert words.until(now + timedelta(seconds=119), now) == "in 2 minutes"


def test_unreadable_schedules_and_actions_say_what_works() -> None:
    now = london(2026, 11, 21, 7, 45)
    for bad in ("cron: 61 * * * *", "whenever", "every: soon", "sunset: +lots"):
        with pytest.raises(ScheduleError, match="daily: 07:00"):
            parse(bad, PLACE, now=now)
    with pytest.raises(ScheduleError, match="fixed schedule"):
        parse("in: 5m", PLACE, now=now, relative=False)  # a stored "in:" would move at every restart
    with pytest.raises(ActionError, match="say:"):
        parse_action("blink wildly")
    assert parse_action("check the oven", default="say").stored == "say: check the oven"
    with pytest.raises(ActionError):
        parse_action("heartbeat")  # only the system may schedule the heartbeat


def test_config_jobs_are_checked_when_the_file_is_read() -> None:
    good = {"id": "morning", "schedule": "weekdays: 06:30", "action": "routine: good morning"}
    assert parse_config({"scheduler": {"jobs": [good]}}).scheduler.jobs[0].id == "morning"
    with pytest.raises(ConfigError, match=r"scheduler\.jobs\[0\]\.schedule"):
        parse_config({"scheduler": {"jobs": [{**good, "schedule": "cron: 30 6 * *"}]}})
    with pytest.raises(ConfigError, match=r"scheduler\.jobs\[0\]\.action"):
        parse_config({"scheduler": {"jobs": [{**good, "action": "dance"}]}})
    with pytest.raises(ConfigError, match="share an id"):
        parse_config({"scheduler": {"jobs": [good, good]}})
    with pytest.raises(ConfigError, match=r"heartbeat\.quiet_hours"):
        parse_config({"heartbeat": {"quiet_hours": "late"}})
    with pytest.raises(ConfigError, match=r"location\.timezone"):
        parse_config({"location": {"timezone": "Europe/Atlantis"}})


async def test_timer_registers_under_stable_ids_with_the_given_next_run() -> None:
    woken: list[str] = []
    timer = Timer(LONDON, grace=300, wake=woken.append)
    schedule = parse("weekdays: 06:30", PLACE, now=london(2026, 11, 21, 7, 45))
    first = london(2026, 11, 23, 6, 30)
    timer.set("morning", schedule.trigger, first)
    timer.set("morning", schedule.trigger, first)  # replace_existing: still one job
    timer.start(paused=True)
    try:
        assert timer.count() == 1
        assert timer.next_run("morning") == first
        job = timer.scheduler.get_job("morning")
        assert job.misfire_grace_time == 300 and job.coalesce is False
        timer.cancel("morning")
        timer.cancel("morning")  # cancelling twice is harmless
        assert timer.count() == 0 and woken == []
    finally:
        timer.stop()


async def test_timer_hands_the_job_over_without_running_it() -> None:
    import asyncio

    woken: list[str] = []
    timer = Timer(LONDON, grace=300, wake=woken.append)
    timer.start()
    try:
        soon = datetime.now(UTC) + timedelta(milliseconds=50)
        schedule = parse("every: 1h", PLACE, now=datetime.now(UTC))
        timer.set("tick", schedule.trigger, soon)
        for _ in range(100):
            if woken:
                break
            await asyncio.sleep(0.01)
        assert woken == ["tick"]
        nxt = timer.next_run("tick")
        assert nxt is not None and nxt > datetime.now(UTC) + timedelta(minutes=59)
    finally:
        timer.stop()
