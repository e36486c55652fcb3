"""Jobs in a running daemon: firing semantics, restarts with missed occurrences, failures, quarantine, the API."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from claw.core.bus import Outbound
from claw.core.config import Config
from claw.core.principals import dashboard
from claw.core.request import Request
from claw.core.store import jobs as jobs_db
from claw.core.store.driver import sqlite_driver
from claw.daemon import Daemon, Tuning, build
from claw.jobs.clock import ManualClock, SystemClock
from tests.fakes.ollama_server import ChatRequest, Reply, ScriptedOllama
from tests.test_jobs_support import Household, daemon, london, told

OWNER = Request(principal=dashboard("Owner"), channel="local", sender="local", via="dashboard")  # the dashboard session


async def runs_of(app: Daemon, job_id: str) -> list[jobs_db.Run]:
    return await app.store.run(jobs_db.runs, job_id)


async def test_reminder_by_the_fast_path_fires_on_time_with_the_model_down(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 7, 45))
    async with daemon(make_config, clock) as (app, jobs):  # llm_host points at nothing: the model is down
        reply = await app.local.ask("Remind me in 2 minutes to check the oven")
        assert reply.text.startswith("I'll remind you: check the oven. Once, Sat 21 Nov 07:47 (in 2 minutes).")
        (job,) = [j for j in jobs.jobs.values() if j.source == "chat"]
        assert job.action.stored == "say: check the oven" and job.owner == app.local.actor
        assert jobs.next_run(job.id) == london(2026, 11, 21, 7, 47)
        clock.advance(119)
        await jobs.run_due()
        assert told(app, "job") == []  # not a second early
        clock.advance(1)
        await jobs.run_due()
        assert told(app, "job") == ["Reminder: check the oven"]
        (run,) = await runs_of(app, job.id)
        assert (run.status, run.scheduled) == ("ran", london(2026, 11, 21, 7, 47).timestamp())
        await jobs.run_due()
        assert told(app, "job") == ["Reminder: check the oven"]  # a one-off runs once
        (listed,) = [j for j in await app.snapshot("jobs") if j["id"] == job.id]
        assert listed["status"] == "finished" and listed["next_run"] is None


async def test_reminder_by_chat_through_the_model_reaches_the_owner_on_the_real_timer(
    make_config: Callable[..., Config], ollama: ScriptedOllama
) -> None:
    ollama.on("oven", Reply.call("create_job", schedule="in: 1s", action="say: check the oven"), times=1)
    ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(json.loads(r.tool_results[-1])["tell_the_owner"]))
    heard: list[tuple[float, Outbound]] = []

    async def listen(message: Outbound) -> None:
        heard.append((time.time(), message))

    async with daemon(make_config, SystemClock(), llm_host=ollama.url) as (app, jobs):
        app.bus.listen(listen)
        held = await app.local.ask("don't let me forget the oven, ping me in a second")
        code = re.search(r"OK ([A-Z0-9]{4})", held.text)  # a job the model creates waits for the owner's code
        assert code is not None and not [j for j in jobs.jobs.values() if j.source == "chat"]
        reply = await app.local.ask(f"OK {code[1]}")
        assert reply.text.startswith("Remind you: check the oven. Once, ")
        offered = {t["function"]["name"] for t in ollama.chat_requests[0]["tools"]}
        assert {"create_job", "list_jobs", "pause_job", "resume_job", "delete_job"} <= offered
        (job,) = [j for j in jobs.jobs.values() if j.source == "chat"]
        due = jobs.next_run(job.id)
        assert due is not None
        for _ in range(300):
            if any(m.kind == "job" for _, m in heard):
                break
            await asyncio.sleep(0.01)
        (at, message) = next((t, m) for t, m in heard if m.kind == "job")
        assert message.text == "Reminder: check the oven" and message.recipient is None
        assert 0 <= at - due.timestamp() < 1.0  # on time, through APScheduler, not a manual tick
        await jobs.settle()
        (run,) = await runs_of(app, job.id)
        assert run.status == "ran" and run.started is not None and run.started - run.scheduled < 1.0


async def test_a_repeating_job_on_the_real_timer_runs_each_occurrence_once(make_config: Callable[..., Config]) -> None:
    house = Household({"blink"})
    async with daemon(make_config, SystemClock(), household=house) as (app, jobs):
        spam = {"schedule": "every: 1s", "action": "say: spam"}
        refused = json.loads(await app.tools.call("create_job", spam, request=OWNER))
        assert "once a minute" in refused["error"]
        job = await jobs.create("every: 1s", "device: blink", source="dashboard")
        for _ in range(300):
            if len(house.calls) >= 2:
                break
            await asyncio.sleep(0.01)
        await jobs.pause(job.id)
        await jobs.settle()
        runs = await runs_of(app, job.id)
        assert [r.status for r in runs] == ["ran"] * len(runs) and len(runs) == len(house.calls) >= 2
        assert [round(b.scheduled - a.scheduled, 3) for a, b in itertools.pairwise(runs)] == [1.0] * (len(runs) - 1)
        assert jobs.timer_next_run(job.id) is None  # paused: off the timer


async def test_config_routine_runs_through_the_fast_path_and_shows_in_the_api(
    make_config: Callable[..., Config],
) -> None:
    clock = ManualClock(london(2026, 11, 20, 6, 0))  # a Friday
    house = Household({"good morning"})
    morning = {"id": "morning", "schedule": "weekdays: 06:30", "action": "routine: good morning"}
    async with daemon(make_config, clock, household=house, scheduler={"jobs": [morning]}) as (app, jobs):
        clock.set(london(2026, 11, 20, 6, 30))
        await jobs.run_due()
        ((text, turn),) = house.calls
        assert text == "good morning"
        assert (turn.actor, turn.via, turn.channel) == ("the job 'Routine good morning'", "schedule", "schedule")
        assert turn.principal.kind == "job"  # a job acting for its creator: its codes name it
        assert jobs.confirm(jobs.jobs["morning"]) == "Every weekday at 06:30 — next: Mon 23 Nov 06:30"
        url = f"http://127.0.0.1:{app.config.private.port}/api/jobs"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            listed = {j["id"]: j for j in await response.json()}
        got = listed["morning"]
        assert got["source"] == "config" and got["enabled"] is True and got["when"] == "Every weekday at 06:30"
        assert got["action"] == "routine: good morning" and got["last_status"] == "ran" and got["failures"] == 0
        assert datetime.fromisoformat(got["next_run"]) == london(2026, 11, 23, 6, 30)
        assert [h["status"] for h in got["history"]] == ["ran"]
        assert got["history"][0]["detail"] == "done: good morning"
        assert listed["heartbeat"]["source"] == "system"


async def test_restart_accounts_for_missed_occurrences_and_never_runs_one_twice(
    make_config: Callable[..., Config],
) -> None:
    start = london(2026, 11, 21, 10, 0)
    clock = ManualClock(start)
    house = Household({"tidy up"})
    sections: dict[str, Any] = {"household": house, "scheduler": {"grace_seconds": 300.0}}
    async with daemon(make_config, clock, **sections) as (app, jobs):
        job = await jobs.create("every: 10m", "device: tidy up")
        clock.advance(minutes=10)
        await jobs.run_due()
        assert len(house.calls) == 1
    clock.set(start + timedelta(minutes=62))  # down from 10:10 to 11:02: 10:20 ... 11:00 were missed
    async with daemon(make_config, clock, **sections) as (app, jobs):
        await jobs.settle()
        assert len(house.calls) == 2  # 11:00 is 2 minutes late, within the grace: run once, late
        statuses = [(datetime.fromtimestamp(r.scheduled, UTC), r.status, r.detail) for r in await runs_of(app, job.id)]
        assert [s for _, s, _ in statuses] == ["ran", "skipped", "skipped", "skipped", "skipped", "late"]
        assert all(d == "daemon down" for _, s, d in statuses if s == "skipped")
        assert statuses[-1][0] == london(2026, 11, 21, 11, 0) and statuses[-1][2].startswith("started 2 minutes late")
        assert jobs.next_run(job.id) == london(2026, 11, 21, 11, 10)
        await jobs.run_due()
        assert len(house.calls) == 2
    clock.set(start + timedelta(minutes=77))  # 11:10 was missed by 7 minutes: beyond the grace
    async with daemon(make_config, clock, **sections) as (app, jobs):
        await jobs.settle()
        assert len(house.calls) == 2
        last = (await runs_of(app, job.id))[-1]
        assert (last.status, last.detail, last.scheduled) == (
            "skipped",
            "daemon down",
            london(2026, 11, 21, 11, 10).timestamp(),
        )
        assert jobs.timer_next_run(job.id) == london(2026, 11, 21, 11, 20)


async def test_late_timer_skips_beyond_grace_and_coalesces_within_it(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 10, 0))
    house = Household({"water the plants"})
    async with daemon(make_config, clock, household=house, scheduler={"grace_seconds": 120.0}) as (app, jobs):
        job = await jobs.create("every: 1m", "device: water the plants")
        clock.advance(minutes=1, seconds=30)  # the 10:01 occurrence is 30 s late: within the grace, it runs late
        await jobs.run_due()
        clock.advance(minutes=2)  # 10:02 and 10:03 due at once: only the newest runs
        await jobs.run_due()
        clock.advance(minutes=5)  # suspended laptop: 10:04 ... 10:08 due, the newest is 30 s late
        await jobs.run_due()
        runs = [(r.status, r.detail) for r in await runs_of(app, job.id)]
        assert [s for s, _ in runs] == ["late", "skipped", "late", "skipped", "skipped", "skipped", "skipped", "late"]
        assert runs[0][1] == "started 30 seconds late; done: water the plants"
        assert runs[1][1].startswith("coalesced")
        assert [d.split(" (")[0] for _, d in runs[3:6]] == ["grace exceeded"] * 3  # 10:04, 10:05, 10:06
        assert runs[6][1].startswith("coalesced")  # 10:07 was within the grace but 10:08 was due too
        assert len(house.calls) == 3


async def test_failure_streak_pauses_the_job_and_tells_the_owner(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 10, 0))
    async with daemon(make_config, clock, scheduler={"failure_limit": 3}) as (app, jobs):
        job = await jobs.create("every: 5m", "routine: movie night")  # nothing understands it
        for _ in range(3):
            clock.advance(minutes=5)
            await jobs.run_due()
        runs = await runs_of(app, job.id)
        assert [r.status for r in runs] == ["failed"] * 3
        assert "there is no routine called 'movie night'" in runs[0].detail
        assert jobs.jobs[job.id].enabled is False
        (notice,) = told(app, "job")
        assert "paused" in notice and "3 failures in a row" in notice and job.id in notice
        clock.advance(minutes=30)
        await jobs.run_due()
        assert len(await runs_of(app, job.id)) == 3
        (listed,) = [j for j in await app.snapshot("jobs") if j["id"] == job.id]
        assert listed["status"] == "paused after 3 failures" and listed["next_run"] is None
        result = json.loads(await app.tools.call("resume_job", {"job": "movie"}, request=OWNER))
        assert result["status"] == "scheduled" and "next: Sat 21 Nov 10:50" in result["tell_the_owner"]
        assert jobs.jobs[job.id].enabled is True


async def test_a_slow_job_times_out_and_a_stop_mid_run_is_recorded_and_run_again_within_its_grace(
    make_config: Callable[..., Config],
) -> None:
    clock = ManualClock(london(2026, 11, 21, 10, 0))
    house = Household({"defrost", "deep clean"}, slow={"defrost", "deep clean"})
    sections: dict[str, Any] = {"household": house, "scheduler": {"job_timeout": 0.2}}
    async with daemon(make_config, clock, **sections) as (app, jobs):
        job = await jobs.create("every: 1h", "device: defrost")
        clock.advance(hours=1)
        await jobs.run_due()
        (run,) = await runs_of(app, job.id)
        assert (run.status, run.detail) == ("timeout", "no result within 0.2 s")
    sections["scheduler"] = {"job_timeout": 60.0}
    async with daemon(make_config, clock, **sections) as (app, jobs):
        long_job = await jobs.create("every: 1h", "device: deep clean")
        clock.advance(hours=1)
        await jobs.run_due(wait=False)
        for _ in range(200):  # the defrost job is due again too: wait for this one to be under way
            if any(text == "deep clean" for text, _ in house.calls):
                break
            await asyncio.sleep(0.01)
    house.slow.clear()  # after the restart the device answers at once
    async with daemon(make_config, clock, **sections) as (app, jobs):
        await jobs.settle()
        statuses = [r.status for r in await runs_of(app, long_job.id)]
        assert statuses == ["ran"]  # it had not acted (nothing audited): it ran again, under its own row
        assert sum(1 for text, _ in house.calls if text == "deep clean") == 2  # the first never finished


async def test_a_corrupt_job_row_is_quarantined_and_reported(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 10, 0))
    async with daemon(make_config, clock) as (app, jobs):
        job = await jobs.create("daily: 18:00", "say: feed the cat")
        keep = await jobs.create("daily: 19:00", "say: water the plants")
        db_path = app.store.path
    with sqlite_driver().connect(db_path) as db:
        db.execute("UPDATE jobs SET schedule = 'cron: 99 99 * * *' WHERE id = ?", [job.id])
    async with daemon(make_config, clock) as (app, jobs):
        assert job.id not in jobs.jobs and keep.id in jobs.jobs
        (row,) = await app.store.run(jobs_db.quarantined)
        payload = json.loads(row["payload"])
        assert payload["row"]["id"] == job.id and payload["row"]["schedule"] == "cron: 99 99 * * *"
        assert "cron" in row["reason"]
        (notice,) = told(app, "notice")
        assert job.id in notice and "quarantine" in notice
    async with daemon(make_config, clock) as (app, jobs):  # reported once; the row is not overwritten
        assert told(app, "notice") == []
        assert len(await app.store.run(jobs_db.quarantined)) == 1


async def test_a_sunset_job_survives_a_restart(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 12, 0))
    house = Household({"turn the porch light on"})
    async with daemon(make_config, clock, household=house) as (_, jobs):
        # said in chat it is test_jobs_chat's (the home's grammar reads the command); here the stand-in reads it
        job = await jobs.create("sunset", "device: turn the porch light on")
        assert jobs.confirm(job).startswith("Every day at sunset — next: Sat 21 Nov 16:0")
        assert house.calls == []  # scheduled, not done now
        sunset = jobs.next_run(job.id)
    async with daemon(make_config, clock, household=house) as (_, jobs):
        assert jobs.jobs[job.id].schedule.text == "sunset"
        assert jobs.next_run(job.id) == sunset and jobs.timer_next_run(job.id) == sunset
        assert sunset is not None
        clock.set(sunset)
        await jobs.run_due()
        assert [text for text, _ in house.calls] == ["turn the porch light on"]
        nxt = jobs.next_run(job.id)
        assert nxt is not None and nxt.date() == datetime(2026, 11, 22).date()


async def test_ask_jobs_run_fresh_and_speak_only_when_the_model_decides_to(
    make_config: Callable[..., Config], ollama: ScriptedOllama
) -> None:
    def decide(request: ChatRequest) -> Reply:
        question = request.messages[1]["content"]
        if "washing" in question:
            return Reply.text(json.dumps({"notify": True, "message": "Rain at 3 pm: bring the washing in."}))
        if "broken" in question:
            return Reply.text("I think so, yes")  # not the agreed JSON
        return Reply.text(json.dumps({"notify": False, "message": ""}))

    ollama.on(lambda r: r.format is not None, decide)
    clock = ManualClock(london(2026, 11, 21, 10, 0))
    async with daemon(make_config, clock, llm_host=ollama.url) as (app, jobs):
        await app.local.ask("hello there")  # some history that a job must not see
        quiet = await jobs.create("daily: 11:00", "ask: is anything in the fridge past its date?")
        loud = await jobs.create("daily: 11:00", "ask: should the washing come in?")
        broken = await jobs.create("daily: 11:00", "ask: broken answer please")
        clock.set(london(2026, 11, 21, 11, 0))
        await jobs.run_due()
        assert told(app, "job") == ["Rain at 3 pm: bring the washing in."]
        assert (await runs_of(app, quiet.id))[-1].detail == "nothing to tell"
        assert (await runs_of(app, loud.id))[-1].status == "ran"
        failed = (await runs_of(app, broken.id))[-1]
        assert failed.status == "failed" and "not valid JSON" in failed.detail
        decisions = [r for r in ollama.chat_requests if r.get("format")]
        assert len(decisions) == 3
        for body in decisions:
            contents = " ".join(str(m.get("content")) for m in body["messages"])
            assert "hello there" not in contents  # history-less
            assert body["format"]["required"] == ["notify", "message"]


async def test_tools_and_commands_list_pause_resume_delete(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 10, 0))
    bins = {"id": "bins", "schedule": "cron: 0 19 * * thu", "action": "say: take the bins out"}
    async with daemon(make_config, clock, scheduler={"jobs": [bins]}) as (app, jobs):
        created = json.loads(
            await app.tools.call(
                "create_job", {"schedule": "sunset: -15m", "action": "say: close the curtains"}, request=OWNER
            )
        )
        assert created["when"].startswith("Every day 15 minutes before sunset — next: Sat 21 Nov 15:")
        listed = json.loads(await app.tools.call("list_jobs", {}, request=OWNER))["jobs"]
        assert [j["id"] for j in listed] == ["heartbeat", created["id"], "bins"]  # soonest first
        listed = listed[1:]
        assert listed[1]["when"] == "Every Thursday at 19:00" and listed[1]["next"] == "Thu 26 Nov 19:00"
        paused = json.loads(await app.tools.call("pause_job", {"job": "curtains"}, request=OWNER))
        assert paused["status"] == "paused" and jobs.jobs[created["id"]].enabled is False
        assert jobs.timer_next_run(created["id"]) is None
        refused = json.loads(await app.tools.call("delete_job", {"job": "bins"}, request=OWNER))
        assert "config file" in refused["error"]
        unknown = json.loads(await app.tools.call("delete_job", {"job": "dishwasher"}, request=OWNER))
        assert "dishwasher" in unknown["error"] and "bins" in unknown["error"]
        assert (await app.local.ask("/jobs pause bins")).text == "Paused bins: Reminder: take the bins out."
        text = (await app.local.ask("/jobs")).text
        assert "bins: Remind you: take the bins out — Every Thursday at 19:00 [paused]" in text
        deleted = json.loads(await app.tools.call("delete_job", {"job": created["id"]}, request=OWNER))
        assert deleted["status"] == "deleted" and created["id"] not in jobs.jobs
    async with daemon(make_config, clock, scheduler={"jobs": [bins]}) as (app, jobs):
        assert jobs.jobs["bins"].enabled is False  # the owner's pause outlives a restart
        assert set(jobs.jobs) == {"bins", "heartbeat"}
    async with daemon(make_config, clock, scheduler={"jobs": []}) as (app, jobs):
        assert set(jobs.jobs) == {"heartbeat"}  # gone from the config, gone from the book


async def test_a_daemon_with_many_jobs_starts_and_stops_cleanly(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 10, 0))
    async with daemon(make_config, clock) as (_, jobs):
        for n in range(50):
            await jobs.create(f"every: {n + 1}m", f"say: number {n}")
        assert len(jobs.listing()) == 51
    config = make_config(location={"timezone": "Europe/London"})
    app2 = build(config, parts={"jobs"}, tuning=Tuning(clock=clock))
    other = app2.jobs
    assert other is not None
    await app2.start()
    try:
        assert len(other.jobs) == 51 and other.timer_count() == 51
    finally:
        await app2.stop()


async def test_the_grammar_understands_common_phrasings_without_the_model(make_config: Callable[..., Config]) -> None:
    clock = ManualClock(london(2026, 11, 21, 7, 45))
    async with daemon(make_config, clock) as (app, jobs):
        later = await app.local.ask("remind me to look at the car in 5 minutes")
        assert later.text.startswith("I'll remind you: look at the car. Once, Sat 21 Nov 07:50 (in 5 minutes).")
        bins = await app.local.ask("Remind me at 7 to take the bins out.")
        assert "Once, Sat 21 Nov 19:00" in bins.text  # past 07:00 already: the evening
        status = (await app.local.ask("/status")).text
        assert "Jobs: 3 scheduled; next: Reminder: look at the car at Sat 21 Nov 07:50" in status
        listing = await app.local.ask("what's scheduled?")
        assert "look at the car" in listing.text and "take the bins out" in listing.text
        no_time = await app.local.ask("remind me to breathe")  # no time: left to the model, which is down
        assert "offline" in no_time.text
        # no home here, so no routine called that: the grammar does not make a job of a routine that isn't
        no_routine = await app.local.ask("every weekday at 6:30 run good morning")
        assert "offline" in no_routine.text
        gone = await app.local.ask("cancel the car reminder")
        assert gone.text.startswith("Cancelled: Remind you: look at the car")
        actions = sorted(j.action.stored for j in jobs.jobs.values() if j.source == "chat")
        assert actions == ["say: take the bins out"]


async def test_the_kill_switch_skips_scheduled_routines_without_counting_failures(
    make_config: Callable[..., Config],
) -> None:
    from claw.core.safety import PAUSED_KEY
    from claw.core.store.audit import set_setting

    clock = ManualClock(london(2026, 11, 20, 6, 0))
    house = Household({"good morning"})
    morning = {"id": "morning", "schedule": "daily: 06:30", "action": "routine: good morning"}
    bins = {"id": "bins", "schedule": "daily: 06:30", "action": "say: bins out"}
    async with daemon(make_config, clock, household=house, scheduler={"jobs": [morning, bins]}) as (app, jobs):
        await app.store.run(set_setting, PAUSED_KEY, "1")
        clock.set(london(2026, 11, 20, 6, 30))
        await jobs.run_due()
        assert house.calls == []  # the routine did not run
        assert any("bins out" in t for t in told(app))  # a reminder is a message, not an automation
        listed = {j["id"]: j for j in await jobs.snapshot()}
        assert listed["morning"]["last_status"] == "skipped" and listed["morning"]["failures"] == 0
        assert "kill switch" in listed["morning"]["history"][0]["detail"]


async def test_reminders_in_every_language_answer_in_that_language_and_fire(
    make_config: Callable[..., Config],
) -> None:
    clock = ManualClock(london(2026, 11, 21, 7, 45))
    languages = {"languages": ["en", "es", "de", "fr"]}
    async with daemon(make_config, clock, assistant=languages) as (app, jobs):  # the model is down
        german = await app.local.ask("Erinnere mich in 10 Minuten an den Ofen")
        assert german.text.startswith("Ich erinnere dich: den Ofen. Einmal, Sa 21. Nov 07:55 (in 10 Minuten).")
        spanish = await app.local.ask("Recuérdame en 5 minutos que mire el horno")
        assert spanish.text.startswith("Te lo recordaré: mire el horno. Una vez, sáb 21 nov 07:50 (dentro de 5")
        french = await app.local.ask("Rappelle-moi dans 20 minutes d'appeler Maman")
        assert french.text.startswith("Je te le rappellerai : appeler Maman. Une fois, sam. 21 nov. 08:05")
        listing = await app.local.ask("was ist geplant?")
        assert listing.text.splitlines()[0].startswith("Erinnern: mire el horno — Einmal, Sa 21. Nov 07:50")
        gone = await app.local.ask("annule le rappel d'appeler maman")
        assert gone.text.startswith("Annulé : Te rappeler : appeler Maman"), gone.text
        clock.advance(300)
        await jobs.run_due()
        assert told(app, "job") == ["Reminder: mire el horno"]
        assert sorted(j.description for j in jobs.jobs.values() if j.source == "chat") == [
            "Erinnerung: den Ofen",
            "Recordatorio: mire el horno",
        ]
