"""[llm] api = "openai": the same turns as the Ollama path, through the real `openai` client and a scripted server."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.assistant.llm import Model
from claw.assistant.llm_openai import openai_messages, parse_arguments
from claw.assistant.toolbox import Tool
from claw.assistant.vision import KINDS, VisionDescriber
from claw.core.config import Config, LLMConfig, parse
from claw.core.errors import ConfigError, ModelMissing
from claw.core.principals import system
from claw.core.request import unattended
from claw.core.store import facts as facts_db
from claw.daemon import Daemon, build
from claw.doctor import doctor
from claw.eyes.description import Description
from tests import test_brain as brain_cases
from tests.fakes.ollama_script import Reply
from tests.fakes.openai_server import ScriptedOpenAI, broken_call
from tests.home_fixtures import _approved_house
from tests.test_memory import script_memory

PICTURE = b"\xff\xd8\xff\xe0picture"
STRIP = b"\x89PNG\r\n\x1a\nstrip"
SEEN = {"title": "Person at the door", "sentence": "Someone rang the bell.", "alert": True, "what": "person"}


def openai_llm(server: ScriptedOpenAI, **extra: Any) -> dict[str, Any]:
    return {"api": "openai", "base_url": server.base_url, **extra}


@pytest_asyncio.fixture
async def api() -> AsyncIterator[ScriptedOpenAI]:
    """A scripted OpenAI-compatible server offering qwen3:8b and qwen2.5vl:3b."""
    server = ScriptedOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def claw(api: ScriptedOpenAI, make_config: Callable[..., Config]) -> AsyncIterator[Daemon]:
    """A started daemon with no parts whose model is the scripted OpenAI-compatible server."""
    app = build(make_config(llm=openai_llm(api)), parts=())
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


def dim_tool(got: list[object]) -> Tool:
    async def dim(rooms: list[str], level: int) -> str:
        got.append((rooms, level))
        return "ok"

    schema = {
        "type": "object",
        "properties": {
            "rooms": {"type": "array", "items": {"type": "string"}},
            "level": {"type": "integer", "minimum": 0, "maximum": 100},
            "note": {"type": "string"},
        },
        "required": ["rooms", "level"],
        "additionalProperties": False,
    }
    return Tool("dim", "Dim rooms.", schema, dim)


# --- configuration ---------------------------------------------------------------------------------


def test_the_api_is_ollama_unless_told_otherwise() -> None:
    config = parse({})
    assert config.llm.api == "ollama" and config.llm.address == "http://127.0.0.1:11434"
    chosen = parse({"llm": {"api": "openai", "base_url": "http://127.0.0.1:8080/v1", "api_key_env": "VLLM_API_KEY"}})
    assert chosen.llm.address == "http://127.0.0.1:8080/v1" and chosen.llm.api_key_env == "VLLM_API_KEY"


@pytest.mark.parametrize(
    ("llm", "key", "words"),
    [
        ({"api": "openia"}, "llm.api", "'ollama' or 'openai'"),
        ({"api": "openai"}, "llm.base_url", "needs the server's URL"),
        ({"api": "openai", "base_url": "127.0.0.1:8080/v1"}, "llm.base_url", "http://"),
        ({"api": "openai", "base_url": "http://x/v1", "api_key_env": "sk-live-123"}, "llm.api_key_env", "variable"),
    ],
)
def test_a_bad_llm_api_setting_refuses_to_start_naming_the_key(llm: dict[str, str], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"llm": llm}, "claw.toml")
    assert caught.value.key == key and words in str(caught.value)


# --- the wire format -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"rooms": ["kitchen"], "level": 40}', {"rooms": ["kitchen"], "level": 40}),
        ("{'rooms': 'kitchen', 'level': '40', 'on': True}", {"rooms": "kitchen", "level": "40", "on": True}),
        ('{"rooms": ["kitchen"], "level": 40,}', {"rooms": ["kitchen"], "level": 40}),
        ('{"rooms": ["kitchen", "hall"], "note": "dim', {"rooms": ["kitchen", "hall"], "note": "dim"}),
        ('```json\n{"level": 40}\n```', {"level": 40}),
        ('"{\\"level\\": 40}"', {"level": 40}),
        ('Sure: {"level": 40} — done', {"level": 40}),
        ("", {}),
        ("level=40 please", {}),
        ("[1, 2]", {}),
    ],
)
def test_tool_arguments_are_read_however_the_model_wrote_them(text: str, expected: dict[str, Any]) -> None:
    assert parse_arguments(text) == expected


def test_the_history_is_sent_in_openai_shape_with_paired_call_ids_and_data_urls() -> None:
    history = [
        {"role": "system", "content": "Soul."},
        {"role": "tool", "content": "old result", "tool_name": "home_state"},  # its call was compacted away
        {"role": "user", "content": "dim"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "dim", "arguments": {"level": 4}}}]},
        {"role": "tool", "content": "ok", "tool_name": "dim"},
        {"role": "user", "content": "look"},
    ]
    sent = openai_messages(history, [PICTURE, STRIP])
    restated, orphan = sent[1], sent[2]
    assert restated["tool_calls"][0]["function"] == {"name": "home_state", "arguments": "{}"}
    assert orphan == {"role": "tool", "tool_call_id": restated["tool_calls"][0]["id"], "content": "old result"}
    [call] = sent[4]["tool_calls"]
    assert call["type"] == "function" and json.loads(call["function"]["arguments"]) == {"level": 4}
    assert sent[5] == {"role": "tool", "tool_call_id": call["id"], "content": "ok"}
    text, jpeg, png = sent[6]["content"]
    assert text == {"type": "text", "text": "look"}
    assert jpeg["image_url"]["url"] == "data:image/jpeg;base64," + base64.b64encode(PICTURE).decode()
    assert png["image_url"]["url"].startswith("data:image/png;base64,")


# --- the brain, end to end (mirrors tests/test_brain.py) ---------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        brain_cases.test_soul_is_reread_when_the_file_changes,
        brain_cases.test_tool_round_trip,
        brain_cases.test_tool_errors_go_back_to_the_model_as_data,
        brain_cases.test_invalid_and_stringified_arguments_are_repaired_or_reported,
        brain_cases.test_tool_call_written_as_text_is_run,
        brain_cases.test_round_limit_stops_the_loop,
        brain_cases.test_tool_results_are_capped,
        brain_cases.test_model_offline_and_back,
        brain_cases.test_conversations_run_concurrently_but_each_stays_serial,
    ],
    ids=lambda case: case.__name__.removeprefix("test_"),
)
async def test_the_ollama_brain_tests_pass_unchanged_on_openai(
    case: Callable[[Daemon, ScriptedOpenAI], Awaitable[None]], claw: Daemon, api: ScriptedOpenAI
) -> None:
    """tests/test_brain.py's wire-neutral cases, run as they are against the OpenAI-compatible fake."""
    await case(claw, api)


