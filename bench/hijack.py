"""MQTT discovery attacks on an approved lock (issue 19, holes 1 and 2): how many were tried, and what they won.

Needs Debian's mosquitto (/usr/sbin/mosquitto). .venv/bin/python bench/hijack.py

Each attack gets a fresh broker and a fresh daemon with Zigbee2MQTT's Front Door lock (approved, really unlocked)
and a kettle plug. A hostile client (any client the broker lets in) publishes discovery configs or state, then the
owner speaks through the understanding fast path as a person would. Counted, per attack:

- state changes without a code: the real lock unlocked, with no owner's code given;
- devices hijacked: the approved lock's identity taken (its kind, config topic or approval changed, it was removed,
  a command went to the attacker's topic, or the owner's "lock the front door" did not reach the real lock);
- told: the owners heard of it (a notice naming the attacker's config or the lock);
- retained commands: a command of Claw's left retained on the broker.

The goal is 0 / 0 / 0 with every discovery attack told. One JSON object per figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
from _figures import figure

from claw.core.bus import Outbound
from claw.core.config import Config, parse
from claw_sim.mosquitto import Mosquitto, mosquitto_missing
from claw_sim.mqtt_devices import PREFIX, MqttDevices, ZigbeeDevice
from tests.conftest import free_port
from tests.mqtt_fixtures import MqttHouse, start_mqtt_house, stop_mqtt_house

DOOR = "Front Door"
SETTLE = 1.0  # seconds for the daemon to take in what the attacker published (a bench, not a test: no barrier)


@dataclass
class Outcome:
    name: str
    unlocked_without_code: bool = False
    hijacked: list[str] = field(default_factory=list)
    told: bool = False
    retained: int = 0


@dataclass
class Scene:
    house: MqttHouse
    mallory: aiomqtt.Client
    told: list[str]
    heard: list[tuple[str, str]]
    ids: dict[str, str]

    @property
    def real(self) -> dict[str, Any]:
        return self.house.sim.zigbee.devices[DOOR].state

    async def say(self, topic: str, payload: Any, *, retain: bool = True) -> None:
        body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        await self.mallory.publish(topic, body, qos=1, retain=retain)
        await asyncio.sleep(SETTLE)


def make_config(tmp: Path) -> Callable[..., Config]:
    def make(**sections: Any) -> Config:
        data: dict[str, Any] = {
            "state_dir": str(tmp / "state"),
            "llm": {"host": "http://127.0.0.1:9", "timeout": 10.0},
            "private": {"port": free_port()},
            "public": {"port": free_port()},
            "home": {"discovery": False, "interfaces": ["127.0.0.1"]},
            "heartbeat": {"enabled": False},
        }
        for key, value in sections.items():
            data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
        return parse(data)

    return make


@contextlib.asynccontextmanager
async def scene(tmp: Path) -> AsyncIterator[Scene]:
    broker = Mosquitto(tmp / "mosquitto")
    await broker.start()
    zigbee = (
        ZigbeeDevice("lock", DOOR, "Hallway", {"state": "UNLOCK", "lock_state": "unlocked"}),
        ZigbeeDevice("plug", "Kettle Plug", "Kitchen"),
    )
    house = await start_mqtt_house(tmp, make_config(tmp), broker, MqttDevices(broker.host, broker.port, zigbee, ()))
    told: list[str] = []

    async def listen(message: Outbound) -> None:
        if message.recipient is None and message.kind != "reply":  # told to every owner, not a chat reply
            told.append(message.text)

    house.app.bus.listen(listen)
    ieee = house.sim.zigbee.devices[DOOR].ieee
    ids = {
        "identifiers": f"zigbee2mqtt_{ieee}",
        "unique_id": f"{ieee}_lock_zigbee2mqtt",
        "config": f"{PREFIX}/lock/{ieee}/lock/config",
        "command": f"zigbee2mqtt/{DOOR}/set",
        "state": f"zigbee2mqtt/{DOOR}",
    }
    heard: list[tuple[str, str]] = []
    try:
        async with aiomqtt.Client(broker.host, broker.port, identifier="mallory", bind_address=broker.host) as client:
            await client.subscribe("mallory/#", qos=1)
            await client.subscribe(ids["command"], qos=1)  # what reaches the real lock

            async def follow() -> None:
                async for message in client.messages:
                    payload = message.payload
                    text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
                    heard.append((message.topic.value, text))

            task = asyncio.get_running_loop().create_task(follow())
            try:
                yield Scene(house, client, told, heard, ids)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await stop_mqtt_house(house)
        await broker.stop()


def fake_door(s: Scene, **config: Any) -> dict[str, Any]:
    """A config reusing the real lock's identifiers and unique_id."""
    device = {"identifiers": [s.ids["identifiers"]], "name": DOOR}
    return {"name": None, "unique_id": s.ids["unique_id"], "device": device, **config}


