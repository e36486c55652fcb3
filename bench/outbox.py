"""Outbox throughput to the Twilio fake, and the time to drain 1,000 queued messages after an outage.

Run: .venv/bin/python bench/outbox.py [--messages 1000] [--outage 30]
(`--outage 3` for a quick development run; the figure to report is the default 30 s.)

The Twilio fake runs in its own process (a remote service), with status callbacks on, so the daemon
does all its real work: persist, send, track receipts. Prints JSON lines {"figure", "value", "unit"}.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import sys
import tempfile
import time
from asyncio.subprocess import PIPE, Process
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from claw.core.bus import Outbound
from claw.core.config import parse
from claw.core.store import outbox as rows_db
from claw.daemon import Daemon, build
from tests.conftest import free_port
from tests.fakes.ollama_server import ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio

ONE = ["+15550000001"]
FOUR = [f"+1555000001{i}" for i in range(4)]


def figure(name: str, value: float, unit: str) -> None:
    print(json.dumps({"figure": name, "value": round(value, 3), "unit": unit}), flush=True)


class Remote:
    """The fakes' process: commands on stdin, one JSON answer per line on stdout."""

    def __init__(self, process: Process) -> None:
        self.process = process

    async def ask(self, command: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        return json.loads(await self.process.stdout.readline())


async def sent(app: Daemon, expected: int, timeout: float) -> float:
    """Seconds until `expected` outbox rows in all have been accepted by Twilio."""
    started = time.perf_counter()
    while True:
        counts = await app.store.run(rows_db.counts, "whatsapp")
        if counts.get("sent", 0) + counts.get("delivered", 0) >= expected:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"only {counts} after {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def queue(app: Daemon, numbers: list[str], n: int, label: str) -> None:
    for i in range(n):
        await app.bus.send(Outbound(channel="whatsapp", recipient=numbers[i % len(numbers)], text=f"{label} {i}"))


def check(messages: list[list[str]], label: str) -> tuple[int, int]:
    """(duplicates, out of order) among the accepted `label` messages, per recipient."""
    mine = [(to, body) for to, body in messages if body.startswith(label + " ")]
    duplicates = sum(c - 1 for c in Counter(body for _, body in mine).values() if c > 1)
    disorder = 0
    for to in {to for to, _ in mine}:
        numbers = [int(body.split()[-1]) for t, body in mine if t == to]
        disorder += sum(1 for a, b in itertools.pairwise(numbers) if b < a)
    return duplicates, disorder


async def main(messages: int, outage: float) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--fakes", stdin=PIPE, stdout=PIPE, limit=64 * 1024 * 1024
    )
    remote = Remote(process)
    env = await remote.ask("env")
    os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"] = env["account_sid"], env["auth_token"]
    with tempfile.TemporaryDirectory() as state:
        public = free_port()
        config = parse(
            {
                "state_dir": state,
                "llm": {"host": env["ollama"]},
                "private": {"port": free_port()},
                "public": {"port": public},
                "home": {"discovery": False, "interfaces": ["127.0.0.1"]},
                "whatsapp": {
                    "enabled": True,
                    "api_base": env["twilio"],
                    "public_url": f"http://127.0.0.1:{public}",
                    "sender": "whatsapp:+14155238886",
                },
                "owners": [{"name": f"Owner {n}", "number": n} for n in ONE + FOUR],
            },
            "(bench)",
        )
        app = build(config, parts={"whatsapp"})
        try:
            await app.start()
            for number in ONE + FOUR:
                await app.store.run(rows_db.opened, "whatsapp", number, time.time())
            await queue(app, ONE, 20, "warm")
            await sent(app, 20, 60)

            started = time.perf_counter()
            await queue(app, ONE, messages, "single")
            await sent(app, 20 + messages, 300)
            figure("outbox_msgs_per_s_one_owner", messages / (time.perf_counter() - started), "msg/s")

            started = time.perf_counter()
            await queue(app, FOUR, messages, "spread")
            await sent(app, 20 + 2 * messages, 300)
            figure("outbox_msgs_per_s_four_owners", messages / (time.perf_counter() - started), "msg/s")

            await remote.ask(f"outage {outage}")
            outage_ends = time.perf_counter() + outage
            await queue(app, ONE, messages, "outage")
            await asyncio.sleep(max(0.0, outage_ends - time.perf_counter()))
            drain = await sent(app, 20 + 3 * messages, 600)
            figure("outbox_outage_s", outage, "s")
            figure("outbox_drain_1000_after_outage_s", drain, "s")
            await asyncio.sleep(1.0)  # anything sent twice would show up now
            accepted = await remote.ask("messages")
        finally:
            await app.stop()
            await remote.ask("quit")
            await process.wait()
    during = sum(1 for _, body in accepted if body.startswith("outage "))
    duplicates, disorder = check(accepted, "outage")
    figure("outbox_outage_delivered", during - duplicates, "messages")
    figure("outbox_outage_duplicates", duplicates, "messages")
    figure("outbox_outage_out_of_order", disorder, "messages")
    totals = [check(accepted, label) for label in ("warm", "single", "spread", "outage")]
    figure("outbox_duplicates_total", sum(d for d, _ in totals), "messages")
    figure("outbox_out_of_order_total", sum(o for _, o in totals), "messages")


async def fakes() -> None:
    """Child process: the Twilio fake (and an idle model), driven by commands on stdin."""
    twilio, model = FakeTwilio(), ScriptedOllama()
    await twilio.start()
    await model.start()
    for number in ONE + FOUR:
        twilio.record_inbound(f"whatsapp:{number}")
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        answer: Any = None
        if line[0] == "env":
            answer = {"twilio": twilio.url, "ollama": model.url}
            answer.update(account_sid=twilio.account_sid, auth_token=twilio.auth_token)
        elif line[0] == "outage":
            twilio.fail_for(float(line[1]))
        elif line[0] == "messages":
            answer = [[m["to"], m["body"]] for m in twilio.messages]
        print(json.dumps(answer), flush=True)
    print("null", flush=True)
    await twilio.stop()
    await model.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds of outage (development: shorter)")
    parser.add_argument("--fakes", action="store_true", help=argparse.SUPPRESS)  # internal: the fakes' process
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(fakes() if args.fakes else main(args.messages, args.outage))
