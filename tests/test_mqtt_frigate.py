"""Frigate's detections over a real broker and a Frigate HTTP API on loopback become described, alerted events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from claw.core.bus import Outbound
from claw.core.config import Config
from claw.core.errors import ConfigError
from claw.core.store import events as history
from claw.daemon import Daemon, build
from claw_sim.frigate import SimFrigate
from claw_sim.mosquitto import Mosquitto
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.home_fixtures import wait_for
from tests.mqtt_fixtures import mqtt_config

cv2 = pytest.importorskip("cv2")  # the [eyes] extra
np = pytest.importorskip("numpy")
PERSON = {"title": "Person at the front door", "sentence": "A courier holds a parcel.", "alert": True, "what": "person"}


def picture() -> bytes:
    frame = np.full((120, 160, 3), 90, np.uint8)
    cv2.rectangle(frame, (60, 30), (100, 110), (20, 40, 200), -1)
    ok, data = cv2.imencode(".jpg", frame)
    assert ok
    return bytes(data)


@dataclass
class FrigateHouse:
    app: Daemon
    frigate: SimFrigate
    heard: list[Outbound]

    async def events(self) -> list[history.EventRecord]:
        return await self.app.store.run(history.recent)


async def start(
    make_config: Callable[..., Config], ollama: ScriptedOllama, broker: Mosquitto, **frigate: object
) -> FrigateHouse:
    sim = SimFrigate(broker.host, broker.port)
    await sim.start()
    frigate = {"all_cameras": True, **frigate} if "cameras" not in frigate else frigate
    config = mqtt_config(make_config, broker, llm_host=ollama.url, frigate={"enabled": True, "url": sim.url, **frigate})
    app = build(config, parts={"home", "eyes"})
    heard: list[Outbound] = []

    async def listen(message: Outbound) -> None:
        heard.append(message)

    app.bus.listen(listen)
    ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(PERSON)))
    await app.start()
    assert app.mqtt is not None
    await wait_for(lambda: app.mqtt is not None and app.mqtt.link.connected, 10, "the broker")
    return FrigateHouse(app, sim, heard)


@pytest_asyncio.fixture
async def frigate_house(
    make_config: Callable[..., Config], ollama: ScriptedOllama, mosquitto: Mosquitto
) -> AsyncIterator[FrigateHouse]:
    house = await start(make_config, ollama, mosquitto)
    try:
        yield house
    finally:
        await house.app.stop()
        await house.frigate.stop()


async def test_a_frigate_review_becomes_one_described_alerted_event(frigate_house: FrigateHouse) -> None:
    house = frigate_house
    shot = picture()
    await house.frigate.detect("front_door", "person", shot, updates=3)
    eyes = house.app.eyes
    assert eyes is not None and eyes.frigate is not None
    await wait_for(lambda: any(m.kind == "alert" for m in house.heard), 15, "the alert")
    await eyes.frigate.settle()
    await eyes.recorder.settle()
    [record] = await house.events()  # new, three updates and the end: one event
    assert (record.camera, record.title, record.description, record.what) == (
        "front_door", PERSON["title"], PERSON["sentence"], "person")  # fmt: skip
    assert record.alert and record.alerted and record.end_ts is not None
    assert Path(record.snapshot).read_bytes() == shot  # Frigate's own snapshot, as fetched over its HTTP API
    assert len(house.frigate.fetched) == 1
    [alert] = [m for m in house.heard if m.kind == "alert"]
    assert alert.media[0].path == record.snapshot and PERSON["sentence"] in alert.text


async def test_frigate_labels_and_cameras_filter_what_becomes_an_event(
    make_config: Callable[..., Config], ollama: ScriptedOllama, mosquitto: Mosquitto
) -> None:
    house = await start(make_config, ollama, mosquitto, labels=["person"], cameras=["front_door"])
    try:
        eyes = house.app.eyes
        assert eyes is not None and eyes.frigate is not None
        cat = await house.frigate.detect("front_door", "cat", picture())
        elsewhere = await house.frigate.detect("garden", "person", picture())
        await house.frigate.detect("front_door", "person", picture())
        await wait_for(lambda: len(house.frigate.fetched) == 1, 10, "the person's snapshot")
        await eyes.frigate.settle()
        await eyes.recorder.settle()
        assert [r.camera for r in await house.events()] == ["front_door"]
        assert "cat is not in [frigate] labels" in eyes.frigate.skipped[cat]
        assert "garden is not in [frigate] cameras" in eyes.frigate.skipped[elsewhere]
    finally:
        await house.app.stop()
        await house.frigate.stop()


async def test_frigate_events_topic_for_older_frigates(
    make_config: Callable[..., Config], ollama: ScriptedOllama, mosquitto: Mosquitto
) -> None:
    house = await start(make_config, ollama, mosquitto, source="events")
    try:
        await house.frigate.detect("porch", "car", picture())
        await wait_for(lambda: any(m.kind == "alert" for m in house.heard), 15, "the alert")
        eyes = house.app.eyes
        assert eyes is not None and eyes.frigate is not None
        await eyes.frigate.settle()
        await eyes.recorder.settle()
        assert [r.camera for r in await house.events()] == ["porch"]
    finally:
        await house.app.stop()
        await house.frigate.stop()


def test_frigate_needs_mqtt_and_a_url(make_config: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError, match=r"frigate\.enabled"):
        make_config(frigate={"enabled": True, "url": "http://127.0.0.1:5000", "all_cameras": True})
    with pytest.raises(ConfigError, match=r"frigate\.url"):
        make_config(mqtt={"enabled": True}, frigate={"enabled": True, "all_cameras": True})


def test_frigate_takes_only_the_cameras_the_owner_names_or_all_by_saying_so(make_config: Callable[..., Config]) -> None:
    """Anyone who can publish on the broker can name a camera: which ones count is the owner's explicit choice."""
    on = {"enabled": True, "url": "http://127.0.0.1:5000"}
    with pytest.raises(ConfigError, match=r"frigate\.cameras") as error:
        make_config(mqtt={"enabled": True}, frigate=on)
    assert "all_cameras = true" in str(error.value)
    with pytest.raises(ConfigError, match=r"frigate\.cameras"):
        make_config(mqtt={"enabled": True}, frigate={**on, "cameras": ["porch\nCLAW SECURITY"]})
    with pytest.raises(ConfigError, match=r"frigate\.all_cameras"):
        make_config(mqtt={"enabled": True}, frigate={**on, "cameras": ["porch"], "all_cameras": True})
    assert make_config(mqtt={"enabled": True}, frigate={**on, "all_cameras": True}).frigate.all_cameras
