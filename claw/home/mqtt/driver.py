"""The MQTT bridge: discovered entities become registry devices, state is pushed in, commands are published.

No polling: `read` answers from the last message on the device's state topics. A removed config (an empty
retained payload) removes the device from the registry and the store, except an approved lock, alarm, garage door,
gate or camera: that one stays, unavailable, and the owners are told. A device is pinned to the config topic that
announced it (`pinning`): what would move, re-kind or redirect it is held for the owners' code. Commands are never
published retained. When devices stay unreachable after the broker goes away, the owner is told once per device.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from claw.core.config import MqttConfig
from claw.core.errors import DeviceError
from claw.core.principals import system
from claw.core.ratelimit import RateLimit
from claw.core.request import unattended
from claw.core.safety import Guard
from claw.core.tasks import OwnedTasks
from claw.home.capabilities import SENSITIVE_KINDS, Capability
from claw.home.device import Device, Found
from claw.home.impostors import Held, what_is
from claw.home.mqtt import codec, pinning
from claw.home.mqtt.client import MqttLink
from claw.home.mqtt.discovery import Entity, Refused, entity, parse, parse_topic
from claw.home.mqtt.templates import MISSING, compile_template
from claw.home.registry import Registry

log = logging.getLogger(__name__)
SETTLE = 3.0  # seconds without a new retained config after which the broker has sent all it keeps
SETTLE_MAX = 30.0  # ... or this long after connecting, whichever comes first
Notify = Callable[[str], Awaitable[None]]
Follower = Callable[[str, bytes], Awaitable[None]]  # another part's topic on the same broker (Frigate's reviews)
HELD_NOTICES = 6  # held announcements told per 10 minutes: a flood of hostile configs must not flood the owners
HELD_KEPT = 500  # held announcements remembered (told once each); the oldest give way


@dataclass(slots=True)
class _Live:
    """What the bridge knows of one entity between messages."""

    entity: Entity
    state: dict[str, Any] = field(default_factory=dict)
    availability: dict[int, bool] = field(default_factory=dict)  # per availability topic, by index
    latest: bool | None = None  # the last availability message, whichever topic it came on
    updates: int = 0  # state messages so far (a command waits for the next ones)
    waiters: list[tuple[Mapping[str, Any], asyncio.Future[dict[str, Any]]]] = field(default_factory=list)


class MqttDriver:
    """Speaks Home Assistant MQTT discovery through one `MqttLink`; `run` is the bridge's supervised task."""

    name = "mqtt"

    def __init__(
        self,
        config: MqttConfig,
        registry: Registry,
        notify: Notify,
        *,
        guard: Guard,
        timeout: float = 3.0,
        link: MqttLink | None = None,
    ) -> None:
        self.config, self.registry, self.notify, self.timeout = config, registry, notify, timeout
        self.guard = guard  # holds announcements that would move, re-kind or redirect a device, for the owners' code
        self.link = link or MqttLink(config, on_message=self._message, on_connection=self._connection)
        self.link.on_message, self.link.on_connection = self._message, self._connection
        self.live: dict[str, _Live] = {}  # by device id
        self.by_config: dict[str, list[str]] = {}  # config topic -> device ids
        self.routes: dict[str, list[tuple[str, codec.Reader]]] = {}  # state topic -> (device id, reader)
        self.avail_routes: dict[str, list[tuple[str, int]]] = {}  # availability topic -> (device id, index)
        self.avail_seen: dict[str, str] = {}  # availability topic -> its last message (retained ones come once)
        self.refused: dict[str, str] = {}  # config topic -> why (logged once per topic and reason)
        self._told: set[str] = set()  # device ids the owner heard are unreachable
        self.pins: dict[str, Entity] = {}  # device id -> the entity it was last applied from (its source and topics)
        self.held: dict[tuple[str, str], str] = {}  # (config topic, device id) -> the held config, told once
        self.orphans: set[str] = set()  # approved sensitive devices whose config was cleared (kept, unavailable)
        self._held_notices = RateLimit(HELD_NOTICES, 600.0)
        self.followers: dict[str, list[Follower]] = {}  # exact topic -> handlers (wired by the daemon)
        self._retained = 0  # retained discovery configs received (the broker keeps what bridges announced)
        self._config_came = asyncio.Event()  # set by each one (the sweep after start-up waits for quiet)
        self._tasks = OwnedTasks("mqtt")

    # --- the Driver protocol -----------------------------------------------------------------------

    async def identify(self, found: Found) -> Found:
        return found

    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        """From the discovery config kept with the device (so a stored device has them before the broker)."""
        one = _stored(found.info)
        return one.capabilities if one is not None else ()

    async def read(self, device: Device) -> dict[str, Any]:
        live = self._live(device)
        return dict(live.state) if live.state else dict(device.state)

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        live = self._live(device)
        return await self._send(device, live, codec.commands(live.entity, changes), changes)

    async def act(
        self, device: Device, action: str, params: Mapping[str, Any], *, cleared: bool = False
    ) -> dict[str, Any]:
        live = self._live(device)
        for topic, payload in codec.action(live.entity, action):
            await self._publish(live.entity, topic, payload)
        return dict(live.state)

    async def close(self) -> None:
        await self._tasks.stop()

    def follow(self, topic: str, handler: Follower) -> None:
        """Hand every message on `topic` to `handler` too (it must return quickly: messages are handled in order)."""
        self.followers.setdefault(topic, []).append(handler)

    async def run(self) -> None:
        """The bridge: follow the discovery prefix and keep the broker connection (until cancelled)."""
        await self.link.subscribe(f"{self.config.discovery_prefix}/#")
        for topic in self.followers:
            await self.link.subscribe(topic)
        await self.link.run()

    # --- commands ----------------------------------------------------------------------------------

    def _live(self, device: Device) -> _Live:
        live = self.live.get(device.id)
        if live is None:
            raise DeviceError(device.name, "is not announced on the MQTT broker (yet)", unreachable=True)
        if not self._available(live):
            where = "its MQTT broker is down" if not self.link.connected else "it says it is offline"
            raise DeviceError(device.name, f"can't be reached ({where})", unreachable=True)
        return live

    async def _publish(self, one: Entity, topic: str, payload: str) -> None:
        qos = one.config.get("qos", 0)
        # never retained, whatever the config says: a retained command is obeyed again by every (re)connecting device
        await self.link.publish(topic, payload, qos=qos if qos in (0, 1, 2) else 0, retain=False, who=one.name)

    async def _send(
        self, device: Device, live: _Live, messages: list[codec.Message], changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Publish; then wait for the device's own state to show the change (optimistic ones: take it as done)."""
        if live.entity.optimistic:
            for topic, payload in messages:
                await self._publish(live.entity, topic, payload)
            live.state = {**(live.state or device.state), **changes}
            return dict(live.state)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiter = (dict(changes), future)
        live.waiters.append(waiter)
        before = live.updates
        try:
            for topic, payload in messages:
                await self._publish(live.entity, topic, payload)
            async with asyncio.timeout(self.timeout * 0.8):
                return await future
        except TimeoutError:
            if live.updates > before:  # it answered, just not with exactly this (a clamped level)
                return dict(live.state)
            raise DeviceError(device.name, "didn't confirm the change over MQTT", unreachable=True) from None
        finally:
            if waiter in live.waiters:
                live.waiters.remove(waiter)

    # --- messages ----------------------------------------------------------------------------------

    async def _message(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            if parse_topic(topic, self.config.discovery_prefix) is not None:
                if retained and payload.strip():
                    self._retained += 1
                    self._config_came.set()
                await self._config(topic, payload)
            text = payload.decode("utf-8", errors="replace")
            if topic in self.avail_routes:
                self.avail_seen[topic] = text[:1000]
            for device_id, index in self.avail_routes.get(topic, ()):
                self._availability_message(device_id, index, text)
            for device_id, reader in self.routes.get(topic, ()):
                self._state_message(device_id, reader, text)
            for handler in self.followers.get(topic, ()):
                await handler(topic, payload)
        except Exception:  # one odd message must never stop the bridge
            log.exception("MQTT message on %s could not be handled", topic)

    async def _config(self, topic: str, payload: bytes) -> None:
        if not payload.strip():
            await self._removed(topic)
            return
        try:
            entities = parse(topic, payload, self.config.discovery_prefix)
        except Refused as exc:
            if self.refused.get(topic) != str(exc):
                self.refused[topic] = str(exc)
                log.warning("MQTT discovery on %s refused: %s", topic, exc)
            return
        self.refused.pop(topic, None)
        before = self.by_config.get(topic, [])
        ids = {e.id for e in entities}
        for device_id in set(before) - ids:  # a device config that lost a component
            await self._drop(device_id, topic)
        for key in [k for k in self.held if k[0] == topic and k[1] not in ids]:
            del self.held[key]  # what was held there is no longer announced
        applied = [e.id for e in entities if await self._add(e) or e.id in before]
        if applied:
            self.by_config[topic] = applied
        else:
            self.by_config.pop(topic, None)

    async def _add(self, one: Entity) -> bool:
        """Apply an announced entity, or hold it for the owners; True when it is this topic's device now."""
        old = self.live.get(one.id)
        if old is not None and old.entity == one:
            return True  # the same config again (a re-announcement after a reconnect)
        known = self._known()
        held = pinning.judge(
            one,
            known.pop(one.id, None),
            known,
            self.registry.devices(include_ignored=True),
            self.config.discovery_prefix,
        )
        if held is not None:
            await self._hold(one, held)
            return False
        self.held.pop((one.config_topic, one.id), None)
        await self._apply(one)
        return True

    def _known(self) -> dict[str, Entity]:
        """Every MQTT device's entity by id: live, or as stored (a restart keeps the pin before the broker answers)."""
        for device in self.registry.devices(include_ignored=True):
            if device.driver != self.name or device.id in self.pins:
                continue
            if (saved := _stored(device.info)) is not None:
                self.pins[device.id] = saved
        return {i: e for i, e in self.pins.items() if self.registry.get(i) is not None}

    async def _hold(self, one: Entity, held: Held) -> None:
        """Keep the announcement out; tell the owners once, with a code that applies exactly this config."""
        key = (one.config_topic, one.id)
        fingerprint = json.dumps(one.config, sort_keys=True, default=str)
        if self.held.get(key) == fingerprint:
            return  # the same held config again: told already
        self.held[key] = fingerprint
        while len(self.held) > HELD_KEPT:  # hostile configs on endless topics must not grow this without bound
            del self.held[next(iter(self.held))]
        log.warning("MQTT discovery held: %s asks to %s", held.source, held.action)
        if not self._held_notices.allow("mqtt"):
            return  # a flood: logged, not told (the owners heard of the first ones)

        async def accept() -> str:
            if self.held.get(key) != fingerprint:
                return f"That MQTT announcement ({one.config_topic}) changed or went away since; I applied nothing."
            del self.held[key]
            for topic, ids in list(self.by_config.items()):  # a device moving to this config topic leaves its old one
                if topic != one.config_topic and one.id in ids:
                    ids.remove(one.id)
            self.by_config.setdefault(one.config_topic, [])
            if one.id not in self.by_config[one.config_topic]:
                self.by_config[one.config_topic].append(one.id)
            await self._apply(one)
            return f"Done: the MQTT config at {one.config_topic} now applies ({what_is(one.kind)})."

        # its own conversation: a flood of held configs must not push the scheduler's pending codes out
        await self.guard.hold(held.action, accept, unattended(system(held.source), "system", "mqtt discovery"))

    async def _apply(self, one: Entity) -> None:
        old = self.live.get(one.id)
        self.pins[one.id] = one
        self.orphans.discard(one.id)
        live = _Live(one, state=old.state if old else {})
        if old is not None and old.entity.availability == one.availability:  # retained ones won't come again
            live.availability, live.latest = dict(old.availability), old.latest
        self.live[one.id] = live
        self._unroute(one.id)
        for topic, readers in codec.readers(one).items():
            for reader in readers:
                self.routes.setdefault(topic, []).append((one.id, reader))
            await self.link.subscribe(topic)
        for index, avail in enumerate(one.availability):
            self.avail_routes.setdefault(avail.topic, []).append((one.id, index))
            await self.link.subscribe(avail.topic)
            if index not in live.availability and avail.topic in self.avail_seen:  # a topic followed already
                self._availability_message(one.id, index, self.avail_seen[avail.topic])
        where = parse_topic(one.config_topic, self.config.discovery_prefix)
        component, key = where if where else (one.component, one.id)
        if component == "device":
            component = one.component
        found = Found(
            id=one.id,
            name=one.name,
            kind=one.kind,
            driver=self.name,
            address=self.link.address,
            room=one.room,
            info={
                "model": one.model or f"MQTT {one.component.replace('_', ' ')}",
                "mqtt": {"topic": one.config_topic, "component": component, "key": key, "config": dict(one.config)},
            },
            via="mqtt",
        )
        known = self.registry.get(one.id) is not None
        device = await self.registry.found(found)
        if device.capabilities != one.capabilities:  # the config changed what it can do
            device.capabilities = one.capabilities
        if known and (device.kind != one.kind or device.info.get("mqtt") != found.info["mqtt"]):
            # an applied change (or an owner's yes to a held one): the store keeps the config it is pinned to now
            await self.registry.update(device, kind=one.kind, info={**device.info, **found.info})
        if not known:  # just added: its availability message may not have come yet; no "stopped answering" for that
            device.available = self._available(live)
        self._push(one.id)

    async def _removed(self, topic: str) -> None:
        for device_id in self.by_config.pop(topic, []):
            await self._drop(device_id, topic)
        for key in [k for k in self.held if k[0] == topic]:
            del self.held[key]
        self.refused.pop(topic, None)

    async def _drop(self, device_id: str, topic: str) -> None:
        """Its config is gone: forget it; an approved lock, alarm, garage door, gate or camera stays, unavailable."""
        device = self.registry.get(device_id)
        if device is None or not _guards_the_house(device):
            await self._forget(device_id)
            return
        self.live.pop(device_id, None)
        self._unroute(device_id)
        self.registry.mark(device, available=False)
        await self.registry.persist_state(device)
        if device_id in self.orphans:
            return
        self.orphans.add(device_id)
        log.warning("the MQTT config of %s (%s) at %s was removed; kept as unavailable", device.name, device_id, topic)
        await self.notify(
            f"The MQTT config of the {device.name} ({what_is(device.kind)}) was removed from the broker "
            f"({topic}). I keep it, shown as unavailable, with your approval; only the same config at the same "
            "place brings it back, and nothing else takes its place without your code."
        )

    async def _forget(self, device_id: str) -> None:
        self.live.pop(device_id, None)
        self.pins.pop(device_id, None)
        self._unroute(device_id)
        self._told.discard(device_id)
        await self.registry.forget(device_id)

    def _unroute(self, device_id: str) -> None:
        for topic in list(self.routes):
            if not (kept := [r for r in self.routes[topic] if r[0] != device_id]):
                del self.routes[topic]
            else:
                self.routes[topic] = kept
        for topic in list(self.avail_routes):
            if not (still := [r for r in self.avail_routes[topic] if r[0] != device_id]):
                del self.avail_routes[topic]
                self.avail_seen.pop(topic, None)
            else:
                self.avail_routes[topic] = still

    def _state_message(self, device_id: str, reader: codec.Reader, text: str) -> None:
        live = self.live.get(device_id)
        if live is None:
            return
        update = reader(text)
        if not update:
            return
        live.state = {**live.state, **update}
        live.updates += 1
        for changes, future in list(live.waiters):
            if not future.done() and codec.confirms(live.state, changes):
                future.set_result(dict(live.state))
        self._push(device_id)

    def _availability_message(self, device_id: str, index: int, text: str) -> None:
        live = self.live.get(device_id)
        if live is None:
            return
        avail = live.entity.availability[index]
        template = compile_template(avail.template)
        value = text if template is None else template.render(text)
        if value is MISSING:
            return
        if str(value) == avail.available:
            live.availability[index], live.latest = True, True
        elif str(value) == avail.not_available:
            live.availability[index], live.latest = False, False
        else:
            return
        self._push(device_id)

    def _available(self, live: _Live) -> bool:
        if not self.link.connected:
            return False
        if not live.entity.availability:
            return True
        mode = live.entity.availability_mode
        if mode == "all":
            return len(live.availability) == len(live.entity.availability) and all(live.availability.values())
        if mode == "any":
            return any(live.availability.values())
        return live.latest is True

    def _push(self, device_id: str) -> None:
        """Hand the entity's availability and state to the registry (and the store, off the loop)."""
        live = self.live.get(device_id)
        device = self.registry.get(device_id)
        if live is None or device is None:
            return
        available = self._available(live)
        before = dict(device.state)
        self.registry.mark(device, available, dict(live.state) if live.state else None)
        if available:
            self._told.discard(device_id)
        if device.state != before or not available:
            self._tasks.start(self.registry.persist_state(device), name=f"save {device.id}")

    async def _connection(self, up: bool) -> None:
        for device_id in list(self.live):
            self._push(device_id)
        if up:  # bridges (Zigbee2MQTT, Tasmota) re-announce their devices when Home Assistant says it is online
            with contextlib.suppress(DeviceError):  # dropped again already: the next connection asks again
                await self.link.publish(f"{self.config.discovery_prefix}/status", "online")
            if self.link.connects == 1:
                self._tasks.start(self._forget_unannounced(), name="mqtt devices no bridge announces")
        else:
            waiting = [d for d in self.live if self.registry.get(d) is not None]
            self._tasks.start(self._tell_if_unreachable(waiting), name="mqtt outage")

    async def _forget_unannounced(self) -> None:
        """Stored MQTT devices whose config a bridge cleared while Claw was not running: gone, not unavailable.

        Only once the broker has sent the retained configs it keeps (and at least one: an empty broker may have
        lost them, and removing then would be a guess); the owner is told which.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_MAX):
                while True:  # until SETTLE s pass without a new retained config
                    self._config_came.clear()
                    try:
                        await asyncio.wait_for(self._config_came.wait(), SETTLE)
                    except TimeoutError:
                        break
        if not self._retained or not self.link.connected:
            return
        mine = self.registry.devices(include_ignored=True)
        gone = [d for d in mine if d.driver == self.name and d.id not in self.live and not _guards_the_house(d)]
        for device in gone:
            await self._forget(device.id)
        for device in mine:  # an approved lock is not dropped on a guess: kept unavailable, and the owners told
            if device.driver == self.name and device.id not in self.live and _guards_the_house(device):
                await self._drop(device.id, str((device.info.get("mqtt") or {}).get("topic") or "its config topic"))
        if gone:
            names = ", ".join(d.name for d in gone[:8]) + (", …" if len(gone) > 8 else "")
            await self.notify(f"Removed {len(gone)} MQTT device(s) their bridge no longer announces: {names}.")

    async def _tell_if_unreachable(self, device_ids: list[str]) -> None:
        """After `unreachable_after`, tell the owner once about the devices that have not come back."""
        await asyncio.sleep(self.config.unreachable_after)
        still = [
            device
            for device_id in device_ids
            if device_id not in self._told
            and (device := self.registry.get(device_id)) is not None
            and not device.available
        ]
        if not still:
            return
        self._told.update(d.id for d in still)
        names = ", ".join(d.name for d in still[:8]) + (", …" if len(still) > 8 else "")
        where = "the MQTT broker is still down" if not self.link.connected else "they have not come back"
        noun = "device is" if len(still) == 1 else "devices are"
        await self.notify(f"{len(still)} MQTT {noun} unreachable since the broker dropped ({where}): {names}.")


def _stored(info: Mapping[str, Any]) -> Entity | None:
    """The entity a stored device was applied from (its discovery config is kept in its info)."""
    saved = info.get("mqtt")
    if not isinstance(saved, Mapping):
        return None
    try:
        return entity(str(saved["topic"]), str(saved["component"]), str(saved["key"]), dict(saved["config"]))
    except (Refused, KeyError, TypeError):
        return None


def _guards_the_house(device: Device) -> bool:
    """An approved lock, alarm, garage door, gate or camera: never dropped or replaced without the owners."""
    return device.kind in SENSITIVE_KINDS and device.controllable
