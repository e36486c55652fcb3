"""Outbox throughput to the Twilio fake, and the time to drain 1,000 queued messages after an outage.

Run: .venv/bin/python bench/outbox.py [--messages 1000] [--outage 30]
(`--outage 3` for a quick development run; the figure to report is the default 30 s.)
Prints JSON lines {"figure", "value", "unit"}.
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
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from claw.app import App
from claw.bus import Outbound
from claw.channels.whatsapp import WhatsApp
from claw.config import parse
from claw.store import outbox as rows_db
from tests.conftest import free_port
from tests.fakes.ollama_server import ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio


def figure(name: str, value: float, unit: str) -> None:
    print(json.dumps({"figure": name, "value": round(value, 3), "unit": unit}), flush=True)


async def wait_for(fake: FakeTwilio, count: int, timeout: float) -> float:
    """Seconds until the fake has accepted `count` messages in all."""
    started = time.perf_counter()
    while len(fake.messages) < count:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"only {len(fake.messages)} of {count} messages arrived")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def queue(app: App, numbers: list[str], n: int, label: str) -> None:
    for i in range(n):
        number = numbers[i % len(numbers)]
        await app.bus.send(Outbound(channel="whatsapp", recipient=number, text=f"{label} {i}"))


def check(fake: FakeTwilio, numbers: list[str], label: str, n: int) -> tuple[int, int]:
    """(duplicates, out of order) among the `label` messages, per recipient."""
    bodies = [m["body"] for m in fake.messages if m["body"].startswith(label + " ")]
    duplicates = sum(c - 1 for c in Counter(bodies).values() if c > 1)
    disorder = 0
    for number in numbers:
        got = [
            int(m["body"].split()[-1])
            for m in fake.messages
            if m["to"] == f"whatsapp:{number}" and m["body"].startswith(label + " ")
        ]
        disorder += sum(1 for a, b in itertools.pairwise(got) if b < a)
    return duplicates, disorder


async def main(messages: int, outage: float) -> None:
    fake, model = FakeTwilio(), ScriptedOllama()
    await fake.start()
    await model.start()
    os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"] = fake.account_sid, fake.auth_token
    one, four = ["+15550000001"], [f"+1555000001{i}" for i in range(4)]
    with tempfile.TemporaryDirectory() as state:
        public = free_port()
        config = parse(
            {
                "state_dir": state,
                "llm": {"host": model.url},
                "private": {"port": free_port()},
                "public": {"port": public},
                "home": {"discovery": False, "interfaces": ["127.0.0.1"]},
                "whatsapp": {
                    "enabled": True,
                    "api_base": fake.url,
                    "public_url": f"http://127.0.0.1:{public}",
                    "sender": "whatsapp:+14155238886",
                },
                "owners": [{"name": f"Owner {n}", "number": n} for n in one + four],
            },
            "(bench)",
        )
        app = App(config, parts=[WhatsApp(config)])
        try:
            await app.start()
            for number in one + four:
                fake.record_inbound(f"whatsapp:{number}")
                await app.store.run(rows_db.opened, "whatsapp", number, time.time())

            started = time.perf_counter()
            await queue(app, one, messages, "single")
            await wait_for(fake, messages, 120)
            elapsed = time.perf_counter() - started  # from the first message handed to the outbox
            figure("outbox_msgs_per_s_one_owner", messages / elapsed, "msg/s")

            base = len(fake.messages)
            started = time.perf_counter()
            await queue(app, four, messages, "spread")
            await wait_for(fake, base + messages, 120)
            figure("outbox_msgs_per_s_four_owners", messages / (time.perf_counter() - started), "msg/s")

            base = len(fake.messages)
            fake.fail_for(outage)
            outage_ends = time.perf_counter() + outage
            await queue(app, one, messages, "outage")
            if len(fake.messages) != base:
                raise RuntimeError("the fake accepted messages during the outage")
            await asyncio.sleep(max(0.0, outage_ends - time.perf_counter()))
            drain = await wait_for(fake, base + messages, 300)
            figure("outbox_outage_s", outage, "s")
            figure("outbox_drain_1000_after_outage_s", drain, "s")
            await asyncio.sleep(1.0)  # anything sent twice would show up now
            duplicates, disorder = check(fake, one, "outage", messages)
            figure("outbox_outage_delivered", len(fake.messages) - base - duplicates, "messages")
            figure("outbox_outage_duplicates", duplicates, "messages")
            figure("outbox_outage_out_of_order", disorder, "messages")
            single_dup, single_dis = check(fake, one, "single", messages)
            spread_dup, spread_dis = check(fake, four, "spread", messages)
            figure("outbox_duplicates_total", duplicates + single_dup + spread_dup, "messages")
            figure("outbox_out_of_order_total", disorder + single_dis + spread_dis, "messages")
        finally:
            await app.stop()
            await fake.stop()
            await model.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds of outage (development: shorter)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(args.messages, args.outage))
