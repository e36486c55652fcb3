"""A Driver built from a skill's declarations: state reads, actions and bridges, over HTTP to the bound device only."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

import jsonschema

from claw.core.errors import DeviceError, ToolError
from claw.home.capabilities import Capability
from claw.home.device import Device, Found
from claw.skills.convert import decode, encode, merge
from claw.skills.fields import capability_from_field, with_safety_floor
from claw.skills.format import Action, Lookup, Profile, Request, Skill, StateRead
from claw.skills.http import DeviceHttp, Prepared, prepare
from claw.skills.identity import identified
from claw.skills.pairing import Notify, Pairer, TokenStore
from claw.skills.paths import MISSING


class DeclarativeDriver:
    """Implements the Driver protocol from a SKILL.md; values are validated before any request is made."""

    def __init__(
        self, skill: Skill, *, timeout: float, tokens: TokenStore | None = None, notify: Notify | None = None
    ) -> None:
        self.name = skill.name
        self.skill = skill
        self.http = DeviceHttp(skill, timeout)
        self.pairer = (
            Pairer(skill, self.http, tokens, notify)
            if skill.auth.token_from == "pairing" and tokens is not None
            else None
        )
        self._validators: dict[int, jsonschema.Draft202012Validator] = {}

    async def close(self) -> None:
        await self.http.close()

    # ----------------------------------------------------------------- identity and bridges
    async def identify(self, found: Found) -> Found:
        """Pair if the skill needs it, fetch the identify document, render the identity with it."""
        spec = self.skill.device
        if spec is None:
            raise DeviceError(found.name, f"can't be used: the {self.name} skill declares no device")
        if self.pairer is not None and not found.id.startswith("pending:"):
            await self.pairer.ensure(found)
        info = None
        if spec.identify is not None:
            info = await self._call(found.name, found.address, spec.identify, _found_scope(found), key=found.id)
        result = identified(self.skill, found, info)
        if self.pairer is not None and found.id.startswith("pending:"):
            await self.pairer.ensure(result)
        return result

    async def expand(self, found: Found) -> list[Found] | None:
        """A bridge's devices (None when this skill's device is not a bridge)."""
        spec = self.skill.device.expand if self.skill.device is not None else None
        if spec is None:
            return None
        scope: dict[str, Any] = {"bridge": {**_found_scope(found)["device"], "info": dict(found.info)}}
        for name, lookup in spec.lookups.items():
            doc = await self._call(found.name, found.address, lookup.request, scope, key=found.id)
            scope[name] = _table(lookup, doc)
        doc = await self._call(found.name, found.address, spec.list, scope, key=found.id)
        children: list[Found] = []
        for item in spec.each.all(doc):
            here = {**scope, "item": item}
            index = next((i for i, v in enumerate(spec.variants) if _matches(v, here)), None)
            child_id = spec.id.render(here)
            if index is None or not child_id:
                continue
            info: dict[str, Any] = {"skill": self.name, "variant": index, "bridge": found.id}
            model = spec.model.render(here)
            if model:
                info["model"] = model
            info.update({k: t.value(here) for k, t in spec.keep.items()})
            variant = spec.variants[index]
            kind = variant.kind.render(here) or "switch"
            if variant.device_class is not None and (device_class := variant.device_class.render(here)):
                info["device_class"] = str(device_class)  # a curtain is not a window; a TV is not a speaker
            name = spec.name.render(here) or child_id
            children.append(
                Found(child_id, name, kind, self.name, found.address, spec.room.render(here), info, found.via)
            )
        return children

    # ----------------------------------------------------------------- the Driver protocol
    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        profile = self.profile(found.info)
        if profile is None:
            return ()
        caps = list(profile.capabilities)
        declared = {c.key for c in caps}
        fields = found.info.get("fields") if profile.fields_at is not None else None
        if isinstance(fields, Mapping):
            caps += [
                capability_from_field(found.kind, str(key), spec)
                for key, spec in fields.items()
                if str(key) not in declared and isinstance(spec, Mapping)
            ]
        covered = {c.key for c in caps} | {o for c in caps if c.type == "action" for o in c.options}
        for key, action in profile.actions.items():
            if key not in covered:
                label = action.description or key.replace("_", " ")
                sensitive = (key,) if action.sensitive else ()
                caps.append(Capability(key, "action", label, params=dict(action.params), sensitive=sensitive))
        return tuple(with_safety_floor(found.kind, c) for c in caps)

    async def read(self, device: Device) -> dict[str, Any]:
        profile = self._profile_of(device)
        state: dict[str, Any] = {}
        for block in profile.state:
            doc = await self._call(device.name, device.address, block.request, _device_scope(device), key=_key(device))
            state.update(self._state_from(block, doc, device))
        return state if profile.state else dict(device.state)

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Validate every value first (nothing is sent if one is wrong), then one request per target."""
        profile = self._profile_of(device)
        values: dict[str, Any] = {}
        for key, value in changes.items():
            cap = device.capability(key)
            if cap is None or cap.type == "action":
                raise ToolError(f"{device.name} has no setting '{key}'")
            values[key] = cap.validate(value)
            if key not in profile.actions and profile.write is None:
                raise ToolError(f"{device.name} can't set {key}")
        planned: list[tuple[Prepared, Action]] = []
        base = _device_scope(device)
        for key, value in values.items():
            action = profile.actions.get(key)
            if action is not None:
                _add(
                    planned,
                    prepare(action.request, {**base, "value": encode(action, value, device.capability(key))}),
                    action,
                )
        generic = {k: v for k, v in values.items() if k not in profile.actions}
        if generic and profile.write is not None:
            encoded = {k: encode(profile.write, v, device.capability(k)) for k, v in generic.items()}
            _add(planned, prepare(profile.write.request, {**base, "changes": encoded}), profile.write)
        return await self._send(device, profile, planned, values)

    async def act(
        self, device: Device, action: str, params: Mapping[str, Any], *, cleared: bool = False
    ) -> dict[str, Any]:
        """A named action: its params are checked against their JSON schema before any request."""
        profile = self._profile_of(device)
        spec = profile.actions.get(action)
        cap = device.capability(action)
        if spec is None or (cap is not None and cap.type != "action"):
            raise ToolError(f"{device.name} has no '{action}' action")
        problems = sorted(self._validator(spec).iter_errors(dict(params)), key=lambda e: list(e.path))
        if problems:
            where = ".".join(str(p) for p in problems[0].path) or "params"
            raise ToolError(f"{action} on {device.name}: {where}: {problems[0].message}")
        if spec.sensitive and not cleared:
            # Control holds sensitive actions for the owner's code; this only refuses a path that skipped it
            raise ToolError(f"{action} on {device.name} needs the owner's confirmation code")
        prepared = prepare(spec.request, {**_device_scope(device), "params": dict(params)})
        return await self._send(device, profile, [(prepared, spec)], {})

    # ----------------------------------------------------------------- helpers
    def profile(self, info: Mapping[str, Any]) -> Profile | None:
        spec = self.skill.device
        if spec is None:
            return None
        if spec.expand is not None:
            index = info.get("variant")
            ok = isinstance(index, int) and 0 <= index < len(spec.expand.variants)
            return spec.expand.variants[index] if ok else None  # type: ignore[index]
        return spec.profile

    def _profile_of(self, device: Device) -> Profile:
        profile = self.profile(device.info)
        if profile is None:
            raise DeviceError(device.name, f"does not fit the {self.name} skill any more; rediscover it")
        return profile

    def _validator(self, action: Action) -> jsonschema.Draft202012Validator:
        validator = self._validators.get(id(action))
        if validator is None:
            schema = {
                "type": "object",
                "properties": dict(action.params),
                "required": list(action.required),
                "additionalProperties": False,
            }
            validator = self._validators[id(action)] = jsonschema.Draft202012Validator(schema)
        return validator

    async def _send(
        self, device: Device, profile: Profile, planned: list[tuple[Prepared, Action]], values: dict[str, Any]
    ) -> dict[str, Any]:
        answer: Any = None
        for prepared, _ in planned:
            answer = await self.http.call(device.name, device.address, prepared, token=lambda: self._token(device))
        results = {action.result for _, action in planned}
        if results == {"state"} and len(planned) == 1 and profile.state:
            return {**device.state, **self._state_from(profile.state[0], answer, device)}
        if results == {"none"}:
            return {**device.state, **values}
        return await self.read(device)

    def _state_from(self, block: StateRead, doc: Any, device: Device) -> dict[str, Any]:
        if block.whole is not None:
            whole = block.whole.get(doc)
            return dict(whole) if isinstance(whole, Mapping) else {}
        out = {}
        for key, reading in block.values.items():
            raw = reading.at.get(doc)
            if raw is not MISSING:
                out[key] = decode(reading, raw, device.capability(key))
        return out

    def _token(self, device: Device) -> str | None:
        return self.pairer.token(_key(device)) if self.pairer is not None else None

    async def _call(self, label: str, address: str, request: Request, scope: dict[str, Any], *, key: str) -> Any:
        def token() -> str | None:
            return self.pairer.token(key) if self.pairer is not None else None

        return await self.http.call(label, address, prepare(request, scope), token=token)


