"""MCP tool-call round trip over streamable HTTP, with the SDK's own client, against a real daemon.

    .venv/bin/python bench/mcp_calls.py [--calls 200]   (not bench/mcp.py: that name would shadow the SDK)

The demo house (tests/dashboard_home.py: 18 HTTP-JSON devices on 127.0.N.x, no mDNS). One handshake-era
session (streamable_http_client + ClientSession, as agents connect today) and one per-request session
(the SDK's `Client`, protocol 2026-07-28). Timed from `call_tool` to its result: the HTTP request through
the listener's checks, the SDK's server, the tool (home_state reads the registry; turn_on_off writes the
simulated light over its HTTP protocol and reads it back), the audit row, and the JSON answer.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
from _figures import figure, median, pct
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation

from tests.dashboard_home import base_url, house


async def timed(call: Callable[[], Awaitable[Any]], calls: int) -> list[float]:
    for _ in range(5):  # warm: the first calls pay for imports and connection set-up
        await call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float], era: str) -> None:
    name += "" if era == "2025-11-25" else "_per_request"  # the 2026 wire: no session, the client named per call
    figure(f"mcp_{name}_round_trip_p50_ms", median(samples), "ms", calls=len(samples), protocol=era)
    figure(f"mcp_{name}_round_trip_p99_ms", pct(samples, 99), "ms", calls=len(samples), protocol=era)


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with house(Path(tmp)) as (app, _):
            url = f"{base_url(app)}/mcp"
            headers = {"Authorization": f"Bearer {app.token}"}
            info = Implementation(name="bench", version="1")
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30.0) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write, client_info=info) as session,
            ):
                await session.initialize()
                state = await timed(lambda: session.call_tool("home_state", {"name": "Kitchen Island"}), calls)
                report("home_state", state, "2025-11-25")
                flips = iter(range(10**9))
                light = await timed(
                    lambda: session.call_tool("turn_on_off", {"on": next(flips) % 2 == 0, "name": "Kitchen Island"}),
                    calls,
                )
                report("turn_on_off", light, "2025-11-25")
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30.0) as http,
                Client(streamable_http_client(url, http_client=http), client_info=info) as client,
            ):
                state = await timed(lambda: client.call_tool("home_state", {"name": "Kitchen Island"}), calls)
                report("home_state", state, "2026-07-28")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    asyncio.run(main(parser.parse_args().calls))