async def test_plain_reply_carries_the_soul_without_thinking(claw: Daemon, api: ScriptedOpenAI) -> None:
    claw.soul.path.write_text("You are Claw, a butler who says 'indeed'.")
    api.on("hello", lambda req: Reply.text("Indeed, hello." if "indeed" in req.system_text else "hi"))
    reply = await claw.local.ask("hello")
    assert reply.text == "Indeed, hello."
    body = api.chat_requests[-1]
    assert body["path"] == "/v1/chat/completions" and body["model"] == "qwen3:8b"
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][0]["content"].startswith("You are Claw, a butler")
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and body["temperature"] == 0.2
    assert claw.model.online is True and claw.model.address == api.base_url


async def test_tool_results_are_paired_with_their_call_ids(claw: Daemon, api: ScriptedOpenAI) -> None:
    seen: list[str] = []

    async def porch(colour: str) -> dict[str, str]:
        seen.append(colour)
        return {"porch": colour}

    schema = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}
    claw.tools.add(Tool("paint_porch", "Paint the porch.", schema, porch))
    api.on("paint", Reply.call("paint_porch", colour="green"), times=1)
    api.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Done: {r.tool_results[-1]}"))
    reply = await claw.local.ask("paint the porch green")
    assert seen == ["green"]
    assert reply.text == 'Done: {"porch": "green"}'
    *_, assistant, result = api.chat_requests[-1]["messages"]
    [call] = assistant["tool_calls"]
    assert call["function"] == {"name": "paint_porch", "arguments": '{"colour": "green"}'}
    assert result == {"role": "tool", "tool_call_id": call["id"], "content": '{"porch": "green"}'}


