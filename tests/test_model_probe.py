"""What a model server says about its model (claw/assistant/model_probe.py): each server's own way, or nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from claw.assistant.model_probe import ContextSize, context_size, round_trip
from claw.core.config import LLMConfig
from claw.core.errors import ModelError, ModelOffline
from tests.conftest import free_port

Routes = dict[tuple[str, str], Callable[[web.Request], Any]]


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Callable[[Routes], Any]]:
    """Start an aiohttp app on 127.0.0.1 with the given routes; returns its root URL."""
    runners: list[web.AppRunner] = []

    async def start(routes: Routes) -> str:
        app = web.Application()
        for (method, path), handler in routes.items():
            app.router.add_route(method, path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def json_reply(data: Any, status: int = 200) -> Callable[[web.Request], Any]:
    async def handler(_request: web.Request) -> web.Response:
        return web.json_response(data, status=status)

    return handler


def openai(root: str, **extra: Any) -> LLMConfig:
    return LLMConfig(api="openai", base_url=f"{root}/v1", model="m", **extra)


async def test_llama_server_says_its_context_at_props(serve: Callable[[Routes], Any]) -> None:
    root = await serve({("GET", "/props"): json_reply({"default_generation_settings": {"n_ctx": 4096}})})
    assert await context_size(openai(root), "m") == ContextSize(4096, "llama.cpp /props")


async def test_vllm_says_it_in_its_model_card(serve: Callable[[Routes], Any]) -> None:
    cards = {"data": [{"id": "other", "max_model_len": 999}, {"id": "m", "max_model_len": 32768}]}
    root = await serve({("GET", "/v1/models"): json_reply(cards)})  # no /props: a 404 first
    assert await context_size(openai(root), "m") == ContextSize(32768, "vLLM /v1/models")


async def test_a_server_that_does_not_say_gives_no_number(serve: Callable[[Routes], Any]) -> None:
    listing = {"data": [{"id": "m", "object": "model", "owned_by": "me"}]}  # llama-cpp-python's whole answer
    root = await serve({("GET", "/v1/models"): json_reply(listing)})
    assert await context_size(openai(root), "m") == ContextSize(None)
    assert await context_size(openai("http://127.0.0.1:9"), "m") == ContextSize(None)  # nobody there


async def test_ollama_says_the_trained_size_in_show(serve: Callable[[Routes], Any]) -> None:
    shown = {"model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960}}
    root = await serve({("POST", "/api/show"): json_reply(shown)})
    size = await context_size(LLMConfig(host=root, model="m"), "m")
    assert size.tokens == 40960 and "Ollama" in size.source


async def test_a_round_trip_is_one_token_with_the_servers_own_counts(serve: Callable[[Routes], Any]) -> None:
    asked: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        asked.append(await request.json())
        usage = {"prompt_tokens": 12, "completion_tokens": 1}
        return web.json_response({"choices": [{"message": {"content": "OK"}}], "usage": usage})

    root = await serve({("POST", "/v1/chat/completions"): chat})
    trip = await round_trip(openai(root), "m")
    assert (trip.prompt_tokens, trip.output_tokens) == (12, 1) and trip.seconds >= 0
    assert asked[0]["max_tokens"] == 1 and asked[0]["model"] == "m"


async def test_a_failed_round_trip_says_why(serve: Callable[[Routes], Any]) -> None:
    root = await serve({("POST", "/v1/chat/completions"): json_reply({"error": "boom"}, status=500)})
    with pytest.raises(ModelError, match="500"):
        await round_trip(openai(root), "m")
    with pytest.raises(ModelOffline):
        await round_trip(openai("http://127.0.0.1:9"), "m")


def test_demo_refuses_a_base_url_that_is_not_a_url_before_starting_anything(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "claw.cli", "demo", "--llm-base-url", "127.0.0.1:8080/v1"]
    done = subprocess.run([*command, "--state-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 78, done.stderr
    assert "--llm-base-url" in done.stderr and "http://127.0.0.1:8080/v1" in done.stderr
    assert not (tmp_path / "sim").exists()  # the simulated home never started


def test_demo_takes_one_model_server_not_both() -> None:
    command = [sys.executable, "-m", "claw.cli", "demo", "--llm-host", "http://a:1", "--llm-base-url", "http://b:2/v1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
