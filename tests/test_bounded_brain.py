"""The brain with models that misbehave: bounded, honest, grounded, never in the way of a plain command.

Scripted servers stand in for small real models (issue 21): a base model that loops, an instruction model
that writes its tool calls as text with invented names, or proposes the wrong action on the right device.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.assistant import honesty
from claw.assistant.llm import Answer, ToolCall
from claw.assistant.router import SUPERSEDED
from claw.assistant.runaway import repeating_tail
from claw.core.config import Config
from claw.core.store import messages as log_db
from claw.daemon import Daemon, build
from tests.fakes.ollama_script import ChatRequest
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.openai_server import ScriptedOpenAI
from tests.home_fixtures import House, _approved_house
from tests.test_memory import script_memory

LOOP = "I can see the door open. " * 4000  # a base model that never stops: ~100 kB if nobody cuts it
RAMBLE = " ".join(f"thought{i}" for i in range(6000))  # no repetition: only the time budget ends it


@pytest_asyncio.fixture
async def api() -> AsyncIterator[ScriptedOpenAI]:
    server = ScriptedOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _daemon(make_config: Callable[..., Config], server: ScriptedOllama, **llm: Any) -> Daemon:
    if isinstance(server, ScriptedOpenAI):
        llm = {"api": "openai", "base_url": server.base_url, **llm}
    app = build(make_config(llm_host=server.url, llm=llm), parts=())
    await app.start()
    return app


def _limit(body: dict[str, Any]) -> int:
    """The output limit a request asked for, in either API's spelling."""
    return int(body.get("max_tokens") or (body.get("options") or {}).get("num_predict") or 0)


@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_a_runaway_answer_is_cut_the_server_told_and_the_owner_told_honestly(
    kind: str, ollama: ScriptedOllama, api: ScriptedOpenAI, make_config: Callable[..., Config]
) -> None:
    server = api if kind == "openai" else ollama
    server.on("story", Reply.text(LOOP, chunk_delay=0.001))
    app = await _daemon(make_config, server, reply_tokens=123)
    try:
        reply = await app.local.ask("tell me a story")
        await asyncio.wait_for(server.disconnected.wait(), 10)  # the stream was closed: the model stops
        assert server.disconnects == 1
        assert reply.text.startswith(honesty.STUCK) and "door open" not in reply.text
        assert _limit(server.chat_requests[-1]) == 123
        assert server.chat_requests[-1].get("stream", True) is not False
    finally:
        await app.stop()


