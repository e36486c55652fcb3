"""A discovered MQTT device is pinned to its source: which announcements apply at once and which wait for the owners.

A device is who announced it (its config topic) plus its id there. An announcement that would move a known
device to another config topic, change its kind or its command topics, take another device's command topic, or
take the name of a lock, alarm, garage door, gate or camera is held: the owners are told and decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from claw.core.untrusted import clean_name
from claw.home.device import Device
from claw.home.impostors import Held, namesake, what_is
from claw.home.impostors import a as _a
from claw.home.mqtt.discovery import Entity, parse_topic
from claw.home.targeting import norm


def command_topics(one: Entity) -> frozenset[str]:
    """Every topic a command for this entity is published on."""
    return frozenset(
        str(v)
        for k, v in one.config.items()
        if (k.endswith("command_topic") or k == "set_position_topic") and isinstance(v, str) and v
    )


def node(one: Entity, prefix: str) -> str:
    """The announcing node: `<node_id>` of `<prefix>/<component>/<node_id>/<object_id>/config`, else the object id.

    A broker ACL can give each bridge its own node id; topics shared inside one node (a device config's
    components, a bridge's entities of one device) are that bridge's business.
    """
    where = parse_topic(one.config_topic, prefix)
    return where[1].split("/")[0] if where else one.config_topic


def judge(
    one: Entity, pinned: Entity | None, known: Mapping[str, Entity], devices: Sequence[Device], prefix: str
) -> Held | None:
    """None when `one` may be applied now; otherwise why it is held.

    `pinned` is the entity this device id was last applied from (live or stored), `known` every other MQTT
    device's entity by id, `devices` every device in the registry (names are compared across all sources).
    """
    source = f"An MQTT config at {one.config_topic}"  # a config topic is plain: parse_topic allowed [A-Za-z0-9_-]
    called = clean_name(one.name)  # announced text goes to the owners: one bounded line
    if pinned is not None:
        name = clean_name(pinned.name)
        if pinned.config_topic != one.config_topic:
            why = f"{source}, using the ids of the {name} ({_a(pinned.kind)} announced at {pinned.config_topic}),"
            return Held(why, f"let it replace the {name}", name)
        source = f"The {name}'s MQTT config"
        if pinned.kind != one.kind:
            return Held(source, f"make the {name} {_a(one.kind)} (it is {_a(pinned.kind)})", name)
        before, after = command_topics(pinned), command_topics(one)
        if before != after:
            return Held(source, f"send the {name}'s commands to {_topics(after)} (not {_topics(before)})", name)
    here = node(one, prefix)
    mine = command_topics(one)
    for other_id, other in known.items():
        if other_id == one.id or node(other, prefix) == here:
            continue
        if shared := mine & command_topics(other):
            theirs = clean_name(other.name)
            why = (
                f"{source}, {_a(one.kind)} called '{called}' whose commands would go to {_topics(shared)}, the "
                f"command topic of the {theirs} ({what_is(other.kind)}),"
            )
            return Held(why, f"add the '{called}'", theirs)
    renamed = pinned is None or norm(pinned.name) != norm(one.name)
    commandable = any(c.writable for c in one.capabilities)  # a read-only "Front Door" sensor can't take commands
    if renamed and commandable and (twin := namesake(one.name, devices, one.id)) is not None:
        why = f"{source}, {_a(one.kind)} called '{called}' like your {what_is(twin.kind)} {twin.name},"
        return Held(why, f"add a second '{called}'", twin.name)
    return None


def _topics(topics: frozenset[str]) -> str:
    return ", ".join(clean_name(t) for t in sorted(topics)) or "no topic"  # command topics are announced text too
