"""The simulated HTTP devices, driven over real HTTP and real mDNS on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from claw_sim.devices import (
    AREA_MAP_TEMPLATE,
    KINDS,
    ElgatoKeyLight,
    HomeAssistant,
    HueBridge,
    HueLightSpec,
    IpAllocator,
    ShellyPlug,
    SimDevice,
    WledStrip,
    make_device,
)
from tests.fakes.tls import self_signed

D = TypeVar("D", bound=SimDevice)

# Far from the demo's 127.0.0.20+ and Sonos's 127.0.0.2-9, and every device takes a free port.
_ips = IpAllocator(start=150, stop=254)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        yield session


@pytest.fixture
async def running() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Start devices on port 0 (optionally announced), and stop them all at the end."""
    started: list[SimDevice] = []

    async def start(device: D, zeroconf: AsyncZeroconf | None = None) -> D:
        await device.start(zeroconf)
        started.append(device)
        return device

    yield start
    await asyncio.gather(*(device.stop() for device in started))


def next_ip() -> str:
    return _ips.next()


async def get_json(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.get(url, **kwargs) as resp:
        return resp.status, await resp.json(content_type=None)


async def send_json(http: aiohttp.ClientSession, method: str, url: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.request(method, url, data=data, **kwargs) as resp:
        return resp.status, await resp.json(content_type=None)


# --------------------------------------------------------------------------- allocator and base


def test_ip_allocator_counts_up_and_stops() -> None:
    alloc = IpAllocator(start=20, stop=22)
    assert [alloc.next(), alloc.next(), alloc.next()] == ["127.0.0.20", "127.0.0.21", "127.0.0.22"]
    with pytest.raises(RuntimeError):
        alloc.next()
    with pytest.raises(ValueError):
        IpAllocator(start=0)
    assert IpAllocator().next() == "127.0.0.20"


async def test_reports_the_port_it_actually_got(running: Any, http: aiohttp.ClientSession) -> None:
    ip = next_ip()
    first = await running(make_device("switch", "A", "Lab", ip, port=0))
    assert first.port > 0
    # The same ip:port is taken, so the second device falls back to a free port and says so.
    second = await running(make_device("switch", "B", "Lab", ip, port=first.port))
    assert second.port not in {0, first.port}
    _, info = await get_json(http, f"{second.base_url}/info")
    assert info["name"] == "B"
    assert ElgatoKeyLight(name="x", room="y", ip=ip).port == 9123
    assert HomeAssistant(ip=ip).port == 8123
    assert ShellyPlug(name="x", room="y", ip=ip).port == 80


# --------------------------------------------------------------------------- HTTP-JSON devices


async def test_httpjson_light_state_info_and_errors(running: Any, http: aiohttp.ClientSession) -> None:
    lamp = await running(make_device("light", "Desk Lamp", "Office", next_ip(), port=0, brightness=40))
    _, info = await get_json(http, f"{lamp.base_url}/info")
    assert info["kind"] == "light" and info["room"] == "Office" and info["id"] == lamp.device_id
    assert info["fields"]["brightness"] == {"type": "int", "min": 0, "max": 100, "writable": True}
    assert await get_json(http, f"{lamp.base_url}/state") == (200, {"on": False, "brightness": 40})

    status, state = await send_json(http, "POST", f"{lamp.base_url}/state", {"on": True, "brightness": 75})
    assert (status, state) == (200, {"on": True, "brightness": 75})
    assert lamp.state == {"on": True, "brightness": 75}

    for bad in ({"colour": "red"}, {"brightness": 101}, {"on": 1}, {"brightness": 2.5}, [1]):
        status, body = await send_json(http, "POST", f"{lamp.base_url}/state", bad)
        assert status == 400 and isinstance(body["error"], str), bad
    status, body = await send_json(http, "POST", f"{lamp.base_url}/state", b"{not json")
    assert status == 400
    # A rejected write changes nothing, even the valid part of it.
    status, _ = await send_json(http, "POST", f"{lamp.base_url}/state", {"on": False, "brightness": 500})
    assert status == 400 and lamp.state == {"on": True, "brightness": 75}
    assert ("POST", "/state") in lamp.requests and ("GET", "/info") in lamp.requests


def test_every_kind_builds_with_consistent_fields() -> None:
    for kind in KINDS:
        device = make_device(kind, f"{kind} one", "Hall", "127.0.0.1")
        info = device.info()
        assert set(info["fields"]) == set(device.state), kind  # type: ignore[call-overload]
        assert device.service_infos()[0].decoded_properties["kind"] == kind
    plain = make_device("light", "Plain", "Hall", "127.0.0.1", dimmable=False)
    assert plain.state == {"on": False}
    assert make_device("sensor", "T", "Hall", "127.0.0.1", sensor="temperature").fields["temperature"].writable is False
    thermostat = make_device("thermostat", "Hall stat", "Hall", "127.0.0.1")
    assert thermostat.fields["target_temp"].min == 5 and thermostat.fields["target_temp"].max == 30
    assert thermostat.fields["mode"].options == ("heat", "cool", "off")
    with pytest.raises(ValueError, match="unknown device kind"):
        make_device("toaster", "T", "Kitchen", "127.0.0.1")
    with pytest.raises(ValueError, match="no field"):
        make_device("switch", "T", "Kitchen", "127.0.0.1", brightness=3)
    # Device ids are stable across runs: derived from kind, room and name.
    assert (
        make_device("switch", "X", "Y", "127.0.0.1").device_id == make_device("switch", "X", "Y", "127.0.0.2").device_id
    )


async def test_httpjson_thermostat_sensor_lock_alarm(running: Any, http: aiohttp.ClientSession) -> None:
    stat = await running(make_device("thermostat", "Hall stat", "Hall", next_ip(), port=0))
    status, state = await send_json(http, "POST", f"{stat.base_url}/state", {"target_temp": 22.5, "mode": "cool"})
    assert status == 200 and state["target_temp"] == 22.5 and state["mode"] == "cool"
    assert (await send_json(http, "POST", f"{stat.base_url}/state", {"target_temp": 31}))[0] == 400
    assert (await send_json(http, "POST", f"{stat.base_url}/state", {"mode": "dry"}))[0] == 400
    status, body = await send_json(http, "POST", f"{stat.base_url}/state", {"current_temp": 10})
    assert status == 400 and "read-only" in body["error"]

    door = await running(make_device("sensor", "Front door", "Hall", next_ip(), port=0, sensor="contact"))
    assert (await get_json(http, f"{door.base_url}/state"))[1] == {"battery": 87, "contact": "closed"}
    door.set_state(contact="open", battery=12)  # the physical world changes read-only fields
    assert (await get_json(http, f"{door.base_url}/state"))[1] == {"battery": 12, "contact": "open"}

    lock = await running(make_device("lock", "Back door", "Kitchen", next_ip(), port=0))
    assert (await send_json(http, "POST", f"{lock.base_url}/state", {"locked": False}))[1] == {"locked": False}
    alarm = await running(make_device("alarm", "Alarm", "Hall", next_ip(), port=0))
    assert (await send_json(http, "POST", f"{alarm.base_url}/state", {"mode": "night"}))[1] == {"mode": "night"}


async def test_httpjson_garage_door_transit(running: Any, http: aiohttp.ClientSession) -> None:
    door = await running(make_device("garage_door", "Garage", "Garage", next_ip(), port=0, transit_s=0.1))
    status, state = await send_json(http, "POST", f"{door.base_url}/state", {"state": "open"})
    assert (status, state) == (200, {"state": "opening"})
    await asyncio.sleep(0.2)
    assert (await get_json(http, f"{door.base_url}/state"))[1] == {"state": "open"}
    status, body = await send_json(http, "POST", f"{door.base_url}/state", {"state": "closing"})
    assert status == 400 and "'open' or 'closed'" in body["error"]
    instant = await running(make_device("garage_door", "Shed", "Garden", next_ip(), port=0))
    assert (await send_json(http, "POST", f"{instant.base_url}/state", {"state": "open"}))[1] == {"state": "open"}


# --------------------------------------------------------------------------- fault injection


async def test_latency_flapping_and_dead(running: Any, http: aiohttp.ClientSession) -> None:
    plug = await running(make_device("switch", "Fan", "Office", next_ip(), port=0))
    url = f"{plug.base_url}/state"

    # POST with an empty change: aiohttp retries a dropped GET once by itself, a POST never.
    async def poke(timeout: float = 3.0) -> int:
        status, _ = await send_json(http, "POST", url, {}, timeout=aiohttp.ClientTimeout(total=timeout))
        return status

    plug.latency = 0.25
    started = time.monotonic()
    assert await poke() == 200
    assert time.monotonic() - started >= 0.25
    plug.latency = 0.0

    plug.flapping = 1.0
    with pytest.raises(aiohttp.ClientConnectionError):
        await poke()
    plug.flapping = 0.5
    outcomes: list[int | None] = []
    for _ in range(20):
        try:
            outcomes.append(await poke())
        except aiohttp.ClientConnectionError:
            outcomes.append(None)
    assert None in outcomes and 200 in outcomes
    plug.flapping = 0.0

    plug.dead = True
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await poke(timeout=0.3)
    assert time.monotonic() - started >= 0.3
    plug.dead_mode = "close"
    with pytest.raises(aiohttp.ClientConnectionError):
        await poke()
    plug.dead = False
    assert await poke() == 200
    # Every request that reached the device was recorded, answered or not.
    assert plug.requests == [("POST", "/state")] * 25


async def test_stop_releases_a_hung_request_quickly(http: aiohttp.ClientSession) -> None:
    plug = make_device("switch", "Hung", "Office", next_ip(), port=0)
    await plug.start()
    plug.dead = True
    pending = asyncio.create_task(get_json(http, f"{plug.base_url}/state"))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await plug.stop()
    assert time.monotonic() - started < 1.0
    with pytest.raises(aiohttp.ClientConnectionError):
        await pending


# --------------------------------------------------------------------------- Shelly Gen2


async def test_shelly_rpc_over_get_and_post(running: Any, http: aiohttp.ClientSession) -> None:
    plug = await running(ShellyPlug(name="Kettle", room="Kitchen", ip=next_ip(), port=0, load_watts=1800.0))
    rpc = f"{plug.base_url}/rpc"
    _, info = await get_json(http, f"{rpc}/Shelly.GetDeviceInfo")
    assert info["gen"] == 2 and info["app"] == "PlusPlugS" and info["id"] == f"shellyplusplugs-{plug.mac.lower()}"
    assert (await get_json(http, f"{plug.base_url}/shelly"))[1] == info

    assert await get_json(http, f"{rpc}/Switch.Set?id=0&on=true") == (200, {"was_on": False})
    _, status = await get_json(http, f"{rpc}/Switch.GetStatus?id=0")
    assert status["output"] is True and status["apower"] == 1800.0 and status["voltage"] > 200
    assert set(status) >= {"id", "source", "output", "apower", "voltage", "current", "aenergy", "temperature"}

    frame = {"id": 7, "src": "claw", "method": "Switch.Set", "params": {"id": 0, "on": False}}
    assert await send_json(http, "POST", rpc, frame) == (
        200,
        {"id": 7, "src": plug.device_id, "dst": "claw", "result": {"was_on": True}},
    )
    assert await send_json(http, "POST", f"{rpc}/Switch.Toggle", {"id": 0}) == (200, {"was_on": False})
    _, full = await get_json(http, f"{rpc}/Shelly.GetStatus")
    assert full["switch:0"]["output"] is True and full["sys"]["mac"] == plug.mac and full["wifi"]["sta_ip"] == plug.ip


async def test_shelly_errors_and_toggle_after(running: Any, http: aiohttp.ClientSession) -> None:
    plug = await running(ShellyPlug(name="Heater plug", room="Bath", ip=next_ip(), port=0, app="Plus1PM"))
    rpc = f"{plug.base_url}/rpc"
    status, body = await get_json(http, f"{rpc}/Switch.Set?id=1&on=true")
    assert status == 500 and body["code"] == -105
    status, body = await get_json(http, f"{rpc}/Switch.Set?id=0")
    assert status == 500 and body["code"] == -103 and "'on'" in body["message"]
    status, body = await get_json(http, f"{rpc}/Switch.Set?id=0&on=maybe")
    assert status == 500 and body["code"] == -103
    status, body = await get_json(http, f"{rpc}/Switch.Explode?id=0")
    assert status == 404 and body == {"code": 404, "message": "No handler for Switch.Explode"}
    _, reply = await send_json(
        http, "POST", rpc, {"id": 2, "src": "claw", "method": "Switch.GetStatus", "params": {"id": 3}}
    )
    assert reply["error"]["code"] == -105 and "result" not in reply
    assert plug.output is False

    assert (await get_json(http, f"{rpc}/Switch.Set?id=0&on=true&toggle_after=0.1"))[1] == {"was_on": False}
    _, status_on = await get_json(http, f"{rpc}/Switch.GetStatus?id=0")
    assert status_on["output"] is True and status_on["timer_duration"] == 0.1
    await asyncio.sleep(0.25)
    _, status_off = await get_json(http, f"{rpc}/Switch.GetStatus?id=0")
    assert status_off["output"] is False and "timer_duration" not in status_off


# --------------------------------------------------------------------------- WLED


async def test_wled_json_api(running: Any, http: aiohttp.ClientSession) -> None:
    strip = await running(WledStrip(name="TV backlight", room="Living Room", ip=next_ip(), port=0, led_count=90))
    _, everything = await get_json(http, f"{strip.base_url}/json")
    assert set(everything) == {"state", "info", "effects", "palettes"}
    assert everything["info"]["leds"]["count"] == 90 and everything["info"]["mac"] == strip.mac
    assert everything["info"]["name"] == "TV backlight" and everything["info"]["ver"]
    assert everything["state"]["on"] is False

    status, body = await send_json(http, "POST", f"{strip.base_url}/json/state", {"on": True, "bri": 200})
    assert (status, body) == (200, {"success": True})
    payload = {"bri": 300, "transition": 0, "seg": [{"col": [[0, 0, 255]], "fx": 2}], "v": True}
    status, state = await send_json(http, "POST", f"{strip.base_url}/json/state", payload)
    assert status == 200 and state["on"] is True and state["bri"] == 255 and state["transition"] == 0
    assert state["seg"][0]["col"][0] == [0, 0, 255] and state["seg"][0]["fx"] == 2

    _, state = await send_json(http, "POST", f"{strip.base_url}/json/state", {"ps": 2, "v": True})
    assert state["ps"] == 2 and state["bri"] == 60 and state["seg"][0]["col"][0] == [255, 100, 20]
    _, state = await send_json(http, "POST", f"{strip.base_url}/json/state", {"on": "t", "v": True})
    assert state["on"] is False and state["bri"] == 60
    assert (await get_json(http, f"{strip.base_url}/json/state"))[1] == state
    assert await send_json(http, "POST", f"{strip.base_url}/json/state", b"{oops") == (400, {"error": 9})


# --------------------------------------------------------------------------- Elgato


async def test_elgato_key_light(running: Any, http: aiohttp.ClientSession) -> None:
    light = await running(ElgatoKeyLight(name="Desk light", room="Office", ip=next_ip(), port=0))
    _, info = await get_json(http, f"{light.base_url}/elgato/accessory-info")
    assert info["productName"] == "Elgato Key Light" and info["macAddress"] == light.mac
    assert info["displayName"] == "Desk light"
    assert await get_json(http, f"{light.base_url}/elgato/lights") == (
        200,
        {"numberOfLights": 1, "lights": [{"on": 0, "brightness": 40, "temperature": 213}]},
    )
    body = {"numberOfLights": 1, "lights": [{"on": 1, "brightness": 70, "temperature": 300}]}
    assert await send_json(http, "PUT", f"{light.base_url}/elgato/lights", body) == (200, body)
    clamped = {"numberOfLights": 1, "lights": [{"brightness": 1, "temperature": 999}]}
    _, state = await send_json(http, "PUT", f"{light.base_url}/elgato/lights", clamped)
    assert state["lights"][0] == {"on": 1, "brightness": 3, "temperature": 344}
    status, _ = await send_json(http, "PUT", f"{light.base_url}/elgato/lights", {"lights": "on"})
    assert status == 400
    assert light.light == {"on": 1, "brightness": 3, "temperature": 344}


# --------------------------------------------------------------------------- Hue bridge


async def test_hue_link_button_pairing(running: Any, http: aiohttp.ClientSession) -> None:
    bridge = await running(HueBridge(ip=next_ip(), port=0))
    _, config = await get_json(http, f"{bridge.base_url}/api/config")
    assert config["modelid"] == "BSB002" and config["bridgeid"] == bridge.bridge_id and config["apiversion"]

    pair = {"devicetype": "claw#home", "generateclientkey": True}
    _, answer = await send_json(http, "POST", f"{bridge.base_url}/api", pair)
    assert answer == [{"error": {"type": 101, "address": "", "description": "link button not pressed"}}]
    _, answer = await send_json(http, "POST", f"{bridge.base_url}/api", {"generateclientkey": True})
    assert answer[0]["error"]["type"] == 5

    bridge.press_link_button()
    _, answer = await send_json(http, "POST", f"{bridge.base_url}/api", pair)
    key = answer[0]["success"]["username"]
    assert len(answer[0]["success"]["clientkey"]) == 32
    status, lights = await get_json(
        http, f"{bridge.base_url}/clip/v2/resource/light", headers={"hue-application-key": key}
    )
    assert status == 200 and lights["errors"] == [] and len(lights["data"]) == 3

    bridge.link_window_s = 0.05
    bridge.press_link_button()
    await asyncio.sleep(0.1)
    _, answer = await send_json(http, "POST", f"{bridge.base_url}/api", pair)
    assert answer[0]["error"]["type"] == 101


async def test_hue_clip_v2_lights_rooms_devices(running: Any, http: aiohttp.ClientSession) -> None:
    lights = (
        HueLightSpec("Sofa lamp", "Living Room", on=True, brightness=80.0),
        HueLightSpec("Ceiling", "Living Room"),
    )
    bridge = await running(HueBridge(ip=next_ip(), port=0, lights=lights))
    key = bridge.add_application_key()
    auth = {"hue-application-key": key}
    base = f"{bridge.base_url}/clip/v2/resource"

    status, body = await get_json(http, f"{base}/light")
    assert status == 403 and body["errors"] and body["data"] == []
    assert (await get_json(http, f"{base}/light", headers={"hue-application-key": "wrong"}))[0] == 403

    _, body = await get_json(http, f"{base}/light", headers=auth)
    sofa = next(light for light in body["data"] if light["metadata"]["name"] == "Sofa lamp")
    assert sofa["type"] == "light" and sofa["on"] == {"on": True} and sofa["dimming"]["brightness"] == 80.0
    assert sofa["owner"]["rtype"] == "device"

    status, body = await send_json(
        http, "PUT", f"{base}/light/{sofa['id']}", {"dimming": {"brightness": 50}}, headers=auth
    )
    assert (status, body) == (200, {"errors": [], "data": [{"rid": sofa["id"], "rtype": "light"}]})
    assert (await send_json(http, "PUT", f"{base}/light/{sofa['id']}", {"on": {"on": False}}, headers=auth))[0] == 200
    _, body = await get_json(http, f"{base}/light/{sofa['id']}", headers=auth)
    assert body["data"][0]["on"] == {"on": False} and body["data"][0]["dimming"]["brightness"] == 50.0

    for bad in ({"dimming": {"brightness": 150}}, {"on": {"on": "yes"}}, {"on": True}, {"colour": 1}):
        status, body = await send_json(http, "PUT", f"{base}/light/{sofa['id']}", bad, headers=auth)
        assert status == 400 and body["errors"], bad
    assert (await get_json(http, f"{base}/light/00000000-0000-0000-0000-000000000000", headers=auth))[0] == 404

    _, rooms = await get_json(http, f"{base}/room", headers=auth)
    room = rooms["data"][0]
    assert room["metadata"]["name"] == "Living Room" and len(room["children"]) == 2
    _, devices = await get_json(http, f"{base}/device", headers=auth)
    device_ids = {device["id"] for device in devices["data"]}
    assert {child["rid"] for child in room["children"]} <= device_ids
    assert sofa["owner"]["rid"] in device_ids

    grouped = room["services"][0]["rid"]
    assert (await send_json(http, "PUT", f"{base}/grouped_light/{grouped}", {"on": {"on": True}}, headers=auth))[
        0
    ] == 200
    assert all(light["on"]["on"] for light in bridge.by_type("light"))
    _, body = await get_json(http, f"{base}/grouped_light/{grouped}", headers=auth)
    assert body["data"][0]["on"] == {"on": True}


async def test_hue_over_https_with_a_self_signed_cert(tmp_path: Path, running: Any) -> None:
    context = self_signed(tmp_path, "hue")
    bridge = await running(HueBridge(ip=next_ip(), port=0, ssl_context=context))
    assert bridge.base_url.startswith("https://")
    async with aiohttp.ClientSession() as session, session.get(f"{bridge.base_url}/api/config", ssl=False) as resp:
        assert (await resp.json())["modelid"] == "BSB002"


# --------------------------------------------------------------------------- Home Assistant


async def test_home_assistant_auth_and_states(running: Any, http: aiohttp.ClientSession) -> None:
    ha = await running(HomeAssistant(ip=next_ip(), port=0, token="secret-token"))
    async with http.get(f"{ha.base_url}/api/") as resp:
        assert resp.status == 401
    async with http.get(f"{ha.base_url}/api/states", headers={"Authorization": "Bearer nope"}) as resp:
        assert resp.status == 401
    auth = {"Authorization": "Bearer secret-token"}
    assert await get_json(http, f"{ha.base_url}/api/", headers=auth) == (200, {"message": "API running."})
    _, states = await get_json(http, f"{ha.base_url}/api/states", headers=auth)
    ids = {state["entity_id"] for state in states}
    assert {"light.living_room_lamp", "switch.coffee_maker", "cover.garage_door", "climate.hallway"} <= ids
    assert {"lock.back_door", "sensor.outdoor_temperature"} <= ids
    _, lamp = await get_json(http, f"{ha.base_url}/api/states/light.living_room_lamp", headers=auth)
    assert lamp["state"] == "on" and lamp["attributes"]["friendly_name"] == "Living Room Lamp"
    assert lamp["attributes"]["brightness"] == 180 and "last_changed" in lamp and "context" in lamp
    assert (await get_json(http, f"{ha.base_url}/api/states/light.nope", headers=auth))[0] == 404


async def test_home_assistant_services(running: Any, http: aiohttp.ClientSession) -> None:
    ha = await running(HomeAssistant(ip=next_ip(), port=0, token="t"))
    auth = {"Authorization": "Bearer t"}
    api = f"{ha.base_url}/api/services"

    async def call(domain_service: str, data: dict[str, Any]) -> tuple[int, Any]:
        return await send_json(http, "POST", f"{api}/{domain_service}", data, headers=auth)

    status, changed = await call("light/turn_on", {"entity_id": "light.living_room_lamp", "brightness_pct": 50})
    assert status == 200 and [s["attributes"]["brightness"] for s in changed] == [128]
    _, changed = await call("light/turn_off", {"entity_id": "light.living_room_lamp"})
    assert changed[0]["state"] == "off" and changed[0]["attributes"]["brightness"] is None
    assert await call("light/turn_off", {"entity_id": "light.living_room_lamp"}) == (200, [])  # already off
    _, changed = await call("light/toggle", {"entity_id": ["light.living_room_lamp"]})
    assert changed[0]["state"] == "on" and changed[0]["attributes"]["brightness"] == 128  # last brightness

    _, changed = await call("switch/turn_on", {"entity_id": "switch.coffee_maker"})
    assert changed[0]["state"] == "on"
    _, changed = await call("cover/open_cover", {"entity_id": "cover.garage_door"})
    assert changed[0]["state"] == "open" and changed[0]["attributes"]["current_position"] == 100
    _, changed = await call("climate/set_temperature", {"entity_id": "climate.hallway", "temperature": 23})
    assert changed[0]["attributes"]["temperature"] == 23.0
    _, changed = await call("lock/unlock", {"entity_id": "lock.back_door"})
    assert changed[0]["state"] == "unlocked"
    assert ha.state_of("lock.back_door")["state"] == "unlocked"

    assert (await call("climate/set_temperature", {"entity_id": "climate.hallway", "temperature": 99}))[0] == 400
    assert (await call("light/turn_on", {"entity_id": "light.living_room_lamp", "brightness_pct": 150}))[0] == 400
    assert (await call("light/explode", {"entity_id": "light.living_room_lamp"}))[0] == 400
    assert await call("light/turn_on", {"entity_id": "switch.coffee_maker"}) == (200, [])  # wrong domain: skipped
    assert ha.state_of("climate.hallway")["attributes"]["temperature"] == 23.0


async def test_home_assistant_area_templates(running: Any, http: aiohttp.ClientSession) -> None:
    ha = await running(HomeAssistant(ip=next_ip(), port=0, token="t"))
    auth = {"Authorization": "Bearer t"}

    async def render(template: str) -> tuple[int, str]:
        async with http.post(f"{ha.base_url}/api/template", json={"template": template}, headers=auth) as resp:
            return resp.status, await resp.text()

    assert await render("{{ area_name('light.living_room_lamp') }}") == (200, "Living Room")
    assert await render('{{area_name("lock.back_door")}}') == (200, "Kitchen")
    assert await render("{{ area_name('sensor.outdoor_temperature') }}") == (200, "None")
    status, text = await render(AREA_MAP_TEMPLATE)
    assert status == 200
    areas = json.loads(text)
    assert areas["cover.garage_door"] == "Garage" and areas["sensor.outdoor_temperature"] is None
    assert set(areas) == set(ha.entities)
    assert (await render("{{ states('light.living_room_lamp') }}"))[0] == 400
    async with http.post(f"{ha.base_url}/api/template", json={"template": "{{ 1 }}"}) as resp:
        assert resp.status == 401


# --------------------------------------------------------------------------- mDNS


async def test_mdns_announcements_and_move_to() -> None:
    devices_zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    browser_zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    events: list[tuple[str, str]] = []

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        events.append((state_change.name, name))

    types = [
        "_claw-http._tcp.local.",
        "_shelly._tcp.local.",
        "_wled._tcp.local.",
        "_elg._tcp.local.",
        "_hue._tcp.local.",
        "_home-assistant._tcp.local.",
    ]
    lamp = make_device("light", "Mdns Lamp", "Office", next_ip(), port=0)
    plug = ShellyPlug(name="Mdns plug", room="Office", ip=next_ip(), port=0)
    strip = WledStrip(name="Mdns strip", room="Office", ip=next_ip(), port=0)
    key_light = ElgatoKeyLight(name="Mdns key", room="Office", ip=next_ip(), port=0)
    bridge = HueBridge(ip=next_ip(), name="Mdns bridge", port=0)
    ha = HomeAssistant(ip=next_ip(), name="Mdns Home", port=0)
    ours: list[SimDevice] = [lamp, plug, strip, key_light, bridge, ha]
    browser = AsyncServiceBrowser(browser_zc.zeroconf, types, handlers=[on_change])
    try:
        await asyncio.gather(*(device.start(devices_zc) for device in ours))
        expected = {info.name for device in ours for info in device.service_infos() if info.type in types}

        async def seen(kind: str, names: set[str]) -> bool:
            for _ in range(60):
                if names <= {name for change, name in events if change == kind}:
                    return True
                await asyncio.sleep(0.05)
            return False

        assert await seen("Added", expected)

        checks = [
            (
                "_claw-http._tcp.local.",
                "Mdns Lamp",
                {"id": lamp.device_id, "kind": "light", "room": "Office", "path": "/"},
            ),
            ("_shelly._tcp.local.", plug.device_id, {"gen": "2", "app": "PlusPlugS", "id": plug.device_id}),
            ("_wled._tcp.local.", f"wled-{strip.mac[-6:]}", {"mac": strip.mac}),
            ("_elg._tcp.local.", f"Elgato Key Light {key_light.mac.replace(':', '')[-4:]}", {"id": key_light.mac}),
            ("_hue._tcp.local.", f"Hue Bridge - {bridge.bridge_id[-6:]}", {"modelid": "BSB002"}),
            ("_home-assistant._tcp.local.", "Mdns Home", {"uuid": ha.uuid, "base_url": ha.base_url}),
        ]
        for (service_type, instance, txt), device in zip(checks, ours, strict=True):
            info = AsyncServiceInfo(service_type, f"{instance}.{service_type}")
            assert await info.async_request(browser_zc.zeroconf, 1500), instance
            assert info.parsed_addresses() == [device.ip] and info.port == device.port
            assert txt.items() <= info.decoded_properties.items(), instance

        events.clear()
        new_ip = next_ip()
        await lamp.move_to(new_ip)
        lamp_name = f"Mdns Lamp.{types[0]}"
        assert await seen("Removed", {lamp_name}) and await seen("Added", {lamp_name})
        info = AsyncServiceInfo(types[0], lamp_name)
        assert await info.async_request(browser_zc.zeroconf, 1500)
        assert info.parsed_addresses() == [new_ip] and info.port == lamp.port
        async with aiohttp.ClientSession() as http:
            assert (await get_json(http, f"http://{new_ip}:{lamp.port}/info"))[1]["id"] == lamp.device_id

        events.clear()
        await plug.stop()
        assert await seen("Removed", {f"{plug.device_id}._shelly._tcp.local."})
    finally:
        await browser.async_cancel()
        await asyncio.gather(*(device.stop() for device in ours))
        await devices_zc.async_close()
        await browser_zc.async_close()
