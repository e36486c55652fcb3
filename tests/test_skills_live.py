"""Skills in a running daemon: a new SKILL.md makes a never-seen device discoverable and controllable by chat and
by the LLM, with no code change and no restart; broken, edited, removed and Python-driver skills."""

from __future__ import annotations

import asyncio
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from claw.core.config import Config
from claw.daemon import Daemon, build
from claw.home.house import Home
from claw.skills.declarative import MissingDriver
from claw.skills.python_driver import NOT_ALLOWED
from claw_sim.devices import ShellyPlug
from tests.fakes.ollama_server import Reply, ScriptedOllama

PLUG_SKILL = """---
name: acme-plug
description: Acme smart plugs (a relay with a power meter) over their local REST API.
claw:
  matchers:
    - {{mdns: {service}, name: "Acme*"}}
  device:
    id: "{{txt.serial}}"
    name: "{{info.label|name}}"
    kind: switch
    model: "Acme {{txt.fw}}"
    identify: {{path: /api/v1/about}}
    capabilities:
      - {{use: power}}
      - {{key: watts, type: sensor, unit: W}}
    state:
      request: {{path: /api/v1/relay}}
      values:
        on: {{at: $.relay.state, map: {{"ON": true, "OFF": false}}}}
        watts: $.watts
    actions:
      on: {{method: PUT, path: /api/v1/relay, body: {{state: "{{value}}"}}, values: {{true: "ON", false: "OFF"}}}}
---
# Acme plugs

The hall plug feeds the dehumidifier: {marker}.
"""


