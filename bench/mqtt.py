"""MQTT figures (issue 14): command round trip, discovery of 500 devices, "sleepy time" over 50 MQTT vs 50 HTTP lights.

Needs Debian's mosquitto (/usr/sbin/mosquitto). .venv/bin/python bench/mqtt.py
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
from _figures import figure, median, pct
from zeroconf.asyncio import AsyncZeroconf

from claw.core.config import parse
from claw.daemon import Daemon, build
from claw.home.house import Home
from claw_sim.devices import make_device
from claw_sim.mosquitto import Mosquitto, mosquitto_missing
from claw_sim.mqtt_devices import Zigbee2Mqtt, ZigbeeDevice
from tests.conftest import free_port


def config(tmp: Path, broker: Mosquitto | None, **home: Any) -> Any:
    data: dict[str, Any] = {
        "state_dir": str(tmp),
        "llm": {"host": "http://127.0.0.1:9"},
        "private": {"port": free_port()},
        "public": {"port": free_port()},
        "home": {"interfaces": ["127.0.0.1"], "poll_interval": 3600.0, "device_timeout": 2.0, **home},
        "heartbeat": {"enabled": False},
    }
    if broker is not None:
        data["mqtt"] = {"enabled": True, "host": broker.host, "port": broker.port, "client_id": "claw-bench"}
    return parse(data)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1e6


async def until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def start(tmp: Path, broker: Mosquitto | None, **home: Any) -> tuple[Daemon, Home]:
    app = build(config(tmp, broker, **home), parts={"home"})
    await app.start()
    assert app.home is not None
    return app, app.home


async def round_trip(tmp: Path, broker: Mosquitto) -> None:
    """POST /api/devices/<id> -> broker -> simulated Zigbee2MQTT light -> its state message -> the answer's state."""
    bridge = Zigbee2Mqtt(broker.host, broker.port, [ZigbeeDevice("light", "Bench Lamp", "Lab")], client_id="bench-rt")
    await bridge.start()
    app, home = await start(tmp / "rt", broker, discovery=False)
    try:
        await until(lambda: any(d.name == "Bench Lamp" and d.state for d in home.registry.devices()), 10, "the lamp")
        lamp = next(d for d in home.registry.devices() if d.name == "Bench Lamp")
        url = f"http://127.0.0.1:{app.config.private.port}/api/devices/{lamp.id}"
        times: list[float] = []
        async with aiohttp.ClientSession() as session:
            for i in range(300):
                on = i % 2 == 0
                t = time.perf_counter()
                async with session.post(url, json={"power": on}) as r:
                    body = await r.json()
                times.append((time.perf_counter() - t) * 1000)
                assert body["status"] == "done" and body["device"]["state"]["on"] is on, body
                assert bridge.devices["Bench Lamp"].state["state"] == ("ON" if on else "OFF")
        figure("mqtt_command_state_back_p50", median(times), "ms", via="POST /api/devices/<id>", sim="zigbee2mqtt")
        figure("mqtt_command_state_back_p99", pct(times, 99), "ms", samples=len(times))
    finally:
        await app.stop()
        await bridge.stop()


async def discovery_500(tmp: Path, broker: Mosquitto) -> None:
    """500 Zigbee lights announced (retained) before Claw starts: time until all are known, available, with state."""
    devices = [ZigbeeDevice("light", f"Zigbee Light {i}", f"Room {i // 10}") for i in range(500)]
    bridge = Zigbee2Mqtt(broker.host, broker.port, devices, client_id="bench-500")
    await bridge.start()
    before = rss_mb()
    t = time.perf_counter()
    app, home = await start(tmp / "d500", broker, discovery=False)
    try:
        await until(lambda: sum(1 for d in home.registry.devices() if d.available and d.state) >= 500, 120, "500")
        took = time.perf_counter() - t
        figure("mqtt_discovery_500_devices", took * 1000, "ms", note="daemon start to 500 retained configs live")
        figure("mqtt_discovery_500_rss", rss_mb(), "MB", delta_mb=round(rss_mb() - before, 1))
    finally:
        await app.stop()
        await bridge.stop()
    async with aiomqtt.Client(broker.host, broker.port, identifier="bench-clean", bind_address=broker.host) as c:
        for d in devices:  # leave the broker clean for the next figure
            for component, conf in bridge.configs(d):
                await c.publish(bridge.config_topic(component, d, str(conf["unique_id"])), b"", retain=True)


