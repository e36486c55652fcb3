"""An agent is an agent on every way in (issue 19, hole 3): the real MCP SDK client and real HTTP, one daemon.

An MCP client once used the dashboard's token: it read the live code of its own unlock request from
`/api/pending`, confirmed it with `POST /api/chat {"text": "OK <code>"}` (which ran as the first owner), and
deleted the owner's nightly job through `delete_job` with no code. Each attack is kept here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from mcp.types import CallToolResult, TextContent

from claw.core.store.audit import recent
from claw.daemon import Daemon
from claw_sim.home import SimHome
from tests.dashboard_home import base_url, house
from tests.test_mcp import agent

OWNERS = [{"name": "Alice", "number": "+15550001111"}]
CODE = re.compile(r"\bOK ([A-Z0-9]{4})\b")
House = tuple[Daemon, SimHome]
UNLOCK = {"setting": "locked", "value": False, "name": "Front Door"}


@pytest_asyncio.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[House]:
    async with house(tmp_path, owners=OWNERS) as (app, sim):
        yield app, sim


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def owners_codes(app: Daemon) -> list[str]:
    """The codes the owners were sent (the dashboard feed holds every notice to them)."""
    return [m.group(1) for n in app.local.notifications if (m := CODE.search(n.text))]


async def test_an_agent_never_sees_nor_confirms_the_code_of_its_own_unlock(daemon: House) -> None:
    app, sim = daemon
    token = app.agents.token("agent")
    async with agent(app, name="Claude Desktop") as session:
        held = await session.call_tool("set_value", UNLOCK)
    [code] = owners_codes(app)
    assert code not in text_of(held) and sim.device("Front Door").state["locked"] is True
    told = [n.text for n in app.local.notifications if code in n.text]
    assert told and told[0].startswith("Claude Desktop (MCP) asks to unlock the Front Door")  # who asked
    async with aiohttp.ClientSession(base_url(app), headers=bearer(token)) as http:
        async with http.get("/api/pending") as response:  # the agent's own request, listed without its code
            body = await response.text()
            assert response.status == 200 and code not in body
            [waiting] = json.loads(body)
            assert waiting["description"] == "unlock the Front Door" and waiting["code"] == ""
        for text in (f"OK {code}", code, f"yes {code}"):  # the chat endpoint, as the agent: confirms nothing
            async with http.post("/api/chat", json={"text": text}) as response:
                assert response.status == 200 and code not in await response.text()
        completion = {"model": "claw", "messages": [{"role": "user", "content": f"OK {code}"}]}
        async with http.post("/v1/chat/completions", json=completion) as response:  # the OpenAI door, likewise
            assert response.status == 200 and code not in await response.text()
        async with http.get("/api/chat/history") as response:  # its own conversation, never the owner's
            assert code not in await response.text()
        for path in ("/api/notifications", "/api/stream"):  # the owners' feed carries the codes
            async with http.get(path) as response:
                assert response.status == 403
    assert sim.device("Front Door").state["locked"] is True
    assert [p.code for p in app.guard.pending()] == [code]  # still live: an owner may still release it
    denied = [r for r in await app.store.run(recent, 200) if r["outcome"] == "denied" and "confirm" in r["action"]]
    assert denied and all(r["actor"] == "agent (API)" for r in denied)
    reply = await app.local.ask(f"OK {code}")  # the owner, on the dashboard session: released
    assert "Front Door" in reply.text and sim.device("Front Door").state["locked"] is False


async def test_mcp_refuses_the_dashboard_token(daemon: House) -> None:
    app, _ = daemon
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}},
    }
    headers = {**bearer(app.token), "Accept": "application/json, text/event-stream"}
    async with aiohttp.ClientSession(base_url(app)) as http, http.post("/mcp", json=init, headers=headers) as response:
        assert response.status == 401
        assert "claw mcp token" in (await response.json())["error"]


async def test_management_through_mcp_waits_for_an_owners_code(daemon: House) -> None:
    app, _ = daemon
    assert app.jobs is not None
    job = await app.jobs.create("every day at 23:00", "routine: sleepy time", description="night check", owner="Alice")
    async with agent(app, name="tidy-bot") as session:
        deleted = await session.call_tool("delete_job", {"job": job.id})
        paused = await session.call_tool("pause_job", {"job": job.id})
    assert job.id in app.jobs.jobs and app.jobs.jobs[job.id].enabled  # nothing changed without the owner
    for result in (deleted, paused):
        assert "Waiting for an owner" in text_of(result) and not CODE.search(text_of(result))
    codes = owners_codes(app)
    assert len(codes) == 2
    told = [n.text for n in app.local.notifications if "delete job" in n.text]
    assert told and told[0].startswith("tidy-bot (MCP) asks to")
    await app.local.ask(f"OK {codes[0]}")  # the owner says yes to the deletion
    assert job.id not in app.jobs.jobs


async def test_an_agent_token_on_the_dashboard_api_is_that_agent(daemon: House) -> None:
    app, sim = daemon
    token = app.agents.token("agent")
    lock = next(d for d in app.home.registry.devices() if d.name == "Front Door")  # type: ignore[union-attr]
    async with aiohttp.ClientSession(base_url(app), headers=bearer(token)) as http:
        async with http.post(f"/api/devices/{lock.id}", json={"values": {"locked": False}}) as response:
            body: dict[str, Any] = await response.json()
            assert response.status == 202 and body["code"] == ""
            assert not CODE.search(json.dumps(body))
        async with http.post("/api/killswitch", json={"paused": True}) as response:  # management: an owner's code
            assert response.status == 202
        async with http.get("/api/killswitch") as response:
            assert (await response.json())["paused"] is False
        async with http.post("/api/chat", json={"text": "unlock the front door"}) as response:
            reply = (await response.json())["reply"]
    assert not CODE.search(reply) and sim.device("Front Door").state["locked"] is True
    told = [n.text for n in app.local.notifications if "agent (API) asks to unlock the Front Door" in n.text]
    assert told and CODE.search(told[0])  # the owners were told who asked, with the code


async def test_claw_mcp_token_shows_and_rotates_and_the_old_one_stops_at_once(daemon: House) -> None:
    app, _ = daemon
    state = str(app.config.state_path)

    def claw(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "claw.cli", "mcp", "token", *args, "--state-dir", state],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.strip()

    shown = claw()
    assert shown == app.agents.token("agent") and shown != app.token
    rotated = claw("agent", "--rotate")
    assert rotated != shown
    async with aiohttp.ClientSession(base_url(app)) as http:
        async with http.get("/api/pending", headers=bearer(shown)) as response:
            assert response.status == 401  # the old token: refused without a restart
        async with http.get("/api/pending", headers=bearer(rotated)) as response:
            assert response.status == 200
