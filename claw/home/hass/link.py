"""Home Assistant as a hub: sync its exposed entities into the registry, follow their state by push, call services.

The link is also the driver of every device it adds (driver name "hass"): reads come from the pushed states,
writes are `call_service` commands on the one WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from claw.core.backoff import Backoff
from claw.core.config import Config, HomeAssistantConfig
from claw.core.errors import ConfigError, DeviceError
from claw.core.principals import system
from claw.core.request import unattended
from claw.core.safety import Guard
from claw.core.secrets import secret
from claw.core.tasks import OwnedTasks
from claw.home.capabilities import Capability
from claw.home.device import Device, Found
from claw.home.hass import entities, pins
from claw.home.hass.catalogue import DRIVER, Offer, Snapshot, device_id, offers
from claw.home.hass.client import AuthInvalid, CommandFailed, Connection, HassError
from claw.home.hass.finder import find_home_assistant
from claw.home.impostors import Held
from claw.home.registry import Registry

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]
Locate = Callable[[], Awaitable[str]]  # waits for a Home Assistant on the network; its base URL
REGISTRY_EVENTS = ("area_registry_updated", "floor_registry_updated", "device_registry_updated")
PING_EVERY = 30.0  # seconds between HA pings while nothing else is said
RETIRED_DRIVER = "home-assistant"  # the REST-polling skill this link replaced
RECONNECT = Backoff(1.0, 60.0, jitter=True)
REFUSED = Backoff(60.0, 900.0)  # a refused token is retried slowly: the owner has to make a new one


class HomeAssistantLink:
    """One Home Assistant: keeps a WebSocket open, re-syncs after every reconnect, and drives its devices."""

    name = DRIVER

    def __init__(
        self,
        config: HomeAssistantConfig,
        *,
        registry: Registry,
        token: Callable[[], str | None],
        notify: Notify,
        guard: Guard,
        locate: Locate | None = None,
        backoff: Backoff = RECONNECT,
        auth_backoff: Backoff = REFUSED,
        settle: float = 1.0,
    ) -> None:
        self.config, self.registry, self.token, self.notify = config, registry, token, notify
        self.guard = guard  # holds offers that would change who a device is, for the owners' code
        self.held: dict[str, str] = {}  # entity_id -> the held offer, told once
        self.locate = locate
        self.backoff, self.auth_backoff, self.settle = backoff, auth_backoff, settle
        self.url = config.url.rstrip("/")
        self.connection: Connection | None = None
        self.version = ""
        self.syncs = 0  # full reads done (tests and the bench wait on it)
        self.synced = asyncio.Event()  # set after each full read, cleared while the link is down
        self._states: dict[str, dict[str, Any]] = {}  # entity_id -> HA's latest state object
        self._taken: dict[str, str] = {}  # entity_id -> Claw device id, for the exposed entities Claw drives
        self._resync = asyncio.Event()
        self._syncing = False
        self._changed = asyncio.Condition()
        self._told_auth = False
        self._tasks = OwnedTasks("home assistant")

    # --- the connection's life ------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, sync, follow; on any failure mark the devices unavailable and try again after a backoff."""
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                if not self.url and self.locate is not None:
                    self.url = (await self.locate()).rstrip("/")
                    log.warning(
                        "using Home Assistant found on the network at %s; set [home_assistant] url to pin it", self.url
                    )
                try:
                    await self._session(session)
                    failures = 0  # it ran and closed (HA restarted): reconnect at once
                    delay = self.backoff.delay(1)
                except AuthInvalid as exc:
                    failures += 1
                    delay = self.auth_backoff.delay(failures)
                    await self._refused(str(exc), delay)
                except (HassError, aiohttp.ClientError, OSError) as exc:
                    failures += 1
                    delay = self.backoff.delay(failures)
                    if failures == 1:
                        log.warning("home assistant: %s; retrying", exc)
                    else:
                        log.debug("home assistant still unreachable (%s); next try in %.0f s", exc, delay)
                    if not self.config.url and failures >= 3:
                        self.url = ""  # found by mDNS and gone quiet: it may have moved; look for it again
                await self._went_down()  # not on cancellation: a stopping daemon does not mark devices gone
                await asyncio.sleep(delay)

    async def _session(self, session: aiohttp.ClientSession) -> None:
        token = self._token()
        connection = await Connection.open(session, self.url, token, self._on_event, timeout=self.config.timeout)
        self.connection, self.version = connection, connection.version
        if self._told_auth:
            self._told_auth = False
            log.info("home assistant accepted the token again")
        listening = self._tasks.start(connection.listen(), name="home assistant: listen")
        try:
            # subscribe before reading, so no change falls between the read and the subscription
            await connection.command("subscribe_events", event_type="state_changed")
            await connection.command("subscribe_events", event_type="entity_registry_updated")
            for event_type in REGISTRY_EVENTS:
                await connection.command("subscribe_events", event_type=event_type)
            self._resync.clear()
            await self.sync()
            log.info("home assistant %s at %s: %d devices", self.version or "?", self.url, len(self._taken))
            while not listening.done():
                waiter = self._tasks.start(_wait(self._resync), name="home assistant: registry changed")
                done, _ = await asyncio.wait({listening, waiter}, timeout=PING_EVERY, return_when="FIRST_COMPLETED")
                waiter.cancel()
                if listening in done:
                    break
                if self._resync.is_set():  # a change during this sync sets it again: one more sync after it
                    self._resync.clear()
                    await self.sync()
                else:
                    await connection.ping()
        finally:
            self.connection = None
            await connection.close()
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listening
        log.warning("home assistant at %s closed the connection (restarting?); reconnecting", self.url)

    async def _refused(self, reason: str, delay: float) -> None:
        """A refused token is logged every time, told to the owner once, and retried slowly (no tight loop)."""
        log.error("%s; trying again in %.0f s", reason, delay)
        if not self._told_auth:
            self._told_auth = True
            await self.notify(
                f"{reason}. Make a new long-lived access token in Home Assistant (your profile, Security) "
                f"and give it to Claw as {self.config.token_env}; until then its devices are unavailable."
            )

    async def _went_down(self) -> None:
        self.synced.clear()
        for device in self._devices():
            self.registry.mark(device, available=False)

    async def stop(self) -> None:
        await self._tasks.stop()

    # --- sync and push ------------------------------------------------------------------------------

    async def read_all(self) -> Snapshot:
        """One full read: registries, expose settings and states (HA's expose list needs an admin token)."""
        connection = self.connection
        if connection is None:
            raise HassError("not connected to Home Assistant")
        try:
            exposed = await connection.command("homeassistant/expose_entity/list")
        except CommandFailed as exc:
            log.info("home assistant: no expose list (%s); reading expose settings from the entity registry", exc.code)
            exposed = None
        floors: Any = []
        with contextlib.suppress(CommandFailed):  # floors came in HA 2024.4
            floors = await connection.command("config/floor_registry/list")
        return Snapshot(
            states=await connection.command("get_states"),
            entities=await connection.command("config/entity_registry/list"),
            devices=await connection.command("config/device_registry/list"),
            areas=await connection.command("config/area_registry/list"),
            floors=floors,
            exposed=exposed if isinstance(exposed, Mapping) else None,
        )

    async def survey(self, wait: float) -> list[Offer]:
        """One look (for `claw discover`): what HA exposes and what Claw would make of it; nothing is added."""
        if not self.url and self.locate is not None:
            async with asyncio.timeout(wait):
                self.url = (await self.locate()).rstrip("/")
        token = self._token()
        async with aiohttp.ClientSession() as session:
            connection = await Connection.open(session, self.url, token, self._on_event, timeout=self.config.timeout)
            self.connection = connection
            listening = self._tasks.start(connection.listen(), name="home assistant: survey")
            try:
                return offers(await self.read_all(), _address(self.url))
            finally:
                self.connection = None
                await connection.close()
                listening.cancel()

    def _token(self) -> str:
        token = self.token()
        if not token:
            raise AuthInvalid(f"no token: set {self.config.token_env} (or the systemd credential hass_token)")
        return token

    async def sync(self) -> list[Offer]:
        """Make the registry match what HA exposes: add and update those devices, remove the ones gone."""
        self._syncing = True  # pushes that overtake the read are kept, not dropped
        try:
            snapshot = await self.read_all()
            listed = offers(snapshot, _address(self.url))
            await self._take(listed, snapshot)
        finally:
            self._syncing = False
        self._states = {k: v for k, v in self._states.items() if k in self._taken}
        self.syncs += 1
        self.synced.set()
        return listed

    async def _take(self, listed: list[Offer], snapshot: Snapshot) -> None:
        taken: dict[str, str] = {}
        states = {s.get("entity_id"): s for s in snapshot.states if isinstance(s, dict)}
        kept: set[str] = set()  # known devices whose new offer is held: they stay, unavailable, as they were
        for offer in listed:
            if offer.found is None:
                continue
            known = self.registry.get(offer.found.id)
            writable = any(c.writable for c in entities.capabilities(offer.found.info))
            held = pins.judge(offer.found, known, self.registry.devices(include_ignored=True), commandable=writable)
            if held is not None:
                if known is not None:
                    kept.add(known.id)
                    self.registry.mark(known, available=False)
                await self._hold(offer.entity_id, offer.found, held)
                continue
            self.held.pop(offer.entity_id, None)
            taken[offer.entity_id] = self._taken[offer.entity_id] = offer.found.id  # its pushes show from now on
            self._keep(states.get(offer.entity_id, {}))
            device = await self.registry.found(offer.found)
            info, capabilities = dict(offer.found.info), entities.capabilities(offer.found.info)
            if (info, capabilities) != (device.info, device.capabilities):  # HA changed what it can do
                await self.registry.update(device, info=info, capabilities=capabilities)
            await self._show(device)
        for gone in set(self._taken) - set(taken):
            del self._taken[gone]
        wanted = set(taken.values()) | kept
        for device in self._devices():
            if device.id not in wanted:
                await self.registry.forget(device.id)
        for device in self.registry.devices(include_ignored=True):
            if device.driver == RETIRED_DRIVER:  # the old polling skill's copies: this link replaces them
                await self.registry.forget(device.id)

    async def _hold(self, entity_id: str, found: Found, held: Held) -> None:
        """Leave the offer out; tell the owners once, with a code that takes exactly this offer."""
        fingerprint = repr((found.name, found.kind, sorted(found.info.items())))
        if self.held.get(entity_id) == fingerprint:
            return
        self.held[entity_id] = fingerprint
        log.warning("home assistant: held: %s asks to %s", held.source, held.action)

        async def accept() -> str:
            if self.held.get(entity_id) != fingerprint:
                return f"Home Assistant's {entity_id} changed or went away since; I applied nothing."
            del self.held[entity_id]
            device = await self.registry.found(found)
            info, capabilities = dict(found.info), entities.capabilities(found.info)
            await self.registry.update(device, kind=found.kind, info=info, capabilities=capabilities)
            self._taken[entity_id] = device.id
            await self._show(device)
            return f"Done: {device.name} is Home Assistant's {entity_id} now."

        await self.guard.hold(held.action, accept, unattended(system(held.source), "system", "home assistant"))

    async def _on_event(self, event: dict[str, Any]) -> None:
        kind, data = event.get("event_type"), event.get("data")
        if not isinstance(data, dict):
            return
        entity_id = data.get("entity_id")
        if kind == "state_changed" and isinstance(entity_id, str):
            new = data.get("new_state")
            if new is None and entity_id in self._taken:
                await self._forget(entity_id)
            elif isinstance(new, dict) and (entity_id in self._taken or self._syncing) and self._keep(new):
                device = self.registry.get(self._taken.get(entity_id, ""))
                if device is not None:
                    await self._show(device)
        elif kind == "entity_registry_updated":
            if data.get("action") == "remove" and isinstance(entity_id, str) and entity_id in self._taken:
                await self._forget(entity_id)
            else:  # created, renamed, moved, exposed or hidden: read everything again
                self._resync.set()
        elif kind in REGISTRY_EVENTS:
            self._resync.set()

    def _keep(self, state: dict[str, Any]) -> bool:
        """Keep the newer of what we have and `state` (a push may overtake a full read); True if it was newer."""
        entity_id = state.get("entity_id")
        if not isinstance(entity_id, str):
            return False
        old = self._states.get(entity_id)
        if old is not None and _when(state) < _when(old):
            return False
        self._states[entity_id] = state
        return True

    async def _show(self, device: Device) -> None:
        state = self._states.get(str(device.info.get("entity_id")))
        mapped = entities.state_of(device.info, state) if state is not None else {}
        before = dict(device.state)
        self.registry.mark(device, available=bool(mapped), state=mapped if mapped else None)
        if mapped != before:
            await self.registry.persist_state(device)
        async with self._changed:
            self._changed.notify_all()

    async def _forget(self, entity_id: str) -> None:
        claw_id = self._taken.pop(entity_id, device_id(entity_id))
        self._states.pop(entity_id, None)
        await self.registry.forget(claw_id)

    def _devices(self) -> list[Device]:
        return [d for d in self.registry.devices(include_ignored=True) if d.driver == DRIVER]

    # --- the Driver protocol -----------------------------------------------------------------------

    async def identify(self, found: Found) -> Found:
        return found

    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        return entities.capabilities(found.info)

    async def read(self, device: Device) -> dict[str, Any]:
        """The last pushed state (no traffic); unavailable while the link is down or HA does not know it."""
        state = self._states.get(str(device.info.get("entity_id")))
        mapped = entities.state_of(device.info, state) if state is not None and self.connection is not None else {}
        if not mapped:
            raise DeviceError(device.name, "is unavailable in Home Assistant", unreachable=True)
        return mapped

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        for domain, service, data in entities.service_calls(device.info, device.name, changes):
            await self._call(device, domain, service, data)
        return await self._settled(device, changes)

    async def act(
        self, device: Device, action: str, params: Mapping[str, Any], *, cleared: bool = False
    ) -> dict[str, Any]:
        domain, service, data = entities.action_call(device.info, device.name, action)
        await self._call(device, domain, service, data)
        return await self._settled(device, {})

    async def close(self) -> None:
        await self.stop()

    async def _call(self, device: Device, domain: str, service: str, data: dict[str, Any]) -> None:
        connection = self.connection
        if connection is None:
            raise DeviceError(device.name, "can't be reached: Home Assistant is not connected", unreachable=True)
        try:
            await connection.command(
                "call_service",
                domain=domain,
                service=service,
                service_data=data,
                target={"entity_id": device.info["entity_id"]},
            )
        except CommandFailed as exc:  # it answered: a refusal, passed on in HA's words
            raise DeviceError(device.name, f"was refused by Home Assistant: {exc.message or exc.code}") from None
        except HassError as exc:
            raise DeviceError(device.name, f"didn't answer ({exc})", unreachable=True) from None

    async def _settled(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The state once HA pushed the change (briefly waited for); HA's answer alone if the push is slow."""
        entity_id = str(device.info.get("entity_id"))

        def shows() -> bool:
            state = self._states.get(entity_id)
            mapped = entities.state_of(device.info, state) if state is not None else {}
            return all(mapped.get(k) == v for k, v in changes.items())

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settle), self._changed:
                await self._changed.wait_for(shows)
        state = self._states.get(entity_id)
        mapped = entities.state_of(device.info, state) if state is not None else {}
        return {**mapped, **changes}


