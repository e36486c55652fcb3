"""The dashboard's JSON API, its auth, the live stream and the OpenAI-compatible endpoint, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from claw.core.config import Config
from claw.core.safety import PAUSED_KEY
from claw.core.store import messages as log_db
from claw.core.store.audit import get_setting
from claw.daemon import Daemon, build
from claw.web import private
from claw_sim.home import SimHome
from tests.dashboard_home import base_url, house
from tests.fakes.ollama_server import Reply, ScriptedOllama

Daemon = tuple[Daemon, SimHome, aiohttp.ClientSession]


@pytest_asyncio.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    async with house(tmp_path) as (app, sim), aiohttp.ClientSession(base_url(app)) as http:
        yield app, sim, http


def device_id(sim: SimHome, name: str) -> str:
    return sim.device(name).device_id


async def post(http: aiohttp.ClientSession, path: str, body: Any) -> tuple[int, Any]:
    async with http.post(path, json=body) as response:
        return response.status, await response.json()


# -- the page, the OpenAPI file -------------------------------------------------------------------


async def test_page_and_assets_are_served_locally_with_a_strict_policy(daemon: Daemon) -> None:
    _, _, http = daemon
    async with http.get("/") as response:
        assert response.status == 200
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert '<script src="/static/app.js"' in html and "http" not in html.split("<body>")[1].lower()
    for asset in ("/static/app.js", "/static/style.css"):
        async with http.get(asset) as response:
            assert response.status == 200, asset
            assert "https://" not in await response.text()  # nothing fetched from elsewhere


async def test_openapi_documents_every_api_route(daemon: Daemon) -> None:
    app, _, http = daemon
    async with http.get("/api/openapi.json") as response:
        spec = await response.json(content_type=None)
    assert spec["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    web_app = private.build(app.site())  # the same application the daemon serves
    served = {
        (route.method, route.resource.canonical)
        for route in web_app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(("/api/", "/v1/"))
        and route.method in ("GET", "POST", "PATCH", "DELETE", "PUT")
    }
    assert served - documented == set(), "routes missing from openapi.json"
    assert documented - served == set(), "openapi.json documents routes that do not exist"


# -- auth: loopback, token, Host and Origin -------------------------------------------------------


@pytest_asyncio.fixture
async def locked(make_config: Callable[..., Config]) -> AsyncIterator[Daemon]:
    """A daemon that wants the token everywhere, as when bound to the LAN."""
    app = build(make_config(private={"token_required": True}), parts=())
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_loopback_needs_no_token_except_for_v1(daemon: Daemon) -> None:
    app, _, http = daemon
    async with http.get("/api/devices") as response:
        assert response.status == 200
    async with http.get("/v1/models") as response:
        assert response.status == 401
    async with http.get("/v1/models", headers={"Authorization": f"Bearer {app.token}"}) as response:
        assert response.status == 200
    async with http.get("/v1/models", headers={"Authorization": "Bearer wrong"}) as response:
        assert response.status == 401


async def test_token_required_when_bound_beyond_loopback(locked: Daemon) -> None:
    url = base_url(locked)
    async with aiohttp.ClientSession(url) as http:
        for path in ("/api/devices", "/api/stream", "/api/killswitch", "/"):
            async with http.get(path) as response:
                assert response.status == 401, path
        async with http.post("/api/killswitch", json={"paused": True}) as response:
            assert response.status == 401
        async with http.get("/api/audit", headers={"Authorization": f"Bearer {locked.token}"}) as response:
            assert response.status == 200
    # the printed URL sets an HttpOnly cookie (aiohttp keeps cookies for IP hosts only when "unsafe")
    async with aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"/?token={locked.token}") as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with browser.get("/api/killswitch") as response:
            assert response.status == 200 and await response.json() == {"paused": False}


async def test_host_and_origin_checks(daemon: Daemon) -> None:
    app, _, http = daemon
    async with http.get("/api/devices", headers={"Host": "evil.example:8765"}) as response:
        assert response.status == 403  # DNS rebinding: a page on another name reaching 127.0.0.1
    async with http.post(
        "/api/killswitch", json={"paused": True}, headers={"Origin": "http://evil.example"}
    ) as response:
        assert response.status == 403
    async with http.post("/api/killswitch", json={"paused": True}, headers={"Origin": "http://127.0.0.1"}) as response:
        assert response.status == 403  # another port is another origin: a page there may not write here
    own = f"http://127.0.0.1:{app.config.private.port}"
    async with http.post("/api/killswitch", json={"paused": True}, headers={"Origin": own, "X-Claw": "1"}) as response:
        assert response.status == 200  # the dashboard's own page, with the header that forces a preflight


# -- devices ----------------------------------------------------------------------------------------


async def test_device_control_reaches_the_simulated_device_and_is_audited(daemon: Daemon) -> None:
    _, sim, http = daemon
    island = device_id(sim, "Kitchen Island")
    assert sim.device("Kitchen Island").state["on"] is False
    status, body = await post(http, f"/api/devices/{island}", {"values": {"on": True, "brightness": 40}})
    assert status == 200 and body["status"] == "done"
    assert sim.device("Kitchen Island").state == {"on": True, "brightness": 40}
    assert body["device"]["state"]["brightness"] == 40
    status, body = await post(http, f"/api/devices/{island}", {"power": True})
    assert status == 200 and body["status"] == "already" and "already on" in body["message"]
    status, body = await post(http, f"/api/devices/{island}", {"power": False})
    assert status == 200 and sim.device("Kitchen Island").state["on"] is False
    async with http.get("/api/audit?limit=5") as response:
        audit = await response.json()
    assert audit[0]["path"] == "dashboard" and audit[0]["target"] == "Kitchen Island"
    assert audit[0]["action"] == "turn off" and audit[0]["outcome"] == "ok"
    async with http.get(f"/api/devices/{island}") as response:
        assert (await response.json())["state"]["on"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, ""),
        ({"values": {"on": True}, "power": True}, ""),
        ({"power": "yes"}, "power"),
        ({"values": {"brightness": 150}}, "values.brightness"),
        ({"values": {"brightness": "bright"}}, "values.brightness"),
        ({"values": {"colour": "red"}}, "values.colour"),
        ({"values": []}, "values"),
        ({"action": "pause"}, "action"),
        ({"values": {"on": True}, "params": {}}, "params"),
        ({"speed": 3}, "speed"),
    ],
)
async def test_bad_device_commands_are_400_naming_the_field(daemon: Daemon, body: Any, field: str) -> None:
    _, sim, http = daemon
    before = sim.device("Kitchen Island").state
    status, answer = await post(http, f"/api/devices/{device_id(sim, 'Kitchen Island')}", body)
    assert status == 400, answer
    assert answer["field"] == field and answer["error"]
    assert sim.device("Kitchen Island").state == before


async def test_unknown_device_is_404_and_bad_json_is_400(daemon: Daemon) -> None:
    _, sim, http = daemon
    status, body = await post(http, "/api/devices/no-such-thing", {"power": True})
    assert status == 404 and "no-such-thing" in body["error"]
    async with http.post(f"/api/devices/{device_id(sim, 'Desk Lamp')}", data=b"{not json") as response:
        assert response.status == 400 and "not valid JSON" in (await response.json())["error"]
    status, body = await post(http, f"/api/devices/{device_id(sim, 'Back Door Sensor')}", {"power": True})
    assert status == 400 and body["field"] == "power"
    async with http.get("/api/audit?limit=0") as response:
        assert response.status == 400 and (await response.json())["field"] == "limit"


async def test_sensitive_change_is_held_until_an_owner_echoes_the_code(daemon: Daemon) -> None:
    _, sim, http = daemon
    door = device_id(sim, "Front Door")
    status, body = await post(http, f"/api/devices/{door}", {"values": {"locked": False}})
    assert status == 202 and body["status"] == "held" and len(body["code"]) == 4
    assert sim.device("Front Door").state["locked"] is True
    code = body["code"]
    async with http.get("/api/pending") as response:
        pending = await response.json()
    assert [p["code"] for p in pending] == [code] and pending[0]["description"] == "unlock the Front Door"
    async with http.get("/api/notifications") as response:
        notes = await response.json()
    assert any(n["kind"] == "confirm" and f"OK {code}" in n["text"] for n in notes)  # sent to the owners
    status, reply = await post(http, "/api/chat", {"text": f"OK {code}"})
    assert status == 200 and "Unlocked" in reply["reply"]
    assert sim.device("Front Door").state["locked"] is False


async def test_ignore_and_unignore(daemon: Daemon) -> None:
    _, sim, http = daemon
    pump = device_id(sim, "Pool Pump")
    status, body = await post(http, f"/api/devices/{pump}/ignore", {"ignored": True})
    assert status == 200 and body["device"]["ignored"] is True
    status, body = await post(http, f"/api/devices/{pump}", {"power": False})
    assert status == 409 and sim.device("Pool Pump").state["on"] is True
    status, body = await post(http, f"/api/devices/{pump}/ignore", {"ignored": "no"})
    assert status == 400 and body["field"] == "ignored"
    status, body = await post(http, f"/api/devices/{pump}/ignore", {"ignored": False})
    assert status == 200 and body["device"]["ignored"] is False
    async with http.get("/api/audit?limit=3") as response:
        actions = [row["action"] for row in await response.json()]
    assert actions[:2] == ["un-ignore", "ignore"]


# -- routines and the kill switch -------------------------------------------------------------------


async def test_kill_switch_stops_dashboard_routines_until_resumed(daemon: Daemon) -> None:
    app, sim, http = daemon
    assert sim.device("Kitchen Ceiling").state["on"] is True
    status, body = await post(http, "/api/killswitch", {"paused": True})
    assert status == 200 and body == {"paused": True}
    assert await app.store.run(get_setting, PAUSED_KEY) == "1"
    status, body = await post(http, "/api/routines/sleepy time/run", None)
    assert status == 409 and body["status"] == "paused" and "paused" in body["message"]
    assert sim.device("Kitchen Ceiling").state["on"] is True
    async with http.get("/api/audit?limit=5") as response:
        audit = await response.json()
    assert [r["outcome"] for r in audit[:2]] == ["denied", "ok"]
    assert audit[1]["action"] == "kill switch" and "paused" in audit[1]["detail"]
    status, body = await post(http, "/api/killswitch", {"paused": "off"})
    assert status == 400 and body["field"] == "paused"
    await post(http, "/api/killswitch", {"paused": False})
    status, body = await post(http, "/api/routines/sleepy time/run", None)
    assert status == 200 and body["status"] == "done"
    assert sim.device("Kitchen Ceiling").state["on"] is False
    status, _ = await post(http, "/api/routines/no such routine/run", None)
    assert status == 404


async def test_sections_absent_parts_are_404_not_empty(daemon: Daemon) -> None:
    _, _, http = daemon
    async with http.get("/api/overview") as response:
        overview = await response.json()
    assert {"devices", "routines"} <= set(overview["sections"])
    for kind in ("skills", "outbox", "cameras"):
        async with http.get(f"/api/{kind}") as response:
            assert response.status == (200 if kind in overview["sections"] else 404), kind


# -- the live stream ----------------------------------------------------------------------------------


async def read_events(response: aiohttp.ClientResponse, wanted: set[str], timeout: float = 5.0) -> dict[str, Any]:
    """Read SSE frames until one of each wanted kind arrived; return the first of each."""
    seen: dict[str, Any] = {}
    kind = ""
    async with asyncio.timeout(timeout):
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind in wanted and kind not in seen:
                seen[kind] = json.loads(line[6:])
                if set(seen) == wanted:
                    return seen
    raise AssertionError(f"stream ended; saw {sorted(seen)}")


async def test_stream_carries_devices_notifications_events_and_audit(daemon: Daemon) -> None:
    app, sim, http = daemon
    async with http.get("/api/stream") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        await read_events(response, {"hello"})
        sim.device("Hallway Light").set_state(on=True)  # someone used the wall switch
        await app.home.refresh(app.home.registry.get(device_id(sim, "Hallway Light")))  # type: ignore[attr-defined]
        await app.notify("A parcel arrived.", kind="alert")
        app.live.publish("event", {"id": "e1", "camera": "Driveway", "description": "A van", "snapshot": "/x.jpg"})
        await post(http, "/api/killswitch", {"paused": True})
        got = await read_events(response, {"device", "notification", "event", "audit", "killswitch"})
    assert got["device"]["device"]["name"] == "Hallway Light" and got["device"]["device"]["state"]["on"] is True
    assert got["notification"]["text"] == "A parcel arrived." and got["notification"]["kind"] == "alert"
    assert got["event"]["camera"] == "Driveway"
    assert got["audit"]["action"] == "kill switch"
    assert got["killswitch"] == {"paused": True}


async def test_streams_end_promptly_when_the_daemon_stops(make_config: Callable[..., Config]) -> None:
    app = build(make_config(), parts=())
    await app.start()
    stopped = False
    try:
        async with aiohttp.ClientSession(base_url(app)) as http, http.get("/api/stream") as response:
            await read_events(response, {"hello"})
            assert app.live.subscribers == 1
            t0 = time.monotonic()
            await app.stop()
            stopped = True
            rest = await asyncio.wait_for(response.content.read(), 3.0)
            assert time.monotonic() - t0 < 3.0
            assert b"event:" not in rest
        assert app.live.subscribers == 0
    finally:
        if not stopped:
            await app.stop()


# -- the OpenAI-compatible endpoint ---------------------------------------------------------------------


def bearer(app: Daemon) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.token}"}


async def test_openai_completion_runs_the_fast_path(daemon: Daemon) -> None:
    app, sim, http = daemon
    body = {
        "model": "claw",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "sleepy time"}],
    }
    async with http.post("/v1/chat/completions", json=body, headers=bearer(app)) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer["object"] == "chat.completion" and answer["model"] == "claw"
    assert answer["id"].startswith("chatcmpl-")
    [choice] = answer["choices"]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith("Sleepy time:")
    assert set(answer["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert sim.device("Kitchen Ceiling").state["on"] is False
    async with http.get("/v1/models", headers=bearer(app)) as response:
        assert [m["id"] for m in (await response.json())["data"]] == ["claw"]


async def test_openai_streaming_is_in_openais_chunk_format(daemon: Daemon) -> None:
    app, _, http = daemon
    body = {
        "model": "claw",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "is the garage open"}]}],
    }
    async with http.post("/v1/chat/completions", json=body, headers=bearer(app)) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        text = (await response.read()).decode()
    lines = [line for line in text.split("\n") if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "claw" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == "No, the Garage Door is closed."
    finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finals] == ["stop"] and finals[0]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "claw"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "hi"}]}, "messages"),
        ({"messages": [{"role": "user", "content": "  "}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, "stream"),
        ({"messages": [{"role": "user", "content": "hi"}], "user": "bad user!"}, "user"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}
                ]
            },
            "messages[0].content[0]",
        ),
    ],
)
async def test_openai_bad_requests_name_the_param(daemon: Daemon, body: Any, param: str) -> None:
    app, _, http = daemon
    async with http.post("/v1/chat/completions", json=body, headers=bearer(app)) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


async def test_openai_client_talks_to_the_brain_with_memory_per_user(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    openai = pytest.importorskip("openai", reason="the real openai client is a test extra: pip install openai")
    ollama.on("capital of france", Reply.text("Paris, of course."))
    app = build(make_config(llm_host=ollama.url), parts=())
    await app.start()
    try:
        client = openai.AsyncOpenAI(base_url=f"{base_url(app)}/v1", api_key=app.token, max_retries=0)
        models = await client.models.list()
        assert [m.id for m in models.data] == ["claw"]
        answer = await client.chat.completions.create(
            model="claw", messages=[{"role": "user", "content": "What is the capital of France?"}], user="alice"
        )
        assert answer.choices[0].message.content == "Paris, of course."
        stream = await client.chat.completions.create(
            model="claw", messages=[{"role": "user", "content": "And the capital of France again?"}], stream=True
        )
        pieces = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        assert "".join(pieces) == "Paris, of course."
        alice = await app.store.run(log_db.live, "openai:alice")
        owner = await app.store.run(log_db.live, app.local.conversation)
        assert [m.content for m in alice if m.role == "user"] == ["What is the capital of France?"]
        assert [m.content for m in owner if m.role == "user"] == ["And the capital of France again?"]
        with pytest.raises(openai.AuthenticationError):
            bad = openai.AsyncOpenAI(base_url=f"{base_url(app)}/v1", api_key="wrong", max_retries=0)
            await bad.models.list()
        await client.close()
    finally:
        await app.stop()
