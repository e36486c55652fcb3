"""The heartbeat: silent (and model-free) in a healthy house, speaking when the garage is left open at night."""

from __future__ import annotations

from collections.abc import Callable

from claw.core.config import Config
from claw.core.findings import Finding, in_window, quiet_window
from claw.jobs.agenda import Jobs
from claw.jobs.clock import ManualClock
from claw.jobs.heartbeat import plain_list
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.test_jobs_support import daemon, london, told


class Garage:
    """A provider for app.checks: the simulated garage door, urgent when open at night."""

    def __init__(self) -> None:
        self.open = False
        self.calls = 0

    async def __call__(self) -> list[Finding]:
        self.calls += 1
        if not self.open:
            return []
        return [Finding("urgent", "garage:open", "The garage door is open.")]


class Batteries:
    def __init__(self) -> None:
        self.low: list[str] = []

    async def __call__(self) -> list[Finding]:
        return [Finding("notice", f"battery:{name}", f"The {name} battery is at 12 %.") for name in self.low]


async def beats(jobs: Jobs, clock: ManualClock, count: int, minutes: float = 30) -> None:
    """Let `count` heartbeat intervals pass on the hand-driven clock, running whatever falls due."""
    for _ in range(count):
        clock.advance(minutes=minutes)
        await jobs.run_due()


def heartbeat_requests(ollama: ScriptedOllama) -> int:
    return sum(1 for r in ollama.chat_requests if "Findings:" in str(r["messages"][-1].get("content")))


async def test_a_healthy_house_costs_no_model_calls_all_day(
    make_config: Callable[..., Config], ollama: ScriptedOllama
) -> None:
    clock = ManualClock(london(2026, 11, 21, 0, 5))
    garage, batteries = Garage(), Batteries()
    async with daemon(make_config, clock, llm_host=ollama.url) as (app, jobs):
        app.checks.extend([garage, batteries])
        await beats(jobs, clock, 48)
        assert garage.calls == 48  # it looked every 30 minutes...
        assert ollama.chat_requests == []  # ...and never woke the model
        assert told(app) == []
        history = [
            h["status"] for h in next(j for j in await app.snapshot("jobs") if j["id"] == "heartbeat")["history"]
        ]
        assert history == ["ran"] * 10
        assert next(j for j in await app.snapshot("jobs") if j["id"] == "heartbeat")["history"][0]["detail"] == (
            "all quiet (2 checks)"
        )


async def test_garage_open_at_night_is_told_once_and_again_when_it_comes_back(
    make_config: Callable[..., Config], ollama: ScriptedOllama
) -> None:
    ollama.on("Findings:", lambda r: Reply.text("Heads up: the garage door is still open tonight."))
    clock = ManualClock(london(2026, 11, 21, 22, 0))
    garage = Garage()
    async with daemon(make_config, clock, llm_host=ollama.url) as (app, jobs):
        app.checks.append(garage)
        garage.open = True  # left open at 22:10; quiet hours start at 22:30
        await beats(jobs, clock, 2)  # 22:30, 23:00
        assert told(app) == ["Heads up: the garage door is still open tonight."]
        assert [n.kind for n in app.local.notifications] == ["alert"]  # urgent: an alert, even in quiet hours
        body = ollama.chat_requests[-1]
        assert body.get("tools") in (None, [])  # phrasing only: no tools offered
        assert "The garage door is open." in body["messages"][-1]["content"]
        await beats(jobs, clock, 4)  # still open: not repeated every 30 minutes
        assert len(told(app)) == 1
        garage.open = False
        await beats(jobs, clock, 1)
        garage.open = True  # opened again at 02:00: news again, quiet hours or not (urgent)
        await beats(jobs, clock, 1)
        assert len(told(app)) == 2
        assert heartbeat_requests(ollama) == 2


async def test_quiet_hours_hold_notices_until_morning_and_a_day_later_they_are_said_again(
    make_config: Callable[..., Config],
) -> None:
    clock = ManualClock(london(2026, 11, 21, 23, 0))
    batteries = Batteries()
    async with daemon(make_config, clock) as (app, jobs):  # the model is down: a plain list goes out
        app.checks.append(batteries)
        batteries.low = ["front door lock", "hall sensor"]
        await beats(jobs, clock, 15)  # 23:30 ... 06:30: held
        assert told(app) == []
        await beats(jobs, clock, 1)  # 07:00: quiet hours are over
        assert told(app) == [
            "Heads-up:\n- The front door lock battery is at 12 %.\n- The hall sensor battery is at 12 %."
        ]
        await beats(jobs, clock, 47)  # the rest of the day: nothing new
        assert len(told(app)) == 1
        await beats(jobs, clock, 1)  # 24 hours after it was said: once a day while it lasts
        assert len(told(app)) == 2
        history = next(j for j in await app.snapshot("jobs") if j["id"] == "heartbeat")["history"]
        assert [h["detail"] for h in history[:2]] == ["2 findings, told 2", "2 findings, already told"]


async def test_a_broken_check_does_not_stop_the_others_and_memory_survives_a_restart(
    make_config: Callable[..., Config],
) -> None:
    clock = ManualClock(london(2026, 11, 21, 12, 0))
    garage = Garage()
    garage.open = True

    async def broken() -> list[Finding]:
        raise RuntimeError("camera service gone")

    async with daemon(make_config, clock) as (app, jobs):
        app.checks.extend([broken, garage])
        await beats(jobs, clock, 1)
        assert told(app) == ["Heads-up: The garage door is open."]
    async with daemon(make_config, clock) as (app, jobs):  # restarted: it already said so
        app.checks.append(garage)
        await beats(jobs, clock, 2)
        assert told(app) == []


def test_quiet_window_wraps_midnight_and_plain_list_puts_urgent_first() -> None:
    window = quiet_window("22:30-07:00")
    assert window is not None
    assert in_window(window, london(2026, 1, 1, 23, 0).time()) and in_window(window, london(2026, 1, 1, 6, 59).time())
    assert not in_window(window, london(2026, 1, 1, 7, 0).time())
    assert quiet_window("") is None and not in_window(None, london(2026, 1, 1, 3, 0).time())
    text = plain_list([Finding("notice", "a", "Battery low."), Finding("urgent", "b", "Garage open.")])
    assert text == "Heads-up:\n- Garage open.\n- Battery low."
