"""`claw demo`: the daemon on a simulated home, everything on loopback, nothing to set up."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from claw.assistant.llm import Model
from claw.assistant.model_probe import context_size
from claw.core.config import Config, LLMConfig, MemoryConfig
from claw.core.errors import ConfigError, ModelUnavailable, StateError
from claw.core.store.db import make_state_dir
from claw.core.tasks import quiet_cancellations
from claw.daemon import Daemon, build, parse_config
from claw_sim.home import HASS_TOKEN_ENV, SimHome


def demo_config(state_dir: Path, *, llm: dict[str, Any], port: int, extra: dict[str, Any] | None = None) -> Config:
    """A config for the simulated home: loopback only, discovery on 127.0.0.1."""
    data: dict[str, Any] = {
        "state_dir": str(state_dir.resolve()),
        "llm": llm,
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
    make_state_dir(state_dir)  # StateError: one line naming the folder and the fix
    if busy := busy_ports(args.port):  # before anything starts: nothing to stop, one line
        raise StateError(
            f"port {busy} on 127.0.0.1 is taken (is another demo running?): stop it, or give this one its own "
            f"ports and addresses: claw demo --port {args.port + 10} --subnet 7"
        )
    soul = state_dir / "SOUL.md"
    if not soul.exists():
        soul.write_text((Path(__file__).parent / "defaults" / "SOUL.md").read_text(encoding="utf-8"))
    say(f"Claw demo — state in {state_dir.resolve()}")
    llm, served = await _llm_settings(args)
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
    stop = asyncio.Event()  # Ctrl-C at any moment, start-up included, stops what was started so far
    loop = asyncio.get_running_loop()
    quiet_cancellations(loop)  # an MQTT connect cut short by Ctrl-C is no traceback
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: its terminal was closed
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    app: Daemon | None = None
    try:
        try:
            if not await _unless_stopped(home.start(), stop):
                return 130
        except OSError as exc:
            raise StateError(
                f"could not start the simulated home ({exc}): is another demo running? Stop it, or give this one "
                f"its own addresses: claw demo --subnet 7 --port {args.port + 10}"
            ) from None
        if home.hass is not None:  # secrets come from the environment: this process hands over the sim's token
            os.environ[HASS_TOKEN_ENV] = home.hass.token
        extra = {**home.config_extra(), **({"memory": served} if served else {})}
        config = demo_config(state_dir, llm=llm, port=args.port, extra=extra)
        app = build(config)
        say("  starting the daemon …")
        if not await _unless_stopped(app.start(), stop) or not await _unless_stopped(
            _wait_for_devices(app, home.device_count, say), stop
        ):
            return 130
        model_state = await _model_state(app)
        url = f"http://127.0.0.1:{config.private.port}/?token={app.token}"
        say("")
        say(f"Ready in {time.perf_counter() - t0:.1f} s. {model_state}")
        # `claw chat` finds the port in the state dir (daemon.json); only another state dir needs naming
        default = config.private.port == 8765 and state_dir.resolve() == Path(".claw-demo").resolve()
        chat = f"{claw_command()} chat" + ("" if default else f" --state-dir {state_dir}")
        say(f"  Dashboard:  {url}")
        say(f'  Try:        {chat} "sleepy time"')
        say(f'              {chat} "play jazz in the study"')
        say(f'              {chat} "unlock the front door"')
        if home.mqtt is not None:
            say(f'              {chat} "turn on the hallway pendant"   (a Zigbee2MQTT light over MQTT)')
        say("  Stop with Ctrl-C.")
        await stop.wait()
    finally:
        if stop.is_set() or (app is not None and app.ready.is_set()):  # a failed start says only its one line
            say("Stopping …")
        if app is not None:
            await app.stop()
        await home.stop()
    return 0


async def _unless_stopped(step: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run a start-up step; False (the step cancelled) when Ctrl-C comes first."""
    task = asyncio.ensure_future(step)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        task.result()  # its error, if it failed
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


def busy_ports(port: int) -> int:
    """The first of the demo's two ports (private `port`, public `port`+1) that cannot be bound; 0 when both can."""
    for candidate in (port, port + 1):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds: TIME_WAIT is no obstacle
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                return candidate
    return 0


async def _llm_settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The [llm] table for --llm-host or --llm-base-url, and a [memory] table fitting the server's context."""
    if not args.llm_base_url:
        return {"host": args.llm_host, "model": args.model or "qwen3:8b"}, {}
    if not args.llm_base_url.startswith(("http://", "https://")):
        fix = "give the server's API root, e.g. http://127.0.0.1:8080/v1"
        raise ConfigError("--llm-base-url", "", f"{args.llm_base_url!r} is not an http:// or https:// URL", fix)
    probe = LLMConfig(api="openai", base_url=args.llm_base_url)
    model = args.model
    if not model:  # the model the server serves; a one-model server (llama.cpp) answers to any name anyway
        lister = Model(probe)
        try:
            names = await asyncio.wait_for(lister.models(), 5)
        except (ModelUnavailable, TimeoutError):
            names = []
        finally:
            await lister.close()
        model = names[0] if names else "default"
    llm: dict[str, Any] = {"api": "openai", "base_url": args.llm_base_url, "model": model, "vision_model": model}
    size = await context_size(probe, model, timeout=5)
    need = MemoryConfig().budget_tokens + LLMConfig().reply_tokens
    if size.tokens is None:
        say(f"  {args.llm_base_url} does not say its context size: serve {need} tokens or more (llama.cpp: -c 8192)")
        return llm, {}
    llm["num_ctx"] = size.tokens
    budget = max(size.tokens - LLMConfig().reply_tokens - 100, 1000)  # room for the answer, and some slack
    say(f"  {model} holds {size.tokens} tokens ({size.source}): prompts are kept within {budget}")
    return llm, {"budget_tokens": min(budget, MemoryConfig().budget_tokens)}


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
