"""A Home Assistant device is pinned to its entity registry entry: what would change who it is waits for the owners.

Claw's id for an entity is its entity_id, which anyone with Home Assistant's admin rights can give to another
entity. The registry entry's own id (and the integration's unique_id) say whether it is still the same thing; a
new entity named like a lock, alarm, garage door, gate or camera Claw already knows is held too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from claw.core.untrusted import clean_name
from claw.home.device import Device, Found
from claw.home.impostors import Held, a, namesake, what_is

PINS = ("registry_id", "unique_id")  # info keys that say which HA entity this is, in order of trust


def judge(found: Found, known: Device | None, devices: Sequence[Device], *, commandable: bool) -> Held | None:
    """None when the offer may be taken now; otherwise who asks what, for the owners' code prompt."""
    entity_id = clean_name(str(found.info.get("entity_id") or found.id))
    source = f"Home Assistant's {entity_id}"
    called = clean_name(found.name)  # HA's friendly_name goes to the owners: one bounded line
    if known is None:
        twin = namesake(found.name, devices, found.id) if commandable else None
        if twin is None:  # a read-only "Front Door" sensor next to the lock can't take its commands
            return None
        why = f"{source}, {a(found.kind)} called '{called}' like your {what_is(twin.kind)} {twin.name},"
        return Held(why, f"add a second '{called}'", twin.name)
    for key in PINS:
        before, after = _pin(known.info, key), _pin(found.info, key)
        if before and after and before != after:
            why = f"{source}, now another entity ({key} {after}, was {before}),"
            return Held(why, f"let it be the {known.name}", known.name)
    if known.kind != found.kind:
        return Held(source, f"make the {known.name} {a(found.kind)} (it is {a(known.kind)})", known.name)
    return None


def _pin(info: Mapping[str, Any], key: str) -> str:
    value = info.get(key)
    return clean_name(str(value)) if isinstance(value, str | int) and value != "" else ""
