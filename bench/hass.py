"""Home Assistant figures (issue 14): start-up sync of 1,000 entities; a state change in HA to Claw's registry and API.

.venv/bin/python bench/hass.py [--entities 1000] [--changes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _figures import figure, median, pct

from claw.core.config import parse
from claw.daemon import Daemon, build
from claw.home.device import Device
from claw_sim.devices import HAEntitySpec, HomeAssistant
from tests.conftest import free_port

TOKEN_ENV = "CLAW_BENCH_HASS_TOKEN"


def rss_mb() -> float:
    """Resident memory now (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def entities(count: int) -> list[HAEntitySpec]:
    lights = {"supported_color_modes": ["brightness"], "color_mode": "brightness", "brightness": 128}
    return [
        HAEntitySpec(f"light.bench_{i:04d}", "on", lights, f"Room {i // 20}")
        if i % 2 == 0
        else HAEntitySpec(f"sensor.bench_{i:04d}", "20.0", {"device_class": "temperature"}, f"Room {i // 20}")
        for i in range(count)
    ]


async def main(count: int, changes: int) -> None:
    ha = HomeAssistant(ip="127.0.0.240", port=0, token="bench", entities=entities(count), name="Bench Home")
    await ha.start()
    os.environ[TOKEN_ENV] = ha.token
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(
            {
                "state_dir": tmp,
                "llm": {"host": "http://127.0.0.1:9"},
                "private": {"port": free_port()},
                "public": {"port": free_port()},
                "home": {"discovery": False, "poll_interval": 3600.0},
                "home_assistant": {"url": ha.base_url, "token_env": TOKEN_ENV},
                "heartbeat": {"enabled": False},
            }
        )
        app = build(config, parts={"home"})
        assert app.hass is not None and app.home is not None
        before = rss_mb()
        t0 = time.perf_counter()
        await app.start()
        while app.hass.syncs < 1:  # noqa: ASYNC110 (the bench polls what the link counts)
            await asyncio.sleep(0.005)
        took = time.perf_counter() - t0
        known = len(app.home.registry.devices())
        figure("hass_startup_sync_s", took, "s", entities=count, devices=known)
        figure("hass_startup_sync_rss_mb", rss_mb() - before, "MiB", entities=count, rss_total_mb=round(rss_mb(), 1))
        try:
            await push_latency(app, ha, changes)
        finally:
            await app.stop()
            await ha.stop()


async def push_latency(app: Daemon, ha: HomeAssistant, changes: int) -> None:
    """ha.set_state -> the registry's "state" event, and -> GET /api/devices showing it."""
    assert app.home is not None
    seen: dict[str, asyncio.Future[float]] = {}

    def on_change(what: str, device: Device) -> None:
        future = seen.get(device.id)
        if what == "state" and future is not None and not future.done():
            future.set_result(time.perf_counter())

    app.home.registry.listeners.append(on_change)
    url = f"http://127.0.0.1:{app.config.private.port}/api/devices"
    to_registry: list[float] = []
    to_api: list[float] = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {app.token}"}) as http:
        for i in range(changes):
            entity_id = f"sensor.bench_{(2 * i + 1) % len(ha.entities):04d}"
            value = f"{21 + i / 10:.1f}"
            seen[f"ha.{entity_id}"] = future = asyncio.get_running_loop().create_future()
            t0 = time.perf_counter()
            ha.set_state(entity_id, value)
            to_registry.append((await future - t0) * 1000)
            if i % 10 == 0:  # the API too (a full device list of every entity each time)
                while not await _shows(http, url, f"ha.{entity_id}", float(value)):
                    pass
                to_api.append((time.perf_counter() - t0) * 1000)
    figure("hass_push_to_registry_p50_ms", median(to_registry), "ms", changes=changes)
    figure("hass_push_to_registry_p99_ms", pct(to_registry, 99), "ms", changes=changes)
    figure("hass_push_to_api_devices_p50_ms", median(to_api), "ms", samples=len(to_api))
    figure("hass_push_to_api_devices_p99_ms", pct(to_api, 99), "ms", samples=len(to_api))


async def _shows(http: aiohttp.ClientSession, url: str, device_id: str, value: float) -> bool:
    async with http.get(url) as response:
        devices: list[dict[str, Any]] = await response.json()
    return any(d["id"] == device_id and d["state"].get("current_temp") == value for d in devices)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.entities, args.changes))
