"""Pytest fixtures for the fakes: `ollama` is a running ScriptedOllama, stopped after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.ollama_server import ScriptedOllama


@pytest_asyncio.fixture
async def ollama() -> AsyncIterator[ScriptedOllama]:
    """A ScriptedOllama on 127.0.0.1 (ephemeral port) offering qwen3:8b and qwen2.5vl:3b."""
    server = ScriptedOllama()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
