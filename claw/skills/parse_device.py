"""Reading the `claw.device` block: requests (paths only, never hosts), readings, capabilities, actions, bridges."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

import jsonschema

from claw.core.errors import ClawError
from claw.home.capabilities import Capability
from claw.home.device import KIND_WORDS
from claw.skills.check import Checker, FieldPath
from claw.skills.fields import COMMON, action_is_sensitive
from claw.skills.format import METHODS, Action, DeviceSpec, Expand, Lookup, Profile, Reading, Request, StateRead
from claw.skills.paths import parse_path
from claw.skills.templates import Template, compile_shape, shape_templates

IDENTITY_ROOTS = frozenset({"txt", "header", "name", "host", "port", "address", "via", "info", "static"})
DEVICE_ROOTS = frozenset({"device"})
KINDS = frozenset({*KIND_WORDS, "bridge"})
_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
_UNSAFE_PATH = re.compile(r"[\s\\#]|://|^//|@")
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
REQUEST_KEYS = ("method", "path", "query", "body", "headers")
ACTION_KEYS = (*REQUEST_KEYS, "values", "scale", "as", "params", "required", "sensitive", "result", "description")
PROFILE_KEYS = ("kind", "class", "capabilities", "capabilities_from", "state", "actions", "write")
IDENTITY_KEYS = ("id", "name", "room", "model", "identify")
CAPABILITY_KEYS = ("key", "use", "type", "label", "unit", "min", "max", "step", "options", "writable", "sensitive")
AS_TYPES = ("number", "integer", "string", "boolean")


def request(c: Checker, data: Any, path: FieldPath, roots: Collection[str], *, check_keys: bool = True) -> Request:
    """A request to the bound device; its path must start with '/' so no template can change the host."""
    raw = c.mapping(data, path, REQUEST_KEYS if check_keys else None)
    method = str(raw.get("method", "GET")).upper()
    if method not in METHODS:
        c.error((*path, "method"), f"must be one of {', '.join(METHODS)}, not {raw.get('method')!r}")
    text = raw.get("path")
    if not isinstance(text, str) or not text:
        c.error((*path, "path"), "is required: the path on the device, starting with '/'")
        text = "/"
    elif not text.startswith("/") or _UNSAFE_PATH.search(text):
        c.error(
            (*path, "path"),
            f"{text!r} is not allowed: requests go only to the device Claw found, so give a path that "
            "starts with '/' (no URL, no other host, no '@', backslash or '#')",
        )
        text = "/"
    template = c.template(text, (*path, "path"), roots)
    query = c.mapping(raw.get("query"), (*path, "query"))
    headers: dict[str, Template] = {}
    for name, value in c.mapping(raw.get("headers"), (*path, "headers")).items():
        if name.lower() in _FORBIDDEN_HEADERS:
            c.error((*path, "headers", name), f"a skill may not set the {name} header")
            continue
        headers[name] = c.template(value, (*path, "headers", name), roots)
    body = compile_shape(raw.get("body"))
    for part, shape in (("query", compile_shape(query)), ("body", body)):
        for t in shape_templates(shape):
            c.check_roots(t, (*path, part), roots)
    return Request(method, template, compile_shape(query), body, headers)


def reading(c: Checker, data: Any, path: FieldPath) -> Reading | None:
    """`$.path` or {at, map, scale, as}."""
    if isinstance(data, str):
        at = c.path(data, path)
        return Reading(at) if at is not None else None
    raw = c.mapping(data, path, ("at", "map", "scale", "as"), what="a JSON path or {at, map, scale, as}")
    at = c.path(raw.get("at"), (*path, "at"))
    if at is None:
        if "at" not in raw:
            c.error((*path, "at"), "is required: where the value is, like $.state.on")
        return None
    return Reading(
        at,
        c.table(raw.get("map"), (*path, "map")),
        scale(c, raw.get("scale"), (*path, "scale")),
        c.choice(raw.get("as"), (*path, "as"), AS_TYPES, ""),
    )


def scale(c: Checker, data: Any, path: FieldPath) -> tuple[float, float] | None:
    if data is None:
        return None
    if (
        not isinstance(data, list)
        or len(data) != 2
        or any(isinstance(v, bool) or not isinstance(v, int | float) for v in data)
        or data[0] == data[1]
    ):
        c.error(path, "must be the device's range for the capability's range, like [0, 255]")
        return None
    return (data[0], data[1])


def capabilities(c: Checker, data: Any, path: FieldPath) -> tuple[Capability, ...]:
    out: list[Capability] = []
    for i, item in enumerate(c.items(data, path)):
        where = (*path, i)
        raw = c.mapping(item, where, CAPABILITY_KEYS)
        cap = _capability(c, raw, where)
        if cap is not None:
            if any(o.key == cap.key for o in out):
                c.error(where, f"capability '{cap.key}' is declared twice")
            out.append(cap)
    return tuple(out)


def _capability(c: Checker, raw: dict[str, Any], where: FieldPath) -> Capability | None:
    overrides: dict[str, Any] = {}
    for name in ("label", "unit"):
        if name in raw:
            overrides[name] = c.string(raw[name], (*where, name))
    for name in ("min", "max", "step"):
        if name in raw:
            overrides[name] = c.number(raw[name], (*where, name), 0.0)
    if "options" in raw:
        overrides["options"] = c.strings(raw["options"], (*where, "options"))
    if "writable" in raw:
        overrides["writable"] = c.boolean(raw["writable"], (*where, "writable"), True)
    sensitive = tuple(c.items(raw.get("sensitive"), (*where, "sensitive")))
    if "use" in raw:
        name = c.string(raw["use"], (*where, "use"), required=True)
        base = COMMON.get(name)
        if base is None:
            c.error((*where, "use"), f"no common capability '{name}' (known: {', '.join(sorted(COMMON))})")
            return None
        if "type" in raw:
            c.error((*where, "type"), "comes with `use`; leave it out or declare your own `key` instead")
        if "key" in raw:
            overrides["key"] = c.string(raw["key"], (*where, "key"))
        # a skill may add sensitive values to a common capability, never take its own away
        cap = replace(
            base, **overrides, sensitive=(*base.sensitive, *(v for v in sensitive if v not in base.sensitive))
        )
    else:
        key = c.string(raw.get("key"), (*where, "key"), required=True)
        if key and not _KEY.match(key):
            c.error((*where, "key"), f"{key!r} must be lower case letters, digits and _")
        kind = c.choice(raw.get("type"), (*where, "type"), ("switch", "number", "choice", "sensor", "action"), "")
        if not kind:
            if "type" not in raw:
                c.error(
                    (*where, "type"), "is required (switch, number, choice, sensor or action), or `use` a common one"
                )
            return None
        cap = Capability(key, kind, **overrides, sensitive=sensitive)  # type: ignore[arg-type]
    if cap.type == "sensor" and overrides.get("writable"):
        c.error((*where, "writable"), "a sensor is read-only")
    if cap.type == "choice" and not cap.options:
        c.error((*where, "options"), "a choice needs its options")
    if cap.min is not None and cap.max is not None and cap.min >= cap.max:
        c.error((*where, "max"), "must be more than min")
    if cap.writable and cap.type not in ("action", "sensor"):
        for i, value in enumerate(sensitive):
            try:
                cap.validate(value)
            except ClawError as exc:
                c.error((*where, "sensitive", i), f"{value!r} is not a value of this capability ({exc})")
    return cap


def action(c: Checker, key: str, data: Any, path: FieldPath, roots: Collection[str], *, named: bool) -> Action:
    raw = c.mapping(data, path, ACTION_KEYS)
    req = request(c, raw, path, roots, check_keys=False)
    params = c.mapping(raw.get("params"), (*path, "params"))
    required = c.strings(raw.get("required"), (*path, "required"))
    if params or required:
        if not named:
            c.error((*path, "params"), "only named actions take params; a capability action gets {value}")
        schema = {"type": "object", "properties": params, "required": list(required)}
        try:
            if not all(_plain_schema(p) for p in params.values()):  # the full check costs ~1 ms a skill
                jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = [p for p in exc.absolute_path if p not in ("properties",)]
            c.error((*path, "params", *where), f"is not a valid JSON schema: {exc.message}")
        for name in required:
            if name not in params:
                c.error((*path, "required"), f"'{name}' is required but not among the params")
    result = c.choice(raw.get("result"), (*path, "result"), ("read", "state", "none"), "read")
    declared = c.boolean(raw.get("sensitive"), (*path, "sensitive"), False)
    if declared and not named:
        c.error((*path, "sensitive"), "mark the capability's sensitive values instead (like sensitive: [false])")
    return Action(
        key=key,
        request=req,
        values=c.table(raw.get("values"), (*path, "values")),
        scale=scale(c, raw.get("scale"), (*path, "scale")),
        as_type=c.choice(raw.get("as"), (*path, "as"), AS_TYPES, ""),
        params=params,
        required=required,
        sensitive=named and action_is_sensitive(key, declared),
        result=result,  # type: ignore[arg-type]
        description=c.string(raw.get("description"), (*path, "description")),
    )


_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_LENGTH_KEYS = frozenset({"minLength", "maxLength", "minItems", "maxItems"})
_TEXT_KEYS = frozenset({"description", "title"})


def _plain_schema(schema: Any) -> bool:
    """True for the usual small schemas ({type, minimum, enum, ...}), which are valid by construction."""
    if not isinstance(schema, Mapping):
        return False
    for key, value in schema.items():
        if key == "type":
            types = value if isinstance(value, list) else [value]
            if not types or not all(isinstance(t, str) and t in _JSON_TYPES for t in types):
                return False
        elif key in _NUMBER_KEYS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
        elif key in _LENGTH_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return False
        elif key in _TEXT_KEYS:
            if not isinstance(value, str):
                return False
        elif key == "enum":
            if not isinstance(value, list) or not value:
                return False
        elif key == "items":
            if not _plain_schema(value):
                return False
        elif key != "default":
            return False
    return True


def state(c: Checker, data: Any, path: FieldPath, roots: Collection[str]) -> tuple[StateRead, ...]:
    blocks = data if isinstance(data, list) else [data] if data is not None else []
    out = []
    for i, block in enumerate(blocks):
        where = (*path, i) if isinstance(data, list) else path
        raw = c.mapping(block, where, ("request", "values"))
        if "request" not in raw:
            c.error((*where, "request"), "is required: {path: /state} and optionally method, query, body")
        req = request(c, raw.get("request"), (*where, "request"), roots)
        values = raw.get("values")
        if isinstance(values, str):
            out.append(StateRead(req, whole=c.path(values, (*where, "values"))))
            continue
        readings: dict[str, Reading] = {}
        for key, item in c.mapping(values, (*where, "values"), what="a mapping of capability to JSON path").items():
            r = reading(c, item, (*where, "values", key))
            if r is not None:
                readings[key] = r
        out.append(StateRead(req, readings))
    return tuple(out)


def profile(
    c: Checker, raw: Mapping[str, Any], path: FieldPath, *, python: bool, kind_roots: Collection[str]
) -> Profile:
    """kind, capabilities, state, actions and write, cross-checked so every writable capability can be set."""
    kind = c.template(raw.get("kind"), (*path, "kind"), kind_roots)
    if raw.get("kind") is None:
        c.error((*path, "kind"), f"is required: one of {', '.join(sorted(KINDS))}")
    elif kind.is_literal and kind.text not in KINDS:
        c.error((*path, "kind"), f"unknown kind {kind.text!r} (known: {', '.join(sorted(KINDS))})")
    caps = capabilities(c, raw.get("capabilities"), (*path, "capabilities"))
    fields_at = None
    if "capabilities_from" in raw:
        source = c.mapping(raw["capabilities_from"], (*path, "capabilities_from"), ("at",))
        fields_at = c.path(source.get("at", "$"), (*path, "capabilities_from", "at"))
    states = state(c, raw.get("state"), (*path, "state"), DEVICE_ROOTS)
    by_key = {cap.key: cap for cap in caps}
    action_options = {o for cap in caps if cap.type == "action" for o in cap.options}
    actions: dict[str, Action] = {}
    for key, item in c.mapping(raw.get("actions"), (*path, "actions")).items():
        cap = by_key.get(key)
        named = cap is None or cap.type == "action"
        if cap is not None and not cap.writable:
            c.error((*path, "actions", key), f"capability '{key}' is read-only; make it writable or drop this action")
        if not _KEY.match(key):
            c.error((*path, "actions", key), f"{key!r} must be lower case letters, digits and _", at_key=True)
        roots = {"device", "params"} if named or key in action_options else {"device", "value"}
        actions[key] = action(c, key, item, (*path, "actions", key), roots, named=named)
    write = None
    if "write" in raw:
        write = action(c, "*", raw["write"], (*path, "write"), {"device", "changes"}, named=False)
    for i, cap in enumerate(caps):
        settable = cap.writable and cap.type not in ("sensor", "action")
        if settable and cap.key not in actions and write is None and not python:
            c.error(
                (*path, "capabilities", i),
                f"'{cap.key}' is writable but nothing sets it: add actions.{cap.key} (or a `write`), "
                "or mark it writable: false",
            )
    for i, block in enumerate(states):
        for key in block.values:
            if key not in by_key and fields_at is None:
                where = (
                    (*path, "state", i, "values", key)
                    if isinstance(raw.get("state"), list)
                    else (*path, "state", "values", key)
                )
                c.error(where, f"'{key}' is not a declared capability", at_key=True)
    device_class = c.template(raw["class"], (*path, "class"), kind_roots) if raw.get("class") else None
    return Profile(kind, caps, fields_at, states, actions, write, device_class=device_class)


def device(c: Checker, data: Any, path: FieldPath, *, python: bool) -> DeviceSpec:
    expanding = isinstance(data, Mapping) and "expand" in data
    known = (*IDENTITY_KEYS, "expand") if expanding else (*IDENTITY_KEYS, *PROFILE_KEYS)
    raw = c.mapping(data, path, known)
    if "id" not in raw:
        c.error((*path, "id"), 'is required: a stable id from the announcement, like "{txt.id}" (never the IP)')
    identify = request(c, raw["identify"], (*path, "identify"), DEVICE_ROOTS) if "identify" in raw else None
    spec = DeviceSpec(
        id=c.template(raw.get("id"), (*path, "id"), IDENTITY_ROOTS),
        name=c.template(raw.get("name"), (*path, "name"), IDENTITY_ROOTS, default="{name}"),
        room=c.template(raw.get("room"), (*path, "room"), IDENTITY_ROOTS),
        model=c.template(raw.get("model"), (*path, "model"), IDENTITY_ROOTS),
        identify=identify,
    )
    if spec.id.is_literal:
        c.error((*path, "id"), 'must come from the device (a template like "{txt.id}"), or every device would share it')
    if expanding:
        return replace(spec, expand=expand(c, raw["expand"], (*path, "expand"), python=python))
    return replace(spec, profile=profile(c, raw, path, python=python, kind_roots=IDENTITY_ROOTS))


def expand(c: Checker, data: Any, path: FieldPath, *, python: bool) -> Expand:
    keys = ("lookups", "list", "each", "id", "name", "room", "model", "keep", "variants")
    raw = c.mapping(data, path, keys)
    lookups: dict[str, Lookup] = {}
    for name, item in c.mapping(raw.get("lookups"), (*path, "lookups")).items():
        where = (*path, "lookups", name)
        if not _KEY.match(name) or name in ("item", "bridge"):
            c.error(where, f"{name!r} must be lower case letters, digits and _ (and not item or bridge)", at_key=True)
        look = c.mapping(item, where, ("request", "at", "each", "key", "value"))
        lookups[name] = Lookup(
            request(c, look.get("request"), (*where, "request"), {"bridge"}),
            c.path(look.get("at"), (*where, "at")),
            c.path(look.get("each"), (*where, "each"), wildcard=True),
            c.path(look.get("key"), (*where, "key"), wildcard=True),
            c.path(look.get("value"), (*where, "value")),
        )
        if lookups[name].each is not None and (lookups[name].key is None or lookups[name].value is None):
            c.error(where, "with `each`, give `key` and `value` (paths inside each item)")
    item_roots = {"item", "bridge", *lookups}
    if "list" not in raw:
        c.error((*path, "list"), "is required: the request that lists the bridge's devices, like {path: /api/states}")
    variants = []
    for i, item in enumerate(c.items(raw.get("variants"), (*path, "variants"))):
        where = (*path, "variants", i)
        v = c.mapping(item, where, (*PROFILE_KEYS, "when"))
        prof = profile(c, v, where, python=python, kind_roots=item_roots)
        when = tuple(
            (c.template(k, (*where, "when", k), item_roots), c.string(g, (*where, "when", k)))
            for k, g in c.mapping(v.get("when"), (*where, "when"), what="a mapping of template to glob").items()
        )
        variants.append(replace(prof, when=when))
    if not variants:
        c.error((*path, "variants"), "needs at least one variant (kind, capabilities, state, actions)")
    keep = {}
    for name, value in c.mapping(raw.get("keep"), (*path, "keep")).items():
        if name in ("skill", "model", "fields", "variant", "bridge"):
            c.error((*path, "keep", name), f"'{name}' is reserved", at_key=True)
        keep[name] = c.template(value, (*path, "keep", name), item_roots)
    ident = c.template(raw.get("id"), (*path, "id"), item_roots)
    if "id" not in raw:
        c.error((*path, "id"), 'is required: a stable id per item, like "{bridge.id}-{item.id}"')
    return Expand(
        list=request(c, raw.get("list"), (*path, "list"), {"bridge"}),
        each=c.path(raw.get("each", "$[*]"), (*path, "each"), wildcard=True) or parse_path("$[*]"),
        id=ident,
        name=c.template(raw.get("name"), (*path, "name"), item_roots, default="{item.name}"),
        room=c.template(raw.get("room"), (*path, "room"), item_roots),
        model=c.template(raw.get("model"), (*path, "model"), item_roots),
        variants=tuple(variants),
        lookups=lookups,
        keep=keep,
    )
