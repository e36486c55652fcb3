"""WhatsApp to the house and back: a signed "sleepy time" darkens the simulated home; alerts carry pictures."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import aiohttp
import cv2
import numpy as np

from claw.core.bus import Media
from claw.core.config import Config
from claw.core.store import messages as log_db
from claw.core.untrusted import FORWARDED
from claw.daemon import build
from claw_sim.home import SimHome
from tests.fakes.twilio_api import FakeTwilio, inbound_params
from tests.home_fixtures import wait_for
from tests.whatsapp_support import SAM, STRANGER, Daemon, eventually

pytest_plugins = ["tests.whatsapp_fixtures"]


@contextlib.asynccontextmanager
async def whatsapp_house(
    tmp_path: Path, wa_config: Callable[..., Config], fake: FakeTwilio
) -> AsyncIterator[tuple[Daemon, SimHome]]:
    """The simulated home with the Home and WhatsApp parts; every device read once and the Desk Lamp on."""
    subnet = random.randint(60, 200)
    sim = SimHome(tmp_path / "sim", cameras=False, speakers=False, port=0, subnet=subnet)
    await sim.start()
    config = wa_config()
    config = replace(
        config, home=replace(config.home, discovery=True, interfaces=("127.0.0.1",), subnets=(f"127.0.{subnet}.0/24",))
    )
    app = build(config, parts={"home", "whatsapp"})
    await app.start()
    try:
        home = app.home
        assert home is not None
        await wait_for(lambda: len(home.registry.devices()) >= len(sim.devices), 15, "discovery")
        for device in home.registry.devices():
            await home.refresh(device)
        sim.device("Desk Lamp").set_state(on=True)
        await home.refresh(next(x for x in home.registry.devices() if x.name == "Desk Lamp"))
        yield Daemon(app, fake), sim
    finally:
        await app.stop()
        await sim.stop()


async def test_signed_sleepy_time_turns_the_house_off_and_the_reply_reaches_twilio(
    tmp_path: Path, wa_config: Callable[..., Config], fake: FakeTwilio
) -> None:
    async with whatsapp_house(tmp_path, wa_config, fake) as (d, sim):
        await d.say("Sleepy time", number=STRANGER)  # not an owner: nothing happens
        await d.say("Sleepy time")
        reply = await eventually(lambda: [b for b in d.bodies(SAM) if b.startswith("Sleepy time")], 10, "the reply")
        assert "Turned off" in reply[0] and "Desk Lamp" in reply[0]
        assert all(not x.state["on"] for x in sim.devices.values() if x.kind == "light")
        assert d.bodies(STRANGER) == []


async def test_an_alert_reaches_twilio_with_a_picture_it_can_fetch(
    tmp_path: Path, daemon: Daemon, fake: FakeTwilio
) -> None:
    picture = tmp_path / "driveway.jpg"
    frame = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(frame, (200, 150), (440, 300), (30, 60, 140), -1)
    cv2.imwrite(str(picture), frame)
    await daemon.say("hi")  # opens the 24-hour window
    await daemon.app.notify(
        "FedEx truck just pulled up. A brown van stopped at the end of the driveway.",
        kind="alert",
        media=(Media(str(picture)),),
        title="FedEx truck just pulled up",
    )
    sent = await eventually(lambda: [m for m in fake.delivered(f"whatsapp:{SAM}") if m["media_url"]], 10, "alert")
    message = sent[0]
    assert message["body"].startswith("FedEx truck just pulled up")
    await fake.settle()
    assert message["media_fetched"] and message["media_fetched"][0][:2] == (200, "image/jpeg")
    async with aiohttp.ClientSession() as http, http.get(message["media_url"][0]) as response:
        body = await response.read()
    assert response.status == 200 and body == picture.read_bytes()


async def test_a_forwarded_message_informs_but_never_acts(
    tmp_path: Path, wa_config: Callable[..., Config], fake: FakeTwilio
) -> None:
    """Twilio's Forwarded=true: someone else's words. "sleepy time" forwarded must not run the routine."""
    async with whatsapp_house(tmp_path, wa_config, fake) as (d, sim):
        fake.record_inbound(f"whatsapp:{SAM}")
        params = {**inbound_params(f"whatsapp:{SAM}", "sleepy time"), "Forwarded": "true"}
        status, _, _ = await d.post(params)
        assert status == 200
        await eventually(lambda: d.bodies(SAM), 10, "a reply")
        assert sim.device("Desk Lamp").state["on"] is True  # nothing acted on forwarded words
        history = await d.app.store.run(log_db.live, f"owner:{SAM}")
        assert history[0].content.startswith(FORWARDED) and history[0].content.endswith("sleepy time")