class AcmePlug:
    """A device the project has never seen: its own paths, its own JSON, announced over mDNS."""

    def __init__(self, ip: str, serial: str) -> None:
        self.ip, self.serial, self.on, self.port = ip, serial, False, 0
        self.requests: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/about", self._about)
        app.router.add_get("/api/v1/relay", self._relay)
        app.router.add_put("/api/v1/relay", self._set)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.ip, 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _about(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        return web.json_response({"serial": self.serial, "label": "Acme Plug", "fw": "1.2"})

    async def _relay(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        return web.json_response({"relay": {"state": "ON" if self.on else "OFF"}, "watts": 412.0 if self.on else 0.0})

    async def _set(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(("PUT", request.path))
        if body.get("state") not in ("ON", "OFF"):
            return web.json_response({"error": "state must be ON or OFF"}, status=400)
        self.on = body["state"] == "ON"
        return web.Response(status=204)


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def running(make_config: Callable[..., Config]) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    apps: list[Daemon] = []

    async def start(**sections: Any) -> Daemon:
        home = {
            "discovery": True,
            "interfaces": ["127.0.0.1"],
            "ssdp_interval": 3600.0,
            "poll_interval": 3600.0,
            "device_timeout": 2.0,
            **sections.pop("home", {}),
        }
        config = make_config(home=home, skills={"reload_interval": 0.1, **sections.pop("skills", {})}, **sections)
        app = build(config, parts={"home"})
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        await app.stop()


def owner_skill(app: Daemon, name: str) -> Path:
    return app.config.state_path / "skills" / name / "SKILL.md"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # the watcher never sees half a file


async def skills_listing(app: Daemon) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in await app.snapshot("skills") if not s["builtin"]}


async def test_done_when_one_skill_file_makes_a_new_plug_controllable_by_chat_and_llm(
    running: Any, ollama: ScriptedOllama
) -> None:
    hexa = uuid.uuid4().hex[:6]
    service, serial = f"_acme{hexa}._tcp.local.", f"ACME-{hexa.upper()}"
    plug = AcmePlug(f"127.0.{random.randint(231, 240)}.{random.randint(2, 250)}", serial)
    await plug.start()
    zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    info = ServiceInfo(
        service,
        f"Acme {hexa}.{service}",
        port=plug.port,
        properties={"serial": serial, "fw": "1.2"},
        server=f"acme-{hexa}.local.",
        parsed_addresses=[plug.ip],
    )
    await zc.async_register_service(info)
    try:
        app = await running(llm={"host": ollama.url})
        home: Home = app.home  # type: ignore[attr-defined]
        await asyncio.sleep(0.5)
        assert home.registry.get(serial) is None  # nothing knows this device yet

        write(owner_skill(app, "acme-plug"), PLUG_SKILL.format(service=service.removesuffix(".local."), marker="v1"))
        await wait_for(lambda: home.registry.get(serial) is not None, "the plug to be discovered over mDNS")
        device = home.registry.get(serial)
        assert device is not None and device.name == "Acme Plug" and device.driver == "acme-plug"
        assert device.info["model"] == "Acme 1.2" and device.address == f"{plug.ip}:{plug.port}"

        # by chat, on the fast path (no model)
        assert await ask(app, "turn on the acme plug") == "Turned on the Acme Plug."
        assert plug.on is True and device.state == {"on": True, "watts": 412.0}

        # by the LLM, through the intent tool; its guide is one tool call away
        ollama.on("dehumidifier", Reply.call("skill_guide", name="acme-plug"), times=1)
        ollama.on(
            lambda r: bool(r.tool_results) and "v1" in r.tool_results[-1],
            Reply.call("turn_on_off", on=False, name="Acme Plug"),
            times=1,
        )
        ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(r.tool_results[-1]))
        reply = await ask(app, "the dehumidifier on the acme plug can rest now")  # named: grounded
        assert plug.on is False and "Turned off the Acme Plug" in reply
        assert "acme-plug (Acme smart plugs" in ollama.chat_requests[-1]["messages"][0]["content"]

        # a broken edit: a precise error, the daemon keeps running on the last good version
        broken = PLUG_SKILL.format(service=service.removesuffix(".local."), marker="v2").replace(
            "kind: switch", "kind: toaster"
        )
        write(owner_skill(app, "acme-plug"), broken)
        await wait_for(lambda: bool(app_errors(app)), "the error to be reported")
        error = app_errors(app)[0]
        assert error["line"] == 10 and error["field"] == "claw.device.kind" and "toaster" in error["message"]
        listing = await skills_listing(app)
        assert listing["acme-plug"]["running_last_good"] is True
        await wait_for(lambda: any("acme-plug has a problem" in n.text for n in app.local.notifications), "notice")
        assert await ask(app, "turn on the acme plug") == "Turned on the Acme Plug."
        assert plug.on is True

        # the fix is picked up; removing the skill leaves its device with a reason, not a crash
        write(owner_skill(app, "acme-plug"), PLUG_SKILL.format(service=service.removesuffix(".local."), marker="v3"))
        await wait_for(lambda: not app_errors(app), "the fix to load")
        shutil.rmtree(owner_skill(app, "acme-plug").parent)
        await wait_for(lambda: isinstance(home.drivers.get("acme-plug"), MissingDriver), "the removal")
        assert "acme-plug skill was removed" in await ask(app, "turn off the acme plug")
        assert plug.on is True
        assert app.supervisor.health()["skills"]["running"] is True
    finally:
        await zc.async_unregister_service(info)
        await zc.async_close()
        await plug.stop()


def app_errors(app: Daemon) -> list[dict[str, Any]]:
    """The owner skills' errors as the dashboard shows them (read synchronously for wait_for)."""
    return [p.describe() for e in app.skills.entries if not e.builtin for p in e.problems]


async def ask(app: Daemon, text: str) -> str:
    return (await app.local.ask(text)).text


ROUTINE = """---
name: movie-night
description: Lights down for a film.
claw:
  routines:
    - name: movie night
      triggers: [{triggers}]
      actions:
        - {{room: den, kind: light, set: {{brightness: 20}}}}
---
Dim, never off.
"""


async def test_a_routine_skill_is_added_edited_and_removed_without_a_restart(running: Any) -> None:
    app = await running(home={"discovery": False})
    home: Home = app.home  # type: ignore[attr-defined]
    version = home.version
    write(owner_skill(app, "movie-night"), ROUTINE.format(triggers='"movie night", "film time"'))
    await wait_for(lambda: home.routines.get("film time") is not None, "the new routine")
    assert home.version > version
    assert (await ask(app, "film time")).startswith("Movie night:")
    write(owner_skill(app, "movie-night"), ROUTINE.format(triggers='"cinema"'))
    await wait_for(lambda: "cinema" in home.routines.get("movie night").triggers, "the edit")  # type: ignore[union-attr]
    assert (await ask(app, "cinema")).startswith("Movie night:")
    assert home.routines.match("film time") is None
    shutil.rmtree(owner_skill(app, "movie-night").parent)
    await wait_for(lambda: home.routines.get("movie night") is None, "the removal")
    assert home.routines.get("sleepy time") is not None  # the built-in ones stay


async def test_the_owners_skill_overrides_the_built_in_of_the_same_name(running: Any, make_config: Any) -> None:
    path = Path(make_config().state_path) / "skills" / "sleepy-time" / "SKILL.md"
    write(
        path,
        """---
name: sleepy-time
description: Our own bedtime.
claw:
  routines:
    - name: sleepy time
      triggers: ["lights out"]
      actions: [{kind: light, power: off}]
---
""",
    )
    app = await running(home={"discovery": False})
    home: Home = app.home  # type: ignore[attr-defined]
    routine = home.routines.get("lights out")
    assert routine is not None and routine.source == str(path)
    assert home.routines.match("bedtime") is None  # the built-in's triggers are gone with it
    listing = {s["source"]: s for s in await app.snapshot("skills")}
    assert listing[str(path)]["overrides"].endswith("sleepy-time/SKILL.md") and listing[str(path)]["active"]


VIRTUAL = """---
name: virtual-switch
description: A switch that lives in Claw's memory (a Python driver).
claw:
  driver: python
  module: driver.py
  matchers: [{static: true}]
  device:
    id: "virtual-{host}-{port}"
    kind: switch
---
"""
DRIVER = """
from claw.home import capabilities as caps


class VirtualSwitch:
    def __init__(self) -> None:
        self.on = {}

    async def identify(self, found):
        return found

    def capabilities(self, found):
        return (caps.POWER,)

    async def read(self, device):
        return {"on": self.on.get(device.id, False)}

    async def write(self, device, changes):
        self.on[device.id] = bool(changes["on"])
        return await self.read(device)

    async def act(self, device, action, params):
        raise ValueError(action)


def create_driver(skill, context):
    return VirtualSwitch()
"""


async def test_python_drivers_run_only_when_allowed_by_name(running: Any, make_config: Any) -> None:
    folder = Path(make_config().state_path) / "skills" / "virtual-switch"
    write(folder / "SKILL.md", VIRTUAL)
    write(folder / "driver.py", DRIVER)
    static = {
        "static": [{"host": "127.0.0.1:9", "skill": "virtual-switch", "name": "Virtual Fan", "room": "Den"}],
        "discovery": False,
    }
    app = await running(home=static)
    listing = await skills_listing(app)
    assert listing["virtual-switch"]["available"] is False
    assert listing["virtual-switch"]["reason"] == NOT_ALLOWED
    assert "virtual-switch" not in app.home.drivers  # type: ignore[attr-defined]
    await app.stop()

    app = await running(home=static, skills={"allow_python": ["virtual-switch"]})
    home: Home = app.home  # type: ignore[attr-defined]
    await wait_for(lambda: home.registry.get("virtual-127.0.0.1-9") is not None, "the static device")
    device = home.registry.get("virtual-127.0.0.1-9")
    assert device is not None and (device.name, device.room) == ("Virtual Fan", "Den")
    assert await ask(app, "turn on the virtual fan") == "Turned on the Virtual Fan."
    assert device.state == {"on": True}


async def test_a_static_host_goes_through_the_skills_identify(running: Any) -> None:
    plug = ShellyPlug(
        name=f"P{uuid.uuid4().hex[:5]}",
        room="Garage",
        ip=f"127.0.{random.randint(241, 250)}.9",
        port=0,
        mac="02" + uuid.uuid4().hex[:10].upper(),
    )
    await plug.start()  # not announced anywhere: only the config knows it
    try:
        app = await running(
            home={
                "discovery": False,
                "static": [
                    {"host": f"{plug.ip}:{plug.port}", "skill": "shelly", "name": "Garage Plug", "room": "Garage"}
                ],
            }
        )
        home: Home = app.home  # type: ignore[attr-defined]
        await wait_for(lambda: home.registry.get(plug.device_id) is not None, "the static plug")
        device = home.registry.get(plug.device_id)
        assert device is not None and (device.name, device.room, device.driver) == ("Garage Plug", "Garage", "shelly")
        await ask(app, "turn on the garage plug")
        assert plug.output is True
    finally:
        await plug.stop()
