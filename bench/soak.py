"""A bounded soak: `claw run` under a mix of traffic for N seconds, its RSS and open files sampled every second.

.venv/bin/python bench/soak.py [--seconds 120] [--warmup S]

The daemon runs as its own process (`claw run --config`), with WhatsApp, the home and the jobs, against
the simulated home (mDNS on 127.0.N.x), the Twilio fake and the scripted model, all on loopback. The
traffic: WhatsApp webhooks signed with twilio's RequestValidator (fast-path commands and model turns),
`/api/chat`, the dashboard's reads, the live stream opened and dropped, and jobs (a recurring one from
the config, one-shot reminders from chat). Each second /proc/<pid>/status (VmRSS) and /proc/<pid>/fd
are read. Printed, one JSON object per figure: duration, requests, answers, errors, and RSS and
file descriptors at the end of the warm-up and at the end, and their growth in between.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _figures import figure

from claw_sim.home import SimHome
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook

SAM = "+15551234567"
SENDER = "whatsapp:+14155238886"
# fast-path commands and questions (no model) and lines only the model answers
MESSAGES = [
    "turn on the kitchen ceiling",
    "turn off the kitchen ceiling",
    "is the garage door open",
    "turn on the living room lamp",
    "turn off the living room lamp",
    "sleepy time",
    "tell me something about the house",
    "what should I cook tonight",
]


@dataclass
class Tally:
    """What the drivers did and what came back."""

    sent: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    whatsapp_sent: int = 0

    def count(self, kind: str) -> None:
        self.sent[kind] = self.sent.get(kind, 0) + 1

    def check(self, kind: str, status: int, *, ok: tuple[int, ...] = (200,)) -> None:
        self.count(kind)
        if status not in ok:
            self.errors.append(f"{kind}: HTTP {status}")


@dataclass
class Sample:
    t: float
    rss_mb: float
    fds: int


def sample(pid: int, t0: float) -> Sample:
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return Sample(time.monotonic() - t0, rss, sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir()))


def toml(data: dict[str, Any]) -> str:
    """Just enough TOML for this config: scalars, lists of scalars, tables and arrays of tables."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        return "[" + ", ".join(value(x) for x in v) + "]"

    def table(prefix: str, d: dict[str, Any]) -> list[str]:
        lines = [f"{k} = {value(v)}" for k, v in d.items() if not isinstance(v, dict) and not _tables(v)]
        for k, v in d.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                lines += ["", f"[{name}]", *table(name, v)]
            elif _tables(v):
                for item in v:
                    lines += ["", f"[[{name}]]", *table(name, item)]
        return lines

    return "\n".join(table("", data)) + "\n"


def _tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


async def soak(seconds: float, warmup: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="claw-soak-") as tmp_dir:
        tmp = Path(tmp_dir)
        ollama = ScriptedOllama()
        await ollama.start()
        ollama.on(r"remind me", Reply.text("I'll remind you."))
        fake = FakeTwilio()
        await fake.start()
        sim = SimHome(tmp / "sim", cameras=False, speakers=False, port=0, subnet=random.randint(60, 200))
        await sim.start()
        try:
            return await _soak(tmp, seconds, warmup, ollama, fake, sim)
        finally:
            await sim.stop()
            await fake.stop()
            await ollama.stop()


async def _soak(
    tmp: Path, seconds: float, warmup: float, ollama: ScriptedOllama, fake: FakeTwilio, sim: SimHome
) -> dict[str, Any]:
    private, public = free_port(), free_port()
    token = secrets.token_urlsafe(24)
    config = {
        "state_dir": str(tmp / "state"),
        "log_level": "INFO",
        "llm": {"host": ollama.url, "timeout": 10.0},
        "private": {"port": private},
        "public": {"port": public},
        "whatsapp": {
            "enabled": True,
            "messages_per_minute": 10_000,  # the soak writes far faster than a person
            "api_base": fake.url,
            "public_url": f"http://127.0.0.1:{public}",
            "sender": SENDER,
            "template_sid": "HX" + "a" * 32,
            "send_timeout": 2.0,
            "retry_base": 0.2,
            "retry_max_delay": 1.0,
        },
        "owners": [{"name": "Sam", "number": SAM}],
        "home": {**sim.config_extra()["home"], "discovery": True, "poll_interval": 5.0},
        "heartbeat": {"enabled": False},
        "scheduler": {"jobs": [{"id": "soak", "schedule": "every: 1m", "action": "say: the soak goes on"}]},
    }
    path = tmp / "claw.toml"
    path.write_text(toml(config), encoding="utf-8")
    env = {
        **os.environ,
        "CLAW_TOKEN": token,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
    }
    env.pop("CREDENTIALS_DIRECTORY", None)
    env.pop("NOTIFY_SOCKET", None)
    log = (tmp / "claw.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "claw.cli", "run", "--config", str(path), env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{private}"
    auth = {"Authorization": f"Bearer {token}"}
    tally = Tally()
    samples: list[Sample] = []
    try:
        async with aiohttp.ClientSession(base, headers=auth) as http:
            await _ready(http, {d.device_id for d in sim.devices.values()}, process)
            fake.record_inbound(f"whatsapp:{SAM}")  # the owner wrote today: free-form replies are allowed
            t0 = time.monotonic()
            deadline = t0 + seconds
            sampler = asyncio.create_task(_sample(process.pid, t0, deadline, samples))
            await asyncio.gather(
                _whatsapp(public, fake, tally, deadline),
                _chat(http, tally, deadline),
                _reads(http, tally, deadline),
                _streams(http, tally, deadline),
                _reminders(http, tally, deadline),
            )
            await sampler
            answered = await _answers(fake, tally.whatsapp_sent)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 15)
            if process.returncode is None:
                process.kill()
                await process.wait()
        log.close()
    said = (tmp / "claw.log").read_text(encoding="utf-8", errors="replace")
    settled = [s for s in samples if s.t >= warmup] or samples[-1:]
    first, last = settled[0], samples[-1]
    return {
        "duration": last.t,
        "warmup": warmup,
        "requests": sum(tally.sent.values()),
        "by_kind": tally.sent,
        "whatsapp_sent": tally.whatsapp_sent,
        "whatsapp_answered": answered,
        "errors": tally.errors,
        "tracebacks": said.count("Traceback"),
        "log_errors": sum(" ERROR " in line or line.startswith("ERROR") for line in said.splitlines()),
        "exit_code": process.returncode,
        "rss_start": first.rss_mb,
        "rss_end": last.rss_mb,
        "rss_max": max(s.rss_mb for s in settled),
        "rss_growth": last.rss_mb - first.rss_mb,
        "fd_start": first.fds,
        "fd_end": last.fds,
        "fd_max": max(s.fds for s in settled),
        "fd_growth": last.fds - first.fds,
        "samples": len(samples),
    }