async def test_broken_json_arguments_are_repaired_or_reported(claw: Daemon, api: ScriptedOpenAI) -> None:
    got: list[object] = []
    claw.tools.add(dim_tool(got))
    # Python quotes, a stringified number, an empty optional value, an invented key, a missing brace
    api.on("dim", broken_call("dim", "{'rooms': '[\"kitchen\"]', 'level': '40', 'note': '', 'colour': 'red',"), times=1)
    api.on("dim", broken_call("dim", "rooms=kitchen level=40"), times=1)  # beyond repair
    api.on(lambda r: len(r.tool_results) == 2, lambda r: Reply.text(f"Read: {r.tool_results[-1]}"))
    reply = await claw.local.ask("dim the kitchen")
    assert got == [(["kitchen"], 40)]
    assert "'rooms' is a required property" in reply.text  # the model was told what was wrong


async def test_compaction_flushes_facts_through_a_json_schema(claw: Daemon, api: ScriptedOpenAI) -> None:
    script_memory(api)  # tests/test_memory.py's script, unchanged
    await claw.local.ask("my dog is Rex")
    await claw.local.ask("nice day")
    assert "folded" in (await claw.local.ask("/compact")).text
    facts = await claw.store.run(facts_db.facts, [claw.local.conversation])
    assert any("dog is Rex" in f.text and f.source == "memory flush" for f in facts)
    [flush] = [b for b in api.chat_requests if "MEMORY FLUSH" in b["messages"][0]["content"]]
    assert flush["response_format"]["type"] == "json_schema" and "tools" not in flush


async def test_a_history_less_run_returns_the_json_decision(claw: Daemon, api: ScriptedOpenAI) -> None:
    decision = {"type": "object", "properties": {"notify": {"type": "boolean"}, "message": {"type": "string"}}}
    api.on(lambda r: r.format is not None, Reply.text('{"notify": true, "message": "The bins go out tonight."}'))
    scheduled = unattended(system("scheduler"), "schedule")
    answer = await claw.brain.fresh("Check the bins.", request=scheduled, format=decision)
    assert json.loads(answer.content) == {"notify": True, "message": "The bins go out tonight."}
    last = api.chat_requests[-1]
    assert last["response_format"]["json_schema"]["schema"] == decision and len(api.chat_requests) == 2


async def test_offline_reply_says_what_still_works_in_one_wording(claw: Daemon, api: ScriptedOpenAI) -> None:
    await api.down()
    reply = await claw.local.ask("what's the weather like")
    assert reply.text.startswith("My model is offline") and "sleepy time" in reply.text
    assert (await claw.local.ask("what's the weather like")).text == reply.text  # the second time, the same words
    assert claw.model.online is False
    await api.up()
    api.on("weather", Reply.text("Sunny."))
    assert (await claw.local.ask("what's the weather like")).text == "Sunny."
    assert claw.model.online is True


async def test_missing_model_is_named_with_the_fix(claw: Daemon, api: ScriptedOpenAI) -> None:
    api.models.discard("qwen3:8b")
    reply = await claw.local.ask("hello")
    assert "has no model 'qwen3:8b'" in reply.text and "set [llm] model to a model it serves" in reply.text
    assert "it serves: qwen2.5vl:3b" in reply.text and "--served-model-name" in reply.text


async def test_a_server_without_tool_calling_says_how_to_turn_it_on(
    api: ScriptedOpenAI, make_config: Callable[..., Config]
) -> None:
    vllm = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    api.on(lambda r: bool(r.tools), Reply.fail(400, vllm))
    app = build(make_config(llm=openai_llm(api, decisions="tools")), parts=())  # chosen: no falling back
    await app.start()
    try:
        reply = await app.local.ask("hello")
    finally:
        await app.stop()
    assert "refuses tool calls" in reply.text and "--enable-auto-tool-choice --tool-call-parser hermes" in reply.text
    assert "llama.cpp: --jinja" in reply.text


