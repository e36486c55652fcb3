"""Webhook acknowledgement latency: 200 concurrent signed WhatsApp webhooks on loopback.

Run: .venv/bin/python bench/webhook_ack.py [--requests 200] [--owners 20]
Prints JSON lines {"figure", "value", "unit"}: p50/p99/max ack latency, acknowledged, persisted, lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere


from claw.app import App
from claw.channels.whatsapp import WhatsApp
from claw.config import parse
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook


def figure(name: str, value: float, unit: str) -> None:
    print(json.dumps({"figure": name, "value": round(value, 3), "unit": unit}), flush=True)


async def main(requests: int, owners: int) -> None:
    fake, model = FakeTwilio(), ScriptedOllama()
    await fake.start()
    await model.start()
    model.on(None, Reply.text("Noted.", delay=1.0))  # a real model takes seconds; an instant one is no load test
    os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"] = fake.account_sid, fake.auth_token
    numbers = [f"+1555{i:07d}" for i in range(owners)]
    for number in numbers:
        fake.record_inbound(f"whatsapp:{number}")  # Twilio knows they wrote: replies may be free-form
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
                "owners": [{"name": f"Owner {i}", "number": n} for i, n in enumerate(numbers)],
            },
            "(bench)",
        )
        app = App(config, parts=[WhatsApp(config)])
        url = f"http://127.0.0.1:{public}/twilio/whatsapp"
        try:
            await app.start()
            forms = [inbound_params(f"whatsapp:{numbers[i % owners]}", f"message {i}") for i in range(requests)]
            warm = [inbound_params(f"whatsapp:{numbers[i % owners]}", f"warm {i}") for i in range(10)]
            signed = [signed_webhook(url, f, fake.auth_token) for f in warm + forms]
            # The load comes from another process, as Twilio's would: the daemon's loop serves only itself.
            client = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client", url, stdin=PIPE, stdout=PIPE
            )
            out, _ = await client.communicate(json.dumps({"warm": len(warm), "requests": signed}).encode())
            results = json.loads(out)
            latencies = sorted(ms for _, ms in results)
            acknowledged = sum(1 for status, _ in results if status == 200)
            persisted = await app.store.run(_persisted, [f["MessageSid"] for f in forms])
            # Let the replies go out before stopping, so nothing is cut off mid-turn.
            deadline = time.monotonic() + 120
            while len(fake.messages) < requests + len(warm) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            await app.stop()
            await fake.stop()
            await model.stop()
    figure("webhook_ack_p50_ms", statistics.median(latencies), "ms")
    figure("webhook_ack_p99_ms", latencies[max(0, round(0.99 * len(latencies)) - 1)], "ms")
    figure("webhook_ack_max_ms", latencies[-1], "ms")
    figure("webhook_acknowledged", acknowledged, "requests")
    figure("webhook_persisted", persisted, "messages")
    figure("webhook_lost", requests - persisted, "messages")


async def client(url: str) -> None:
    """The load generator (a child process): warm up, then every request at once; latencies to stdout.

    Raw HTTP/1.1 over fresh connections, as Twilio opens them: a lean client measures the daemon, not itself.
    """
    job = json.loads(sys.stdin.read())
    target = urlsplit(url)

    def raw(form: dict[str, str], headers: dict[str, str]) -> bytes:
        body = urlencode(form).encode()
        head = (
            f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {headers['X-Twilio-Signature']}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode() + body

    async def post(request: bytes) -> tuple[int, float]:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        writer.write(request)
        answer = await reader.read()
        writer.close()
        return int(answer.split(b" ", 2)[1]), (time.perf_counter() - started) * 1000

    requests = [raw(form, headers) for form, headers in job["requests"]]
    for request in requests[: job["warm"]]:
        await post(request)
    print(json.dumps(await asyncio.gather(*(post(r) for r in requests[job["warm"] :]))))


def _persisted(db: Any, sids: list[str]) -> int:
    marks = ",".join("?" for _ in sids)
    return int(db.execute(f"SELECT COUNT(*) FROM messages WHERE external_id IN ({marks})", sids).fetchone()[0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--owners", type=int, default=20, help="spread the messages over this many owners")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)  # internal: the load generator
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(client(args.client) if args.client else main(args.requests, args.owners))