async def test_an_answer_past_the_turns_time_budget_is_cut_and_said_so(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    ollama.on("think hard", Reply.text(RAMBLE, chunk_delay=0.01))
    app = await _daemon(make_config, ollama, turn_seconds=1.0)
    try:
        reply = await app.local.ask("think hard about life")
        await asyncio.wait_for(ollama.disconnected.wait(), 10)
        assert reply.text.startswith(honesty.SLOW) and "thought" not in reply.text
    finally:
        await app.stop()


async def test_every_model_call_has_an_output_limit_fitting_its_purpose(
    api: ScriptedOpenAI, make_config: Callable[..., Config]
) -> None:
    script_memory(api)
    app = await _daemon(make_config, api, reply_tokens=111, summary_tokens=222)
    try:
        await app.local.ask("remember that the bins go out on tuesday")
        await app.local.ask("and the recycling every other friday")
        await app.memory.compact(app.local.conversation, keep_share=0.0)
        limits = {
            "reply"
            if "MEMORY" not in str(b["messages"][0]) and "SUMMARY" not in str(b["messages"][0])
            else "memory": _limit(b)
            for b in api.chat_requests
        }
        assert limits == {"reply": 111, "memory": 222}
    finally:
        await app.stop()


@pytest.mark.parametrize("said", ["", "   ", '{"name": "turn off the lights please", "arguments": {}}'])
async def test_an_empty_or_unusable_answer_is_said_as_such_never_done(
    claw: Daemon, ollama: ScriptedOllama, said: str
) -> None:
    ollama.on("unlock everything", Reply.text(said))
    reply = await claw.local.ask("unlock everything")
    assert reply.text == honesty.EMPTY
    assert "Done" not in reply.text and "{" not in reply.text


async def test_claims_no_tool_backed_are_dropped_and_greetings_not_recycled(
    claw: Daemon, ollama: ScriptedOllama
) -> None:
    greeting = "Hello! I'm Claw, looking after the house. What can I do for you?"
    ollama.on("hello", Reply.text(greeting), times=1)
    ollama.on(
        "front door", Reply.text(f"{greeting} The front door is locked. Yes, I can turn the lights off in the kitchen.")
    )
    assert (await claw.local.ask("hello")).text == greeting
    reply = await claw.local.ask("is the front door locked and can you do the kitchen")
    assert reply.text == honesty.UNCHECKED  # no tool read the lock or touched the lights; the greeting not again


async def test_prompt_tokens_per_turn_are_the_servers_own_count(
    claw: Daemon, ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="claw.assistant.loop")
    ollama.on("count", Reply.text("Forty-two."))
    await claw.local.ask("count the words in this prompt")
    sent = ollama.chat_requests[-1]["messages"]
    counted = max(1, sum(len(str(m.get("content") or "")) for m in sent) // 4)  # how the scripted server counts
    assert f"prompt {counted} tokens (first call; {counted} in all)" in caplog.text


async def test_with_auto_decisions_a_server_refusing_tools_gets_them_as_text(
    api: ScriptedOpenAI, make_config: Callable[..., Config]
) -> None:
    vllm = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    api.on(lambda r: bool(r.tools), Reply.fail(400, vllm))
    api.on("remember", Reply.text('{"name": "remember", "arguments": {"fact": "the bins go out on tuesday"}}'), times=1)
    api.on(lambda r: bool(r.tool_results), Reply.text("Noted."))
    app = await _daemon(make_config, api, decisions="auto")
    try:
        reply = await app.local.ask("remember that the bins go out on tuesday")
        assert app.model.decision_mode == "text" and reply.text == "Noted."
        last = api.chat_requests[-1]
        assert not last.get("tools") and "To use a tool, answer with only this JSON" in last["messages"][0]["content"]
        assert last["messages"][-1]["role"] == "tool" and "error" not in last["messages"][-1]["content"]
    finally:
        await app.stop()


async def test_with_native_tools_an_answer_with_neither_words_nor_a_call_is_asked_again_without_tools(
    api: ScriptedOpenAI, make_config: Callable[..., Config]
) -> None:
    # llama-cpp-python's chatml-function-calling: a model that picks "message" gets an empty one
    api.on(lambda r: bool(r.tools), Reply.text(""))
    api.on("how are you", Reply.text("All quiet here, thanks for asking."))
    app = await _daemon(make_config, api, decisions="tools")
    try:
        reply = await app.local.ask("how are you today?")
        assert reply.text == "All quiet here, thanks for asking."
        asked = [bool(r.get("tools")) for r in api.chat_requests]
        assert asked == [True, False]  # once with the tools, once for words alone; never more
        api.clear_rules()
        api.on(lambda r: True, Reply.text(""))  # empty both times: said as such, no third call
        reply = await app.local.ask("and the weather?")
        assert reply.text == honesty.EMPTY and len(api.chat_requests) == 4
    finally:
        await app.stop()


async def test_a_model_repeating_the_same_call_is_stopped_and_answered_from_what_it_did(
    claw: Daemon, ollama: ScriptedOllama
) -> None:
    ollama.on(lambda r: True, Reply(tool_calls=[("remember", {"fact": "the bins go out on tuesday"})]))
    reply = await claw.local.ask("remember that the bins go out on tuesday")
    assert len(ollama.chat_requests) == 2  # the second, identical call is not run: no six rounds of the same
    ran = [m for m in ollama.chat_requests[-1]["messages"] if m.get("role") == "tool"]
    assert len(ran) == 1 and reply.text not in (honesty.EMPTY, honesty.UNCHECKED)


def test_the_owners_words_said_back_are_no_answer() -> None:
    asked = "switch off the lamp, it's late\n\n[Live state of the devices mentioned]\n- Desk Lamp (light, Study): on"
    live = "[Live state of the devices mentioned]"
    for echo in ("Switch off the lamp, it's late.", f"Switch off the lamp, it's late. {live}"):
        assert honesty.honest(Answer(echo), honesty.Facts(), asked=asked) == (honesty.EMPTY, "empty")
    kept = honesty.honest(Answer("Good night! Sleep well."), honesty.Facts(), asked=asked)
    assert kept == ("Good night! Sleep well.", "answered")


def test_a_tools_json_copied_as_the_reply_never_reaches_the_owner() -> None:
    copied = '{"status": "needs_confirmation", "tell_the_owner": "Reply OK N4CW to let me remember(fact=...)"}'
    held = honesty.Facts(ran=True, results=("Reply OK N4CW to let me remember that the plumber comes on Friday.",))
    assert honesty.honest(Answer(copied), held)[0] == held.results[0]  # the domain's own words instead
    assert honesty.honest(Answer(f"```json\n{copied}\n```"), honesty.Facts()) == (honesty.EMPTY, "empty")
    assert honesty.honest(Answer("[1, 2]"), honesty.Facts()) == (honesty.EMPTY, "empty")


async def test_an_answer_whose_stream_ends_unfinished_is_said_to_be_cut_short(
    api: ScriptedOpenAI, make_config: Callable[..., Config]
) -> None:
    # llama-cpp-python ends a streaming answer, with no finish_reason, when another request arrives
    api.on("tell me about the garden", Reply.text("The garden has a pool pump and a spa", done_reason=""))
    app = await _daemon(make_config, api)
    try:
        reply = await app.local.ask("tell me about the garden")
        assert reply.text == "The garden has a pool pump and a spa (my answer was cut short)"
    finally:
        await app.stop()


def test_a_repeating_tail_is_spotted_and_ordinary_text_is_not() -> None:
    assert repeating_tail("Sure. " + "la " * 30)
    assert repeating_tail("x" + "I can see the door open. " * 4)
    assert not repeating_tail("ha ha ha, good one. The kitchen lights are on and the hall is dark.")
    assert not repeating_tail(RAMBLE[:2000])


def test_honesty_keeps_what_the_tools_back() -> None:
    facts = honesty.results_of([("turn_on_off", "acts", "Turned off the Kitchen Ceiling.")])
    text, verdict = honesty.honest(Answer("Done, I have turned off the kitchen lights."), facts)
    assert (text, verdict) == ("Done, I have turned off the kitchen lights.", "answered")
    held = honesty.results_of(
        [("turn_on_off", "acts", json.dumps({"status": "needs_confirmation", "tell_the_owner": "Reply OK 1234"}))]
    )
    text, _ = honesty.honest(Answer("Done! The garage is open."), held)
    assert text == "Reply OK 1234"  # a held action is not done: its code is what the owner hears


def test_a_state_claim_is_checked_against_what_claw_knows_and_a_wrong_one_replaced_by_the_fact() -> None:
    known = [
        honesty.Reading("Garage Door", "garage_door", {"state": "closed"}),
        honesty.Reading("Front Door", "lock", {"locked": True}),
    ]
    read = honesty.Facts(read=True)
    wrong = Answer("The Garage Door is open. The Front Door is locked. Anything else?")
    text, verdict = honesty.honest(wrong, read, known=known)
    assert (text, verdict) == ("The Garage Door is closed. The Front Door is locked. Anything else?", "rewritten")
    text, _ = honesty.honest(Answer("I have opened the Garage Door, it is open now."), honesty.Facts(), known=known)
    assert text == honesty.UNCHECKED  # an action no tool did is not claimed, whatever the state


# --- with the simulated house -----------------------------------------------------------------------


@pytest_asyncio.fixture
async def home(tmp_path: Path, make_config: Callable[..., Config], ollama: ScriptedOllama) -> AsyncIterator[House]:
    h = await _approved_house(tmp_path, make_config, llm_host=ollama.url)
    try:
        yield h
    finally:
        await h.app.stop()
        await h.sim.stop()


async def test_model_mistakes_become_questions_and_text_calls_are_repaired_not_sent(
    home: House, ollama: ScriptedOllama
) -> None:
    assert home.sim.device("Desk Lamp").state["on"] is True
    # well-formed, the right device, the wrong action: asked, not done
    ollama.on("too dark", Reply.call("turn_on_off", on=False, name="Desk Lamp"))
    reply = await home.say("it is way too dark in the study")
    assert "Did you mean" in reply and "turn on the Desk Lamp" in reply
    assert home.sim.device("Desk Lamp").state["on"] is True
    # "kill the light" is off, whatever the model proposes
    ollama.on("kill the light", Reply.call("turn_on_off", on=True, name="Kitchen Island"))
    reply = await home.say("kindly kill the light over the kitchen island")
    assert "You said off" in reply and "turn off the Kitchen Island" in reply, reply
    assert home.sim.device("Kitchen Island").state["on"] is False
    # a read, then nothing usable: the question is answered from the house, not "nothing usable"
    ollama.on("pool pump", Reply.call("home_state", name="Pool Pump"), times=1)
    ollama.on(lambda r: bool(r.tool_results), Reply.text('{"name": "actions", ["play", "pause"]]}'), times=1)
    reply = await home.say("is the pool pump still going, do you reckon")
    assert reply.startswith("The Pool Pump is "), reply
    # a target the words do not support: asked, not done
    ollama.on("heading out", Reply.call("turn_on_off", on=False, name="Living Room Lamp"))
    reply = await home.say("I'm heading out for a bit")
    assert "rather ask than guess" in reply and home.sim.device("Living Room Lamp").state["on"] is True
    # a tool call written as text with an invented name and argument: run as the real call, never echoed
    ollama.on(
        "kitchen ceiling",
        Reply.text('{"name": "turn_off", "arguments": {"what": "Kitchen Ceiling"}}'),
        times=1,
    )
    ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(""))
    reply = await home.say("could the kitchen ceiling go dark now")
    assert "{" not in reply and "Kitchen Ceiling" in reply
    assert home.sim.device("Kitchen Ceiling").state["on"] is False
    # the live state of the devices in question rides with the owner's words, not the whole house
    ollama.on("bedroom lamp", Reply.text("The Bedroom Lamp is on."))
    reply = await home.say("what about the bedroom lamp")
    sent = ollama.chat_requests[-1]["messages"][-1]["content"]
    assert "Bedroom Lamp (light, Bedroom)" in sent and "Desk Lamp" not in sent
    assert reply == "The Bedroom Lamp is on."  # a state claim the prompt's live states back
    ollama.on("garage", Reply.text("I can see it: the Garage Door is open."))
    assert await home.say("how is the garage") == "The Garage Door is closed."  # rewritten from the facts


@pytest.mark.parametrize("key", ["arguments", "parameters", "params", "args", "input"])
def test_a_call_written_as_text_keeps_its_arguments_whatever_the_key(key: str) -> None:
    from claw.assistant.repair import tool_calls_in_text, written_arguments

    arguments = {"name": "Thermostat", "setting": "target_temp", "value": 21}
    written = json.dumps({"function": {"name": "set_value", key: arguments}})
    assert tool_calls_in_text(f"Sure: {written}", ["set_value"]) == [ToolCall("set_value", arguments)]
    assert written_arguments(written.replace("set_value", "adjust_the_heat")) == arguments
    stopped = written[:-2]  # the model stopped before its last two braces
    assert tool_calls_in_text(stopped, ["set_value"]) == [ToolCall("set_value", arguments)]
    assert tool_calls_in_text(written[:-3], ["set_value"]) == []  # cut inside the arguments: not a call


async def test_an_owner_change_the_words_never_asked_for_gets_no_code(home: House, ollama: ScriptedOllama) -> None:
    # a small model's picks for household words: a device as the owner to remove, an invented number to add
    ollama.on("desk lamp", Reply.call("remove_owner", who="Desk Lamp"), times=1)
    ollama.on("dog walker", Reply.call("add_owner", name="dog walker", number="+15551234567"), times=1)
    ollama.on(lambda r: bool(r.tool_results), Reply.text("I'm sorry, but I can't assist with that."))
    before = home.app.owners.all()
    for words in ("someone left the desk lamp on again", "let the dog walker in through the front door"):
        reply = await home.say(words)
        assert "OK " not in reply and "owner" not in reply.lower(), reply  # no code for what nobody asked
        assert "Desk Lamp" in reply or "Front Door" in reply, reply  # asked about what the words name
    assert home.app.owners.all() == before and home.app.guard.pending() == []


async def test_a_call_written_as_text_ends_the_stream_where_it_closes(home: House, ollama: ScriptedOllama) -> None:
    call = '```json\n{"name": "turn_on_off", "arguments": {"on": false, "name": "Desk Lamp"}}\n```'
    invented = '\n{"error": "the lamp is ' + "very " * 600 + 'off"}'  # what a small model writes next: minutes of it
    ollama.on("desk lamp", Reply.text(call + invented, chunk_delay=0.05), times=1)
    ollama.on(lambda r: bool(r.tool_results), Reply.text("Done."))
    reply = await home.say("the desk lamp can go off now, I'm done working")
    assert home.sim.device("Desk Lamp").state["on"] is False and "error" not in reply, reply
    await asyncio.wait_for(ollama.disconnected.wait(), 10)  # the stream was closed on the server, not read out


def test_a_written_call_is_complete_where_its_json_closes() -> None:
    from claw.assistant.runaway import first_object_closed

    assert first_object_closed('{"name": "x", "arguments": {"say": "a } in words"}}')
    assert first_object_closed('```json\n{"name": "x", "arguments": {"say": "a \\" and }"}}')
    assert not first_object_closed('{"name": "x", "arguments": {"say": "a } in words"}')
    assert not first_object_closed('Sure! {"name": "x"}')  # words first: an answer, not a call
    assert not first_object_closed("The lamp is off.")
    assert not first_object_closed('{"error": "no such tool"} and more')  # an echoed result is no call


async def test_a_plain_command_is_answered_while_a_model_turn_thinks_and_a_stale_turn_is_superseded(
    home: House, ollama: ScriptedOllama
) -> None:
    ollama.on("poem", Reply.text(RAMBLE, chunk_delay=0.05))  # ~5 minutes of streaming
    poem = asyncio.create_task(home.app.local.ask("write me a poem about the garden"))
    await asyncio.wait_for(_streaming(ollama), 10)
    reply = await home.say("turn off the desk lamp")  # the fast path, while the model is still busy
    assert not poem.done() and "Desk Lamp" in reply
    assert home.sim.device("Desk Lamp").state["on"] is False
    home.app.router.stale_after = 0.0  # the poem's turn is stale now: a newer message for the model replaces it
    ollama.on("weather", Reply.text("No idea, I have no window."))
    newer = await home.app.local.ask("what's the weather like")
    assert (await poem).text == SUPERSEDED.format(quoted='"write me a poem about the garden"')
    assert newer.text == "No idea, I have no window."
    await asyncio.wait_for(ollama.disconnected.wait(), 10)  # the superseded stream was closed on the server
    history = await home.app.store.run(log_db.live, home.app.local.conversation)
    said = [m.content for m in history if m.role == "assistant"]
    assert said.count((await poem).text) == 1 and said.count(newer.text) == 1  # each message answered once


async def _streaming(ollama: ScriptedOllama) -> None:
    while not ollama.chat_requests or "poem" not in str(ollama.chat_requests[-1]["messages"][-1]):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)


