"""Home figures (issue 3): sleepy time over 50 slow lights, discovery, overview size (matching: understanding_latency).

.venv/bin/python bench/home.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _figures import figure, median, pct
from zeroconf.asyncio import AsyncZeroconf

from claw.assistant import tokens
from claw.assistant.overview import overview
from claw.core.config import parse
from claw.daemon import build
from claw.home.capabilities import BRIGHTNESS, POWER
from claw.home.device import Device
from claw.home.house import Home
from claw_sim.devices import make_device
from claw_sim.home import SimHome
from tests.conftest import free_port


def config(tmp: Path, subnet: str, **home: Any) -> Any:
    return parse(
        {
            "state_dir": str(tmp),
            "llm": {"host": "http://127.0.0.1:9"},
            "private": {"port": free_port()},
            "public": {"port": free_port()},
            "home": {
                "interfaces": ["127.0.0.1"],
                "subnets": [subnet],
                "poll_interval": 3600.0,
                "device_timeout": 2.0,
                **home,
            },
            "heartbeat": {"enabled": False},
        }
    )


async def wait_known(home: Home, count: int, timeout: float = 30) -> float:
    started = time.perf_counter()
    while len(home.registry.devices()) < count:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {len(home.registry.devices())}/{count} devices discovered")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def sleepy_time(tmp: Path) -> None:
    zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    lights = [make_device("light", f"Lamp {i}", f"Room {i // 5}", f"127.0.251.{i + 10}", port=0) for i in range(50)]
    for light in lights:
        light.latency = 0.05
        await light.start(zc)
    app = build(config(tmp / "sleepy", "127.0.251.0/24"), parts={"home"})
    await app.start()
    home: Home = app.home  # type: ignore[attr-defined]
    await wait_known(home, 50)
    await asyncio.gather(*(home.refresh(d) for d in home.registry.devices()))
    url = f"http://127.0.0.1:{app.config.private.port}/api/chat"
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(30):
            for light in lights:
                light.set_state(on=True)
            for device in home.registry.devices():  # the registry learns they are on (as a poll would)
                home.registry.mark(device, True, {**device.state, "on": True})
            t = time.perf_counter()
            async with session.post(url, json={"text": "sleepy time"}) as r:
                reply = (await r.json())["reply"]
            times.append((time.perf_counter() - t) * 1000)
            assert "Turned off" in reply and all(not light.state["on"] for light in lights), reply
    sequential = 0.0
    driver = home.drivers[home.registry.devices()[0].driver]
    for device in home.registry.devices():
        t = time.perf_counter()
        await driver.write(device, {"on": True})
        sequential += time.perf_counter() - t
    figure("sleepy_time_50_lights_50ms_p50", median(times), "ms", via="POST /api/chat")
    figure("sleepy_time_50_lights_50ms_p99", pct(times, 99), "ms")
    figure("sleepy_time_sequential_sum", sequential * 1000, "ms", note="the same 50 writes one after another")
    await app.stop()
    for light in lights:
        await light.stop()
    await zc.async_close()


async def discovery(tmp: Path) -> None:
    sim = SimHome(tmp / "sim", cameras=False, port=0, subnet=252)
    await sim.start()
    cfg = config(tmp / "discovery", "127.0.252.0/24", ssdp_port=sim.sonos.ssdp_port or 1900 if sim.sonos else 1900)
    app = build(cfg, parts={"home"})
    started = time.perf_counter()
    await app.start()
    await wait_known(app.home, sim.device_count)  # type: ignore[attr-defined]
    figure(
        "discovery_all_known",
        time.perf_counter() - started,
        "s",
        devices=sim.device_count,
        via="mDNS + SSDP on 127.0.0.1, from daemon start",
    )
    await app.stop()
    await sim.stop()


def overview_tokens() -> None:
    kinds = ["light", "light", "light", "switch", "shade", "speaker", "sensor", "thermostat"]
    for count in (10, 100, 500):
        devices = []
        for i in range(count):
            kind = kinds[i % len(kinds)]
            room = f"Room {i % max(3, count // 10)}"
            devices.append(
                Device(
                    id=f"d{i}",
                    name=f"{room} {kind.title()} {i}",
                    kind=kind,
                    driver="x",
                    address=f"10.0.0.{i}:80",
                    room=room,
                    capabilities=(POWER, BRIGHTNESS),
                )
            )
        text = overview(devices, [])
        figure(f"overview_tokens_{count}_devices", tokens.count(text), "tokens")


async def main() -> None:
    overview_tokens()
    with tempfile.TemporaryDirectory() as tmp:
        await discovery(Path(tmp))
        await sleepy_time(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