async def test_a_base_url_without_v1_says_so(api: ScriptedOpenAI, make_config: Callable[..., Config]) -> None:
    app = build(make_config(llm={"api": "openai", "base_url": api.url}), parts=())
    await app.start()
    try:
        reply = await app.local.ask("hello")
    finally:
        await app.stop()
    assert "[llm] base_url usually ends in /v1" in reply.text


async def test_the_api_key_comes_from_the_named_variable_and_nothing_else_leaks(
    api: ScriptedOpenAI, make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-my-real-openai-key")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    plain = Model(LLMConfig(api="openai", base_url=api.base_url))
    assert (await plain.chat([{"role": "user", "content": "hi"}])).content == "ok: hi"
    assert api.authorizations[-1] == "Bearer none"  # not the OpenAI key from the environment

    api.api_key = "s3cret"
    monkeypatch.setenv("CLAW_TEST_LLM_KEY", "wrong")
    app = build(make_config(llm=openai_llm(api, api_key_env="CLAW_TEST_LLM_KEY")), parts=())
    await app.start()
    try:
        refused = await app.local.ask("hello")
    finally:
        await app.stop()
    assert "refused the API key (401): check the key in $CLAW_TEST_LLM_KEY" in refused.text
    monkeypatch.setenv("CLAW_TEST_LLM_KEY", "s3cret")
    keyed = Model(LLMConfig(api="openai", base_url=api.base_url, api_key_env="CLAW_TEST_LLM_KEY"))
    assert (await keyed.chat([{"role": "user", "content": "hi"}])).content == "ok: hi"
    assert api.authorizations[-1] == "Bearer s3cret"


async def test_warm_is_a_one_token_call(api: ScriptedOpenAI) -> None:
    await Model(LLMConfig(api="openai", base_url=api.base_url)).warm("qwen2.5vl:3b")
    body = api.chat_requests[-1]
    assert body["model"] == "qwen2.5vl:3b" and body["max_tokens"] == 1


# --- a device changed through the model ---------------------------------------------------------------


async def test_a_tool_call_changes_a_device_and_a_broken_one_is_repaired(
    tmp_path: Path, make_config: Callable[..., Config], api: ScriptedOpenAI
) -> None:
    h = await _approved_house(tmp_path, make_config, llm=openai_llm(api))
    try:
        porch_was = h.sim.device("Porch Light").state["on"]
        asked = api.on(
            "cosy", Reply.call("set_value", setting="brightness", value=20, name="Living Room Lamp"), times=1
        )
        sloppy = api.on(  # Python's spelling of the arguments, and no closing brace
            "porch", broken_call("turn_on_off", f"{{'on': {not porch_was}, 'name': 'Porch Light'"), times=1
        )
        api.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Done. {r.tool_results[-1]}"))
        reply = await h.say("make the lounge lamp cosy for the evening")  # a room alone would be asked which
        assert asked.hits == 1 and reply.startswith("Done.")
        assert h.sim.device("Living Room Lamp").state["brightness"] == 20
        reply = await h.say("the porch light needs the other way round tonight")
        assert sloppy.hits == 1 and reply.startswith("Done.")
        assert h.sim.device("Porch Light").state["on"] is (not porch_was)
    finally:
        await h.app.stop()
        await h.sim.stop()


# --- the vision model (mirrors tests/test_eyes_describe.py) -----------------------------------------------


def describer(server: ScriptedOpenAI, timeout: float = 5.0) -> VisionDescriber:
    model = Model(LLMConfig(api="openai", base_url=server.base_url, timeout=5.0))
    return VisionDescriber(model, "qwen2.5vl:3b", timeout=timeout)


async def test_the_vision_model_gets_pictures_as_data_urls_and_a_json_schema(api: ScriptedOpenAI) -> None:
    rule = api.on(lambda r: bool(r.images), Reply.text(json.dumps(SEEN)))
    found = await describer(api).describe("driveway", PICTURE, STRIP, room="Outside", when="14:05")
    assert found == Description("Person at the door", "Someone rang the bell.", True, "person", "model")
    assert rule.hits == 1
    [body] = api.chat_requests
    assert body["model"] == "qwen2.5vl:3b" and "tools" not in body
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema" and schema["properties"]["what"]["enum"] == list(KINDS)
    parts = body["messages"][-1]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert urls == [
        "data:image/jpeg;base64," + base64.b64encode(PICTURE).decode(),
        "data:image/png;base64," + base64.b64encode(STRIP).decode(),
    ]
    assert "driveway camera (Outside)" in parts[0]["text"] and "14:05" in parts[0]["text"]


@pytest.mark.parametrize(
    ("formats", "asked"),
    [
        ({"text", "json_schema"}, ["json_schema"]),  # LM Studio: json_schema only
        ({"text", "json_object"}, ["json_schema", "json_object"]),  # an older server: json_object only
        ({"text"}, ["json_schema", "json_object", None]),  # no response_format at all: asked in words
    ],
)
async def test_json_falls_back_to_what_the_server_accepts_and_remembers_it(
    api: ScriptedOpenAI, formats: set[str], asked: list[str | None]
) -> None:
    api.formats = formats
    api.on(lambda r: bool(r.images), Reply.text(json.dumps(SEEN)))
    eyes = describer(api)
    first = await eyes.describe("driveway", PICTURE, None)
    second = await eyes.describe("driveway", PICTURE, None)
    assert first.title == second.title == "Person at the door"
    kinds = [(b.get("response_format") or {}).get("type") for b in api.chat_requests]
    assert kinds == [*asked, asked[-1]]  # the second event goes straight to what worked
    if asked[-1] is None:
        assert "Answer with JSON only" in api.chat_requests[-1]["messages"][-1]["content"]


async def test_a_missing_vision_model_names_its_key_and_falls_back(api: ScriptedOpenAI) -> None:
    api.models.discard("qwen2.5vl:3b")
    model = Model(LLMConfig(api="openai", base_url=api.base_url))
    with pytest.raises(ModelMissing, match=r"no model 'qwen2.5vl:3b'.*set \[llm\] vision_model"):
        await model.chat([{"role": "user", "content": "look"}], model="qwen2.5vl:3b", images=[PICTURE])
    eyes = describer(api)
    found = await eyes.describe("driveway", PICTURE, None)
    assert found.source != "model" and eyes.failures == 1


# --- claw doctor --------------------------------------------------------------------------------------------


def write_config(tmp_path: Path, llm: dict[str, str]) -> Path:
    path = tmp_path / "claw.toml"
    lines = [f'state_dir = "{tmp_path / "state"}"', "[llm]", *(f'{k} = "{v}"' for k, v in llm.items())]
    lines += ["[private]", "port = 9", "[home]", "discovery = false"]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_doctor_checks_the_openai_compatible_server(
    tmp_path: Path, api: ScriptedOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, openai_llm(api))
    await doctor(path)
    out = capsys.readouterr().out
    assert f"ok    OpenAI-compatible model server at {api.base_url} answers (serves: qwen2.5vl:3b, qwen3:8b)" in out
    assert "ok    [llm] model qwen3:8b is served" in out and "ok    [llm] vision_model qwen2.5vl:3b is served" in out

    api.models.discard("qwen2.5vl:3b")
    await doctor(path)
    out = capsys.readouterr().out
    assert "FAIL  [llm] vision_model qwen2.5vl:3b is missing: the model server at" in out

    api.any_model = True  # llama.cpp: lists its file name, answers to any name
    await doctor(path)
    out = capsys.readouterr().out
    assert "ok    [llm] vision_model qwen2.5vl:3b answers (though the server lists it under another name)" in out

    await api.down()
    await doctor(path)
    out = capsys.readouterr().out
    assert f"FAIL  model server: my model server at {api.base_url} is offline — start it" in out