def _decision(action: str, device: str = "", text: str = "") -> Callable[[ChatRequest], Reply]:
    def answer(req: ChatRequest) -> Reply:
        assert isinstance(req.format, dict) and not req.tools  # constrained, and no tools beside the schema
        return Reply.text(json.dumps({"action": action, "device": device, "room": "", "kind": "", "text": text}))

    return answer


async def test_structured_decisions_are_chosen_where_the_server_takes_a_schema_and_fall_back_where_not(
    tmp_path: Path, make_config: Callable[..., Config], api: ScriptedOpenAI
) -> None:
    h = await _approved_house(
        tmp_path, make_config, llm={"api": "openai", "base_url": api.base_url, "decisions": "auto"}
    )
    try:
        assert h.app.model.decision_mode == "structured" and h.app.brain.decision_mode == "structured"
        api.on("reading", _decision("turn_on", "Bedroom Ceiling", "On it."))
        reply = await h.say("reading time in the bedroom, the ceiling one please")
        assert h.sim.device("Bedroom Ceiling").state["on"] is True and "Bedroom Ceiling" in reply
        body = api.chat_requests[-1]
        schema = body["response_format"]["json_schema"]["schema"]
        acting = [b for b in schema["anyOf"] if "device" in b["properties"]]  # one shape per action
        assert acting and all("Bedroom Ceiling" in b["properties"]["device"]["enum"] for b in acting)
        assert not any(d.id in json.dumps(schema) for d in h.home.registry.devices())  # names, never ids
        assert body["max_tokens"] == h.app.config.llm.reply_tokens
        # the same checks as any proposal: the wrong action on the right device is a question
        api.on("too dark", _decision("turn_off", "Desk Lamp", "Done."))
        reply = await h.say("it is way too dark in the study")
        assert "Did you mean" in reply and h.sim.device("Desk Lamp").state["on"] is True
        # a server that refuses json_schema but takes json_object (llama-cpp-python enforces the schema sent
        # with it): still structured, the schema riding along
        api.formats = {"text", "json_object"}
        off = {"action": "turn_off", "device": "Bedroom Ceiling", "room": "", "kind": ""}
        api.on("tidy", Reply.text(json.dumps(off)))  # this fake reads json_object as "any JSON"
        await h.say("tidy up, the ceiling one in the bedroom can go off")
        assert h.app.model.decision_mode == "structured" and h.sim.device("Bedroom Ceiling").state["on"] is False
        sent = api.chat_requests[-1]["response_format"]
        assert sent["type"] == "json_object" and "anyOf" in sent["schema"]
        # a server that refuses both: native tool calls from then on
        api.formats = {"text"}
        api.clear_rules()
        api.on(None, Reply.text("Hello there."))
        assert (await h.say("hello again")).startswith("Hello there")
        assert h.app.model.decision_mode == "tools"
        await h.say("and hello once more")
        assert api.chat_requests[-1].get("tools") and "response_format" not in api.chat_requests[-1]
    finally:
        await h.app.stop()
        await h.sim.stop()