class MissingDriver:
    """Stands in for a skill that was removed or cannot run, so its devices fail with a reason, not a crash."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    async def identify(self, found: Found) -> Found:
        raise DeviceError(found.name, self.reason)

    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        return ()

    async def read(self, device: Device) -> dict[str, Any]:
        raise DeviceError(device.name, self.reason)

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        raise DeviceError(device.name, self.reason)

    async def act(
        self, device: Device, action: str, params: Mapping[str, Any], *, cleared: bool = False
    ) -> dict[str, Any]:
        raise DeviceError(device.name, self.reason)


def _add(planned: list[tuple[Prepared, Action]], prepared: Prepared, action: Action) -> None:
    """Requests to the same method, path and query are merged into one (WLED: on and bri in one POST)."""
    for i, (other, other_action) in enumerate(planned):
        mergeable = isinstance(other.body, dict | list) and type(other.body) is type(prepared.body)
        if other.same_target(prepared) and mergeable and other.headers == prepared.headers:
            body = merge(other.body, prepared.body)
            planned[i] = (Prepared(other.method, other.path, other.query, body, other.headers), other_action)
            return
    planned.append((prepared, action))


def _matches(profile: Profile, scope: Mapping[str, Any]) -> bool:
    return all(fnmatch.fnmatchcase(template.render(scope), glob) for template, glob in profile.when)


def _table(lookup: Lookup, doc: Any) -> Any:
    if lookup.each is None:
        table = lookup.at.get(doc) if lookup.at is not None else doc
        return table if table is not MISSING else {}
    out: dict[str, Any] = {}
    assert lookup.key is not None and lookup.value is not None
    for entry in lookup.each.all(doc):
        value = lookup.value.get(entry)
        keys = lookup.key.get(entry)
        for key in keys if isinstance(keys, list) else [keys]:
            if key is not MISSING and value is not MISSING:
                out[str(key)] = value
    return out


def _key(device: Device) -> str:
    """Whose pairing token a device uses: its bridge's, or its own."""
    return str(device.info.get("bridge") or device.id)


def _found_scope(found: Found) -> dict[str, Any]:
    host, _, port = found.address.rpartition(":")
    return {
        "device": {
            "id": found.id,
            "name": found.name,
            "room": found.room,
            "address": found.address,
            "host": host,
            "port": port,
            "info": dict(found.info),
        }
    }


def _device_scope(device: Device) -> dict[str, Any]:
    return {
        "device": {
            "id": device.id,
            "name": device.name,
            "room": device.room,
            "kind": device.kind,
            "address": device.address,
            "host": device.host,
            "port": device.port,
            "info": dict(device.info),
        }
    }
