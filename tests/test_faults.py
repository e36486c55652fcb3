"""Faults: the model server, Twilio, a device and a camera each hang, fail and come back, against the real daemon.

For each: the owners are not told per message (one answer per message, at most one notice per
change), the rest of the house keeps working while it is down (a fast-path command while the model
hangs, device control while a camera is down, webhooks acknowledged while Twilio hangs), nothing
persisted is lost (the outbox delivers every reply once after Twilio recovers), and the recovery is
noticed. A hang is a peer that accepts the connection and never answers.

Already covered elsewhere, and not repeated here: the model simply offline and back
(test_brain.test_model_offline_and_back), Twilio failures and outages with exactly-once delivery
(test_whatsapp_outbox: failures_then_recovery, outage_then_recovery, crash_while_the_request_hangs),
a device's unavailable/back log lines (test_home.test_unavailable_and_back_is_logged_once_each), a
camera that dies told once and once back (test_eyes_source.test_a_camera_that_dies_is_...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from claw.core.backoff import Backoff
from claw.core.bus import Outbound
from claw.core.config import Config
from claw.daemon import Tuning
from claw_sim.camera import SimCamera
from claw_sim.scenes import write_video
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio
from tests.home_fixtures import House, house_config, start_house
from tests.whatsapp_support import SAM, Daemon, eventually

pytest_plugins = ["tests.whatsapp_fixtures"]

ALEX_TALK = "owner:+15557654321"  # a second conversation: turns in one conversation are serial by design


def broadcasts(heard: list[Outbound], about: str) -> list[str]:
    """What went to every owner (not a reply to one message) that mentions `about`."""
    said = [f"{m.title}: {m.text}" for m in heard if m.recipient is None]
    return [text for text in said if about.lower() in text.lower()]


def listen(house: House) -> list[Outbound]:
    heard: list[Outbound] = []

    async def hear(message: Outbound) -> None:
        heard.append(message)

    house.app.bus.listen(hear)
    return heard


@contextlib.asynccontextmanager
async def running(house: House) -> AsyncIterator[House]:
    try:
        yield house
    finally:
        await house.app.stop()
        await house.sim.stop()


# -- the model server ------------------------------------------------------------------------------


async def test_model_hangs_then_fails_then_comes_back(
    tmp_path: Path, make_config: Callable[..., Config], ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="claw.assistant.llm")
    # a model call gives up after 4 s: long enough for the plain command below on a busy machine
    config = house_config(make_config, llm_host=ollama.url, llm={"timeout": 4.0})
    async with running(await start_house(tmp_path, config, speakers=False)) as h:
        heard = listen(h)
        ceiling = h.sim.device("Kitchen Ceiling")
        ollama.on("cook", Reply.text("Pasta."))
        assert await h.say("what should I cook tonight") == "Pasta."

        # hanging: the model server takes the request and says nothing
        ollama.clear_rules()
        ollama.on(None, Reply.text("far too late", delay=60))
        asked = len(ollama.chat_requests)
        thinking = asyncio.create_task(h.say("what should I cook tonight"))
        await eventually(lambda: len(ollama.chat_requests) > asked, what="the hanging model call")
        other = await h.app.local.ask("turn off the kitchen ceiling", conversation=ALEX_TALK)
        assert "Kitchen Ceiling" in other.text and ceiling.state["on"] is False
        assert not thinking.done()  # the command ran while the model call still hung
        answer = await asyncio.wait_for(thinking, 10)
        assert "did not answer" in answer and "far too late" not in answer

        # failing: the server is gone (connections refused)
        await ollama.down()
        answers = [await h.say(f"what should I cook on day {n}") for n in range(3)]
        assert all("offline" in a for a in answers), answers  # one answer for each message, saying why
        assert "Kitchen Ceiling" in await h.say("turn on the kitchen ceiling")
        assert ceiling.state["on"] is True

        # back: while it is known to be offline, messages are answered without trying it; the model
        # monitor (every 10 s while offline) notices the recovery
        await ollama.up()
        ollama.clear_rules()
        ollama.on("cook", Reply.text("Risotto."))
        await eventually(lambda: h.app.model.online is True, timeout=15, what="the recovery to be noticed")
        assert await h.say("what should I cook tonight") == "Risotto."

    assert broadcasts(heard, "model") == []  # no notice to all owners per failed call
    said = [r.getMessage() for r in caplog.records if r.name == "claw.assistant.llm"]
    assert sum("is offline" in m for m in said) == 1 and sum("is back" in m for m in said) == 1


# -- a device --------------------------------------------------------------------------------------


async def test_a_device_that_hangs_or_fails_does_not_stop_the_rest(
    tmp_path: Path, make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="claw.home")
    config = house_config(make_config)  # device_timeout 1 s
    async with running(await start_house(tmp_path, config, speakers=False)) as h:
        heard = listen(h)
        lamp, porch = h.sim.device("Living Room Lamp"), h.sim.device("Porch Light")
        device = h.device("Living Room Lamp")
        for mode in ("hang", "close"):  # accepts and never answers; then drops every connection
            lamp.dead_mode = mode
            lamp.dead = True
            started = time.monotonic()
            said = await h.say("turn on the living room lamp")
            assert time.monotonic() - started < 10  # bounded by the device timeout, not by the device
            assert "Living Room Lamp" in said and "Turned on" not in said, said
            assert "Porch Light" in await h.say("turn on the porch light")
            assert porch.state["on"] is True
            said = await h.say("turn off the porch light")
            assert porch.state["on"] is False
            await h.home.refresh(device)
            await h.home.refresh(device)
            assert device.available is False
        lamp.dead = False
        await h.home.refresh(device)
        assert device.available is True
        assert "Living Room Lamp" in await h.say("turn on the living room lamp")
        assert lamp.state["on"] is True
    said = [r.getMessage() for r in caplog.records if "Living Room Lamp" in r.getMessage()]
    assert sum("stopped answering" in m for m in said) == 1, said  # once, through both kinds of fault
    assert sum("is back" in m for m in said) == 1, said
    assert broadcasts(heard, "Living Room Lamp") == []


# -- a camera --------------------------------------------------------------------------------------


class Silent:
    """A listener that accepts connections and never says a word: a hung camera."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.server: asyncio.Server | None = None
        self.connections: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections.append(writer)

        self.server = await asyncio.start_server(hold, self.host, self.port)

    async def stop(self) -> None:
        for writer in self.connections:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_camera_that_hangs_then_fails_does_not_stop_device_control(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    video = tmp_path / "quiet.mp4"
    write_video("quiet", video, size=(160, 90), fps=10.0)
    camera = SimCamera("garden", "127.0.62.31", free_port("127.0.62.31"), video, fps=20.0)
    await camera.start()
    cameras = [{"name": "garden", "url": camera.stream_url, "fps": 10.0, "offline_after": 0.6}]
    config = house_config(make_config, cameras=cameras)
    h = await start_house(
        tmp_path, config, speakers=False, parts=("home", "eyes"), tuning=Tuning(camera_backoff=Backoff(0.05, 0.2))
    )
    silent = Silent(camera.ip, camera.port)
    heard = listen(h)
    try:
        eyes: Any = h.app.eyes
        cam = eyes.cameras["garden"]
        porch = h.sim.device("Porch Light")
        await eventually(lambda: cam.online is True, timeout=10, what="the camera")

        # hanging: the camera's address accepts connections and sends nothing
        await camera.stop()
        await silent.start()
        await eventually(lambda: cam.online is False, timeout=10, what="the camera offline")
        assert "Porch Light" in await h.say("turn on the porch light")
        assert porch.state["on"] is True

        # failing: the camera is back on its address but answers 503
        await silent.stop()
        camera.dead = True
        await camera.start()
        await asyncio.sleep(1.0)  # several reconnect attempts, each refused
        assert cam.online is False
        assert "Porch Light" in await h.say("turn off the porch light")
        assert porch.state["on"] is False

        # back
        camera.dead = False
        await eventually(lambda: cam.online is True, timeout=10, what="the camera back")
        await asyncio.sleep(0.5)
    finally:
        await h.app.stop()
        await h.sim.stop()
        await silent.stop()
        await camera.stop()
    titles = [m.title for m in heard if m.kind == "notice" and "amera" in m.title]
    assert titles == ["Camera offline", "Camera back"]  # once each, through the hang and the failure


# -- Twilio -----------------------------------------------------------------------------------------


async def test_twilio_hangs_then_fails_and_every_reply_goes_out_once_after(
    daemon: Daemon, ollama: ScriptedOllama
) -> None:
    fake: FakeTwilio = daemon.fake
    ollama.on(None, lambda r: Reply.text(f"re: {r.messages[-1]['content']}"))
    fake.record_inbound(f"whatsapp:{SAM}")
    fake.fail_next(3, hang=5.0)  # three sends are taken and never answered (send_timeout is 1 s)
    for n in range(3):
        await daemon.say(f"first {n}")  # acknowledged at once while Twilio hangs
    await eventually(lambda: [m for m, _ in fake.requests].count("POST") >= 3, timeout=10, what="hanging sends")
    url = f"http://127.0.0.1:{daemon.app.config.private.port}/api/chat"
    async with aiohttp.ClientSession() as http, http.post(url, json={"text": "dashboard question"}) as response:
        assert response.status == 200  # the rest of the house answers meanwhile
        assert (await response.json())["reply"] == "re: dashboard question"
    fake.fail_for(1.0)  # then it refuses (503) for a while
    for n in range(3):
        await daemon.say(f"second {n}")
    expected = [f"re: first {n}" for n in range(3)] + [f"re: second {n}" for n in range(3)]
    await eventually(lambda: sorted(daemon.bodies(SAM)) == sorted(expected), timeout=20, what="every reply")
    await asyncio.sleep(0.5)
    assert sorted(daemon.bodies(SAM)) == sorted(expected)  # all of them, none twice
    rows = [r for r in await daemon.rows() if r.recipient == SAM]
    assert {r.status for r in rows} <= {"sent", "delivered"}
