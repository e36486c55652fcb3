"""The MCP server, driven by the SDK's own clients: streamable HTTP on the private listener, and stdio via `claw mcp`.

A real daemon on the simulated home (tests/dashboard_home.py): the tools reach the devices over their real
protocol, the Guard holds sensitive changes, and the audit log names the MCP client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
import pytest
import pytest_asyncio
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ImageContent, Implementation, TextContent

from claw.core.config import Config
from claw.core.store import events as history
from claw.core.store.audit import recent
from claw.daemon import Daemon, Tuning, build
from claw_sim.home import SimHome
from tests.dashboard_home import base_url, house
from tests.fakes.ollama_server import Reply, ScriptedOllama

OWNERS = [{"name": "Alice", "number": "+15550001111"}]
CODE = re.compile(r"\bOK ([A-Z0-9]{4})\b")
House = tuple[Daemon, SimHome]


@pytest_asyncio.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[House]:
    async with house(tmp_path, owners=OWNERS) as (app, sim):
        yield app, sim


def agent_token(app: Daemon, name: str = "agent") -> str:
    """An agent's own token ([mcp] agents), as `claw mcp token` shows it: never the dashboard's."""
    return app.agents.token(name)


def endpoint(app: Daemon) -> str:
    return f"{base_url(app)}/mcp"


def http_client(token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30.0))


@asynccontextmanager
async def agent(app: Daemon, name: str = "test-agent", token: str | None = None) -> AsyncIterator[ClientSession]:
    """The handshake-era client: streamable_http_client + ClientSession.initialize(), as most agents do today."""
    async with (
        http_client(agent_token(app) if token is None else token) as http,
        streamable_http_client(endpoint(app), http_client=http) as (read, write),
        ClientSession(read, write, client_info=Implementation(name=name, version="1.0")) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def audit_of(app: Daemon, actor: str) -> list[dict[str, Any]]:
    return list(reversed(await app.store.run(recent, 100, actor)))


# -- tools, state, control ----------------------------------------------------------------------------


async def test_lists_the_intent_tools_and_none_of_the_private_ones(daemon: House) -> None:
    app, _ = daemon
    async with agent(app) as session:
        listed = await session.list_tools()
    names = {tool.name for tool in listed.tools}
    assert {"home_state", "turn_on_off", "set_value", "media", "run_routine", "list_jobs", "create_job"} <= names
    assert app.tools.names()  # the model's registry holds more than is offered
    private = set(app.tools.names()) - names
    assert {"manage_device", "remember", "skill_guide"} & private, private
    schema = next(t for t in listed.tools if t.name == "turn_on_off").input_schema
    assert schema == dict(app.tools.get("turn_on_off").parameters)  # the model's own schema, not a copy
    assert "camera_picture" not in names  # no cameras in this house


async def test_home_state_and_turn_off_reach_the_simulated_light_and_are_audited(daemon: House) -> None:
    app, sim = daemon
    assert sim.device("Kitchen Ceiling").state["on"] is True
    async with agent(app, name="kitchen-bot") as session:
        state = await session.call_tool("home_state", {"name": "Kitchen Ceiling"})
        assert not state.is_error
        [light] = json.loads(text_of(state))
        assert light["name"] == "Kitchen Ceiling" and light["state"]["on"] is True
        done = await session.call_tool("turn_on_off", {"on": False, "name": "Kitchen Ceiling"})
    assert not done.is_error and "Kitchen Ceiling" in text_of(done)
    assert sim.device("Kitchen Ceiling").state["on"] is False
    rows = await audit_of(app, "kitchen-bot (MCP)")
    assert {r["path"] for r in rows} == {"mcp"}
    assert [r["action"] for r in rows if r["action"].startswith("mcp ")] == ["mcp home_state", "mcp turn_on_off"]
    assert any(r["target"] == "Kitchen Ceiling" and r["outcome"] == "ok" for r in rows)  # the domain's own row


async def test_bad_arguments_come_back_as_a_tool_error_naming_the_field(daemon: House) -> None:
    app, sim = daemon
    async with agent(app) as session:
        result = await session.call_tool("turn_on_off", {"name": "Kitchen Ceiling"})
        unknown = await session.call_tool("remember", {"fact": "the code is 1234"})
    assert result.is_error and "on" in text_of(result)
    assert sim.device("Kitchen Ceiling").state["on"] is True
    assert unknown.is_error and "there is no tool 'remember'" in text_of(unknown)


async def test_a_routine_runs_through_the_home(daemon: House) -> None:
    app, sim = daemon
    async with agent(app) as session:
        result = await session.call_tool("run_routine", {"name": "sleepy time"})
        jobs = await session.call_tool("list_jobs", {})
    assert not result.is_error
    assert sim.device("Kitchen Ceiling").state["on"] is False
    assert sim.device("Bedroom Lamp").state["on"] is False
    assert sim.device("Front Door").state["locked"] is True
    assert not jobs.is_error and "jobs" in json.loads(text_of(jobs))


# -- the Guard: held, the code to the owners, never to the agent ---------------------------------------------


async def test_an_unlock_is_held_and_its_code_goes_to_the_owners_not_to_the_agent(daemon: House) -> None:
    app, sim = daemon
    assert sim.device("Front Door").state["locked"] is True
    async with agent(app, name="door-bot") as session:
        result = await session.call_tool("set_value", {"setting": "locked", "value": False, "name": "Front Door"})
        told = [m.text for m in app.local.notifications if CODE.search(m.text)]
        assert len(told) == 1 and "door-bot (MCP)" in told[0]  # the owners hear who asked
        code = CODE.search(told[0]).group(1)  # type: ignore[union-attr]
        said = text_of(result)
        assert code not in said and "OK" not in said
        assert "Waiting for an owner" in said and "unlock the Front Door" in said
        assert sim.device("Front Door").state["locked"] is True
        # the agent echoing the code, every way it can, releases nothing
        attempts = [
            ("run_routine", {"name": f"OK {code}"}),
            ("device_action", {"action": f"OK {code}", "name": "Front Door"}),
            ("confirm", {"code": code}),
        ]
        for name, arguments in attempts:
            echoed = await session.call_tool(name, arguments)
            assert sim.device("Front Door").state["locked"] is True, (name, text_of(echoed))
        assert "there is no tool 'confirm'" in text_of(echoed)
    assert [p.code for p in app.guard.pending()] == [code]
    rows = await audit_of(app, "door-bot (MCP)")
    held = [r for r in rows if r["action"] == "mcp set_value"]
    assert held[0]["outcome"] == "held" and code not in held[0]["detail"]
    # the same code from an owner's own channel does release it: it was a live code, just not the agent's
    reply = await app.local.ask(f"OK {code}")
    assert "Front Door" in reply.text
    assert sim.device("Front Door").state["locked"] is False


async def test_the_kill_switch_stops_an_agents_routine(daemon: House) -> None:
    app, sim = daemon
    async with (
        aiohttp.ClientSession(base_url(app)) as http,
        http.post("/api/killswitch", json={"paused": True}) as response,
    ):
        assert response.status == 200
    async with agent(app) as session:
        result = await session.call_tool("run_routine", {"name": "sleepy time"})
    assert "paused" in text_of(result).lower()
    assert sim.device("Kitchen Ceiling").state["on"] is True


# -- who may connect --------------------------------------------------------------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "curl", "version": "0"},
    },
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


async def test_missing_or_wrong_token_is_401_and_a_cross_site_page_is_403(daemon: House) -> None:
    app, _ = daemon
    async with aiohttp.ClientSession(base_url(app)) as http:
        async with http.post("/mcp", json=INITIALIZE, headers=ACCEPT) as response:
            assert response.status == 401  # loopback or not: /mcp always wants the token
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = {**ACCEPT, "Authorization": "Bearer not-the-token"}
        async with http.post("/mcp", json=INITIALIZE, headers=wrong) as response:
            assert response.status == 401
        owners = {**ACCEPT, "Authorization": f"Bearer {app.token}"}
        async with http.post("/mcp", json=INITIALIZE, headers=owners) as response:
            assert response.status == 401  # the dashboard token is the owner's: agents get their own
            assert "claw mcp token" in (await response.json())["error"]
        good = {**ACCEPT, "Authorization": f"Bearer {agent_token(app)}"}
        async with http.post("/mcp", json=INITIALIZE, headers={**good, "Origin": "http://evil.example"}) as response:
            assert response.status == 403  # a page elsewhere, even holding the token
        async with http.post("/mcp", json=INITIALIZE, headers={**good, "Host": "evil.example:80"}) as response:
            assert response.status == 403  # DNS rebinding
        async with http.post("/mcp", json=INITIALIZE, headers=good) as response:
            assert response.status == 200
            body = await response.json()
    assert body["result"]["serverInfo"]["name"] == "claw"
    with pytest.raises(Exception):  # noqa: B017 -- the SDK reports a refused handshake in its own way
        async with agent(app, token="not-the-token"):
            pass


# -- the 2026 per-request era, through the SDK's high-level Client ------------------------------------------


async def test_the_high_level_client_negotiates_and_names_itself_per_request(daemon: House) -> None:
    app, sim = daemon
    async with (
        http_client(agent_token(app)) as http,
        Client(
            streamable_http_client(endpoint(app), http_client=http),
            client_info=Implementation(name="modern-agent", version="2"),
        ) as client,
    ):
        result = await client.call_tool("turn_on_off", {"on": True, "name": "Kitchen Island"})
    assert not result.is_error
    assert sim.device("Kitchen Island").state["on"] is True
    rows = await audit_of(app, "modern-agent (MCP)")
    assert [r["action"] for r in rows if r["action"].startswith("mcp ")] == ["mcp turn_on_off"]


# -- stdio: `claw mcp` as a subprocess --------------------------------------------------------------------


def claw_mcp(*args: str) -> StdioServerParameters:
    """`claw mcp ARGS` as a host starts it: a subprocess with a bare environment (no CLAW_TOKEN)."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "claw.cli", "mcp", *args],
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


