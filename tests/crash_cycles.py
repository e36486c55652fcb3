"""kill -9 while messages and jobs are in flight, restart, repeat; then count what was lost or duplicated.

The daemon runs as a real process (`claw run`) against the Twilio fake and the scripted model, both on
loopback in this process. Each cycle starts it, posts signed webhooks while replies are being thought
(the model answers after a random delay) and a job fires every second, then kills it with SIGKILL at a
random moment. A last start drains everything. Used by tests/test_crash_cycles.py and bench/crash_cycles.py.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from claw.core.store.driver import sqlite_driver
from tests.conftest import free_port
from tests.fakes.ollama_script import ChatRequest, Reply
from tests.fakes.ollama_server import ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook

SAM = "+15551234567"
SENDER = "whatsapp:+14155238886"
TEMPLATE = "HX" + "a" * 32


@dataclass
class Tally:
    """What the cycles did and what became of it."""

    cycles: int = 0
    acknowledged: int = 0  # webhooks answered 200: the promise to answer
    refused: int = 0  # webhooks that got no 200 (the daemon was dying or not up): Twilio retries those
    answered_once: int = 0
    lost: int = 0
    duplicated: int = 0
    job_occurrences: int = 0
    job_lost: int = 0
    job_duplicated: int = 0
    reminders_sent: int = 0
    reminders_duplicated: int = 0
    in_flight_at_kill: int = 0  # acknowledged messages whose reply had not gone out at a kill, summed over kills
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "missing"}


def _config(folder: Path, ollama: str, twilio: str, public: int, private: int) -> Path:
    path = folder / "claw.toml"
    path.write_text(
        f"""
