"""Fixtures for the WhatsApp tests (load with `pytest_plugins = ["tests.whatsapp_fixtures"]`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from claw.core.config import Config
from tests.conftest import free_port
from tests.fakes.ollama_server import ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio
from tests.whatsapp_support import ALEX, SAM, SENDER, TEMPLATE, Daemon, start_daemon


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    twilio = FakeTwilio()
    await twilio.start()
    try:
        yield twilio
    finally:
        await twilio.stop()


@pytest.fixture
def wa_config(
    make_config: Callable[..., Config], ollama: ScriptedOllama, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Config]:
    """A config for a WhatsApp daemon (Sam and Alex own it), credentials in the environment."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake.auth_token)

    def make(public_url: bool = True, **whatsapp: Any) -> Config:
        port = free_port()
        section: dict[str, Any] = {
            "enabled": True,
            "api_base": fake.url,
            "public_url": f"http://127.0.0.1:{port}" if public_url else "",
            "sender": SENDER,
            "template_sid": TEMPLATE,
            "send_timeout": 1.0,
            "retry_base": 0.05,
            "retry_max_delay": 0.3,
            **whatsapp,
        }
        return make_config(
            llm_host=ollama.url,
            public={"port": port},
            whatsapp=section,
            owners=[{"name": "Sam", "number": SAM}, {"name": "Alex", "number": ALEX}],
        )

    return make


@pytest_asyncio.fixture
async def daemon(wa_config: Callable[..., Config], fake: FakeTwilio) -> AsyncIterator[Daemon]:
    d = await start_daemon(wa_config(), fake)
    try:
        yield d
    finally:
        await d.app.stop()