async def test_claw_mcp_over_stdio_hands_calls_to_the_daemon_under_the_agents_name(daemon: House) -> None:
    app, sim = daemon
    params = claw_mcp("--url", base_url(app), "--state-dir", str(app.config.state_path))
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, client_info=Implementation(name="desktop-agent", version="3")) as session,
    ):
        await session.initialize()
        listed = await session.list_tools()
        assert "turn_on_off" in {t.name for t in listed.tools}
        result = await session.call_tool("turn_on_off", {"on": False, "name": "Living Room Lamp"})
    assert not result.is_error
    assert sim.device("Living Room Lamp").state["on"] is False
    rows = await audit_of(app, "desktop-agent (MCP)")
    assert "mcp turn_on_off" in [r["action"] for r in rows]


async def test_claw_mcp_over_stdio_serves_a_per_request_client_too(daemon: House) -> None:
    app, sim = daemon
    params = claw_mcp("--url", base_url(app), "--state-dir", str(app.config.state_path))
    async with Client(params, client_info=Implementation(name="probing-agent", version="4")) as client:
        held = await client.call_tool("set_value", {"setting": "locked", "value": False, "name": "Front Door"})
    assert "Waiting for an owner" in text_of(held) and not CODE.search(text_of(held))
    assert sim.device("Front Door").state["locked"] is True
    assert [p.requested_by for p in app.guard.pending()] == ["probing-agent (MCP)"]


