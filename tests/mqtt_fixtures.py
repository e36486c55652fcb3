"""A private Mosquitto per test, and a Home (or a whole daemon) on it with simulated Zigbee2MQTT and Tasmota devices."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.assistant.speech import say_outcome
from claw.core.config import Config
from claw.core.principals import owner
from claw.core.request import Request
from claw.core.safety import Guard, KillSwitch
from claw.core.store import Store
from claw.core.supervisor import Supervisor
from claw.daemon import Daemon, build
from claw.home.device import Device
from claw.home.house import Home
from claw.home.mqtt.driver import MqttDriver
from claw_sim.mosquitto import Mosquitto, mosquitto_missing
from claw_sim.mqtt_devices import MqttDevices
from tests.home_fixtures import wait_for

OWNER = Request(principal=owner("Sam", "whatsapp"), conversation="owner:+15551230001", via="fast-path")


@pytest_asyncio.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[Mosquitto]:
    """Debian's mosquitto on a free 127.0.0.1 port (anonymous, no persistence); `restart()` for outages."""
    if problem := mosquitto_missing():
        pytest.skip(f"MQTT tests need a broker: {problem}")
    broker = Mosquitto(tmp_path / "mosquitto")
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def mqtt_config(make_config: Callable[..., Config], broker: Mosquitto, **extra: Any) -> Config:
    """Discovery off (no LAN devices), MQTT on at the test broker, a short device timeout."""
    mqtt = {"enabled": True, "host": broker.host, "port": broker.port, "client_id": "claw-test"}
    mqtt.update(extra.pop("mqtt", {}))
    home = {"discovery": False, "device_timeout": 2.0, "poll_interval": 3600.0}
    home.update(extra.pop("home", {}))
    return make_config(mqtt=mqtt, home=home, **extra)


@dataclass
class MqttHome:
    """The domain alone: a Home with the MQTT bridge, and what it told the owner."""

    home: Home
    driver: MqttDriver
    broker: Mosquitto
    store: Store
    supervisor: Supervisor
    told: list[str] = field(default_factory=list)

    def device(self, name: str) -> Device:
        return next(d for d in self.home.registry.devices(include_ignored=True) if d.name == name)

    def named(self, name: str) -> Device | None:
        return next((d for d in self.home.registry.devices(include_ignored=True) if d.name == name), None)

    async def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        await wait_for(predicate, timeout, what)


async def start_mqtt_home(tmp: Path, config: Config, broker: Mosquitto) -> MqttHome:
    store = Store(tmp / "home.db")
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    supervisor = Supervisor()
    guard = Guard(store, notify=notify, speak=say_outcome)
    home = Home(
        config,
        store=store,
        guard=guard,
        killswitch=KillSwitch(store),
        supervisor=supervisor,
        notify=notify,
    )
    driver = MqttDriver(config.mqtt, home.registry, notify, guard=guard, timeout=config.home.device_timeout)
    home.drivers[driver.name] = driver
    home.bridges["mqtt"] = driver.run
    await store.open()
    await home.start()
    await wait_for(lambda: driver.link.connected, 10, "the MQTT connection")
    return MqttHome(home, driver, broker, store, supervisor, told)


async def stop_mqtt_home(h: MqttHome) -> None:
    await h.supervisor.stop(timeout=2.0)
    await h.home.stop()
    await h.store.close()


@pytest_asyncio.fixture
async def mqtt_home(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> AsyncIterator[MqttHome]:
    h = await start_mqtt_home(tmp_path, mqtt_config(make_config, mosquitto), mosquitto)
    try:
        yield h
    finally:
        await stop_mqtt_home(h)


@dataclass
class MqttHouse:
    """The whole daemon (understanding, router, Guard) on the broker, with the simulated MQTT devices."""

    app: Daemon
    sim: MqttDevices
    broker: Mosquitto

    @property
    def home(self) -> Home:
        assert self.app.home is not None
        return self.app.home

    def device(self, name: str) -> Device:
        return next(d for d in self.home.registry.devices(include_ignored=True) if d.name == name)

    async def say(self, text: str) -> str:
        return (await self.app.local.ask(text)).text


async def start_mqtt_house(
    tmp: Path, make_config: Callable[..., Config], broker: Mosquitto, sim: MqttDevices, **extra: Any
) -> MqttHouse:
    """The daemon with `[mqtt]` on after `sim` started; returns once every MQTT device answers."""
    await sim.start()
    approved = [{"id": i, "controllable": True} for i in sim.sensitive_ids]
    config = mqtt_config(make_config, broker, home={"devices": approved, **extra.pop("home", {})}, **extra)
    app = build(config, parts=("home",))
    await app.start()
    house = MqttHouse(app, sim, broker)
    want = sim.entity_count
    try:
        await wait_for(
            lambda: sum(1 for d in house.home.registry.devices() if d.available and d.state) >= want,
            15,
            "every MQTT device answering",
        )
    except BaseException:
        await stop_mqtt_house(house)
        raise
    return house


async def stop_mqtt_house(house: MqttHouse) -> None:
    await house.app.stop()
    await house.sim.stop()


@pytest_asyncio.fixture
async def mqtt_house(
    tmp_path: Path, make_config: Callable[..., Config], mosquitto: Mosquitto
) -> AsyncIterator[MqttHouse]:
    """The demo's MQTT devices, the daemon with `[mqtt]` on, every device known and answering; the lock approved."""
    house = await start_mqtt_house(tmp_path, make_config, mosquitto, MqttDevices(mosquitto.host, mosquitto.port))
    try:
        yield house
    finally:
        await stop_mqtt_house(house)