state_dir = "{folder / "state"}"
[llm]
host = "{ollama}"
timeout = 10.0
[private]
host = "127.0.0.1"
port = {private}
[public]
host = "127.0.0.1"
port = {public}
[home]
discovery = false
interfaces = ["127.0.0.1"]
[whatsapp]
enabled = true
api_base = "{twilio}"
public_url = "http://127.0.0.1:{public}"
sender = "{SENDER}"
template_sid = "{TEMPLATE}"
send_timeout = 2.0
retry_base = 0.05
retry_max_delay = 0.3
messages_per_minute = 10000
[[owners]]
name = "Sam"
number = "{SAM}"
[scheduler]
grace_seconds = 3600.0
[[scheduler.jobs]]
id = "tick"
schedule = "every: 1s"
action = "say: tick"
"""
    )
    return path


class CrashCycles:
    """The harness: fakes in this process, the daemon as a child that is killed again and again."""

    def __init__(self, folder: Path, *, seed: int = 13) -> None:
        self.folder = folder
        self.rng = random.Random(seed)
        self.ollama = ScriptedOllama()
        self.twilio = FakeTwilio()
        self.public, self.private = free_port(), free_port()
        self.acked: list[str] = []
        self.refused = 0

    async def run(self, cycles: int, per_cycle: int = 6) -> Tally:
        start = time.monotonic()
        await self.ollama.start()
        await self.twilio.start()
        self.ollama.default = self._reply
        config = _config(self.folder, self.ollama.url, self.twilio.url, self.public, self.private)
        env = {
            **os.environ,
            "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
        }
        env.pop("CREDENTIALS_DIRECTORY", None)
        tally = Tally(cycles=cycles)
        try:
            async with aiohttp.ClientSession() as http:
                for number in range(cycles):
                    process = self._spawn(config, env)
                    try:
                        await self._ready(http, process)
                        tally.in_flight_at_kill += await self._cycle(http, process, number, per_cycle)
                    finally:
                        if process.poll() is None:
                            process.kill()
                        process.wait()
                tally.refused = self.refused
                await self._drain(http, config, env)
            self._count(tally)
        finally:
            await self.twilio.stop()
            await self.ollama.stop()
        tally.seconds = round(time.monotonic() - start, 1)
        return tally

    def _reply(self, request: ChatRequest) -> Reply:
        return Reply.text(f"ok: {request.last_user_text}", delay=self.rng.uniform(0.0, 0.4))

    def _spawn(self, config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.folder / "daemon.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "claw.cli", "run", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def _ready(self, http: aiohttp.ClientSession, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the daemon exited with {process.returncode}: see {self.folder / 'daemon.log'}")
            try:
                async with http.get(f"http://127.0.0.1:{self.private}/api/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("the daemon did not come up within 30 s")

    async def _cycle(
        self, http: aiohttp.ClientSession, process: subprocess.Popen[bytes], number: int, per_cycle: int
    ) -> int:
        """Post `per_cycle` messages spread over ~0.6 s and kill the daemon at a random moment among them."""
        kill_at = self.rng.uniform(0.1, 0.9)
        sends = [
            asyncio.create_task(self._post(http, f"note c{number}m{i}", self.rng.uniform(0.0, 0.6)))
            for i in range(per_cycle)
        ]
        await asyncio.sleep(kill_at)
        replies = Counter(self._bodies())
        unanswered = sum(1 for text in self.acked if not replies[f"ok: {text}"])  # accepted, reply not yet out
        process.send_signal(signal.SIGKILL)
        await asyncio.gather(*sends)
        return unanswered

    async def _post(self, http: aiohttp.ClientSession, text: str, after: float) -> None:
        await asyncio.sleep(after)
        self.twilio.record_inbound(f"whatsapp:{SAM}")
        params = inbound_params(f"whatsapp:{SAM}", text)
        url = f"http://127.0.0.1:{self.public}/twilio/whatsapp"
        form, headers = signed_webhook(url, params, self.twilio.auth_token)
        try:
            async with http.post(url, data=form, headers=headers) as resp:
                if resp.status == 200:
                    self.acked.append(text)
                    return
        except (aiohttp.ClientError, ConnectionError):
            pass
        self.refused += 1

    async def _drain(self, http: aiohttp.ClientSession, config: Path, env: dict[str, str]) -> None:
        """A last, undisturbed start: wait until every acknowledged message has its answer, then stop it."""
        process = self._spawn(config, env)
        try:
            await self._ready(http, process)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not self._all_answered():
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.5)  # anything still owed (a duplicate, a late reminder) would show now
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _all_answered(self) -> bool:
        replies = Counter(self._bodies())
        return all(replies[f"ok: {text}"] for text in self.acked)

    def _bodies(self) -> list[str]:
        return [m["body"] for m in self.twilio.messages if m.get("to") == f"whatsapp:{SAM}"]

    def _count(self, tally: Tally) -> None:
        replies = Counter(self._bodies())
        tally.acknowledged = len(self.acked)
        for text in self.acked:
            n = replies[f"ok: {text}"]
            if n == 0:
                tally.lost += 1
                tally.missing.append(text)
            elif n == 1:
                tally.answered_once += 1
            else:
                tally.duplicated += 1
        db = sqlite_driver().connect(self.folder / "state" / "claw.db")
        try:
            rows = db.execute("SELECT scheduled, status FROM job_runs WHERE job_id = 'tick'").fetchall()
            keys = db.execute(
                "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'job-tick-%' AND status IN ('sent', 'delivered')"
            ).fetchone()[0]
        finally:
            db.close()
        by_time: dict[float, list[str]] = {}
        for scheduled, status in rows:
            by_time.setdefault(scheduled, []).append(status)
        tally.job_occurrences = len(by_time)
        for statuses in by_time.values():
            done = sum(1 for s in statuses if s in ("ran", "late"))
            if done > 1:
                tally.job_duplicated += 1
            elif done == 0 and "interrupted" in statuses:
                tally.job_lost += 1  # interrupted, and never run again although within its grace
        tally.reminders_sent = sum(1 for body in self._bodies() if body == "Reminder: tick")
        tally.reminders_duplicated = max(0, tally.reminders_sent - int(keys))
