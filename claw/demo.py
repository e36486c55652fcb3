"""`claw demo`: the daemon on a simulated home, everything on loopback, nothing to set up."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claw.core.config import Config
from claw.core.errors import ModelUnavailable
from claw.daemon import Daemon, build, parse_config
from claw_sim.home import HASS_TOKEN_ENV, SimHome


def demo_config(
    state_dir: Path, *, llm_host: str, model: str, port: int, extra: dict[str, Any] | None = None
) -> Config:
    """A config for the simulated home: loopback only, discovery on 127.0.0.1."""
    data: dict[str, Any] = {
        "state_dir": str(state_dir.resolve()),
        "llm": {"host": llm_host, "model": model},
        "private": {"port": port},
        "public": {"port": port + 1},
        "home": {"interfaces": ["127.0.0.1"], "ssdp_interval": 30.0, "poll_interval": 10.0},
        "assistant": {"languages": ["en", "es", "de", "fr"]},  # the demo house understands all four
        "heartbeat": {"interval_minutes": 30.0},
    }
    for key, value in (extra or {}).items():
        data[key] = value
    return parse_config(data, source="(demo)")


def say(text: str) -> None:
    print(text, flush=True)


async def run_demo(args: argparse.Namespace) -> int:
    """Start the simulated home, then the daemon against it, and run until Ctrl-C."""
    t0 = time.perf_counter()
    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    soul = state_dir / "SOUL.md"
    if not soul.exists():
        soul.write_text((Path(__file__).parent / "defaults" / "SOUL.md").read_text(encoding="utf-8"))
    say(f"Claw demo — state in {state_dir.resolve()}")
    logging.getLogger("claw_sim").setLevel(logging.WARNING)  # the simulated devices' chatter is not the demo
    for chatty in ("claw.home.registry", "mcp.server"):  # 38 "new device" lines: the progress line says it
        logging.getLogger(chatty).setLevel(logging.WARNING)
    home = SimHome(
        state_dir / "sim",
        extra_lights=args.lights,
        cameras=not args.no_cameras,
        subnet=args.subnet,
        progress=say,
        hass=True,  # a simulated Home Assistant, reached over its WebSocket API like a real one
        mqtt=True,  # Zigbee2MQTT and Tasmota devices on a private Mosquitto (skipped, and said, without one)
    )
    try:
        await home.start()
    except OSError as exc:
        await home.stop()
        say(f"claw demo: could not start the simulated home ({exc}).")
        say("Is another demo running? Stop it, or give this one its own addresses: claw demo --subnet 7 --port 8775")
        return 1
    if home.hass is not None:  # secrets come from the environment: this process hands over the sim's token
        os.environ[HASS_TOKEN_ENV] = home.hass.token
    config = demo_config(state_dir, llm_host=args.llm_host, model=args.model, port=args.port, extra=home.config_extra())
    app = build(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        say("  starting the daemon …")
        await app.start()
        await _wait_for_devices(app, home.device_count, say)
        model_state = await _model_state(app)
        port = config.private.port
        url = f"http://127.0.0.1:{config.private.port}/?token={app.token}"
        say("")
        say(f"Ready in {time.perf_counter() - t0:.1f} s. {model_state}")
        chat = f"{claw_command()} chat" + ("" if config.private.port == 8765 else f" --url http://127.0.0.1:{port}")
        say(f"  Dashboard:  {url}")
        say(f'  Try:        {chat} "sleepy time"')
        say(f'              {chat} "play jazz in the study"')
        say(f'              {chat} "unlock the front door"')
        if home.mqtt is not None:
            say(f'              {chat} "turn on the hallway pendant"   (a Zigbee2MQTT light over MQTT)')
        say("  Stop with Ctrl-C.")
        await stop.wait()
    finally:
        say("Stopping …")
        await app.stop()
        await home.stop()
    return 0


def claw_command() -> str:
    """'claw' when that is on PATH and is this Claw; else the path to this venv's claw."""
    here = Path(sys.executable).with_name("claw")
    found = shutil.which("claw")
    if found and Path(found).resolve() == here.resolve():
        return "claw"
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


async def _wait_for_devices(app: Daemon, expected: int, progress: Callable[[str], None]) -> None:
    """Discovery is live; wait (bounded) until the simulated devices are known, showing progress."""
    if expected <= 0 or app.home is None:
        return
    deadline = time.monotonic() + 15
    shown = -1
    while time.monotonic() < deadline:
        known = sum(1 for d in app.home.registry.devices() if d.available)  # after a restart: answering again
        if known != shown:
            progress(f"  {known}/{expected} devices answering")
            shown = known
        if known >= expected:
            return
        await asyncio.sleep(0.25)
    progress("  (some devices are still being discovered; they will appear as they answer)")


async def _model_state(app: Daemon) -> str:
    try:
        names = await asyncio.wait_for(app.model.models(), 3)
    except (ModelUnavailable, TimeoutError):
        return (
            f"No model server at {app.model.address}: routines and plain commands work; "
            "free-form chat will say the model is offline."
        )
    wanted = app.config.llm.model
    if wanted in names or f"{wanted}:latest" in names:
        return f"Model {wanted} is ready."
    if app.config.llm.api == "openai":
        return f"The model server at {app.model.address} does not list {wanted} (serve it by that name, or --model)."
    return f"The model server lacks {wanted} (`ollama pull {wanted}`, or pass --model)."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(asyncio.run(run_demo(argparse.Namespace())))
