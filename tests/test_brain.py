"""The brain end to end: real ollama client, scripted model server, real store."""

from __future__ import annotations

import json
from collections.abc import Callable

from claw.assistant.toolbox import Tool
from claw.core.config import Config
from claw.daemon import Daemon, build
from tests.fakes.ollama_server import ChatRequest, Reply, ScriptedOllama


async def test_plain_reply_carries_the_soul(claw: Daemon, ollama: ScriptedOllama) -> None:
    claw.soul.path.write_text("You are Claw, a butler who says 'indeed'.")
    ollama.on("hello", lambda req: Reply.text("Indeed, hello." if "indeed" in req.system_text else "hi"))
    reply = await claw.local.ask("hello")
    assert reply.text == "Indeed, hello."
    body = ollama.chat_requests[-1]
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][0]["content"].startswith("You are Claw, a butler")
    assert body["options"]["num_ctx"] == claw.config.llm.num_ctx
    assert body["think"] is False


async def test_soul_is_reread_when_the_file_changes(claw: Daemon, ollama: ScriptedOllama) -> None:
    claw.soul.path.write_text("Persona A.")
    await claw.local.ask("one")
    claw.soul.path.write_text("Persona B, longer.")
    await claw.local.ask("two")
    systems = [b["messages"][0]["content"] for b in ollama.chat_requests]
    assert systems[0].startswith("Persona A.") and systems[1].startswith("Persona B, longer.")


async def test_tool_round_trip(claw: Daemon, ollama: ScriptedOllama) -> None:
    seen: list[str] = []

    async def porch(colour: str) -> dict[str, str]:
        seen.append(colour)
        return {"porch": colour}

    claw.tools.add(
        Tool(
            "paint_porch",
            "Paint the porch.",
            {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]},
            porch,
        )
    )
    ollama.on("paint", Reply.call("paint_porch", colour="green"), times=1)
    ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Done: {r.tool_results[-1]}"))
    reply = await claw.local.ask("paint the porch green")
    assert seen == ["green"]
    assert reply.text == 'Done: {"porch": "green"}'


async def test_tool_errors_go_back_to_the_model_as_data(claw: Daemon, ollama: ScriptedOllama) -> None:
    async def broken() -> str:
        raise RuntimeError("boom")

    claw.tools.add(Tool("broken", "Always fails.", {"type": "object", "properties": {}}, broken))
    ollama.on("break", Reply.call("broken"), times=1)
    ollama.on("break", Reply.call("no_such_tool"), times=1)
    ollama.on(lambda r: len(r.tool_results) >= 2, lambda r: Reply.text(" | ".join(r.tool_results)))
    reply = await claw.local.ask("break it")
    first, second = (json.loads(part) for part in reply.text.split(" | "))
    assert "failed unexpectedly" in first["error"]
    assert "no tool 'no_such_tool'" in second["error"]


async def test_invalid_and_stringified_arguments_are_repaired_or_reported(claw: Daemon, ollama: ScriptedOllama) -> None:
    got: list[object] = []

    async def dim(rooms: list[str], level: int) -> str:
        got.append((rooms, level))
        return "ok"

    claw.tools.add(
        Tool(
            "dim",
            "Dim rooms.",
            {
                "type": "object",
                "properties": {
                    "rooms": {"type": "array", "items": {"type": "string"}},
                    "level": {"type": "integer", "minimum": 0, "maximum": 100},
                    "note": {"type": "string"},
                },
                "required": ["rooms", "level"],
                "additionalProperties": False,
            },
            dim,
        )
    )
    # what small models emit: stringified list, number as a string, empty optional value, invented key
    ollama.on("dim", Reply.call("dim", rooms='["kitchen"]', level="40", note="", colour="red"), times=1)
    ollama.on("dim", Reply.call("dim", rooms="kitchen", level=400), times=1)
    ollama.on(lambda r: len(r.tool_results) == 2, lambda r: Reply.text(f"Told: {json.loads(r.tool_results[-1])}"))
    reply = await claw.local.ask("dim the kitchen")
    assert got == [(["kitchen"], 40)]
    assert "invalid level" in reply.text  # the model was told what was wrong with its second call


