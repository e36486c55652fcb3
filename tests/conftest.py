"""Shared fixtures: fakes on loopback, and a daemon (Daemon) built on a temporary state dir."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.core.config import Config
from claw.daemon import Daemon, build, parse_config
from tests.fakes.fixtures import ollama  # noqa: F401
from tests.fakes.ollama_server import ScriptedOllama
from tests.loopback_guard import loopback_only, mdns_loopback_only, no_refused_socket  # noqa: F401  (autouse)
from tests.mqtt_fixtures import mosquitto, mqtt_home, mqtt_house  # noqa: F401  (a private broker per test)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Config on tmp_path with free loopback ports; keyword sections override the defaults."""

    def make(llm_host: str = "http://127.0.0.1:9", **sections: Any) -> Config:
        data: dict[str, Any] = {
            "state_dir": str(tmp_path / "state"),
            "llm": {"host": llm_host, "timeout": 10.0},
            "private": {"port": free_port()},
            "public": {"port": free_port()},
            "home": {"discovery": False, "interfaces": ["127.0.0.1"]},
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return parse_config(data, "(test)")

    return make


@pytest_asyncio.fixture
async def claw(ollama: ScriptedOllama, make_config: Callable[..., Config]) -> AsyncIterator[Daemon]:  # noqa: F811
    """A started daemon with no parts, talking to the scripted model."""
    app = build(make_config(llm_host=ollama.url), parts=())
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
