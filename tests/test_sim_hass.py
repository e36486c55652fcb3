"""The demo's simulated Home Assistant: every service Claw calls exists there and does what HA does.

Through the real link (Claw's WebSocket client) for the fan the demo refused, and over HA's REST
API for the rest of the service table.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from claw.core.config import Config
from claw.daemon import Daemon, build
from claw.home.hass import entities
from claw_sim.devices import HAEntitySpec, HomeAssistant
from claw_sim.home import HASS_ENTITIES

TOKEN = "sim-token"
FAN = HAEntitySpec("fan.bedroom_fan", "off", {"percentage_step": 25, "preset_modes": ["sleep", "auto"]}, "Bedroom")
VALVE = HAEntitySpec("valve.garden_tap", "closed", {"current_position": 0, "device_class": "water"}, "Garden")
LAMP = HAEntitySpec("light.reading_light", "off", {"supported_color_modes": ["brightness"]}, "Study")
SCENE = HAEntitySpec("scene.movie_night", "unknown", {"_apply": {"light.reading_light": "off"}}, "Study")
THERMOSTAT = HAEntitySpec(
    "climate.upstairs",
    "heat",
    {"hvac_modes": ["off", "heat", "cool"], "min_temp": 45.0, "max_temp": 95.0, "temperature": 68.0},
    "Landing",
)
SPEAKER = HAEntitySpec("media_player.kitchen", "paused", {"volume_level": 0.3, "source_list": ["Radio"]}, "Kitchen")
ALARM = HAEntitySpec("alarm_control_panel.house", "disarmed", {"_code": "1234"}, "Hallway")
ENTITIES = (FAN, VALVE, LAMP, SCENE, THERMOSTAT, SPEAKER, ALARM)


@pytest.fixture
async def ha() -> AsyncIterator[HomeAssistant]:
    sim = HomeAssistant(
        ip=f"127.0.{random.randint(231, 250)}.{random.randint(2, 250)}",
        port=0,
        token=TOKEN,
        entities=ENTITIES,
        imperial=True,
    )
    await sim.start()
    yield sim
    await sim.stop()


async def call(ha: HomeAssistant, domain: str, service: str, **data: Any) -> tuple[int, Any]:
    """POST /api/services/<domain>/<service>, as any HA client would."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{ha.base_url}/api/services/{domain}/{service}", json=data, headers=headers) as response,
    ):
        return response.status, await response.json()


def attrs(ha: HomeAssistant, entity_id: str) -> dict[str, Any]:
    return ha.entities[entity_id].attributes


# ---------------------------------------------------------------- Claw's own calls, through the link
def _every_call_claw_makes() -> set[tuple[str, str]]:
    """The (domain, service) pairs `claw.home.hass.entities` produces for every change and action it supports."""
    infos: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        (
            {"domain": "light", "color_modes": ["color_temp"]},
            [{"on": True}, {"on": False}, {"brightness": 40}, {"color_temp": 3000}],
        ),
        ({"domain": "switch"}, [{"on": True}, {"on": False}]),
        ({"domain": "input_boolean"}, [{"on": True}, {"on": False}]),
        ({"domain": "fan"}, [{"on": True}, {"on": False}]),
        ({"domain": "cover", "features": 4}, [{"state": "open"}, {"state": "closed"}, {"position": 40}]),
        ({"domain": "lock"}, [{"locked": True}, {"locked": False}]),
        ({"domain": "climate"}, [{"mode": "heat"}, {"target_temp": 20}]),
        ({"domain": "media_player"}, [{"volume": 30}]),
        ({"domain": "alarm_control_panel"}, [{"mode": m} for m in entities.ALARM_SERVICES]),
    ]
    made: set[tuple[str, str]] = set()
    for info, changes in infos:
        for change in changes:
            made |= {(d, s) for d, s, _ in entities.service_calls(info, "x", change)}
    for action in entities.MEDIA_SERVICES:
        domain, service, _ = entities.action_call({"domain": "media_player"}, "x", action)
        made.add((domain, service))
    return made


def test_every_service_claw_calls_exists_in_the_simulator() -> None:
    sim = HomeAssistant(ip="127.0.0.1", port=0, token=TOKEN)
    made = _every_call_claw_makes()
    assert ("fan", "turn_on") in made  # the call the demo refused
    assert made - set(sim.services) == set()