async def _ready(http: aiohttp.ClientSession, ids: set[str], process: Any) -> None:
    """Until the daemon answers and has found every simulated device."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"claw run exited with {process.returncode}")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get("/api/devices") as r:
                if r.status == 200 and ids <= {d["id"] for d in await r.json() if d["available"]}:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError("the daemon did not find the simulated home in 60 s")


async def _sample(pid: int, t0: float, deadline: float, samples: list[Sample]) -> None:
    while True:
        samples.append(sample(pid, t0))
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(1.0)


async def _whatsapp(port: int, fake: FakeTwilio, tally: Tally, deadline: float) -> None:
    url = f"http://127.0.0.1:{port}/twilio/whatsapp"
    lines = itertools.cycle(MESSAGES)
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            form, headers = signed_webhook(url, inbound_params(f"whatsapp:{SAM}", next(lines)), fake.auth_token)
            async with http.post(url, data=form, headers=headers) as r:
                tally.check("whatsapp", r.status)
                if r.status == 200:
                    tally.whatsapp_sent += 1
            await asyncio.sleep(0.25)


async def _chat(http: aiohttp.ClientSession, tally: Tally, deadline: float) -> None:
    lines = itertools.cycle(reversed(MESSAGES))
    while time.monotonic() < deadline:
        async with http.post("/api/chat", json={"text": next(lines)}) as r:
            await r.read()
            tally.check("chat", r.status)
        await asyncio.sleep(0.3)


async def _reads(http: aiohttp.ClientSession, tally: Tally, deadline: float) -> None:
    paths = itertools.cycle(["/api/devices", "/api/jobs", "/api/health", "/api/audit", "/api/outbox", "/v1/models"])
    while time.monotonic() < deadline:
        async with http.get(next(paths)) as r:
            await r.read()
            tally.check("read", r.status)
        await asyncio.sleep(0.1)


async def _streams(http: aiohttp.ClientSession, tally: Tally, deadline: float) -> None:
    """The dashboard's live stream, opened, read to its first event and dropped, over and over."""
    while time.monotonic() < deadline:
        async with http.get("/api/stream") as r:
            await r.content.readuntil(b"\n\n")  # `retry:`
            await r.content.readuntil(b"\n\n")  # the hello event
            tally.check("stream", r.status)
        await asyncio.sleep(1.0)


async def _reminders(http: aiohttp.ClientSession, tally: Tally, deadline: float) -> None:
    """A one-shot job every 10 s; each fires a minute later (so they fire during a longer soak)."""
    n = 0
    while time.monotonic() < deadline:
        n += 1
        async with http.post("/api/chat", json={"text": f"remind me in 1 minute to check the oven {n}"}) as r:
            await r.read()
            tally.check("job", r.status)
        await asyncio.sleep(10.0)


async def _answers(fake: FakeTwilio, sent: int) -> int:
    """Replies delivered to the owner, once every webhook has had its answer (or 30 s have passed)."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if len(fake.delivered(f"whatsapp:{SAM}")) >= sent:
            break
        await asyncio.sleep(0.2)
    return len(fake.delivered(f"whatsapp:{SAM}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--warmup", type=float, default=None, help="seconds before the baseline (default: a quarter)")
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else max(5.0, args.seconds / 4)
    result = asyncio.run(soak(args.seconds, warmup))
    figure("soak_duration", result["duration"], "s", warmup=warmup, samples=result["samples"])
    figure("soak_requests", result["requests"], "requests", by_kind=result["by_kind"])
    figure("soak_whatsapp_answered", result["whatsapp_answered"], "replies", webhooks=result["whatsapp_sent"])
    figure("soak_errors", len(result["errors"]), "responses", first=result["errors"][:5])
    figure(
        "soak_tracebacks",
        result["tracebacks"],
        "in the log",
        errors=result["log_errors"],
        exit_code=result["exit_code"],
    )
    figure("soak_rss_start", result["rss_start"], "MB", after="warm-up")
    figure("soak_rss_end", result["rss_end"], "MB", max=round(result["rss_max"], 1))
    figure("soak_rss_growth", result["rss_growth"], "MB")
    figure("soak_fd_start", result["fd_start"], "fds", after="warm-up")
    figure("soak_fd_end", result["fd_end"], "fds", max=result["fd_max"])
    figure("soak_fd_growth", result["fd_growth"], "fds")


if __name__ == "__main__":
    main()
