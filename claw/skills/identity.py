"""From an announcement (mDNS, SSDP) or a static host to a Found, through the skill's identity templates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from claw.core.config import StaticDevice
from claw.core.errors import DeviceError
from claw.home.device import Found
from claw.home.discovery import Announcement
from claw.skills.format import Skill

PENDING = "pending:"  # an id that needs the identify document; replaced before the registry sees it


def announce_scope(a: Announcement) -> dict[str, Any]:
    """What identity templates can read about an announcement: txt, header, name, host, port, address, via."""
    return {
        "txt": dict(a.properties),
        "header": dict(a.headers),
        "name": a.name,
        "host": a.host,
        "port": a.port,
        "address": f"{a.host}:{a.port}",
        "via": a.via,
    }


def to_found(skill: Skill, a: Announcement) -> Found | None:
    """The Found for an announcement this skill's matcher accepted (provisional until identified)."""
    return _found(skill, announce_scope(a), a.via)


def static_found(skill: Skill, entry: StaticDevice) -> Found:
    """A host listed in [[home.static]]: its name and room come from the config when given."""
    host, _, port = entry.host.partition(":")
    port_number = int(port) if port.isdigit() else skill.http.port
    scope: dict[str, Any] = {
        "txt": {},
        "header": {},
        "name": entry.name,
        "host": host,
        "port": port_number,
        "address": f"{host}:{port_number}",
        "via": "static",
        "static": {"name": entry.name, "room": entry.room, "host": entry.host},
    }
    found = _found(skill, scope, "static")
    assert found is not None
    return found


def _found(skill: Skill, scope: dict[str, Any], via: str) -> Found | None:
    spec = skill.device
    if spec is None:
        return None
    device_id = spec.id.render(scope) or f"{PENDING}{skill.name}@{scope['address']}"
    static = scope.get("static") or {}
    name = static.get("name") or spec.name.render(scope) or scope["name"] or skill.name
    room = static.get("room") or spec.room.render(scope)
    kind = (
        "bridge" if spec.expand is not None else (spec.profile.kind.render(scope) if spec.profile else "") or "switch"
    )
    return Found(device_id, name, kind, skill.name, scope["address"], room, {"announce": scope}, via)


def identified(skill: Skill, found: Found, info: Any) -> Found:
    """Render the identity again with the identify document (`info`); the announcement data is dropped."""
    spec = skill.device
    assert spec is not None
    scope = dict(found.info.get("announce") or {})
    host, _, port = found.address.rpartition(":")
    scope.setdefault("host", host)
    scope.setdefault("port", int(port) if port.isdigit() else skill.http.port)
    scope.setdefault("address", found.address)
    scope.setdefault("name", found.name)
    scope.setdefault("txt", {})
    scope.setdefault("header", {})
    scope["info"] = info if info is not None else {}
    static = scope.get("static") or {}
    device_id = spec.id.render(scope)
    if not device_id:
        raise DeviceError(found.name, f"gave no id for the {skill.name} skill's device.id ({spec.id.text})")
    own = spec.id.render({**scope, "txt": {}, "header": {}}) if info is not None else ""
    if own and _plain(own) != _plain(device_id):  # what it announced is not what it says when asked: an impostor
        raise DeviceError(found.name, f"announces the id {device_id} but its own answer says {own}: not trusted")
    data: dict[str, Any] = {"skill": skill.name}
    model = spec.model.render(scope)
    if model:
        data["model"] = model
    kind = "bridge"
    if spec.profile is not None:
        kind = spec.profile.kind.render(scope) or "switch"
        if spec.profile.device_class is not None and (device_class := spec.profile.device_class.render(scope)):
            data["device_class"] = str(device_class)
        if spec.profile.fields_at is not None:
            fields = spec.profile.fields_at.get(info)
            data["fields"] = fields if isinstance(fields, dict) else {}
    return replace(
        found,
        id=device_id,
        name=static.get("name") or spec.name.render(scope) or found.name,
        room=static.get("room") or spec.room.render(scope) or found.room,
        kind=kind,
        driver=skill.name,
        info=data,
    )


def _plain(device_id: str) -> str:
    """An id as announcements and answers both write it (Hue: lower case in mDNS, upper case over HTTP)."""
    return "".join(ch for ch in device_id.lower() if ch.isalnum())
