"""The heartbeat over the real simulated house: silent when healthy, urgent when the garage is open at night."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from claw.core.config import Config
from claw.daemon import Tuning, build
from claw.home.checks import home_checks
from claw.home.house import Home
from claw.jobs.clock import ManualClock
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.home_fixtures import house_config, wait_for
from tests.test_jobs_heartbeat import beats, heartbeat_requests
from tests.test_jobs_support import london, told


async def test_garage_left_open_at_night_in_the_simulated_house(
    tmp_path: Path, make_config: Callable[..., Config], ollama: ScriptedOllama
) -> None:
    import random

    from claw_sim.home import SimHome

    subnet = random.randint(60, 200)
    sim = SimHome(tmp_path / "sim", cameras=False, speakers=False, port=0, subnet=subnet)
    await sim.start()
    config = house_config(
        make_config,
        llm={"host": ollama.url},
        home={"subnets": [f"127.0.{subnet}.0/24"]},
        location={"timezone": "Europe/London", "latitude": 51.5, "longitude": -0.12},
    )
    clock = ManualClock(london(2026, 11, 21, 21, 50))
    app = build(config, parts={"home", "jobs"}, tuning=Tuning(clock=clock))
    jobs = app.jobs
    assert jobs is not None
    await app.start()
    try:
        home: Home = app.home  # type: ignore[attr-defined]
        await wait_for(lambda: len(home.registry.devices()) >= len(sim.devices), 15, "discovery")
        app.checks[:] = [home_checks(home.registry, config, now=clock.now)]  # the same hand-driven clock
        ollama.on("Findings:", Reply.text("The garage door is open and it's night."))
        await beats(jobs, clock, 4)  # 22:20 .. 23:50, healthy
        assert heartbeat_requests(ollama) == 0 and told(app) == []
        sim.device("Garage Door").set_state(state="open")
        garage = next(d for d in home.registry.devices() if d.name == "Garage Door")
        await home.refresh(garage)
        await beats(jobs, clock, 3)
        assert told(app) == ["The garage door is open and it's night."]
        assert heartbeat_requests(ollama) == 1
        assert "Garage Door is open" in ollama.chat_requests[-1]["messages"][-1]["content"]
    finally:
        await app.stop()
        await sim.stop()
