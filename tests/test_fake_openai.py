"""The scripted OpenAI-compatible server answers the real `openai` client as llama.cpp / vLLM / LM Studio would."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio
from openai import AsyncOpenAI

from tests.fakes.ollama_script import ChatRequest, Reply
from tests.fakes.openai_server import ScriptedOpenAI, broken_call

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
PICTURE = b"\xff\xd8\xff\xe0 a tiny jpeg"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[ScriptedOpenAI]:
    fake = ScriptedOpenAI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest_asyncio.fixture
async def client(server: ScriptedOpenAI) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=10) as real_client:
        yield real_client


async def test_plain_chat_echoes_and_reports_usage(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    messages = [{"role": "system", "content": "You are Claw."}, *user("hello there")]
    completion = await client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == "ok: hello there"
    assert choice.finish_reason == "stop" and completion.object == "chat.completion"
    assert completion.usage is not None and completion.usage.prompt_tokens == len("You are Claw.hello there") // 4
    assert server.chat_requests[-1]["path"] == "/v1/chat/completions"
    assert server.chat_requests[-1]["messages"] == messages


async def test_tool_call_round_trip_pairs_results_by_id(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    server.on(lambda r: not r.tool_results, Reply.call("set_light", room="kitchen", on=True), times=1)
    seen: list[ChatRequest] = []

    def after_tool(req: ChatRequest) -> Reply:
        seen.append(req)
        return Reply.text(f"Done: {req.tool_results[-1]}")

    server.on(lambda r: bool(r.tool_results), after_tool)
    first = await client.chat.completions.create(model=MODEL, messages=user("kitchen on"), tools=[LIGHT_TOOL])  # type: ignore[list-item]
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.content is None
    [call] = message.tool_calls or []
    assert call.type == "function" and call.function.name == "set_light"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"room": "kitchen", "on": True}  # type: ignore[union-attr]
    history = [
        *user("kitchen on"),
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"kitchen": "on"}'},
    ]
    second = await client.chat.completions.create(model=MODEL, messages=history, tools=[LIGHT_TOOL])  # type: ignore[arg-type, list-item]
    assert second.choices[0].message.content == 'Done: {"kitchen": "on"}'
    [view] = seen
    assert view.tool_names == ["set_light"]
    called = {"name": "set_light", "arguments": {"room": "kitchen", "on": True}}
    assert view.messages[1]["tool_calls"] == [{"function": called}]
    assert view.messages[2]["tool_name"] == "set_light"


async def test_a_tool_result_must_answer_an_earlier_call(client: AsyncOpenAI) -> None:
    history = [*user("hi"), {"role": "tool", "tool_call_id": "call_nowhere", "content": "x"}]
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model=MODEL, messages=history)  # type: ignore[arg-type]
    assert "call_nowhere" in str(caught.value)


async def test_assistant_tool_call_arguments_must_be_a_string(client: AsyncOpenAI) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "set_light", "arguments": {"room": "den"}}}
    history = [*user("hi"), {"role": "assistant", "content": None, "tool_calls": [call]}]
    with pytest.raises(openai.BadRequestError, match="JSON string"):
        await client.chat.completions.create(model=MODEL, messages=history)  # type: ignore[arg-type]


async def test_broken_arguments_arrive_verbatim(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    server.on("kitchen", broken_call("set_light", "{'room': 'kitchen', 'on': True,"))
    completion = await client.chat.completions.create(model=MODEL, messages=user("kitchen"), tools=[LIGHT_TOOL])  # type: ignore[list-item]
    [call] = completion.choices[0].message.tool_calls or []
    assert call.function.arguments == "{'room': 'kitchen', 'on': True,"  # type: ignore[union-attr]


async def test_response_formats_shape_the_default_answer(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    schema = {"type": "object", "properties": {"mood": {"enum": ["calm", "busy"]}, "n": {"type": "integer"}}}
    wanted = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    completion = await client.chat.completions.create(model=MODEL, messages=user("how"), response_format=wanted)  # type: ignore[arg-type]
    assert json.loads(completion.choices[0].message.content or "") == {"mood": "calm", "n": 0}
    loose = await client.chat.completions.create(
        model=MODEL, messages=user("how"), response_format={"type": "json_object"}
    )
    assert json.loads(loose.choices[0].message.content or "") == {"response": "ok: how"}
    assert ChatRequest.from_chat(server.chat_requests[0]).model == MODEL


async def test_a_server_without_json_object_says_so_like_lm_studio(client: AsyncOpenAI, server: ScriptedOpenAI) -> None:
    server.formats = {"text", "json_schema"}
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model=MODEL, messages=user("x"), response_format={"type": "json_object"})
    assert "response_format" in str(caught.value) and caught.value.param == "response_format"


async def test_pictures_arrive_as_data_urls_and_reach_the_rules_as_base64(
    server: ScriptedOpenAI, client: AsyncOpenAI
) -> None:
    rule = server.on(lambda r: bool(r.images), lambda r: Reply.text(f"{len(r.images)} pictures: {r.last_user_text}"))
    url = "data:image/jpeg;base64," + base64.b64encode(PICTURE).decode()
    parts = [{"type": "text", "text": "what changed?"}, {"type": "image_url", "image_url": {"url": url}}]
    completion = await client.chat.completions.create(
        model="qwen2.5vl:3b",
        messages=[{"role": "user", "content": parts}],  # type: ignore[list-item]
    )
    assert completion.choices[0].message.content == "1 pictures: what changed?" and rule.hits == 1
    with pytest.raises(openai.BadRequestError, match="data:image"):
        remote = [{"type": "image_url", "image_url": {"url": "http://example.invalid/a.jpg"}}]
        await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": remote}])  # type: ignore[list-item]


async def test_streaming_text_tool_calls_and_usage_reassemble(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    server.on("story", Reply.text("Once upon a time, a lamp."))
    stream = await client.chat.completions.create(
        model=MODEL, messages=user("story"), stream=True, stream_options={"include_usage": True}
    )
    text, finish, usage = "", None, None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert text == "Once upon a time, a lamp." and finish == "stop"
    assert usage is not None and usage.completion_tokens == len(text) // 4

    server.on("lights", Reply.call("set_light", room="den", on=False))
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=user("lights"),
        tools=[LIGHT_TOOL],
        stream=True,  # type: ignore[list-item]
    )
    name, arguments = "", ""
    async for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            name += (delta.function.name or "") if delta.function else ""
            arguments += (delta.function.arguments or "") if delta.function else ""
    assert name == "set_light" and json.loads(arguments) == {"room": "den", "on": False}


async def test_thinking_comes_as_reasoning_content_unless_turned_off(server: ScriptedOpenAI) -> None:
    server.on(None, Reply.text("42", thinking="Let me count."))
    async with AsyncOpenAI(base_url=server.base_url, api_key="none", max_retries=0) as client:
        thought = await client.chat.completions.create(model=MODEL, messages=user("sum"))
        quiet = await client.chat.completions.create(
            model=MODEL, messages=user("sum"), extra_body={"chat_template_kwargs": {"enable_thinking": False}}
        )
    assert thought.choices[0].message.model_dump().get("reasoning_content") == "Let me count."
    assert "reasoning_content" not in quiet.choices[0].message.model_dump()
    assert quiet.choices[0].message.content == "42"


async def test_models_are_listed_and_unknown_ones_are_404(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    page = await client.models.list()
    assert [m.id for m in page.data] == ["qwen2.5vl:3b", "qwen3:8b"]
    assert (await client.models.retrieve("qwen3:8b")).id == "qwen3:8b"
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="llama9:1t", messages=user("hi"))
    assert "llama9:1t" in str(caught.value) and "does not exist" in str(caught.value)
    server.any_model = True  # llama.cpp: the loaded model answers whatever it is called
    completion = await client.chat.completions.create(model="llama9:1t", messages=user("hi"))
    assert completion.choices[0].message.content == "ok: hi"


async def test_api_key_is_checked_when_the_server_has_one(server: ScriptedOpenAI) -> None:
    server.api_key = "s3cret"
    async with AsyncOpenAI(base_url=server.base_url, api_key="wrong", max_retries=0) as wrong:
        with pytest.raises(openai.AuthenticationError):
            await wrong.models.list()
    async with AsyncOpenAI(base_url=server.base_url, api_key="s3cret", max_retries=0) as right:
        assert (await right.chat.completions.create(model=MODEL, messages=user("hi"))).choices[0].message.content
    assert server.authorizations[-2:] == ["Bearer wrong", "Bearer s3cret"]


async def test_down_refuses_and_up_answers_again(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    await server.down()
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=MODEL, messages=user("hi"))
    await server.up()
    assert (await client.chat.completions.create(model=MODEL, messages=user("hi"))).choices[0].message.content


async def test_scripted_failures_are_openai_errors(server: ScriptedOpenAI, client: AsyncOpenAI) -> None:
    server.on("boom", Reply.fail(500, "CUDA out of memory"), times=1)
    server.on("cut", Reply(disconnect=True), times=1)
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model=MODEL, messages=user("boom"))
    assert caught.value.body == {"message": "CUDA out of memory", "type": "server_error", "param": None, "code": 500}
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=MODEL, messages=user("cut"))
