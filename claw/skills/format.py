"""The SKILL.md format as values: YAML frontmatter (Agent Skills) plus a `claw:` block, and a Markdown body.

```
---
name: acme-plug                      # lower case, digits and hyphens; the folder's name
description: One line the model sees in every prompt.
requires: {env: [ACME_TOKEN], bins: [], python: []}
claw:
  matchers: [{mdns: _acme._tcp, name: "acme-*"}, {ssdp: "urn:acme:device:plug:1"}, {static: true}]
  http: {scheme: http, port: 80, verify_tls: true, errors: [$.message]}
  auth: {type: bearer, token_env: ACME_TOKEN}          # none | basic | bearer | header | query
  pairing: {steps: [...], request: {...}, token: $.key}
  device:
    id: "{txt.serial}"   name: "{info.name|name}"   room: ""   kind: switch   model: "Acme Plug"
    identify: {path: /info}                           # fetched once; `info` in templates
    capabilities: [{use: power}, {key: watts, type: sensor, unit: W}]
    capabilities_from: {at: $.fields}                 # the device describes its own fields
    state: {request: {path: /relay}, values: {on: {at: $.relay.state, map: {"ON": true, "OFF": false}}}}
    actions: {on: {method: PUT, path: /relay, body: {state: "{value}"}, values: {true: "ON", false: "OFF"}}}
    write: {method: POST, path: /state, body: "{changes}"}   # one request for any capability
    expand: {...}                                     # a bridge: one announcement, many devices
  routines: [{name: ..., triggers: [...], actions: [...]}]
  driver: python                                      # with module: driver.py (allowed by name only)
---
Guidance for the model, loaded by the skill_guide tool only when it is needed.
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from claw.home.capabilities import Capability
from claw.home.routines import Routine
from claw.skills.paths import JsonPath
from claw.skills.templates import Shape, Template

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
Result = Literal["read", "state", "none"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a skill: where (file, line, field) and what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def describe(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request to the bound device: only a path on its host:port, never a URL."""

    method: str
    path: Template
    query: Mapping[str, Shape] = field(default_factory=dict)
    body: Shape = None
    headers: Mapping[str, Template] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reading:
    """How one state value is read from a response: where, then map, type and scale."""

    at: JsonPath
    map: Mapping[Any, Any] = field(default_factory=dict)
    scale: tuple[float, float] | None = None  # the device's range for the capability's min..max
    as_type: str = ""  # number, integer, string, boolean


@dataclass(frozen=True, slots=True)
class StateRead:
    """One request and the values read from its answer (or `whole`: the answer is the state object)."""

    request: Request
    values: Mapping[str, Reading] = field(default_factory=dict)
    whole: JsonPath | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """Setting a capability (`{value}`) or a named action (`{params.x}`), as one request."""

    key: str
    request: Request
    values: Mapping[Any, Any] = field(default_factory=dict)  # capability value -> what `{value}` becomes
    scale: tuple[float, float] | None = None
    as_type: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)  # JSON schema properties
    required: tuple[str, ...] = ()
    sensitive: bool = False
    result: Result = "read"
    description: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """What a device of this skill is and does; a bridge's variants are profiles too."""

    kind: Template
    capabilities: tuple[Capability, ...] = ()
    fields_at: JsonPath | None = None  # capabilities_from: where the identify document lists fields
    state: tuple[StateRead, ...] = ()
    actions: Mapping[str, Action] = field(default_factory=dict)
    write: Action | None = None
    when: tuple[tuple[Template, str], ...] = ()  # variant filter: template -> glob
    device_class: Template | None = None  # door, window, curtain, blind, garage, contact, motion, tv ... (`class:`)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A table fetched before expanding: `at` is the table, or `each` item's `key` values map to `value`."""

    request: Request
    at: JsonPath | None = None
    each: JsonPath | None = None
    key: JsonPath | None = None
    value: JsonPath | None = None


@dataclass(frozen=True, slots=True)
class Expand:
    """A bridge: list items from one request, each item matching a variant becomes a device."""

    list: Request
    each: JsonPath
    id: Template
    name: Template
    room: Template
    model: Template
    variants: tuple[Profile, ...]
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    keep: Mapping[str, Template] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """How an announcement becomes a device: identity templates, an optional identify request, a profile."""

    id: Template
    name: Template
    room: Template
    model: Template
    identify: Request | None = None
    profile: Profile | None = None
    expand: Expand | None = None


@dataclass(frozen=True, slots=True)
class MatchSpec:
    mdns: str = ""  # full service type, "_shelly._tcp.local."
    name: str = "*"  # glob on the mDNS instance name
    ssdp: str = ""  # SSDP search target
    headers: Mapping[str, str] = field(default_factory=dict)  # globs on SSDP headers
    static: bool = False  # hosts listed in [[home.static]] with this skill


@dataclass(frozen=True, slots=True)
class Http:
    scheme: str = "http"
    port: int = 80  # for static hosts given without a port
    verify_tls: bool = True
    errors: tuple[JsonPath, ...] = ()  # where an error answer says what went wrong


@dataclass(frozen=True, slots=True)
class Auth:
    type: str = "none"  # none, basic, bearer, header, query
    username_env: str = ""
    password_env: str = ""
    token_env: str = ""
    token_from: str = ""  # "pairing": the token the pairing request returned
    header: str = ""  # for type header
    param: str = ""  # for type query

    def env_names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.username_env, self.password_env, self.token_env) if n)


@dataclass(frozen=True, slots=True)
class Pairing:
    steps: tuple[str, ...] = ()
    request: Request | None = None
    token: JsonPath | None = None
    error: JsonPath | None = None
    every: float = 1.0
    timeout: float = 90.0


@dataclass(frozen=True, slots=True)
class Requirements:
    env: tuple[str, ...] = ()
    bins: tuple[str, ...] = ()
    python: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skill:
    """A valid skill, ready to register."""

    name: str
    description: str
    path: Path  # the SKILL.md
    body: str = ""
    requires: Requirements = field(default_factory=Requirements)
    matchers: tuple[MatchSpec, ...] = ()
    http: Http = field(default_factory=Http)
    auth: Auth = field(default_factory=Auth)
    pairing: Pairing | None = None
    device: DeviceSpec | None = None
    routines: tuple[Routine, ...] = ()
    # More ways to say things: language -> intent (HassTurnOn, ClawRunRoutine ...) -> hassil sentence templates
    sentences: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    driver: str = "declarative"  # or "python"
    module: str = ""
    warnings: tuple[Problem, ...] = ()  # sentence templates left out (the rest of the skill works)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def drives_devices(self) -> bool:
        return self.device is not None or self.driver == "python"

    def profiles(self) -> tuple[Profile, ...]:
        if self.device is None:
            return ()
        if self.device.expand is not None:
            return self.device.expand.variants
        return (self.device.profile,) if self.device.profile is not None else ()