@pytest.fixture
async def claw(make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    apps: list[Daemon] = []
    monkeypatch.setenv("HASS_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)

    async def start(sim: HomeAssistant) -> Daemon:
        app = build(make_config(home_assistant={"url": sim.base_url, "timeout": 3.0}), parts={"home"})
        await app.start()
        apps.append(app)
        assert app.hass is not None
        for _ in range(500):
            if app.hass.syncs >= 1:
                break
            await asyncio.sleep(0.02)
        return app

    yield start
    for app in apps:
        await app.stop()


async def wait_for(predicate: Callable[[], bool], what: str) -> None:
    for _ in range(250):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_bedroom_fan_turns_on_and_off_through_the_link(
    ha: HomeAssistant, claw: Callable[[HomeAssistant], Awaitable[Daemon]]
) -> None:
    app = await claw(ha)
    assert app.home is not None
    fan = app.home.registry.get("ha.fan.bedroom_fan")
    assert fan is not None and fan.state == {"on": False}
    reply = (await app.local.ask("turn on the bedroom fan")).text
    assert ha.entities["fan.bedroom_fan"].state == "on", reply
    assert ("fan", "turn_on", {"entity_id": "fan.bedroom_fan"}) in ha.calls
    await wait_for(lambda: app.home is not None and app.home.registry.get("ha.fan.bedroom_fan").state["on"], "push")
    assert "not found" not in reply
    await app.local.ask("turn off the bedroom fan")
    assert ha.entities["fan.bedroom_fan"].state == "off"


def test_the_demo_fan_is_one_the_simulator_can_drive() -> None:
    spec = next(e for e in HASS_ENTITIES if e.entity_id == "fan.bedroom_fan")
    sim = HomeAssistant(ip="127.0.0.1", port=0, token=TOKEN, entities=(spec,))
    assert sim.call_service("fan", "turn_on", {"entity_id": spec.entity_id})[0]["state"] == "on"
    assert sim.call_service("fan", "turn_off", {"entity_id": spec.entity_id})[0]["state"] == "off"


# ---------------------------------------------------------------- the service table, over REST
async def test_fan_speed_steps_and_presets(ha: HomeAssistant) -> None:
    status, changed = await call(ha, "fan", "set_percentage", entity_id="fan.bedroom_fan", percentage=50)
    assert status == 200 and changed[0]["state"] == "on" and changed[0]["attributes"]["percentage"] == 50
    await call(ha, "fan", "increase_speed", entity_id="fan.bedroom_fan")
    assert attrs(ha, "fan.bedroom_fan")["percentage"] == 75  # the entity's own step
    await call(ha, "fan", "decrease_speed", entity_id="fan.bedroom_fan", percentage_step=50)
    assert attrs(ha, "fan.bedroom_fan")["percentage"] == 25
    await call(ha, "fan", "set_percentage", entity_id="fan.bedroom_fan", percentage=0)
    assert ha.entities["fan.bedroom_fan"].state == "off"
    await call(ha, "fan", "turn_on", entity_id="fan.bedroom_fan")
    assert attrs(ha, "fan.bedroom_fan")["percentage"] == 25  # back at the last speed
    status, body = await call(ha, "fan", "set_preset_mode", entity_id="fan.bedroom_fan", preset_mode="turbo")
    assert status == 400 and "preset_mode" in body["message"]
    await call(ha, "fan", "oscillate", entity_id="fan.bedroom_fan", oscillating=True)
    assert attrs(ha, "fan.bedroom_fan")["oscillating"] is True
    status, _ = await call(ha, "fan", "set_percentage", entity_id="fan.bedroom_fan", percentage=150)
    assert status == 400


async def test_valves_open_close_and_take_a_position(ha: HomeAssistant) -> None:
    await call(ha, "valve", "open_valve", entity_id="valve.garden_tap")
    assert ha.entities["valve.garden_tap"].state == "open" and attrs(ha, "valve.garden_tap")["current_position"] == 100
    await call(ha, "valve", "set_valve_position", entity_id="valve.garden_tap", position=30)
    assert attrs(ha, "valve.garden_tap")["current_position"] == 30
    await call(ha, "valve", "close_valve", entity_id="valve.garden_tap")
    assert ha.entities["valve.garden_tap"].state == "closed"
    status, body = await call(ha, "cover", "open_cover", entity_id="valve.garden_tap")
    assert status == 200 and body == [] and ha.entities["valve.garden_tap"].state == "closed"  # another domain: skipped


async def test_a_scene_sets_its_entities_and_records_when_it_ran(ha: HomeAssistant) -> None:
    await call(ha, "light", "turn_on", entity_id="light.reading_light", brightness_pct=80)
    assert attrs(ha, "light.reading_light")["brightness"] == 204
    await call(ha, "scene", "turn_on", entity_id="scene.movie_night")
    assert ha.entities["light.reading_light"].state == "off"
    assert ha.entities["scene.movie_night"].state.startswith("20")  # an ISO time, as HA's scene state


async def test_climate_in_fahrenheit_and_modes(ha: HomeAssistant) -> None:
    assert ha.unit_system()["temperature"] == "°F"
    await call(ha, "climate", "set_temperature", entity_id="climate.upstairs", temperature=72)
    assert attrs(ha, "climate.upstairs")["temperature"] == 72.0
    status, body = await call(ha, "climate", "set_temperature", entity_id="climate.upstairs", temperature=21)
    assert status == 400 and "between 45.0 and 95.0" in body["message"]
    await call(ha, "climate", "turn_off", entity_id="climate.upstairs")
    assert ha.entities["climate.upstairs"].state == "off"
    await call(ha, "climate", "turn_on", entity_id="climate.upstairs")
    assert ha.entities["climate.upstairs"].state == "heat"  # the mode it had before


async def test_media_player_volume_and_transport(ha: HomeAssistant) -> None:
    await call(ha, "media_player", "volume_up", entity_id="media_player.kitchen")
    assert attrs(ha, "media_player.kitchen")["volume_level"] == 0.4
    await call(ha, "media_player", "media_play", entity_id="media_player.kitchen")
    assert ha.entities["media_player.kitchen"].state == "playing"
    await call(ha, "media_player", "media_next_track", entity_id="media_player.kitchen")
    assert attrs(ha, "media_player.kitchen")["media_track"] == 2
    await call(
        ha,
        "media_player",
        "play_media",
        entity_id="media_player.kitchen",
        media_content_id="jazz",
        media_content_type="music",
    )
    assert attrs(ha, "media_player.kitchen")["media_title"] == "jazz"
    await call(ha, "media_player", "turn_off", entity_id="media_player.kitchen")
    status, _ = await call(ha, "media_player", "media_play", entity_id="media_player.kitchen")
    assert status == 400 and ha.entities["media_player.kitchen"].state == "off"


async def test_the_alarm_wants_its_code(ha: HomeAssistant) -> None:
    status, body = await call(ha, "alarm_control_panel", "alarm_arm_away", entity_id="alarm_control_panel.house")
    assert status == 400 and "code" in body["message"]
    await call(ha, "alarm_control_panel", "alarm_arm_away", entity_id="alarm_control_panel.house", code="1234")
    assert ha.entities["alarm_control_panel.house"].state == "armed_away"


async def test_homeassistant_turn_off_reaches_each_domain_and_areas_target(ha: HomeAssistant) -> None:
    await call(ha, "light", "turn_on", area_id="study")
    assert ha.entities["light.reading_light"].state == "on"
    await call(ha, "homeassistant", "turn_on", entity_id=["fan.bedroom_fan", "valve.garden_tap"])
    assert ha.entities["fan.bedroom_fan"].state == "on"
    assert ha.entities["valve.garden_tap"].state == "closed"  # valves have no turn_on: skipped, as in HA
    await call(ha, "homeassistant", "turn_off", entity_id="fan.bedroom_fan, light.reading_light")
    assert ha.entities["fan.bedroom_fan"].state == "off" and ha.entities["light.reading_light"].state == "off"


async def test_an_unknown_service_is_not_found(ha: HomeAssistant) -> None:
    status, body = await call(ha, "fan", "fly", entity_id="fan.bedroom_fan")
    assert status == 400 and body["message"] == "Service fan.fly not found."
    assert "fan" in ha.services_answer() and "set_percentage" in ha.services_answer()["fan"]
