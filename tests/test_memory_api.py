"""`/api/memory` and `/api/timeline`: see, search, correct, forget and undo; who may do which."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio

from claw.core.store import facts as facts_db
from claw.core.store.audit import recent
from claw.daemon import Daemon
from claw_sim.home import SimHome
from tests.dashboard_home import base_url, house

OWNERS = [{"name": "Alice", "number": "+15550001111"}]
H = facts_db.HOUSEHOLD
House = tuple[Daemon, SimHome, aiohttp.ClientSession]


@pytest_asyncio.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[House]:
    async with house(tmp_path, owners=OWNERS) as (app, sim), aiohttp.ClientSession(base_url(app)) as http:
        yield app, sim, http


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as response:
        return response.status, await response.json()


async def test_search_shows_each_fact_with_its_source_message(daemon: House) -> None:
    app, _, http = daemon
    await app.local.ask("the guest wifi is Lemonade, code 4242")
    message = (await app.store.run(lambda db: db.execute("SELECT MAX(id) FROM messages WHERE role='user'").fetchone()))[
        0
    ]
    fact = await app.recollection.remember(
        "Guest wifi: Lemonade, code 4242", scope=H, author="Alice", source="whatsapp", message=message
    )
    status, body = await call(http, "GET", "/api/memory?q=lemonade")
    assert status == 200 and body["mode"].startswith("words only")
    [shown] = body["facts"]
    assert shown["id"] == fact.id and shown["household"] is True and shown["score"] > 0
    assert shown["matched"] == {"words": 1, "meaning": 0}
    assert (
        shown["source"]["author"] == "Alice"
        and shown["source"]["message"]["text"] == "the guest wifi is Lemonade, code 4242"
    )
    status, body = await call(http, "GET", "/api/memory")
    assert status == 200 and [f["id"] for f in body["facts"]] == [fact.id]


async def test_correct_forget_and_undo(daemon: House) -> None:
    app, _, http = daemon
    fact = await app.recollection.remember(
        "The spare key is under the blue pot", scope=H, author="Alice", source="chat"
    )
    status, body = await call(http, "PATCH", f"/api/memory/{fact.id}", {"text": "The spare key is in the shed"})
    assert status == 200 and body["status"] == "done" and body["replaced"] == fact.id
    new = body["fact"]["id"]
    status, body = await call(http, "GET", "/api/memory?q=spare%20key")
    assert [f["text"] for f in body["facts"]] == ["The spare key is in the shed"]  # the old one is history
    status, _ = await call(http, "PATCH", f"/api/memory/{fact.id}", {"text": "again"})
    assert status == 409  # it no longer holds: edit the one that replaced it
    status, body = await call(http, "DELETE", f"/api/memory/{new}")
    assert status == 200 and body["fact"]["forgotten"] is True
    assert (await call(http, "GET", "/api/memory?q=spare"))[1]["facts"] == []
    status, body = await call(http, "POST", f"/api/memory/{new}/restore")
    assert status == 200 and body["fact"]["current"] is True
    actions = [row["action"] for row in await app.store.run(recent, 10)]
    assert {"correct fact", "forget fact", "restore fact"} <= set(actions)


async def test_bad_requests_are_400_and_unknown_facts_404(daemon: House) -> None:
    _, _, http = daemon
    for path in ("/api/memory/abc", "/api/memory/0", f"/api/memory/{2**64}"):
        assert (await call(http, "DELETE", path))[0] == 400
    assert (await call(http, "DELETE", "/api/memory/999"))[0] == 404
    assert (await call(http, "GET", "/api/memory?q=" + "x" * 501))[0] == 400
    assert (await call(http, "GET", "/api/timeline?lang=xx"))[0] == 400


async def test_an_agent_sees_household_facts_only_and_its_changes_wait_for_a_code(daemon: House) -> None:
    app, _, http = daemon
    mine = await app.recollection.remember(
        "Alice's doctor is Dr Lee", scope=app.local.conversation, author="Alice", source="chat"
    )
    shared = await app.recollection.remember("The bins go out on Tuesday", scope=H, author="Alice", source="chat")
    assert {f["id"] for f in (await call(http, "GET", "/api/memory"))[1]["facts"]} == {mine.id, shared.id}
    token = app.agents.token("agent")
    async with aiohttp.ClientSession(base_url(app), headers={"Authorization": f"Bearer {token}"}) as agent:
        status, body = await call(agent, "GET", "/api/memory")
        assert status == 200 and [f["id"] for f in body["facts"]] == [shared.id]
        assert (await call(agent, "DELETE", f"/api/memory/{mine.id}"))[0] == 404  # not even told it exists
        status, body = await call(agent, "PATCH", f"/api/memory/{shared.id}", {"text": "The bins go out never"})
        assert status == 202 and body["status"] == "held" and not re.search(r"\bOK [A-Z0-9]{4}\b", json.dumps(body))
    still = await app.store.run(facts_db.get, shared.id)
    assert still is not None and still.current and still.text == "The bins go out on Tuesday"


async def test_timeline_lists_causes(daemon: House) -> None:
    app, _, http = daemon
    await app.local.ask("turn on the porch light")
    status, body = await call(http, "GET", "/api/timeline?hours=1&lang=de")
    assert status == 200
    entry = next(e for e in body["entries"] if e["target"] == "Porch Light")
    assert entry["cause_kind"] == "said" and entry["said"] == "turn on the porch light"
    assert entry["cause"].startswith("Alice über ")
