"""A real daemon on a simulated home for the dashboard tests and benchmark: no mDNS, so no cross-talk.

The simulated devices speak their real HTTP protocol on 127.0.N.x with free ports; instead of mDNS
(which would also find other test runs' devices on this machine) each one is handed to the home's
`on_found` as discovery would, so identification, state reads and control go over the wire.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from claw.core.config import parse
from claw.daemon import Daemon, build
from claw.home.device import Found
from claw_sim.home import SENSITIVE, SimHome

# Debian's Chromium, headless; without the background-networking flags it tries to reach Google's servers.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def house(
    state: Path,
    *,
    extra_lights: int = 0,
    speakers: bool = False,
    llm_host: str = "http://127.0.0.1:9",
    owners: list[dict[str, str]] | None = None,
    private: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    assistant: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[Daemon, SimHome]]:
    """Start the simulated devices and a daemon with the standard parts; yield both; stop both."""
    subnet = random.randint(100, 250)  # Sonos speakers need port 1400: a subnet of their own
    sim = SimHome(state / "sim", extra_lights=extra_lights, cameras=False, speakers=speakers, port=0, subnet=subnet)
    started: list[Any] = []
    app: Daemon | None = None
    try:
        for device in sim.devices.values():
            await device.start()  # no zeroconf: nobody else's daemon sees these
            started.append(device)
        if sim.sonos is not None:
            await sim.sonos.start(ssdp=False)
        sensitive = [d.device_id for d in sim.devices.values() if d.kind in SENSITIVE]
        config = parse(
            {
                "state_dir": str(state / "claw"),
                "llm": {"host": llm_host, "timeout": 10.0},
                "private": {"port": free_port(), **(private or {})},
                "limits": limits or {},
                "assistant": assistant or {},
                "public": {"port": free_port()},
                "owners": owners or [],
                "home": {
                    "discovery": False,
                    "interfaces": ["127.0.0.1"],
                    "poll_interval": 3600.0,  # the tests refresh devices themselves
                    "devices": [{"id": i, "controllable": True} for i in sensitive],
                    "rooms": [{"name": "Living Room", "aliases": ["lounge"]}],
                },
            },
            "(dashboard test)",
        )
        app = build(config)
        await app.start()
        home: Any = app.home  # type: ignore[attr-defined]
        for d in sim.devices.values():
            await home.on_found(Found(d.device_id, d.name, d.kind, "httpjson", f"{d.ip}:{d.port}", d.room, via="test"))
        if sim.sonos is not None:
            for speaker in sim.sonos.speakers:
                found = Found(speaker.uid, speaker.name, "speaker", "sonos", f"{speaker.ip}:1400", via="test")
                await home.on_found(found)
        yield app, sim
    finally:
        if app is not None:
            await app.stop()
        if sim.sonos is not None:
            with contextlib.suppress(Exception):
                await sim.sonos.stop()
        for device in started:
            with contextlib.suppress(Exception):
                await device.stop()


def base_url(app: Daemon) -> str:
    return f"http://127.0.0.1:{app.config.private.port}"
