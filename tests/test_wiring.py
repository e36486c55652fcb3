"""How the house is wired: parts built by the daemon from the config, jobs acting on the domain, one tool loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from claw.assistant.home_tools import SETTABLE
from claw.assistant.toolbox import Tool
from claw.core.config import Config
from claw.core.principals import system
from claw.core.request import unattended
from claw.core.store import jobs as jobs_db
from claw.core.store.driver import sqlite_driver
from claw.daemon import Daemon, Tuning, build, standard_parts
from claw.home.capabilities import MEDIA
from claw.jobs.clock import ManualClock
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.home_fixtures import House, start_house
from tests.test_jobs_support import london


def test_the_config_decides_which_parts_are_built(make_config: Callable[..., Config]) -> None:
    plain = make_config()
    assert standard_parts(plain) == {"home", "jobs"}
    house = build(plain)
    assert house.home is not None and house.jobs is not None and house.eyes is None and house.whatsapp is None
    cameras = make_config(cameras=[{"name": "porch", "url": "/nowhere/porch.mp4"}])
    assert standard_parts(cameras) == {"home", "jobs", "eyes"}
    bare = build(plain, parts=())
    assert bare.home is None and bare.jobs is None and "devices" not in bare.snapshots


def test_home_tool_schemas_come_from_the_capability_descriptors(make_config: Callable[..., Config]) -> None:
    house = build(make_config(), parts={"home"})
    tools = {t["function"]["name"]: t["function"] for t in house.tools.schemas()}
    setting = tools["set_value"]["parameters"]["properties"]["setting"]
    assert setting["enum"] == [c.key for c in SETTABLE]
    assert "target_temp (5-30 °C)" in tools["set_value"]["description"]
    assert tools["media"]["parameters"]["properties"]["action"]["enum"] == list(MEDIA.options)


async def test_a_fresh_run_out_of_rounds_still_says_where_things_stand(claw: Daemon, ollama: ScriptedOllama) -> None:
    calls = 0

    async def again(n: int = 0) -> str:
        nonlocal calls
        calls += 1
        return "more"

    claw.tools.add(Tool("again", "Loop.", {"type": "object", "properties": {"n": {"type": "integer"}}}, again))
    # calls forever while tools are offered, each call a new one (the same call again would end the run)
    ollama.on(lambda r: bool(r.tools), lambda r: Reply.call("again", n=len(r.tool_results)))
    ollama.on(lambda r: not r.tools, Reply.text("Stopped after looking twice."))
    answer = await claw.brain.fresh("check everything", request=unattended(system("scheduler"), "schedule"))
    assert calls == claw.config.llm.max_rounds
    assert answer.content == "Stopped after looking twice."  # the same fallback as a conversation's turn


async def test_a_device_job_keeps_its_command_as_data_and_runs_without_reading_words(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    clock, config = london_noon(make_config)
    house = await _house_with_jobs(tmp_path, config, clock)
    try:
        jobs = house.app.jobs
        assert jobs is not None
        job = await jobs.create("in: 1m", "device: turn on the porch light", source="dashboard")
        assert job.plan is not None and job.plan["names"] == ["Porch Light"] and len(job.plan["ids"]) == 1
        assert job.plan["change"] == {"power": True}  # the grammar's reading, kept as data
        assert await _stored_plan(house, job.id) == job.plan
        house.app.router.understanding = None  # nothing may read English when the job runs
        clock.advance(60)
        await jobs.run_due()
        assert house.sim.device("Porch Light").state["on"] is True
    finally:
        await house.app.stop()
        await house.sim.stop()


async def test_a_device_job_stored_before_plans_is_read_once_then_kept(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    clock, config = london_noon(make_config)
    house = await _house_with_jobs(tmp_path, config, clock)
    try:
        jobs = house.app.jobs
        assert jobs is not None
        job = await jobs.create("every: 1h", "device: turn on the porch light", source="dashboard")
    finally:
        await house.app.stop()
        await house.sim.stop()
    db = sqlite_driver().connect(config.state_path / "claw.db")  # as a row written by the first release looks
    with db:
        db.execute("UPDATE jobs SET plan = '' WHERE id = ?", [job.id])
    db.close()
    house = await _house_with_jobs(tmp_path, config, clock, subnet=house.sim.subnet)
    try:
        jobs = house.app.jobs
        assert jobs is not None and jobs.jobs[job.id].plan is None
        clock.advance(3600)
        await jobs.run_due()
        runs = await house.app.store.run(jobs_db.runs, job.id)
        assert [r.status for r in runs] == ["ran"], runs
        assert house.sim.device("Porch Light").state["on"] is True
        planned = jobs.jobs[job.id].plan
        assert planned is not None and planned["names"] == ["Porch Light"] and planned["change"] == {"power": True}
        assert await _stored_plan(house, job.id) == jobs.jobs[job.id].plan
    finally:
        await house.app.stop()
        await house.sim.stop()


async def test_a_routine_job_calls_the_home_directly(tmp_path: Path, make_config: Callable[..., Config]) -> None:
    clock, config = london_noon(make_config)
    house = await _house_with_jobs(tmp_path, config, clock)
    try:
        jobs = house.app.jobs
        assert jobs is not None
        await jobs.create("in: 1m", "routine: sleepy time", source="dashboard")
        house.app.router.understanding = None
        clock.advance(60)
        await jobs.run_due()
        lights = [d for d in house.sim.devices.values() if d.kind == "light"]
        assert lights and all(d.state["on"] is False for d in lights)
    finally:
        await house.app.stop()
        await house.sim.stop()


def london_noon(make_config: Callable[..., Config]) -> tuple[ManualClock, Config]:
    """A hand-driven clock at noon in London, and a house there (sunset and the like are London's)."""
    location = {"timezone": "Europe/London", "latitude": 51.5, "longitude": -0.12}
    return ManualClock(london(2026, 11, 21, 12, 0)), make_config(location=location)


async def _stored_plan(house: House, job_id: str) -> object:
    rows = await house.app.store.run(jobs_db.rows)
    return json.loads(next(r["plan"] for r in rows if r["id"] == job_id))


async def _house_with_jobs(tmp: Path, config: Config, clock: ManualClock, subnet: int | None = None) -> House:
    """The simulated home with the Home and Jobs parts on a hand-driven clock."""
    extra = {"subnet": subnet} if subnet is not None else {}
    config = replace(config, home=replace(config.home, discovery=True, poll_interval=3600.0, ssdp_interval=5.0))
    return await start_house(tmp, config, parts={"home", "jobs"}, tuning=Tuning(clock=clock), **extra)
