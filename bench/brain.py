"""Brain figures (issues 2, 21): runaway answers cut, overhead per turn, prompt size, recall latency.

.venv/bin/python bench/brain.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from _figures import figure, median, pct

from claw.assistant import tokens
from claw.assistant.llm import Answer, Model
from claw.core.config import parse
from claw.core.store import messages as log_db
from claw.core.store.messages import Message
from claw.daemon import build
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.test_memory import script_memory


def config(tmp: Path, url: str, budget: int = 6000) -> object:
    return parse(
        {
            "state_dir": str(tmp),
            "llm": {"host": url},
            "memory": {"budget_tokens": budget},
            "private": {"port": free_port()},
            "public": {"port": free_port()},
            "home": {"discovery": False},
        }
    )


async def overhead(tmp: Path) -> None:
    ollama = ScriptedOllama()
    await ollama.start()
    app = build(config(tmp / "overhead", ollama.url), parts=())  # type: ignore[arg-type]
    await app.start()
    ollama.on(None, Reply.text("Sure."))
    in_model = 0.0
    original = Model.chat

    async def timed(self: Model, *args: object, **kwargs: object) -> Answer:
        nonlocal in_model
        t = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            in_model += time.perf_counter() - t

    Model.chat = timed  # type: ignore[method-assign]
    totals: list[float] = []
    overheads: list[float] = []
    for i in range(300):
        in_model = 0.0
        t = time.perf_counter()
        await app.local.ask(f"how is the house doing? ({i})")
        total = time.perf_counter() - t
        totals.append(total * 1000)
        overheads.append((total - in_model) * 1000)
        await app.memory.idle()
    Model.chat = original  # type: ignore[method-assign]
    figure("brain_overhead_per_turn_p50", median(overheads[20:]), "ms", excludes="model call incl. its HTTP")
    figure("brain_overhead_per_turn_p99", pct(overheads[20:], 99), "ms")
    figure("turn_total_with_instant_model_p50", median(totals[20:]), "ms")
    await app.stop()
    await ollama.stop()


async def prompt_size(tmp: Path) -> None:
    ollama = ScriptedOllama()
    await ollama.start()
    budget = 6000
    app = build(config(tmp / "prompt", ollama.url, budget), parts=())  # type: ignore[arg-type]
    await app.start()
    script_memory(ollama)
    marks = {10, 100, 1000}
    worst = 0
    for turn in range(1, 1001):
        await app.local.ask(f"turn {turn}: my note number {turn} is that the {turn % 7}th window squeaks a bit")
        await app.memory.idle()
        body = ollama.chat_requests[-1] if "MEMORY" not in str(ollama.chat_requests[-1]["messages"][0]) else None
        chats = [
            r
            for r in ollama.chat_requests[-4:]
            if "FLUSH" not in str(r["messages"][0]) and "SUMMARY UPDATE" not in str(r["messages"][0])
        ]
        body = chats[-1] if chats else body
        if body is not None:
            size = tokens.messages_tokens(body["messages"]) + tokens.tools_tokens(body.get("tools") or [])
            worst = max(worst, size)
            if turn in marks:
                figure(f"prompt_tokens_after_{turn}_turns", size, "tokens", budget=budget)
    figure("prompt_tokens_max_over_1000_turns", worst, "tokens", budget=budget)
    await app.stop()
    await ollama.stop()


async def recall(tmp: Path) -> None:
    app = build(config(tmp / "recall", "http://127.0.0.1:9"), parts=())  # type: ignore[arg-type]
    await app.start()
    words = ["garden", "boiler", "kettle", "window", "garage", "dentist", "piano", "bins", "lamp", "router"]

    def fill(db: object) -> None:
        batch = [
            Message(
                "user" if i % 2 else "assistant",
                f"message {i} about the {words[i % 10]} and {words[(i * 7) % 10]} number {i}",
            )
            for i in range(100_000)
        ]
        log_db.append(db, "owner:local", batch)  # type: ignore[arg-type]

    await app.store.run(fill)
    tool = app.tools.get("recall")
    assert tool is not None
    times: list[float] = []
    for i in range(200):
        t = time.perf_counter()
        await tool.handler(query=f"{words[i % 10]} {i}")
        times.append((time.perf_counter() - t) * 1000)
    figure("recall_p50_over_100k_messages", median(times), "ms")
    figure("recall_p99_over_100k_messages", pct(times, 99), "ms")
    await app.stop()


async def runaway(tmp: Path) -> None:
    """A base model that loops (issue 21): how soon the owner hears back, and that the server was told to stop."""
    ollama = ScriptedOllama()
    await ollama.start()
    app = build(config(tmp / "runaway", ollama.url), parts=())  # type: ignore[arg-type]
    await app.start()
    ollama.on(None, Reply.text("I can see the door open. " * 4000, chunk_delay=0.002))  # ~500 chunks/s
    times: list[float] = []
    for i in range(20):
        t = time.perf_counter()
        await app.local.ask(f"tell me a story ({i})")
        times.append((time.perf_counter() - t) * 1000)
    figure("runaway_answer_replied_p50", median(times), "ms", streamed="~500 chunks/s, 100 kB if uncut")
    figure("runaway_streams_closed_on_the_server", ollama.disconnects, "of 20")
    await app.stop()
    await ollama.stop()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await runaway(Path(tmp))
        await overhead(Path(tmp))
        await prompt_size(Path(tmp))
        await recall(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