async def test_claw_mcp_outlives_the_daemon_and_says_so(tmp_path: Path) -> None:
    async with house(tmp_path, owners=OWNERS) as (app, _):
        params = claw_mcp("--url", base_url(app), "--state-dir", str(app.config.state_path))
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write, client_info=Implementation(name="patient", version="1")) as session,
        ):
            await session.initialize()
            assert not (await session.call_tool("home_state", {"name": "Porch Light"})).is_error
            await app.stop()  # the daemon goes away under the agent
            lost = await session.call_tool("home_state", {"name": "Porch Light"})
            gone = await session.call_tool("home_state", {"name": "Porch Light"})
    assert lost.is_error and "Lost the connection to Claw" in text_of(lost)
    assert gone.is_error and "No Claw is answering" in text_of(gone)


async def test_claw_mcp_without_a_token_says_where_it_looked(tmp_path: Path) -> None:
    from claw.mcp_stdio import find_daemon

    with pytest.raises(Exception, match=r"agent-tokens\.json"):
        find_daemon("http://127.0.0.1:9", "", tmp_path)


async def test_claw_mcp_with_no_daemon_tells_the_agent(tmp_path: Path) -> None:
    (tmp_path / "agent-tokens.json").write_text('{"agent": "t0ken"}', encoding="utf-8")
    params = claw_mcp("--url", "http://127.0.0.1:9", "--state-dir", str(tmp_path))
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, client_info=Implementation(name="lonely", version="1")) as session,
    ):
        await session.initialize()
        result = await session.call_tool("home_state", {})
    assert result.is_error and "No Claw is answering at http://127.0.0.1:9" in text_of(result)