async def test_tool_call_written_as_text_is_run(claw: Daemon, ollama: ScriptedOllama) -> None:
    calls: list[str] = []

    async def ping(name: str) -> str:
        calls.append(name)
        return "pong"

    claw.tools.add(Tool("ping", "Ping.", {"type": "object", "properties": {"name": {"type": "string"}}}, ping))
    ollama.on("ping", Reply.text('<tool_call>{"name": "ping", "arguments": {"name": "hall"}}</tool_call>'), times=1)
    ollama.on(lambda r: bool(r.tool_results), Reply.text("pinged"))
    assert (await claw.local.ask("ping the hall")).text == "pinged"
    assert calls == ["hall"]


async def test_round_limit_stops_the_loop(claw: Daemon, ollama: ScriptedOllama) -> None:
    count = 0

    async def again(n: int = 0) -> str:
        nonlocal count
        count += 1
        return "more"

    claw.tools.add(Tool("again", "Loop.", {"type": "object", "properties": {"n": {"type": "integer"}}}, again))
    # calls forever while tools are offered, each call a new one (the same call again ends the turn sooner)
    ollama.on(lambda r: bool(r.tools), lambda r: Reply.call("again", n=len(r.tool_results)))
    ollama.on(lambda r: not r.tools, Reply.text("I stopped."))
    reply = await claw.local.ask("loop forever")
    assert count == claw.config.llm.max_rounds
    assert reply.text == "I stopped."


async def test_tool_results_are_capped(claw: Daemon, ollama: ScriptedOllama) -> None:
    async def big() -> str:
        return "x" * 50_000

    claw.tools.add(Tool("big", "Big.", {"type": "object", "properties": {}}, big))
    ollama.on("big", Reply.call("big"), times=1)
    ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(str(len(r.tool_results[-1]))))
    reply = await claw.local.ask("big one")
    assert int(reply.text) < claw.config.llm.tool_result_chars + 100


async def test_model_offline_and_back(claw: Daemon, ollama: ScriptedOllama) -> None:
    await ollama.down()
    reply = await claw.local.ask("what's the weather like")
    assert "offline" in reply.text and "sleepy time" in reply.text
    await ollama.up()
    ollama.on("weather", Reply.text("Sunny."))
    assert (await claw.local.ask("what's the weather like")).text == "Sunny."


async def test_missing_model_is_named(claw: Daemon, ollama: ScriptedOllama) -> None:
    ollama.models.discard("qwen3:8b")
    reply = await claw.local.ask("hello")
    assert "ollama pull qwen3:8b" in reply.text


async def test_conversations_run_concurrently_but_each_stays_serial(claw: Daemon, ollama: ScriptedOllama) -> None:
    import asyncio

    ollama.on("slow", Reply.text("slow done", delay=0.3))
    first = asyncio.create_task(claw.local.ask("slow one"))
    second = asyncio.create_task(claw.local.ask("slow two"))
    replies = await asyncio.gather(first, second)
    assert [r.text for r in replies] == ["slow done", "slow done"]
    stored = [b["messages"][-1]["content"] for b in ollama.chat_requests]
    assert stored == ["slow one", "slow two"]  # serial: the second waited for the first


async def test_model_calls_are_limited_globally_but_conversations_do_not_wait_on_each_other(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    import asyncio
    import time

    from claw.channels.local import LocalChannel

    for limit, overlapped in ((1, False), (2, True)):
        app = build(make_config(llm_host=ollama.url, llm={"max_concurrent": limit}), parts=())
        await app.start()
        try:
            ollama.clear_rules()
            arrivals: list[float] = []

            def slow(req: ChatRequest, arrivals: list[float] = arrivals) -> Reply:
                arrivals.append(time.perf_counter())
                return Reply.text("ready", delay=0.4)

            ollama.on(None, slow)
            other = LocalChannel(app.bus, app.store, actor="Robin", conversation="owner:robin")
            other.name = "robin"  # its own channel name, so replies find their way back
            app.bus.add_channel(other)
            replies = await asyncio.gather(app.local.ask("one"), other.ask("two"))
            assert [r.text for r in replies] == ["ready", "ready"]
            gap = abs(arrivals[1] - arrivals[0])  # the second call reached the model while the first was busy?
            assert (gap < 0.35) is overlapped, f"limit {limit}: calls {gap:.2f} s apart"
        finally:
            await app.stop()
