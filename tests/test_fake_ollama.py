"""The scripted Ollama answers the real `ollama` client exactly as a real Ollama would."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import sys
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
import pytest_asyncio
from ollama import AsyncClient, Client, Message, ResponseError

from tests.fakes import fixtures
from tests.fakes.ollama_server import ChatRequest, Reply, ScriptedOllama

ollama = fixtures.ollama  # the fixture under test; tests/conftest.py exposes it project-wide

MODEL = "qwen3:8b"
LIGHT_TOOL = {
    "type": "function",
    "function": {
        "name": "set_light",
        "description": "Switch lights by room.",
        "parameters": {
            "type": "object",
            "properties": {"room": {"type": "string"}, "on": {"type": "boolean"}},
            "required": ["room", "on"],
        },
    },
}


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest_asyncio.fixture
async def client(ollama: ScriptedOllama) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(host=ollama.url) as real_client:
        yield real_client


async def test_plain_chat_echoes_and_reports_usage(ollama: ScriptedOllama, client: AsyncClient) -> None:
    messages = [{"role": "system", "content": "You are Claw."}, *user("hello there")]
    response = await client.chat(model=MODEL, messages=messages)

    assert response.message.role == "assistant"
    assert response.message.content == "ok: hello there"
    assert response.done is True
    assert response.done_reason == "stop"
    assert response.prompt_eval_count == len("You are Claw.hello there") // 4
    assert response.eval_count and response.total_duration
    assert ollama.chat_requests[-1]["path"] == "/api/chat"
    assert ollama.chat_requests[-1]["messages"] == messages
    assert ollama.requests == ollama.chat_requests


async def test_streaming_chat_sends_pieces_then_a_done_chunk(ollama: ScriptedOllama, client: AsyncClient) -> None:
    ollama.on("lights", Reply(content="The kitchen lights are on now.", thinking="User wants light."))

    parts = [p async for p in await client.chat(model=MODEL, messages=user("Lights?"), stream=True)]

    assert len(parts) > 3
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "".join(p.message.content or "" for p in parts) == "The kitchen lights are on now."
    assert "".join(p.message.thinking or "" for p in parts) == "User wants light."
    assert parts[-1].done_reason == "stop"
    assert parts[-1].message.content == ""
    assert parts[-1].prompt_eval_count == 1 and parts[-1].eval_count
    assert ollama.chat_requests[-1]["stream"] is True


async def test_think_false_suppresses_thinking(ollama: ScriptedOllama, client: AsyncClient) -> None:
    ollama.on(None, Reply(content="yes", thinking="pondering"))

    thought = await client.chat(model=MODEL, messages=user("q"))
    quiet = await client.chat(model=MODEL, messages=user("q"), think=False)

    assert thought.message.thinking == "pondering"
    assert quiet.message.thinking is None
    assert ollama.chat_requests[-1]["think"] is False


async def test_tool_call_round_trip(ollama: ScriptedOllama, client: AsyncClient) -> None:
    first = ollama.on(lambda r: not r.tool_results, Reply.call("set_light", room="kitchen", on=True), times=1)
    ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Done: {r.tool_results[0]}"))
    messages: list[Mapping[str, Any] | Message] = [*user("turn on the kitchen lights")]

    call = await client.chat(model=MODEL, messages=messages, tools=[LIGHT_TOOL])
    assert call.message.tool_calls is not None
    assert [(c.function.name, dict(c.function.arguments)) for c in call.message.tool_calls] == [
        ("set_light", {"room": "kitchen", "on": True})
    ]
    messages += [call.message, {"role": "tool", "content": "kitchen: on", "tool_name": "set_light"}]
    answer = await client.chat(model=MODEL, messages=messages, tools=[LIGHT_TOOL])

    assert answer.message.content == "Done: kitchen: on"
    assert answer.message.tool_calls is None
    assert first.hits == 1 and first.exhausted
    second = ChatRequest.from_chat(ollama.chat_requests[-1])
    assert second.tool_names == ["set_light"]
    assert second.last_user_text == "turn on the kitchen lights"
    assert second.messages[1]["tool_calls"][0]["function"]["name"] == "set_light"


async def test_streamed_tool_call_arrives_before_the_done_chunk(ollama: ScriptedOllama, client: AsyncClient) -> None:
    ollama.on("dim", Reply.call("set_light", room="den", on=False))
    stream = await client.chat(model=MODEL, messages=user("dim the den"), tools=[LIGHT_TOOL], stream=True)

    parts = [p async for p in stream]

    calls = [c for p in parts for c in p.message.tool_calls or []]
    assert [c.function.name for c in calls] == ["set_light"]
    assert parts[-1].done and not parts[-1].message.tool_calls


async def test_images_reach_the_request_view(ollama: ScriptedOllama, client: AsyncClient) -> None:
    seen: list[ChatRequest] = []

    def describe(request: ChatRequest) -> Reply:
        seen.append(request)
        return Reply.text(f"{len(request.images)} image(s)")

    ollama.on("what changed", describe)
    picture = b"\xff\xd8\xff fake jpeg"

    chat = await client.chat(
        model="qwen2.5vl:3b", messages=[{"role": "user", "content": "What changed?", "images": [picture]}]
    )
    gen = await client.generate(model="qwen2.5vl:3b", prompt="what changed here", images=[picture])

    assert chat.message.content == "1 image(s)"
    assert gen.response == "1 image(s)"
    assert [r.images for r in seen] == [[base64.b64encode(picture).decode()]] * 2
    assert seen[1].path == "/api/generate"


async def test_generate_with_a_schema_answers_matching_json(ollama: ScriptedOllama, client: AsyncClient) -> None:
    schema = {
        "type": "object",
        "properties": {"notify": {"type": "boolean"}, "summary": {"type": "string"}},
        "required": ["notify", "summary"],
    }

    gen = await client.generate(model="qwen2.5vl:3b", prompt="a truck", system="Describe.", format=schema)

    assert json.loads(gen.response or "") == {"notify": False, "summary": "ok: a truck"}
    assert gen.done_reason == "stop"
    assert ollama.requests[-1]["format"] == schema


async def test_embeddings_are_deterministic_unit_vectors(ollama: ScriptedOllama, client: AsyncClient) -> None:

    first = await client.embed(model=MODEL, input=["kitchen lights on", "feed the cat"])
    again = await client.embed(model=MODEL, input="kitchen lights on")
    legacy = await client.embeddings(model=MODEL, prompt="kitchen lights on")

    a, b = (list(v) for v in first.embeddings)
    assert len(a) == ollama.embed_dim
    assert math.isclose(sum(x * x for x in a), 1.0)
    assert list(again.embeddings[0]) == a == list(legacy.embedding)
    assert a != b


async def test_missing_model_is_a_404_response_error(ollama: ScriptedOllama, client: AsyncClient) -> None:
    ollama.models.discard(MODEL)

    with pytest.raises(ResponseError) as chat_error:
        await client.chat(model=MODEL, messages=user("hi"))
    with pytest.raises(ResponseError) as show_error:
        await client.show(MODEL)
    with pytest.raises(ResponseError) as stream_error:
        async for _ in await client.chat(model="qwen3", messages=user("hi"), stream=True):
            pass

    assert chat_error.value.status_code == 404
    assert chat_error.value.error == 'model "qwen3:8b" not found, try pulling it first'
    assert show_error.value.status_code == stream_error.value.status_code == 404
    assert MODEL not in [m.model for m in (await client.list()).models]


async def test_capabilities_are_enforced_like_ollama(ollama: ScriptedOllama, client: AsyncClient) -> None:

    with pytest.raises(ResponseError) as error:
        await client.chat(model="qwen2.5vl:3b", messages=user("hi"), tools=[LIGHT_TOOL])
    show = await client.show("qwen2.5vl:3b")

    assert error.value.status_code == 400
    assert "does not support tools" in error.value.error
    assert show.capabilities == ["completion", "vision"]


async def test_down_refuses_connections_and_up_recovers(ollama: ScriptedOllama, client: AsyncClient) -> None:
    url = ollama.url
    await client.chat(model=MODEL, messages=user("warm the connection pool"))

    await ollama.down()
    with pytest.raises(ConnectionError):
        await client.chat(model=MODEL, messages=user("anyone?"))
    await ollama.up()
    response = await client.chat(model=MODEL, messages=user("back?"))

    assert ollama.url == url
    assert response.message.content == "ok: back?"


async def test_down_cuts_off_a_slow_answer(ollama: ScriptedOllama, client: AsyncClient) -> None:
    ollama.on("slow", Reply.text("never", delay=30))
    pending = asyncio.create_task(client.chat(model=MODEL, messages=user("slow")))
    while not ollama.chat_requests:
        await asyncio.sleep(0.01)
    started = time.monotonic()

    await ollama.down()

    with pytest.raises(httpx.RemoteProtocolError):
        await pending
    assert time.monotonic() - started < 5  # down() must not wait for the 30 s answer


async def test_delay_is_honoured(ollama: ScriptedOllama, client: AsyncClient) -> None:
    ollama.on("slow", Reply.text("finally", delay=0.3))
    started = time.monotonic()

    response = await client.chat(model=MODEL, messages=user("slow one"))

    assert time.monotonic() - started >= 0.3
    assert response.message.content == "finally"


async def test_times_limits_a_rule(ollama: ScriptedOllama, client: AsyncClient) -> None:
    rule = ollama.on("ping", Reply.text("pong"), times=2)

    answers = [(await client.chat(model=MODEL, messages=user("ping"))).message.content for _ in range(3)]

    assert answers == ["pong", "pong", "ok: ping"]
    assert rule.hits == 2


async def test_async_reply_and_default_override(ollama: ScriptedOllama, client: AsyncClient) -> None:
    async def later(request: ChatRequest) -> Reply:
        await asyncio.sleep(0)
        return Reply.text(request.system_text.upper())

    ollama.default = later
    messages = [{"role": "system", "content": "be brief"}, *user("x")]

    response = await client.chat(model=MODEL, messages=messages)

    assert response.message.content == "BE BRIEF"


async def test_failures_and_dropped_connections(ollama: ScriptedOllama, client: AsyncClient) -> None:
    ollama.on("busy", Reply.fail(503, "server busy"))
    ollama.on("crash", Reply(disconnect=True))
    ollama.on("cut", Reply(content="half an answer", disconnect=True))
    ollama.on("oom", Reply(content="partial", error="out of memory"))

    with pytest.raises(ResponseError) as busy:
        await client.chat(model=MODEL, messages=user("busy?"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.chat(model=MODEL, messages=user("crash"))
    got: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        async for part in await client.chat(model=MODEL, messages=user("cut"), stream=True):
            got.append(part.message.content or "")
    with pytest.raises(ResponseError) as oom:
        async for _ in await client.chat(model=MODEL, messages=user("oom"), stream=True):
            pass
    with pytest.raises(ResponseError) as oom_whole:
        await client.chat(model=MODEL, messages=user("oom"))

    assert (busy.value.status_code, busy.value.error) == (503, "server busy")
    assert "".join(got) == "half an answer"
    assert oom.value.error == oom_whole.value.error == "out of memory"
    assert oom_whole.value.status_code == 500
    assert (await client.chat(model=MODEL, messages=user("still alive"))).message.content == "ok: still alive"


async def test_load_unload_tags_ps_show_and_version(ollama: ScriptedOllama, client: AsyncClient) -> None:

    load = await client.chat(model=MODEL, messages=[], keep_alive="10m", options={"num_ctx": 8192})
    running = (await client.ps()).models
    unload = await client.generate(model=MODEL, keep_alive=0)
    after = (await client.ps()).models
    tags = (await client.list()).models
    show = await client.show(MODEL)
    async with httpx.AsyncClient(base_url=ollama.url) as http:
        root = await http.get("/")
        version = (await http.get("/api/version")).json()

    assert (load.done_reason, unload.done_reason) == ("load", "unload")
    assert [(m.model, m.context_length) for m in running] == [(MODEL, 8192)]
    assert after == []
    assert sorted(m.model or "" for m in tags) == ["qwen2.5vl:3b", MODEL]
    assert all(m.digest and m.size and m.details and m.details.family for m in tags)
    assert show.capabilities == ["completion", "tools", "thinking"]
    assert show.modelinfo and show.modelinfo["general.architecture"] == "qwen3"
    assert root.text == "Ollama is running"
    assert version["version"]


def test_runs_in_a_thread_for_sync_callers() -> None:
    server = ScriptedOllama(["tiny:1b"])
    server.on("hi", Reply.text("hello from a thread"))
    url = server.start_in_thread()
    with Client(host=url) as sync_client:
        try:
            response = sync_client.chat(model="tiny:1b", messages=user("hi"))
        finally:
            server.stop_thread()
        with pytest.raises(ConnectionError):
            sync_client.chat(model="tiny:1b", messages=user("hi"))

    assert response.message.content == "hello from a thread"


def test_refuses_to_bind_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(ScriptedOllama().start("0.0.0.0"))


async def test_cli_demo_script_greets() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.ollama_server",
        "--port",
        "0",
        "--script",
        "demo",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        url = banner.split(" on ")[1].split()[0]
        async with AsyncClient(host=url) as cli_client:
            greeting = await cli_client.chat(model=MODEL, messages=user("Hello!"))
            echo = await cli_client.chat(model=MODEL, messages=user("what time is it"))
    finally:
        process.terminate()
        await process.wait()

    assert "Claw" in greeting.message.content
    assert echo.message.content == "ok: what time is it"
    assert process.returncode == 0