async def sleepy_mqtt(tmp: Path, broker: Mosquitto) -> list[float]:
    devices = [ZigbeeDevice("light", f"Lamp {i}", f"Room {i // 5}", {"state": "ON"}) for i in range(50)]
    bridge = Zigbee2Mqtt(broker.host, broker.port, devices, client_id="bench-sleepy")
    await bridge.start()
    app, home = await start(tmp / "sleepy-mqtt", broker, discovery=False)
    try:
        await until(lambda: sum(1 for d in home.registry.devices() if d.state.get("on")) >= 50, 30, "50 lamps on")
        return await sleepy_runs(
            app,
            home,
            lambda: _all_on_mqtt(bridge),
            lambda: all(d.state["state"] == "OFF" for d in bridge.devices.values()),
        )
    finally:
        await app.stop()
        await bridge.stop()


async def _all_on_mqtt(bridge: Zigbee2Mqtt) -> None:
    for name in bridge.devices:  # switched on by hand: each lamp says so itself
        await bridge.report(name, state="ON")


async def sleepy_http(tmp: Path) -> list[float]:
    zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    lights = [make_device("light", f"Lamp {i}", f"Room {i // 5}", f"127.0.249.{i + 10}", port=0) for i in range(50)]
    for light in lights:
        await light.start(zc)
    app, home = await start(tmp / "sleepy-http", None, subnets=["127.0.249.0/24"])
    try:
        await until(lambda: len(home.registry.devices()) >= 50, 30, "50 HTTP lamps")

        async def all_on() -> None:
            for light in lights:
                light.set_state(on=True)
            for device in home.registry.devices():  # the registry learns they are on (as a poll would)
                home.registry.mark(device, True, {**device.state, "on": True})

        return await sleepy_runs(app, home, all_on, lambda: all(not light.state["on"] for light in lights))
    finally:
        await app.stop()
        for light in lights:
            await light.stop()
        await zc.async_close()


async def sleepy_runs(app: Daemon, home: Home, all_on: Any, all_off: Any) -> list[float]:
    url = f"http://127.0.0.1:{app.config.private.port}/api/chat"
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(30):
            await all_on()
            await until(lambda: sum(1 for d in home.registry.devices() if d.state.get("on")) >= 50, 10, "all on")
            t = time.perf_counter()
            async with session.post(url, json={"text": "sleepy time"}) as r:
                reply = (await r.json())["reply"]
            times.append((time.perf_counter() - t) * 1000)
            assert "Turned off" in reply and all_off(), reply
    return times


async def main() -> None:
    if problem := mosquitto_missing():
        print(json.dumps({"figure": "mqtt", "skipped": problem}))
        sys.exit(0)
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto")
        await broker.start()
        try:
            await round_trip(Path(tmp), broker)
            mqtt = await sleepy_mqtt(Path(tmp), broker)
            http = await sleepy_http(Path(tmp))
            figure("sleepy_time_50_mqtt_lights_p50", median(mqtt), "ms", via="POST /api/chat", broker="mosquitto")
            figure("sleepy_time_50_mqtt_lights_p99", pct(mqtt, 99), "ms")
            figure("sleepy_time_50_http_lights_p50", median(http), "ms", via="POST /api/chat", latency="0 ms")
            figure("sleepy_time_50_http_lights_p99", pct(http, 99), "ms")
            await discovery_500(Path(tmp), broker)
        finally:
            await broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