async def ids_on_own_topic(s: Scene, out: Outcome) -> None:
    await s.say("mallory/door", "LOCKED")
    await s.say(
        f"{PREFIX}/lock/mallory/door/config", fake_door(s, command_topic="mallory/door/set", state_topic="mallory/door")
    )
    await s.house.say("lock the front door")
    await s.say(f"{PREFIX}/lock/mallory/door/config", b"")  # then the attacker clears its config


async def ids_as_a_switch(s: Scene, out: Outcome) -> None:
    await s.house.say("lock the front door")
    fake = fake_door(
        s, command_topic=s.ids["command"], payload_on='{"state": "UNLOCK"}', payload_off='{"state": "LOCK"}'
    )
    await s.say(f"{PREFIX}/switch/mallory/door/config", fake)
    await s.house.say("turn on the front door")  # what a model or an MCP client's turn_on_off would send


async def fountain_on_the_locks_topic(s: Scene, out: Outcome) -> None:
    await s.house.say("lock the front door")
    fountain = {
        "name": "Garden Fountain",
        "unique_id": "fountain-1",
        "command_topic": s.ids["command"],
        "payload_on": '{"state": "UNLOCK"}',
        "payload_off": '{"state": "LOCK"}',
        "device": {"identifiers": ["mallory-fountain"], "name": "Garden Fountain", "suggested_area": "Garden"},
    }
    await s.say(f"{PREFIX}/switch/mallory/fountain/config", fountain)
    await s.house.say("turn on the garden fountain")


async def second_front_door(s: Scene, out: Outcome) -> None:
    impostor = {
        "name": None,
        "unique_id": "mallory-door",
        "command_topic": "mallory/door2/set",
        "state_topic": "mallory/door2",
        "device": {"identifiers": ["mallory-door"], "name": DOOR},
    }
    await s.say(f"{PREFIX}/lock/mallory/door2/config", impostor)
    await s.house.say("lock the front door")


async def emptied_config(s: Scene, out: Outcome) -> None:
    await s.say(s.ids["config"], b"")
    zigbee = s.house.sim.zigbee
    if zigbee.client is not None:  # the bridge announces it again (or an attacker does, with the same config)
        await zigbee.announce_device(zigbee.client, zigbee.devices[DOOR])
        await asyncio.sleep(SETTLE)
    await s.house.say("lock the front door")


async def redirected_on_its_own_topic(s: Scene, out: Outcome) -> None:
    zigbee = s.house.sim.zigbee
    config = dict(zigbee.configs(zigbee.devices[DOOR])[0][1])
    config["command_topic"] = "mallory/redirect/set"
    await s.say(s.ids["config"], config)
    await s.house.say("lock the front door")


async def retained_commands(s: Scene, out: Outcome) -> None:
    config = {
        "name": "Bubble Machine",
        "unique_id": "bubbles-1",
        "command_topic": "party/bubbles/set",
        "retain": True,
        "device": {"identifiers": ["bubbles"], "name": "Bubble Machine"},
    }
    await s.say(f"{PREFIX}/switch/bubbles/config", config)
    await s.house.say("turn on the bubble machine")
    await s.house.say("lock the front door")


