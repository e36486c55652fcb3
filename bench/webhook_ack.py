"""Webhook acknowledgement latency: 200 concurrent signed WhatsApp webhooks on loopback.

Run: .venv/bin/python bench/webhook_ack.py [--requests 200] [--owners 4]

Three processes, as in real life: the daemon; the Twilio and Ollama fakes (remote services); the load
generator (Twilio's webhook senders, raw HTTP/1.1, one fresh connection per webhook, all at once after a
warm-up). The same load against a bare aiohttp handler gives the floor this machine and client allow.
Prints JSON lines {"figure", "value", "unit"}.
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

from aiohttp import web

from claw.core.config import parse
from claw.core.store import outbox as rows_db
from claw.daemon import Daemon, build
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook

WARM = 10
MODEL_DELAY = 0.1  # seconds a scripted turn takes (turns run one at a time, like on one GPU)


def figure(name: str, value: float, unit: str) -> None:
    print(json.dumps({"figure": name, "value": round(value, 3), "unit": unit}), flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)]


async def child(*args: str, stdin: bytes | None = None) -> bytes:
    process = await asyncio.create_subprocess_exec(sys.executable, __file__, *args, stdin=PIPE, stdout=PIPE)
    out, _ = await process.communicate(stdin)
    return out


async def burst(url: str, token: str, forms: list[dict[str, str]]) -> list[tuple[int, float]]:
    """Sign every form, hand them to the load generator process, return (status, ms) per webhook."""
    signed = [signed_webhook(url, form, token) for form in forms]
    out = await child("--client", url, stdin=json.dumps(signed).encode())
    return [(int(s), float(ms)) for s, ms in json.loads(out)]


async def main(requests: int, owners: int) -> None:
    numbers = [f"+1555{i:07d}" for i in range(owners)]
    fakes = await asyncio.create_subprocess_exec(sys.executable, __file__, "--fakes", *numbers, stdin=PIPE, stdout=PIPE)
    assert fakes.stdout is not None and fakes.stdin is not None
    env = json.loads(await fakes.stdout.readline())
    os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"] = env["account_sid"], env["auth_token"]
    forms = [inbound_params(f"whatsapp:{numbers[i % owners]}", f"message {i}") for i in range(WARM + requests)]
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
                    "messages_per_minute": 10_000,  # a burst of 200: the limit is for people, not this bench
                    "api_base": env["twilio"],
                    "public_url": f"http://127.0.0.1:{public}",
                    "sender": "whatsapp:+14155238886",
                },
                "owners": [{"name": f"Owner {i}", "number": n} for i, n in enumerate(numbers)],
            },
            "(bench)",
        )
        app = build(config, parts={"whatsapp"})
        try:
            await app.start()
            results = await burst(f"http://127.0.0.1:{public}/twilio/whatsapp", env["auth_token"], forms)
            measured = results[WARM:]
            persisted = await app.store.run(_persisted, [f["MessageSid"] for f in forms[WARM:]])
            replies = await _replies(app, len(forms), timeout=60 + len(forms) * MODEL_DELAY / owners)
        finally:
            await app.stop()
            fakes.stdin.close()
            await fakes.wait()
    floor = await _floor(forms, env["auth_token"])
    latencies = [ms for _, ms in measured]
    figure("webhook_ack_p50_ms", statistics.median(latencies), "ms")
    figure("webhook_ack_p99_ms", percentile(latencies, 0.99), "ms")
    figure("webhook_ack_max_ms", max(latencies), "ms")
    figure("webhook_acknowledged", sum(1 for status, _ in measured if status == 200), "requests")
    figure("webhook_persisted", persisted, "messages")
    figure("webhook_lost", requests - persisted, "messages")
    figure("webhook_replies_sent", replies, "messages")
    figure("webhook_ack_floor_p50_ms", statistics.median(floor), "ms")
    figure("webhook_ack_floor_p99_ms", percentile(floor, 0.99), "ms")


async def _floor(forms: list[dict[str, str]], token: str) -> list[float]:
    """The same burst against a bare aiohttp handler that reads the form and answers: the floor."""

    async def bare(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="<Response/>", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/twilio/whatsapp", bare)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        results = await burst(f"http://127.0.0.1:{port}/twilio/whatsapp", token, forms)
    finally:
        await runner.cleanup()
    return [ms for _, ms in results[WARM:]]


async def _replies(app: Daemon, expected: int, timeout: float) -> int:
    """Wait (bounded) until every message has its reply out, so nothing is cut off mid-turn."""
    deadline = time.monotonic() + timeout
    sent = 0
    while time.monotonic() < deadline:
        counts = await app.store.run(rows_db.counts, "whatsapp")
        sent = counts.get("sent", 0) + counts.get("delivered", 0)
        if sent >= expected:
            break
        await asyncio.sleep(0.2)
    return sent


def _persisted(db: Any, sids: list[str]) -> int:
    marks = ",".join("?" for _ in sids)
    return int(db.execute(f"SELECT COUNT(*) FROM messages WHERE external_id IN ({marks})", sids).fetchone()[0])


async def fakes(numbers: list[str]) -> None:
    """Child process: the Twilio and Ollama fakes, until stdin closes."""
    twilio, model = FakeTwilio(), ScriptedOllama()
    await twilio.start()
    await model.start()
    model.on(None, Reply.text("Noted.", delay=MODEL_DELAY))
    for number in numbers:
        twilio.record_inbound(f"whatsapp:{number}")  # Twilio saw them write: replies may be free-form
    env = {"twilio": twilio.url, "ollama": model.url}
    env.update(account_sid=twilio.account_sid, auth_token=twilio.auth_token)
    print(json.dumps(env), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await twilio.stop()
    await model.stop()


async def client(url: str) -> None:
    """Child process: the warm-up one by one, then every webhook at once; (status, ms) list to stdout."""
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

    requests = [raw(form, headers) for form, headers in json.loads(sys.stdin.read())]
    warm = [await post(r) for r in requests[:WARM]]
    print(json.dumps(warm + list(await asyncio.gather(*(post(r) for r in requests[WARM:])))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--owners", type=int, default=4, help="spread the messages over this many owners")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)  # internal: the load generator
    parser.add_argument("--fakes", nargs="*", metavar="NUMBER", help=argparse.SUPPRESS)  # internal: the fakes
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.client:
        asyncio.run(client(args.client))
    elif args.fakes is not None:
        asyncio.run(fakes(args.fakes))
    else:
        asyncio.run(main(args.requests, args.owners))