async def _wait(event: asyncio.Event) -> None:
    await event.wait()


def _when(state: Mapping[str, Any]) -> float:
    text = state.get("last_updated")
    try:
        return datetime.fromisoformat(text).timestamp() if isinstance(text, str) else 0.0
    except ValueError:
        return 0.0


def _address(url: str) -> str:
    """http://host:8123 -> host:8123, as devices keep their address."""
    return url.split("://", 1)[-1].split("/", 1)[0]


def link_for(config: Config, registry: Registry, notify: Notify, guard: Guard) -> HomeAssistantLink | None:
    """The link the config asks for: at [home_assistant] url, or (with a token and `discover`) the one found by
    mDNS; else None."""
    settings = config.home_assistant
    if not settings.enabled:
        return None

    def token() -> str | None:
        return secret("hass_token", env=settings.token_env)

    if settings.url and not token():
        raise ConfigError(
            config.source,
            "home_assistant.token_env",
            f"names {settings.token_env}, which is not set",
            "set it (or the systemd credential hass_token) to a Home Assistant long-lived access token, "
            "or remove [home_assistant] url",
        )
    if not settings.url and token() and not settings.discover:
        # a long-lived token goes only where the owner pointed it, not to whatever announces itself on the LAN
        log.warning(
            "home assistant: %s is set but [home_assistant] url is not: set url (claw discover lists the Home "
            "Assistant on your network), or discover = true to trust the one announced over mDNS",
            settings.token_env,
        )
        return None
    if not settings.url and (not token() or not config.home.discovery):
        return None  # nothing configured and nothing to log in with: Claw leaves Home Assistant alone

    async def locate() -> str:
        return await find_home_assistant(config.home.interfaces, config.home.subnets)

    return HomeAssistantLink(settings, registry=registry, token=token, notify=notify, guard=guard, locate=locate)
