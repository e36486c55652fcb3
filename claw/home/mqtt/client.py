"""One connection to the MQTT broker: reconnects with backoff, re-subscribes, hands every message on in order."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable

import aiomqtt

from claw.core.backoff import Backoff
from claw.core.config import MqttConfig
from claw.core.errors import DeviceError
from claw.core.secrets import secret

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes, bool], Awaitable[None]]  # (topic, payload, retained)
OnConnection = Callable[[bool], Awaitable[None]]
NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small packets at once: no 40 ms Nagle wait per command
RECONNECT = Backoff(base=0.5, cap=30.0, jitter=True)


def credentials(config: MqttConfig) -> tuple[str | None, str | None]:
    """User and password from systemd credentials (mqtt_user, mqtt_password) or the environment."""
    return secret("mqtt_user", config.user_env), secret("mqtt_password", config.password_env)


def make_client(config: MqttConfig, *, identifier: str | None = None) -> aiomqtt.Client:
    """An aiomqtt client for the configured broker (TLS and credentials as configured)."""
    user, password = credentials(config)
    tls: ssl.SSLContext | None = None
    if config.tls:
        tls = ssl.create_default_context(cafile=config.ca_file or None)
    return aiomqtt.Client(
        config.host,
        config.port,
        bind_address=_loopback_source(config.host),
        username=user,
        password=password if user else None,
        identifier=identifier or config.client_id,
        keepalive=config.keepalive,
        tls_context=tls,
        timeout=10.0,
        socket_options=[NO_DELAY],
    )


def _loopback_source(host: str) -> str:
    """A broker on this machine is reached from loopback (paho would otherwise bind the wildcard address)."""
    try:
        return host if ipaddress.ip_address(host).is_loopback else ""
    except ValueError:
        return "127.0.0.1" if host == "localhost" else ""


class MqttLink:
    """The supervised client: `run` keeps it connected; `subscribe` and `publish` work across reconnects."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        on_message: OnMessage,
        on_connection: OnConnection,
        backoff: Backoff = RECONNECT,
    ) -> None:
        self.config, self.on_message, self.on_connection, self.backoff = config, on_message, on_connection, backoff
        self.topics: set[str] = set()
        self._client: aiomqtt.Client | None = None
        self.connects = 0  # successful connections so far (a reconnect makes it 2)

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    async def subscribe(self, topic: str) -> None:
        """Follow a topic now and after every reconnect (retained messages arrive again then)."""
        if topic in self.topics:
            return
        self.topics.add(topic)
        client = self._client
        if client is not None:
            try:
                await client.subscribe(topic, qos=1)
            except aiomqtt.MqttError as exc:  # the connection is going: the next one subscribes again
                log.debug("subscribing to %s failed: %s", topic, exc)

    async def publish(self, topic: str, payload: str, *, qos: int = 0, retain: bool = False, who: str = "") -> None:
        client = self._client
        if client is None:
            problem = f"can't be reached: the MQTT broker at {self.address} is down"
            raise DeviceError(who or "MQTT", problem, unreachable=True)
        try:
            await client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as exc:
            problem = f"can't be reached: the MQTT broker dropped ({exc})"
            raise DeviceError(who or "MQTT", problem, unreachable=True) from None

    async def run(self) -> None:
        """Connect, subscribe, deliver; on a drop wait (doubling, capped) and do it again. Runs until cancelled."""
        failures = 0
        while True:
            client = make_client(self.config)
            try:
                async with client:
                    for topic in sorted(self.topics):
                        await client.subscribe(topic, qos=1)
                    self._client = client
                    self.connects += 1
                    if failures:
                        log.info("MQTT broker at %s is back", self.address)
                    else:
                        log.info("connected to the MQTT broker at %s", self.address)
                    failures = 0
                    await self.on_connection(True)
                    async for message in client.messages:
                        raw = message.payload
                        data = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()
                        await self.on_message(message.topic.value, data, message.retain)
            except aiomqtt.MqttError as exc:
                if failures == 0:
                    log.warning("MQTT broker at %s: %s; reconnecting with backoff", self.address, exc)
            finally:  # cancelled (shutting down) as well as dropped: nothing may publish on this client now
                was, self._client = self._client is not None, None
            if was:  # a drop, not a shutdown: the devices are unreachable until the broker is back
                await self.on_connection(False)
            failures += 1
            await asyncio.sleep(self.backoff.delay(failures))
