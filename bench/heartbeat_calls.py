"""Model calls per day made by the heartbeat, in a healthy simulated house and in one with a garage left open.

Run: .venv/bin/python bench/heartbeat_calls.py
A simulated day of 30-minute beats on a hand-driven clock, against a scripted Ollama on loopback that
counts every request. Goal: zero calls in a healthy house. Prints one JSON object per figure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the fakes live in tests/

from claw.core.config import parse
from claw.core.findings import Finding
from claw.daemon import Tuning, build
from claw.jobs.clock import ManualClock
from tests.fakes.ollama_server import Reply, ScriptedOllama

LONDON = ZoneInfo("Europe/London")
BEATS_PER_DAY = 48


def figure(name: str, value: float, unit: str, **extra: Any) -> None:
    print(json.dumps({"figure": name, "value": round(value, 3), "unit": unit, **extra}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class House:
    """The providers other parts register on app.checks, simulated: devices, batteries, doors, cameras, outbox."""

    def __init__(self, clock: ManualClock, *, garage_open: tuple[int, int] | None = None) -> None:
        self.clock = clock
        self.garage_open = garage_open  # local hours (from, to) across midnight, or None
        self.checks = [self.devices, self.batteries, self.doors, self.cameras, self.outbox]

    async def devices(self) -> list[Finding]:
        return []

    async def batteries(self) -> list[Finding]:
        return []

    async def cameras(self) -> list[Finding]:
        return []

    async def outbox(self) -> list[Finding]:
        return []

    async def doors(self) -> list[Finding]:
        if self.garage_open is None:
            return []
        hour = self.clock.now().astimezone(LONDON).hour
        start, end = self.garage_open
        if hour >= start or hour < end:
            return [Finding("urgent", "garage:open", "The garage door has been open since 22:00.")]
        return []


async def day(ollama: ScriptedOllama, *, garage_open: tuple[int, int] | None) -> tuple[int, int, float]:
    """Run one simulated day; returns (model calls, notifications, mean ms per beat)."""
    clock = ManualClock(datetime(2026, 11, 21, 12, 0, tzinfo=LONDON))
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(
            {
                "state_dir": tmp,
                "llm": {"host": ollama.url},
                "private": {"port": free_port()},
                "public": {"port": free_port()},
                "home": {"discovery": False, "interfaces": ["127.0.0.1"]},
                "location": {"timezone": "Europe/London"},
                "heartbeat": {"interval_minutes": 30.0},
            },
            "(bench)",
        )
        app = build(config, parts={"jobs"}, tuning=Tuning(clock=clock))
        jobs = app.jobs
        assert jobs is not None
        await app.start()
        house = House(clock, garage_open=garage_open)
        app.checks.extend(house.checks)
        before = len(ollama.chat_requests)
        spent = 0.0
        try:
            for _ in range(BEATS_PER_DAY):
                clock.advance(minutes=30)
                t0 = time.perf_counter()
                await jobs.run_due()
                spent += time.perf_counter() - t0
            told = sum(1 for n in app.local.notifications if n.title == "Heartbeat")
        finally:
            await app.stop()
    return len(ollama.chat_requests) - before, told, spent / BEATS_PER_DAY * 1000


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    ollama = ScriptedOllama()
    ollama.on("Findings:", Reply.text("The garage door is still open tonight."))
    await ollama.start()
    try:
        calls, told, beat_ms = await day(ollama, garage_open=None)
        figure("heartbeat_model_calls_per_day_healthy", calls, "calls/day", beats=BEATS_PER_DAY, told=told)
        figure("heartbeat_beat_ms_healthy", beat_ms, "ms", checks=5)
        calls, told, _ = await day(ollama, garage_open=(22, 7))
        figure("heartbeat_model_calls_per_day_garage_open_overnight", calls, "calls/day", told=told)
    finally:
        await ollama.stop()


if __name__ == "__main__":
    asyncio.run(main())
