"""What the broker offers: every retained discovery config, and what Claw would make of each (for `claw discover`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from claw.core.config import MqttConfig
from claw.home.mqtt.client import make_client
from claw.home.mqtt.discovery import Entity, Refused, parse, parse_topic

QUIET = 0.5  # seconds without a new config after which the retained ones are taken to be all


@dataclass(frozen=True, slots=True)
class Offer:
    topic: str
    entities: tuple[Entity, ...] = ()
    reason: str = ""  # why Claw refuses it, when it does


async def survey(config: MqttConfig, wait: float) -> list[Offer]:
    """Connect once, read the retained configs under the discovery prefix (at most `wait` s); MqttError if no broker."""
    offers: dict[str, Offer] = {}
    client = make_client(config, identifier=f"{config.client_id}-discover")
    async with client:
        await client.subscribe(f"{config.discovery_prefix}/#", qos=1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (left := deadline - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(anext(client.messages), min(QUIET, left))
            except TimeoutError:
                break
            topic = message.topic.value
            if parse_topic(topic, config.discovery_prefix) is None:
                continue
            raw = message.payload
            payload = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()
            if not payload.strip():
                offers.pop(topic, None)
                continue
            try:
                offers[topic] = Offer(topic, tuple(parse(topic, payload, config.discovery_prefix)))
            except Refused as exc:
                offers[topic] = Offer(topic, reason=str(exc))
    return sorted(offers.values(), key=lambda o: o.topic)
