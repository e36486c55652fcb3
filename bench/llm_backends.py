"""Brain overhead per turn (issue 15): the Ollama backend against the OpenAI-compatible one, in one run.

Each backend talks to its scripted server on loopback, answering instantly; the figures are what
Claw itself spends per turn (prompt, memory, tools, store) outside the model call, as bench/brain.py
measures it, plus the model call itself (client, loopback HTTP, the fake's handling).

.venv/bin/python bench/llm_backends.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import openai
from _figures import figure, median, pct
from openai.types.chat import ChatCompletion

from claw.assistant.llm import Answer, Model
from claw.assistant.toolbox import Tool
from claw.core.config import parse
from claw.daemon import Daemon, build
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.openai_server import ScriptedOpenAI

TURNS, WARMUP = 300, 20


def config(tmp: Path, llm: dict[str, Any]) -> Any:
    return parse(
        {
            "state_dir": str(tmp),
            "llm": llm,
            "private": {"port": free_port()},
            "public": {"port": free_port()},
            "home": {"discovery": False},
        }
    )


def script(server: ScriptedOllama) -> None:
    """A plain answer, or one tool call and then the answer when the text says "porch"."""
    server.on(lambda r: "porch" in r.last_user_text and not r.tool_results, Reply.call("paint_porch", colour="green"))
    server.on(None, Reply.text("Sure."))


async def porch(colour: str) -> dict[str, str]:
    return {"porch": colour}


async def measure(app: Daemon, text: str) -> tuple[list[float], list[float], list[float]]:
    """Per turn: total, overhead (total minus time inside Model.chat), and time inside Model.chat (ms)."""
    in_model = 0.0
    original = Model.chat

    async def timed(self: Model, *args: Any, **kwargs: Any) -> Answer:
        nonlocal in_model
        t = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            in_model += time.perf_counter() - t

    Model.chat = timed  # type: ignore[method-assign]
    totals: list[float] = []
    overheads: list[float] = []
    calls: list[float] = []
    try:
        for i in range(TURNS):
            in_model = 0.0
            t = time.perf_counter()
            await app.local.ask(f"{text} ({i})")
            total = time.perf_counter() - t
            totals.append(total * 1000)
            overheads.append((total - in_model) * 1000)
            calls.append(in_model * 1000)
            await app.memory.idle()
    finally:
        Model.chat = original  # type: ignore[method-assign]
    return totals[WARMUP:], overheads[WARMUP:], calls[WARMUP:]


async def typed_create_cost(tmp: Path) -> None:
    """Why the backend POSTs through the client: `chat.completions.create` re-walks a full prompt against its types."""
    server = ScriptedOpenAI()
    await server.start()
    app = build(config(tmp / "typed", {"api": "openai", "base_url": f"{server.url}/v1"}), parts=())
    await app.start()
    try:
        for i in range(150):  # a history filled up to the memory budget
            await app.local.ask(f"turn {i}: the {i % 7}th window squeaks a bit and the boiler hums")
            await app.memory.idle()
        dropped = ("path", "chat_template_kwargs", "stream", "stream_options")  # one whole answer, not a stream
        body = {k: v for k, v in server.chat_requests[-1].items() if k not in dropped}
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)
        ways = {
            "create": lambda: client.chat.completions.create(**body),
            "post": lambda: client.post("/chat/completions", body=body, cast_to=ChatCompletion),
        }
        for way, call in ways.items():
            times = []
            for _ in range(60):
                t = time.perf_counter()
                await call()
                times.append((time.perf_counter() - t) * 1000)
            figure(f"openai_client_{way}_full_prompt_p50", median(times[10:]), "ms", messages=len(body["messages"]))
        await client.close()
    finally:
        await app.stop()
        await server.stop()


async def backend(tmp: Path, api: str) -> None:
    server = ScriptedOpenAI() if api == "openai" else ScriptedOllama()
    await server.start()
    llm = {"api": "openai", "base_url": f"{server.url}/v1"} if api == "openai" else {"host": server.url}
    app = build(config(tmp / api, llm), parts=())
    await app.start()
    schema = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}
    app.tools.add(Tool("paint_porch", "Paint the porch.", schema, porch))
    script(server)
    try:
        for turn, text in (("plain", "how is the house doing?"), ("tool", "paint the porch green")):
            totals, overheads, calls = await measure(app, text)
            tags = {"api": api, "turn": turn, "turns": len(totals)}
            figure(f"brain_overhead_per_{turn}_turn_{api}_p50", median(overheads), "ms", **tags)
            figure(f"brain_overhead_per_{turn}_turn_{api}_p99", pct(overheads, 99), "ms", **tags)
            figure(f"model_calls_per_{turn}_turn_{api}_p50", median(calls), "ms", **tags, includes="client+HTTP")
            figure(f"turn_total_{turn}_{api}_p50", median(totals), "ms", **tags)
    finally:
        await app.stop()
        await server.stop()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for api in ("ollama", "openai"):
            await backend(Path(tmp), api)
        await typed_create_cost(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
