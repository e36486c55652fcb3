"""Helpers for the job tests (no tests here): a daemon with the Jobs part on a hand-driven clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from claw.core.config import Config
from claw.core.errors import ClawError
from claw.core.request import Request
from claw.daemon import Daemon, Tuning, build
from claw.jobs.agenda import Jobs
from claw.jobs.clock import Clock

LONDON = ZoneInfo("Europe/London")


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime on the house's wall clock: london(2026, 3, 29, 6, 30)."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


class Household:
    """Stands in for the home's verbs the jobs call (routines by name, device commands as plans)."""

    def __init__(self, known: set[str], *, slow: set[str] | None = None) -> None:
        self.known = known
        self.slow = slow or set()
        self.calls: list[tuple[str, Request]] = []
        self.started = asyncio.Event()

    def attach(self, jobs: Jobs) -> None:
        """Wire this household in place of the real home (as the daemon wires the real one)."""
        jobs.interpret = jobs.actions.interpret = self.interpret
        jobs.actions.run_routine = self.run_routine
        jobs.actions.run_plan = self.run_plan

    async def interpret(self, text: str) -> dict[str, Any] | None:
        return {"said": text.lower()} if text.lower() in self.known else None

    async def run_routine(self, name: str, request: Request) -> str:
        return await self._do(name.lower(), request)

    async def run_plan(self, plan: Any, request: Request) -> str:
        return await self._do(str(plan["said"]), request)

    async def _do(self, text: str, request: Request) -> str:
        if text not in self.known:
            raise ClawError(f"nothing here called '{text}'")
        self.calls.append((text, request))
        self.started.set()
        if text in self.slow:
            await asyncio.sleep(30)
        return f"done: {text}"


@contextlib.asynccontextmanager
async def daemon(
    make_config: Callable[..., Config],
    clock: Clock,
    *,
    llm_host: str = "http://127.0.0.1:9",
    household: Household | None = None,
    **sections: Any,
) -> AsyncIterator[tuple[Daemon, Jobs]]:
    """A started Daemon with the Jobs part (and a Household before it) in Europe/London; stopped on exit."""
    sections.setdefault("location", {"timezone": "Europe/London", "latitude": 51.5, "longitude": -0.12})
    config = make_config(llm_host=llm_host, **sections)
    app = build(config, parts={"jobs"}, tuning=Tuning(clock=clock))
    jobs = app.jobs
    assert jobs is not None
    if household is not None:
        household.attach(jobs)
    await app.start()
    try:
        yield app, jobs
    finally:
        await app.stop()


def told(app: Daemon, kind: str | None = None) -> list[str]:
    """What the owners were told (the local channel keeps every notification)."""
    return [n.text for n in app.local.notifications if kind is None or n.kind == kind]
