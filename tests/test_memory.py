"""Memory that compacts: budget, summaries, durable facts, recall, commands and restarts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from claw.assistant import tokens
from claw.core.config import Config
from claw.core.store import facts as facts_db
from claw.daemon import build
from tests.fakes.ollama_server import ChatRequest, Reply, ScriptedOllama

FACT = re.compile(r"my (\w+(?: \w+)?) is (\w+)", re.I)


def script_memory(ollama: ScriptedOllama) -> None:
    """A model that extracts 'my X is Y' facts on flush, summarises briefly, and answers from its prompt."""

    def flush(req: ChatRequest) -> Reply:
        found = [f"The owner's {m.group(1)} is {m.group(2)}." for m in FACT.finditer(req.last_user_text)]
        return Reply.text(json.dumps({"facts": found}))

    def answer(req: ChatRequest) -> Reply:
        asked = re.search(r"what is my (\w+(?: \w+)?)", req.last_user_text, re.I)
        if asked:
            known = re.search(rf"The owner's {asked.group(1)} is (\w+)", req.system_text)
            return Reply.text(f"Your {asked.group(1)} is {known.group(1)}." if known else "I don't know.")
        return Reply.text("Noted.")

    ollama.on(lambda r: "MEMORY FLUSH" in r.system_text, flush)
    ollama.on(lambda r: "SUMMARY UPDATE" in r.system_text, lambda r: Reply.text("We chatted about the house."))
    ollama.on(None, answer)


async def test_fact_from_turn_3_is_recalled_at_turn_300_within_budget(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    budget = 1500
    app = build(make_config(llm_host=ollama.url, memory={"budget_tokens": budget}), parts=())
    await app.start()
    try:
        script_memory(ollama)
        for turn in range(1, 300):
            text = (
                "by the way, my dentist is Okafor"
                if turn == 3
                else f"turn {turn}: the weather is fine and the house is quiet"
            )
            await app.local.ask(text)
            await app.memory.idle()
        reply = await app.local.ask("what is my dentist")
        assert reply.text == "Your dentist is Okafor."
        chats = [r for r in ollama.chat_requests if "MEMORY FLUSH" not in str(r["messages"][0])]
        for body in chats:
            estimate = tokens.messages_tokens(body["messages"]) + tokens.tools_tokens(body.get("tools") or [])
            assert estimate <= budget, f"prompt of {estimate} tokens over the {budget} budget"
        summary, upto = await app.store.run(facts_db.summary, app.local.conversation)
        assert summary and upto > 0
    finally:
        await app.stop()


async def test_summarising_failure_archives_raw_and_never_blocks_a_reply(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    app = build(make_config(llm_host=ollama.url, memory={"budget_tokens": 1200}), parts=())
    await app.start()
    try:
        ollama.on(lambda r: "MEMORY FLUSH" in r.system_text, Reply.fail(500, "summariser broke"))
        ollama.on(None, Reply.text("ok"))
        for i in range(80):
            reply = await app.local.ask(f"message {i} " + "words " * 20)
            assert reply.text == "ok"
        await app.memory.idle()
        summary, upto = await app.store.run(facts_db.summary, app.local.conversation)
        assert "archived without a summary" in summary and upto > 0
        found = await app.store.run(
            lambda db: db.execute("SELECT COUNT(*) FROM messages WHERE content LIKE 'message 1 %'").fetchone()[0]
        )
        assert found == 1  # archived, not lost
    finally:
        await app.stop()


async def test_memory_tools_and_commands_survive_a_restart(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    config = make_config(llm_host=ollama.url)
    app = build(config, parts=())
    await app.start()
    try:
        ollama.on("remember", Reply.call("remember", fact="The bins go out on Tuesday", about_household=True), times=1)
        ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Read: {r.tool_results[-1]}"))
        held = (await app.local.ask("remember that the bins go out on tuesday")).text
        code = re.search(r"OK ([A-Z0-9]{4})", held)  # a household fact from the model waits for the owner's code
        assert code is not None and await app.store.run(facts_db.facts, [facts_db.HOUSEHOLD]) == []
        assert "bins" in (await app.local.ask(f"OK {code[1]}")).text
        assert "Fresh start" in (await app.local.ask("/new")).text
        status = (await app.local.ask("/status")).text
        assert "messages stored" in status and "tokens" in status
    finally:
        await app.stop()
    again = build(config, parts=())
    await again.start()
    try:
        ollama.clear_rules()
        ollama.on("bins", Reply.call("recall", query="bins"), times=1)
        ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Read: {r.tool_results[-1]}"))
        reply = (await again.local.ask("when do the bins go out?")).text
        assert "Tuesday" in reply
        assert "The bins go out on Tuesday" in ollama.chat_requests[-1]["messages"][0]["content"]  # in the prompt
        ollama.clear_rules()
        ollama.on("forget", Reply.call("forget", what="bins"), times=1)
        ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Read: {r.tool_results[-1]}"))
        held = (await again.local.ask("forget about the bins")).text
        code = re.search(r"OK ([A-Z0-9]{4})", held)  # forgetting a household fact waits for the code too
        assert code is not None and await again.store.run(facts_db.facts, ["household"])
        assert "bins" in (await again.local.ask(f"OK {code[1]}")).text
        facts = await again.store.run(facts_db.facts, ["household"])
        assert not facts
    finally:
        await again.stop()


async def test_compact_command_folds_the_conversation(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    app = build(make_config(llm_host=ollama.url), parts=())
    await app.start()
    try:
        script_memory(ollama)
        await app.local.ask("my dog is Rex")
        await app.local.ask("nice day")
        assert "folded" in (await app.local.ask("/compact")).text
        facts = await app.store.run(facts_db.facts, [app.local.conversation])
        assert any("dog is Rex" in f.text and f.source == "memory flush" for f in facts)
    finally:
        await app.stop()


async def test_commands_and_the_fresh_start_reply_never_reach_the_model(
    ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    from claw.assistant.memory import COMMANDS

    app = build(make_config(llm_host=ollama.url), parts=())
    await app.start()
    try:
        assert app.router.commands.keys() == COMMANDS  # the history leaves out exactly the router's commands
        ollama.on(None, Reply.text("Hello there."))
        await app.local.ask("hi, how are you doing")
        for command in ("/new", "/status", "/help"):
            await app.local.ask(command)
        await app.local.ask("tell me something nice about gardens")
        history = ollama.chat_requests[-1]["messages"][1:]
        assert [m["content"] for m in history] == ["tell me something nice about gardens"], history
    finally:
        await app.stop()
