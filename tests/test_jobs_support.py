"""Helpers for the job tests (no tests here): a daemon with the Jobs part on a hand-driven clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from claw.assistant.router import Answer
from claw.assistant.toolbox import Turn
from claw.core.bus import Inbound
from claw.core.config import Config
from claw.daemon import App
from claw.jobs.clock import Clock
from claw.jobs.part import Jobs

LONDON = ZoneInfo("Europe/London")


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime on the house's wall clock: london(2026, 3, 29, 6, 30)."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


class Household:
    """A part standing in for routines and devices: the real fast-path interface, answering known phrases."""

    def __init__(self, known: set[str], *, slow: set[str] | None = None) -> None:
        self.known = known
        self.slow = slow or set()
        self.calls: list[tuple[str, Turn]] = []
        self.started = asyncio.Event()

    async def start(self, app: App) -> None:
        app.router.fast_paths.append(self)

    async def stop(self) -> None:
        return None

    async def answer(self, inbound: Inbound, turn: Turn) -> Answer | None:
        text = inbound.text.lower()
        if text not in self.known:
            return None
        self.calls.append((text, turn))
        self.started.set()
        if text in self.slow:
            await asyncio.sleep(30)
        return Answer(f"done: {text}")


@contextlib.asynccontextmanager
async def daemon(
    make_config: Callable[..., Config],
    clock: Clock,
    *,
    llm_host: str = "http://127.0.0.1:9",
    household: Household | None = None,
    **sections: Any,
) -> AsyncIterator[tuple[App, Jobs]]:
    """A started App with the Jobs part (and a Household before it) in Europe/London; stopped on exit."""
    sections.setdefault("location", {"timezone": "Europe/London", "latitude": 51.5, "longitude": -0.12})
    config = make_config(llm_host=llm_host, **sections)
    jobs = Jobs(config, clock=clock)
    parts: list[Any] = [household] if household else []
    app = App(config, parts=[*parts, jobs])
    await app.start()
    try:
        yield app, jobs
    finally:
        await app.stop()


def told(app: App, kind: str | None = None) -> list[str]:
    """What the owners were told (the local channel keeps every notification)."""
    return [n.text for n in app.local.notifications if kind is None or n.kind == kind]
