"""Telegram: inbound update -> reply sent (p50/p99), and the outbox drain after a Bot API outage.

Run: .venv/bin/python bench/telegram.py [--replies 200] [--outage 30] [--alerts 200]
(`--outage 3` for a quick development run; the figure to report is the default 30 s.)

The Bot API fake and the scripted model (answering at once) run on their own event loops in threads, so the
daemon's loop does only its own work: long poll, persist, route, answer, persist the reply, send. Latency is
from the moment the update exists at the fake to the moment the fake accepts the reply (one clock).
Prints JSON lines {"figure", "value", "unit", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from bench._figures import figure, pct
from claw.core.config import parse
from claw.daemon import Daemon, build
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.telegram_api import TOKEN, FakeTelegram

SAM = 4242
T = TypeVar("T")


class Remote:
    """The fake Bot API on its own loop in a thread; its methods are called on that loop."""

    def __init__(self) -> None:
        self.fake = FakeTelegram()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bot api", daemon=True)

    def start(self) -> str:
        self.thread.start()
        return self.run(self.fake.start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapped() -> T:
            return fn()

        return self.run(wrapped())

    def stop(self) -> None:
        self.run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def latencies(remote: Remote, text: str, n: int) -> list[float]:
    """Milliseconds from the update to the reply, one message at a time."""
    out: list[float] = []
    for _ in range(n):
        before = len(remote.fake.texts(SAM))

        def write() -> float:
            remote.fake.message(SAM, text)
            return time.monotonic()

        written = remote.call(write)
        await wait_until(lambda b=before: len(remote.fake.texts(SAM)) > b, 30, "the reply")  # type: ignore[misc]
        out.append((remote.fake.sent[-1].at - written) * 1000)
    return out


async def outage(remote: Remote, app: Daemon, seconds: float, alerts: int, writes: int) -> None:
    """Telegram is down for `seconds`: alerts pile up in the outbox, owners write; then count what arrives."""
    fake = remote.fake
    start = len(fake.sent)
    remote.call(lambda: fake.outage(seconds))
    began = time.monotonic()
    for i in range(alerts):
        await app.notify(f"Alert {i}", kind="alert")
    for i in range(writes):
        remote.call(lambda i=i: fake.message(SAM, f"/help {i}"))  # type: ignore[misc]
    await wait_until(lambda: time.monotonic() - began >= seconds, seconds + 5, "the outage to end")
    ended = time.monotonic()

    def complete() -> bool:
        sent = [m.text for m in fake.sent[start:]]
        return sum(t.startswith("Alert ") for t in sent) >= alerts and sum(t.startswith("Talk") for t in sent) >= writes

    with contextlib.suppress(TimeoutError):  # what never came is counted as lost below
        await wait_until(complete, 120, "the drain")
    drained = max((m.at for m in fake.sent[start:]), default=ended) - ended
    await asyncio.sleep(1.0)  # anything sent twice would show up now
    texts = [m.text for m in fake.sent[start:]]
    alerts_seen = Counter(t for t in texts if t.startswith("Alert "))
    lost = alerts - len(alerts_seen) + max(0, writes - sum(t.startswith("Talk") for t in texts))
    duplicated = sum(c - 1 for c in alerts_seen.values())
    order = [int(t.split()[1]) for t in texts if t.startswith("Alert ")]
    extra = {"outage_s": seconds, "alerts": alerts, "owner_messages": writes}
    figure("telegram_outage_drain_after_end", drained, "s", **extra)
    figure("telegram_outage_lost", lost, "messages", **extra)
    figure("telegram_outage_duplicated", duplicated, "messages", **extra)
    figure("telegram_outage_out_of_order", sum(1 for a, b in itertools.pairwise(order) if b < a), "pairs")


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    os.environ.pop("CREDENTIALS_DIRECTORY", None)
    os.environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    remote = Remote()
    url = remote.start()
    model = ScriptedOllama()
    model.on(r"^how are you", Reply.text("Fine, thanks."))
    llm = model.start_in_thread()
    with tempfile.TemporaryDirectory() as state:
        config = parse(
            {
                "state_dir": state,
                "llm": {"host": llm},
                "private": {"port": free_port()},
                "home": {"discovery": False},
                "heartbeat": {"enabled": False},
                "telegram": {"enabled": True, "api_base": url},  # retries and timeouts at their defaults
                "owners": [{"name": "Sam", "telegram": SAM}],
            },
            "(bench)",
        )
        app = build(config, parts={"telegram"})
        await app.start()
        try:
            await latencies(remote, "/help", 5)  # warm-up: the first poll, the first send
            for label, text in (("fastpath", "/help"), ("model_turn", "how are you?")):
                values = await latencies(remote, text, args.replies)
                for q in (50, 99):
                    figure(f"telegram_reply_{label}_p{q}", pct(values, q), "ms", n=args.replies)
            await outage(remote, app, args.outage, args.alerts, args.writes)
        finally:
            await app.stop()
            model.stop_thread()
            remote.stop()


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]  # this file shadows the telegram package
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=200, help="messages per latency figure")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the Bot API is down")
    parser.add_argument("--alerts", type=int, default=200, help="alerts queued during the outage")
    parser.add_argument("--writes", type=int, default=10, help="owner messages written during the outage")
    asyncio.run(main(parser.parse_args()))