async def test_doctor_says_where_agents_connect(
    daemon: House, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from claw.doctor import doctor

    app, _ = daemon
    path = tmp_path / "claw.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "doctor-state"}"\n[llm]\nhost = "http://127.0.0.1:9"\n'
        f"[private]\nport = {app.config.private.port}\n",
        encoding="utf-8",
    )
    await doctor(path)
    out = capsys.readouterr().out
    assert f"MCP is available at http://127.0.0.1:{app.config.private.port}/mcp" in out
    assert "claw mcp" in out


# -- cameras: events and pictures as image content --------------------------------------------------------

CAR = {"title": "Car pulled into the driveway", "sentence": "A blue car parked.", "alert": True, "what": "vehicle"}


@pytest.fixture(scope="module")
def car(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from claw_sim.scenes import write_video

    path = tmp_path_factory.mktemp("mcp-camera") / "car.avi"
    write_video("car_arrives", path, size=(320, 180), fps=5.0, lead_in=4.0)
    return path


@pytest_asyncio.fixture
async def cameras(car: Path, ollama: ScriptedOllama, make_config: Callable[..., Config]) -> AsyncIterator[Daemon]:
    """A daemon watching a file camera (the eyes part only); the scripted vision model names the car."""
    from claw.core.backoff import Backoff

    config = make_config(
        llm_host=ollama.url,
        cameras=[{"name": "driveway", "url": str(car), "fps": 50.0}],
        alerts={"event_quiet_seconds": 12 / 50.0},
    )
    app = build(config, parts={"eyes"}, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))
    ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(CAR)))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_camera_events_and_their_pictures_come_back_as_image_content(cameras: Daemon) -> None:
    app = cameras

    async def finished() -> bool:
        rows = await app.store.run(history.recent)
        return bool(rows) and rows[-1].end_ts is not None

    async with agent(app, name="camera-bot") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"recent_events", "camera_picture"} <= names and "home_state" not in names
        await wait_until(finished, "a finished camera event")
        listed = json.loads(text_of(await session.call_tool("recent_events", {})))
        [event] = [e for e in listed["events"] if e["title"] == CAR["title"]][:1]
        picture = await session.call_tool("camera_picture", {"event": event["id"]})
        live = await session.call_tool("camera_picture", {"camera": "driveway"})
        missing = await session.call_tool("camera_picture", {"event": 999999})
        wrong = await session.call_tool("camera_picture", {"event": "the last one"})
        mute = await session.call_tool("mute_camera", {"camera": "driveway", "minutes": 30})
    [image] = [b for b in picture.content if isinstance(b, ImageContent)]
    assert image.mime_type == "image/jpeg" and base64.b64decode(image.data)[:2] == b"\xff\xd8"
    assert "untrusted" in text_of(picture) and CAR["title"] in text_of(picture)
    assert any(isinstance(b, ImageContent) for b in live.content) and not live.is_error
    assert missing.is_error and "999999" in text_of(missing)
    assert wrong.is_error and "invalid arguments" in text_of(wrong) and "integer" in text_of(wrong)
    [pending] = app.guard.pending()  # held by the Guard (NeedsConfirmation), its code only in the owners' notice
    assert pending.code not in text_of(mute) and "Waiting for an owner" in text_of(mute)
    assert any(pending.code in m.text for m in app.local.notifications)
    rows = await audit_of(app, "camera-bot (MCP)")
    assert [r["action"] for r in rows].count("mcp camera_picture") == 4


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_a_code_in_any_wording_is_withheld() -> None:
    from claw.core.safety import Ask, Pending
    from claw.web.mcp.intents import withhold_codes

    async def run() -> str:
        return ""

    held_record = Pending("ACDE", Ask("unlock", ('"Back" Door',)), run, "Sam", "mcp", "mcp:x", 0.0, 2, with_code=True)
    prompt = held_record.prompt  # 'Reply OK ACDE to unlock the "Back" Door (valid 2 minutes).'
    escaped = json.dumps({"tell_the_owner": prompt})  # the quotes escaped: the prompt no longer matches as is
    text, held = withhold_codes(escaped + " and again: " + prompt, [held_record])
    assert "ACDE" not in text and held == ('unlock the "Back" Door',)  # read from the typed record, not parsed
    assert text.count("Waiting for an owner") == 1 and "····" in text
