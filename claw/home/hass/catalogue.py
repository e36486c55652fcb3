"""What Home Assistant offers Claw: its exposed entities, placed in their areas and floors, as Found devices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.home.device import Found
from claw.home.hass import entities

ASSISTANT = "conversation"  # HA's own Assist: what the owner exposed to voice assistants is what Claw may use
DRIVER = "hass"


@dataclass(frozen=True, slots=True)
class Offer:
    """One entity Home Assistant exposes: the device Claw makes of it, or why it is left alone."""

    entity_id: str
    name: str
    found: Found | None
    reason: str = ""  # why it is not taken (unsupported domain, disabled)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The answers of one full read of Home Assistant (each a list as its WebSocket command returns it)."""

    states: Sequence[Any]
    entities: Sequence[Any] = ()
    devices: Sequence[Any] = ()
    areas: Sequence[Any] = ()
    floors: Sequence[Any] = ()
    exposed: Mapping[str, Any] | None = None  # homeassistant/expose_entity/list; None: not allowed (no admin)


def device_id(entity_id: str) -> str:
    """The stable Claw id of an entity: readable, and what [[home.devices]] overrides name."""
    return f"ha.{entity_id}"


def exposed_ids(snapshot: Snapshot) -> set[str]:
    """Entities exposed to Assist: from HA's expose list, else from the entity registry's options; else none."""
    out: set[str] = set()
    if snapshot.exposed is not None:
        table = snapshot.exposed.get("exposed_entities", snapshot.exposed)
        if isinstance(table, Mapping):
            out = {str(k) for k, v in table.items() if isinstance(v, Mapping) and v.get(ASSISTANT) is True}
        return out
    for entry in _dicts(snapshot.entities):
        options = entry.get("options")
        conversation = options.get(ASSISTANT) if isinstance(options, Mapping) else None
        if isinstance(conversation, Mapping) and conversation.get("should_expose") is True:
            out.add(str(entry.get("entity_id")))
    return out


def offers(snapshot: Snapshot, address: str) -> list[Offer]:
    """Every exposed entity with a state, in entity id order: a Found for the ones Claw takes."""
    exposed = exposed_ids(snapshot)
    areas = {str(a.get("area_id")): a for a in _dicts(snapshot.areas)}
    floors = {str(f.get("floor_id")): str(f.get("name") or "") for f in _dicts(snapshot.floors)}
    devices = {str(d.get("id")): d for d in _dicts(snapshot.devices)}
    registry = {str(e.get("entity_id")): e for e in _dicts(snapshot.entities)}
    out: list[Offer] = []
    for state in sorted(_dicts(snapshot.states), key=lambda s: str(s.get("entity_id"))):
        entity_id = state.get("entity_id")
        if not isinstance(entity_id, str) or "." not in entity_id or entity_id not in exposed:
            continue
        attributes = state.get("attributes") if isinstance(state.get("attributes"), Mapping) else {}
        assert isinstance(attributes, Mapping)
        entry = registry.get(entity_id, {})
        device = devices.get(str(entry.get("device_id")), {})
        name = str(attributes.get("friendly_name") or entry.get("name") or entry.get("original_name") or "")
        name = name or entity_id.split(".", 1)[1].replace("_", " ")
        if entry.get("disabled_by"):
            out.append(Offer(entity_id, name, None, "disabled in Home Assistant"))
            continue
        info = entities.facts(entity_id, attributes)
        if info is None:
            out.append(Offer(entity_id, name, None, f"Claw does not drive {entity_id.split('.', 1)[0]} entities"))
            continue
        area = areas.get(str(entry.get("area_id") or device.get("area_id") or ""), {})
        if entry.get("unique_id"):
            info["unique_id"] = str(entry["unique_id"])
        if entry.get("id"):  # the registry entry's own id: the entity_id can be given to another entity
            info["registry_id"] = str(entry["id"])
        # the names the owner gave it and its area for Assist ("Reading Light", "Sleeping Room"): Claw's too
        if aliases := _names(entry.get("aliases")):
            info["aliases"] = aliases
        if area_aliases := _names(area.get("aliases")):
            info["area_aliases"] = area_aliases
        model = " ".join(str(device.get(k) or "") for k in ("manufacturer", "model")).strip()
        info["model"] = model or "Home Assistant"
        found = Found(
            id=device_id(entity_id),
            name=name,
            kind=entities.kind_of(info),
            driver=DRIVER,
            address=address,
            room=str(area.get("name") or ""),
            info=info,
            via="home-assistant",
            floor=floors.get(str(area.get("floor_id") or ""), ""),
        )
        out.append(Offer(entity_id, name, found))
    return out


def _names(items: Any) -> list[str]:
    """The non-empty strings of a list HA sent (aliases), in order, each once."""
    if not isinstance(items, list | tuple | set):
        return []
    return list(dict.fromkeys(str(i).strip() for i in items if isinstance(i, str) and i.strip()))


def _dicts(items: Any) -> list[Mapping[str, Any]]:
    """Only the well-formed entries of a list HA sent (a malformed one is skipped, never fatal)."""
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list | tuple) else []
