"""Command limits that protect without breaking (issue 19 hole 8, issue 22 item 11), over real HTTP.

The owner's own dashboard slider is never refused; an agent past its limit gets a 429 in plain words and
changes nothing; a refused routine or "all the lights" says the sentence once, not once per device.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from claw.core.config import parse
from claw.core.errors import ConfigError
from claw.daemon import Daemon
from claw_sim.home import SimHome
from tests.dashboard_home import base_url, house

House = tuple[Daemon, SimHome]
AGENT_LIMIT = 5


@pytest_asyncio.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[House]:
    limits = {"agent_commands_per_minute": AGENT_LIMIT}
    async with house(tmp_path, owners=[{"name": "Alice", "number": "+15550001111"}], limits=limits) as (app, sim):
        yield app, sim


def device_id(app: Daemon, name: str) -> str:
    assert app.home is not None
    return next(d.id for d in app.home.registry.devices() if d.name == name)


async def test_the_owners_slider_is_never_refused(daemon: House) -> None:
    app, sim = daemon
    lamp = device_id(app, "Living Room Lamp")
    async with aiohttp.ClientSession(base_url(app)) as http:  # the dashboard session (loopback, the owner's)
        statuses = []
        for level in range(1, 101):  # a slider dragged across: 100 writes in a few seconds
            async with http.post(f"/api/devices/{lamp}", json={"values": {"brightness": level}}) as response:
                statuses.append(response.status)
    assert statuses == [200] * 100  # once the 61st was a 502, "Owner gave over 60 commands in a minute"
    assert sim.device("Living Room Lamp").state["brightness"] == 100


async def test_an_agent_past_its_limit_gets_a_429_in_plain_words_and_nothing_changes(daemon: House) -> None:
    app, sim = daemon
    lamp = device_id(app, "Desk Lamp")
    headers = {"Authorization": f"Bearer {app.agents.token('agent')}"}
    async with aiohttp.ClientSession(base_url(app), headers=headers) as http:
        for i in range(AGENT_LIMIT):
            async with http.post(f"/api/devices/{lamp}", json={"power": i % 2 == 0}) as response:
                assert response.status == 200
        before = dict(sim.device("Desk Lamp").state)
        async with http.post(f"/api/devices/{lamp}", json={"power": not before["on"]}) as response:
            body = await response.json()
            assert response.status == 429
        assert "paused" in body["message"] and "nothing was changed" in body["message"]
        assert "502" not in body["message"] and "failed" not in body["message"].lower()
        assert sim.device("Desk Lamp").state["on"] == before["on"]
        async with http.post("/api/chat", json={"text": "sleepy time!!!"}) as response:  # a routine: refused whole
            routine = (await response.json())["reply"]
        async with http.post("/api/chat", json={"text": "turn off all the lights"}) as response:
            everything = (await response.json())["reply"]
    assert routine.count("device commands in a minute") == 1, routine
    assert everything.count("device commands in a minute") == 1, everything
    assert sim.device("Kitchen Ceiling").state["on"] is True and sim.device("Bedroom Lamp").state["on"] is True


def test_limits_are_config_keys_and_strict(tmp_path: Path) -> None:
    config = parse({"limits": {"agent_commands_per_minute": 7, "owner_commands_per_minute": 0}})
    assert (config.limits.agent_commands_per_minute, config.limits.owner_commands_per_minute) == (7, 0)
    for bad in ({"agent_commands_per_minute": 0}, {"commands": 5}):
        with pytest.raises(ConfigError, match="limits"):
            parse({"limits": bad})


async def test_a_refused_routine_says_so_once_and_changes_nothing_not_even_the_camera_mode(tmp_path: Path) -> None:
    owners = [{"name": "Alice", "number": "+15550001111"}]
    async with house(tmp_path, owners=owners, limits={"owner_commands_per_minute": 3}) as (app, sim):
        assert app.home is not None
        modes: list[str] = []

        async def set_mode(mode: str, request: object) -> str:  # what the daemon wires to the cameras
            modes.append(mode)
            return f"Cameras in {mode} mode."

        app.home.actions.on_mode = set_mode  # type: ignore[assignment]
        await app.local.ask("good morning")  # allowed: the cameras go to home mode
        assert modes == ["home"]
        await app.local.ask("turn on the kitchen island")
        await app.local.ask("turn off the kitchen island")
        lamp = sim.device("Bedroom Lamp").state["on"]
        reply = (await app.local.ask("good morning!!!")).text
    assert reply.count("commands in a minute") == 1, reply  # once it said it six times
    assert "paused" in reply and "nothing changed" in reply
    assert modes == ["home"] and sim.device("Bedroom Lamp").state["on"] == lamp  # once it still changed the mode