async def spoofed_locked_state(s: Scene, out: Outcome) -> None:
    await s.say(s.ids["state"], {"state": "LOCK"}, retain=False)
    await s.house.say("lock the front door")


ATTACKS: list[Callable[[Scene, Outcome], Awaitable[None]]] = [
    ids_on_own_topic,
    ids_as_a_switch,
    fountain_on_the_locks_topic,
    second_front_door,
    emptied_config,
    redirected_on_its_own_topic,
    retained_commands,
    spoofed_locked_state,
]


async def retained_on(broker_host: str, port: int, topics: list[str]) -> int:
    """Retained messages on `topics`, read by a client that connects now (a sentinel marks the end)."""
    async with aiomqtt.Client(broker_host, port, identifier="counter", bind_address=broker_host) as c:
        await c.publish("bench/sentinel", "end", qos=1, retain=True)
        await c.subscribe([*((t, 1) for t in topics), ("bench/sentinel", 1)])
        count = 0
        async with asyncio.timeout(5):
            async for message in c.messages:
                if message.topic.value == "bench/sentinel":
                    break
                count += message.topic.value.endswith("/set")  # a command; the attacker's own state is its business
        return count


async def attack(tmp: Path, run: Callable[[Scene, Outcome], Awaitable[None]]) -> Outcome:
    out = Outcome(run.__name__)
    async with scene(tmp) as s:
        lock = s.house.device(DOOR)
        lock_id, kind, topic = lock.id, lock.kind, lock.info["mqtt"]["topic"]
        await run(s, out)
        registry = s.house.home.registry
        now = registry.get(lock_id)
        if now is None:
            out.hijacked.append("the approved lock was removed")
        else:
            if now.kind != kind:
                out.hijacked.append(f"the lock became a {now.kind}")
            if now.info.get("mqtt", {}).get("topic") != topic:
                out.hijacked.append("the lock's config topic moved")
            if not now.controllable:
                out.hijacked.append("the lock lost its approval")
        if s.real["state"] != "LOCK":
            out.hijacked.append("the owner's 'lock the front door' did not reach the real lock")
        if any(t.startswith("mallory/") and t.endswith("/set") for t, _ in s.heard):
            out.hijacked.append("a command went to the attacker's topic")
        # nobody said "unlock" or gave a code: any UNLOCK that reached the real lock is the attack's
        out.unlocked_without_code = any(t == s.ids["command"] and "UNLOCK" in p for t, p in s.heard)
        out.told = any("mallory" in t or (DOOR in t and "found" not in t.lower()) for t in s.told)
        out.retained = await retained_on(
            s.house.broker.host, s.house.broker.port, [s.ids["command"], "mallory/#", "party/#"]
        )
    return out


async def main_async() -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="claw-hijack-") as tmp_dir:
        for n, run in enumerate(ATTACKS):
            outcomes.append(await attack(Path(tmp_dir) / f"a{n}", run))
    return outcomes


def main() -> None:
    if problem := mosquitto_missing():
        figure("mqtt_attacks_tried", 0, "attacks", skipped=problem)
        return
    logging.basicConfig(level=logging.CRITICAL)
    outcomes = asyncio.run(main_async())
    kinds = [o.name for o in outcomes]
    figure("mqtt_attacks_tried", len(outcomes), "attacks", by_kind=kinds)
    unlocked = [o.name for o in outcomes if o.unlocked_without_code]
    figure("mqtt_state_changes_without_code", len(unlocked), "attacks", which=unlocked)
    hijacked = {o.name: o.hijacked for o in outcomes if o.hijacked}
    figure("mqtt_devices_hijacked", len(hijacked), "attacks", how=hijacked)
    discovery = [o for o in outcomes if o.name not in ("spoofed_locked_state", "retained_commands")]
    told = [o.name for o in discovery if o.told]
    untold = [o.name for o in discovery if not o.told]
    figure("mqtt_discovery_attacks_told", len(told), "attacks", of=len(discovery), untold=untold)
    figure("mqtt_retained_commands", sum(o.retained for o in outcomes), "messages")


if __name__ == "__main__":
    main()
