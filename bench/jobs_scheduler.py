"""Scheduler figures: start-up with 1,000 registered jobs, and lateness of occurrences under load.

Run: .venv/bin/python bench/jobs_scheduler.py [--jobs 1000] [--seconds 6]
Prints one JSON object per figure. Everything runs on loopback in a temporary state dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from claw.assistant.answer import Answer
from claw.core.bus import Inbound
from claw.core.config import Config, parse
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store import jobs as jobs_db
from claw.core.store.jobs import JobRecord, JobState
from claw.daemon import build
from claw.jobs.agenda import Jobs
from claw.jobs.job import Job
from claw.jobs.schedule import Place, first_after

SCHEDULES = (
    "cron: {m} {h} * * *",
    "every: {n}m",
    "sunset: -{n}m",
    "weekdays: {hh}:{mm:02d}",
    "at: 2099-01-01 {hh:02d}:00",
)


def figure(name: str, value: float, unit: str, **extra: Any) -> None:
    print(json.dumps({"figure": name, "value": round(value, 3), "unit": unit, **extra}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(state: Path) -> Config:
    return parse(
        {
            "state_dir": str(state),
            "llm": {"host": "http://127.0.0.1:9"},  # no model: jobs here never need one
            "private": {"port": free_port()},
            "public": {"port": free_port()},
            "home": {"discovery": False, "interfaces": ["127.0.0.1"]},
            "location": {"timezone": "Europe/London", "latitude": 51.5, "longitude": -0.12},
            "heartbeat": {"enabled": False},
        },
        "(bench)",
    )


class Ticks:
    """An understanding path that answers "tick N" at once, like a device command would."""

    async def answer(self, inbound: Inbound, turn: Request) -> Answer | None:
        return Answer("ok") if inbound.text.startswith("tick ") else None


async def seed(state: Path, records: list[JobRecord], states: list[JobState] | None = None) -> None:
    store = Store(state / "claw.db")
    await store.open()
    for record in records:
        await store.run(jobs_db.save, record)
    for job_state in states or []:
        await store.run(jobs_db.put_state, job_state)
    await store.close()


def mixed(count: int) -> list[JobRecord]:
    rng = random.Random(7)
    out = []
    for n in range(count):
        pattern = SCHEDULES[n % len(SCHEDULES)]
        schedule = pattern.format(
            m=rng.randrange(60), h=rng.randrange(24), n=rng.randrange(1, 90), hh=rng.randrange(24), mm=rng.randrange(60)
        )
        out.append(JobRecord(f"job-{n}", schedule, f"say: job {n}", "", "chat", "", True, time.time() - 3600))
    return out


def states_down_since(records: list[JobRecord], cfg: Config, down: float) -> list[JobState]:
    """Runtime state as a daemon that stopped `down` seconds ago left it: every next run is in the past."""
    place = Place.from_config(cfg.location)
    since = datetime.now(UTC) - timedelta(seconds=down)
    out = []
    for record in records:
        first = first_after(Job.from_record(record, place).schedule.trigger, since)
        out.append(JobState(record.id, next_run=first.timestamp() if first else None, last_status="ran"))
    return out


async def startup(count: int, rounds: int, *, down: float = 0.0) -> None:
    """Time Jobs.start on a database holding `count` jobs of mixed kinds (parse, catch up, register)."""
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp)
            records = mixed(count)
            await seed(state, records, states_down_since(records, config(state), down) if down else [])
            cfg = config(state)
            app = build(cfg, parts=())
            await app.start()
            jobs = Jobs(cfg)
            t0 = time.perf_counter()
            await jobs.start(app)
            times.append((time.perf_counter() - t0) * 1000)
            app.parts.append(jobs)
            armed = jobs.timer_count()
            await app.stop()
    name = "jobs_startup_ms" if not down else f"jobs_startup_after_{down / 3600:g}h_down_ms"
    figure(name, statistics.median(times), "ms", jobs=count, armed=armed, rounds=rounds)


async def lateness(count: int, seconds: float, interval: int) -> None:
    """`count` interval jobs spread over `interval` seconds, on the real timer, for `seconds`: start minus due."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        now = time.time()
        rng = random.Random(11)
        records = [
            JobRecord(
                f"tick-{n}",
                f"every: {interval}s",
                f"device: tick {n}",
                "",
                "chat",
                "",
                True,
                now - rng.random() * interval,
            )
            for n in range(count)
        ]
        await seed(state, records)
        cfg = config(state)
        app = build(cfg, parts=())
        app.router.understanding = Ticks()
        jobs = Jobs(cfg)
        app.parts.append(jobs)
        await app.start()
        began = time.time()
        await asyncio.sleep(seconds)
        window_end = time.time()
        await jobs.settle()
        runs = [r for n in range(count) for r in await app.store.run(jobs_db.runs, f"tick-{n}")]
        await app.stop()
    done = [
        r for r in runs if r.started is not None and r.status in ("ran", "late") and began <= r.scheduled <= window_end
    ]
    late_ms = sorted((r.started - r.scheduled) * 1000 for r in done if r.started is not None)
    skipped = sum(1 for r in runs if r.status == "skipped" and r.scheduled >= began)
    p = statistics.quantiles(late_ms, n=100) if len(late_ms) > 1 else [late_ms[0]] * 99
    extra = {"jobs": count, "occurrences": len(late_ms), "interval_s": interval}
    figure("jobs_lateness_p50_ms", p[49], "ms", **extra)
    figure("jobs_lateness_p99_ms", p[98], "ms", **extra)
    figure("jobs_lateness_max_ms", late_ms[-1], "ms", **extra)
    figure("jobs_occurrences_skipped_under_load", skipped, "count", **extra)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--interval", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    await startup(args.jobs, args.rounds)
    await startup(args.jobs, args.rounds, down=3600.0)
    await lateness(args.jobs, args.seconds, args.interval)


if __name__ == "__main__":
    asyncio.run(main())
