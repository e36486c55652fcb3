"""A running daemon with the Home part, discovering a simulated home on its own 127.0.N.x block."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest_asyncio

from claw.assistant.speech import say_outcome
from claw.core.config import Config
from claw.core.safety import Guard, KillSwitch
from claw.core.store import Store
from claw.core.supervisor import Supervisor
from claw.daemon import Daemon, Part, Tuning, build
from claw.home.house import Home
from claw.skills.catalog import Skills
from claw_sim.home import SimHome


@dataclass
class House:
    app: Daemon
    sim: SimHome
    home: Home

    def device(self, name: str) -> Any:
        return next(d for d in self.home.registry.devices(include_ignored=True) if d.name == name)

    async def say(self, text: str) -> str:
        return (await self.app.local.ask(text)).text


async def wait_for(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str | Callable[[], str] = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.05)


async def start_house(
    tmp: Path,
    config: Config,
    *,
    speakers: bool = True,
    parts: Collection[Part] = ("home",),
    tuning: Tuning | None = None,
    **sim: Any,
) -> House:
    subnet = sim.pop("subnet", random.randint(60, 200))
    home_sim = SimHome(tmp / "sim", cameras=False, speakers=speakers, port=0, subnet=subnet, **sim)
    config = replace(config, home=replace(config.home, subnets=(f"127.0.{subnet}.0/24",)))
    await home_sim.start()
    app = build(config, parts=parts, tuning=tuning or Tuning())
    try:
        await app.start()
        home = app.home
        assert home is not None
        await _discovered(home_sim, home)
    except BaseException:  # a house that never came up is stopped here: nothing of it leaks into the next test
        await app.stop()
        await home_sim.stop()
        raise
    return House(app, home_sim, home)


async def _discovered(home_sim: SimHome, home: Home) -> None:
    ids = {d.device_id: d.name for d in home_sim.devices.values()}
    if home_sim.sonos:
        ids |= {s.uid: s.name for s in home_sim.sonos.speakers}

    def missing() -> list[str]:
        known = {d.id for d in home.registry.devices(include_ignored=True)}
        return sorted(name for id_, name in ids.items() if id_ not in known)

    await wait_for(lambda: not missing(), 30, lambda: f"discovery: missing {missing()}; load {os.getloadavg()}")
    await asyncio.gather(*(home.refresh(d) for d in home.registry.devices()))

    def silent() -> list[str]:  # after a restart the stored devices are known at once, at their old addresses
        return [d.name for d in home.registry.devices(include_ignored=True) if d.id in ids and not d.available]

    await wait_for(lambda: not silent(), 15, lambda: f"every device answering: silent {silent()}")


def house_config(make_config: Callable[..., Config], sim_ssdp_port: int = 1900, **extra: Any) -> Config:
    home = {
        "discovery": True,
        "interfaces": ["127.0.0.1"],
        "ssdp_interval": 5.0,
        "ssdp_port": sim_ssdp_port,
        "device_timeout": 1.0,
        "poll_interval": 3600.0,
        "rooms": [{"name": "Living Room", "aliases": ["lounge", "front room"]}],
    }
    home.update(extra.pop("home", {}))
    return make_config(home=home, **extra)


@pytest_asyncio.fixture
async def house(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[House]:
    """The demo house with every sensitive device approved, no model server."""
    h = await _approved_house(tmp_path, make_config)
    try:
        yield h
    finally:
        await h.app.stop()
        await h.sim.stop()


async def _approved_house(
    tmp: Path, make_config: Callable[..., Config], parts: Collection[Part] = ("home",), **kw: Any
) -> House:
    subnet = random.randint(60, 200)
    probe = SimHome(tmp / "probe", cameras=False, speakers=False, port=0, subnet=subnet)
    sensitive = [
        {"id": d.device_id, "controllable": True}
        for d in probe.devices.values()
        if d.kind in ("lock", "alarm", "garage_door")
    ]
    config = house_config(make_config, home={"devices": sensitive}, **kw)
    return await start_house(tmp, config, subnet=subnet, parts=parts)


@pytest_asyncio.fixture
async def house_with_jobs(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[House]:
    """The approved demo house with the scheduler running too (delayed commands become jobs)."""
    h = await _approved_house(tmp_path, make_config, parts=("home", "jobs"))
    try:
        yield h
    finally:
        await h.app.stop()
        await h.sim.stop()


@dataclass
class HomeOnly:
    """The domain layer alone: a Home on the simulated home, with the core it needs, and no daemon."""

    home: Home
    sim: SimHome
    store: Store
    told: list[str]


@pytest_asyncio.fixture
async def home_only(tmp_path: Path, make_config: Callable[..., Config]) -> AsyncIterator[HomeOnly]:
    subnet = random.randint(60, 200)
    sim = SimHome(tmp_path / "sim", cameras=False, speakers=False, port=0, subnet=subnet)
    config = house_config(make_config)
    config = replace(config, home=replace(config.home, subnets=(f"127.0.{subnet}.0/24",)))
    store = Store(tmp_path / "home.db")
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    supervisor = Supervisor()
    home = Home(
        config,
        store=store,
        guard=Guard(store, notify=notify, speak=say_outcome),
        killswitch=KillSwitch(store),
        supervisor=supervisor,
        notify=notify,
    )
    skills = Skills(home, config)
    await sim.start()
    await store.open()
    skills.load()
    await home.start()
    try:
        ids = {d.device_id for d in sim.devices.values()}
        await wait_for(lambda: ids <= {d.id for d in home.registry.devices(include_ignored=True)}, 30, "discovery")
        yield HomeOnly(home, sim, store, told)
    finally:
        await supervisor.stop(timeout=2.0)
        await skills.stop()
        await home.stop()
        await store.close()
        await sim.stop()
