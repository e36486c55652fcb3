"""The few intent-level tools the model gets for the home (not one tool per device)."""

from __future__ import annotations

from typing import Any

from claw.assistant.speech import said_in, say_results, say_routine
from claw.assistant.toolbox import Tool, Tools, current_request
from claw.core.units import CELSIUS
from claw.core.untrusted import clean_name
from claw.home.capabilities import ALARM, BRIGHTNESS, LOCK, MEDIA, POSITION, SETPOINT, VOLUME, Capability
from claw.home.control import Applied, Change
from claw.home.device import KIND_WORDS
from claw.home.house import Home
from claw.home.targeting import Target, kind_of

# What set_value may set: the common writable capabilities, described once in claw.home.capabilities.
SETTABLE = (BRIGHTNESS, SETPOINT, POSITION, VOLUME, ALARM, LOCK)


def _setting_words(cap: Capability) -> str:
    """ "brightness (0-100 %)", "mode (disarmed/home/away/night)": a setting as the model reads it."""
    if cap.type == "number":
        return f"{cap.key} ({cap.min:g}-{cap.max:g} {cap.unit})".replace(" )", ")")
    if cap.type == "choice":
        return f"{cap.key} ({'/'.join(cap.options)})"
    return f"{cap.key} (true/false)"


TARGET_PROPS: dict[str, Any] = {
    "name": {"type": "string", "description": "device name or alias"},
    "room": {"type": "string"},
    "kind": {"type": "string", "enum": sorted(KIND_WORDS)},
}


def _target(name: str = "", room: str = "", kind: str = "") -> Target:
    return Target(name=name, room=room, kind=kind_of(kind) or kind if kind else "")


# The model reads its tools' results in English, whatever language it answers in, and in °C, as its schema says.
TOOL_LANGUAGE = "en"


def _said(applied: Applied) -> str:
    with said_in(CELSIUS):
        return say_results(applied.results, applied.change, TOOL_LANGUAGE)


# State fields a device fills with text from elsewhere (what a speaker plays): untrusted once read.
FREE_TEXT = ("title", "artist", "album", "station", "track", "uri", "creator")


def add_home_tools(tools: Tools, home: Home) -> None:
    async def home_state(name: str = "", room: str = "", kind: str = "") -> Any:
        target = _target(name, room, kind)
        devices = home.actions.resolver().resolve(target) if (name or room or kind) else home.registry.devices()
        playing = [(d, k) for d in devices[:40] for k in FREE_TEXT if isinstance(d.state.get(k), str) and d.state[k]]
        if playing:  # a track title is anyone's words: it may inform, not act
            receipt = current_request().receipt
            device, key = playing[0]
            said = clean_name(str(device.state[key]), 60)
            receipt.tainted, receipt.tainted_by = True, receipt.tainted_by or f"the {key} '{said}' on {device.name}"
        return [
            {
                "name": d.name,
                "room": d.room,
                "kind": d.kind,
                "available": d.available,
                "state": d.state,
                **(
                    {"actions": acts}
                    if (acts := [o for c in d.capabilities if c.type == "action" for o in (c.options or (c.key,))])
                    else {}
                ),
            }
            for d in devices[:40]
        ]

    async def turn_on_off(on: bool, name: str = "", room: str = "", kind: str = "") -> str:
        return _said(await home.actions.change(_target(name, room, kind), Change(power=on), current_request()))

    async def set_value(setting: str, value: Any, name: str = "", room: str = "", kind: str = "") -> str:
        change = Change(values={setting: value})
        return _said(await home.actions.change(_target(name, room, kind), change, current_request()))

    async def media(
        action: str, name: str = "", room: str = "", query: str = "", uri: str = "", group_with: str = ""
    ) -> str:
        params = {k: v for k, v in (("query", query), ("uri", uri), ("with", group_with)) if v}
        target = _target(name, room, "" if name else "speaker")
        return _said(await home.actions.change(target, Change(action=action, params=params), current_request()))

    async def device_action(
        action: str, name: str = "", room: str = "", kind: str = "", params: dict[str, Any] | None = None
    ) -> str:
        change = Change(action=action, params=dict(params or {}))
        return _said(await home.actions.change(_target(name, room, kind), change, current_request()))

    async def run_routine(name: str) -> str:
        routine = home.routines.get(name)
        if routine is None:
            known = ", ".join(r.name for r in home.routines.all())
            return f"No routine called '{name}'. Routines: {known}."
        outcome = await home.actions.routine(routine, current_request())
        with said_in(CELSIUS):
            return say_routine(outcome, TOOL_LANGUAGE)

    async def manage_device(
        name: str, new_name: str = "", new_room: str = "", add_alias: str = "", ignore: bool | None = None
    ) -> str:
        devices = home.actions.resolver().resolve(Target(name=name))
        if len(devices) != 1:
            return f"'{name}' matches {len(devices)} devices; be more specific."
        device = devices[0]
        changes: dict[str, Any] = {}
        if new_name:
            changes["name"] = new_name
            changes["aliases"] = tuple(dict.fromkeys([*device.aliases, device.name]))
        if new_room:
            changes["room"] = new_room
        if add_alias:
            changes["aliases"] = tuple(dict.fromkeys([*changes.get("aliases", device.aliases), add_alias]))
        if ignore is not None:
            changes["ignored"] = ignore
        if not changes:
            return "Nothing to change."
        await home.registry.update(device, **changes)
        return f"Updated {device.name}: " + ", ".join(f"{k}={v}" for k, v in changes.items() if k != "aliases")

    def target_schema(required: list[str], extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {**extra, **TARGET_PROPS},
            "required": required,
            "additionalProperties": False,
        }

    tools.add(
        Tool(
            "home_state",
            "Live state of devices, filtered by name, room or kind (all if none).",
            target_schema([], {}),
            home_state,
        )
    )
    tools.add(
        Tool(
            "turn_on_off",
            "Turn devices on or off (shades/garage/gate: open or close). Give a name, room or kind; never guess one.",
            target_schema(["on"], {"on": {"type": "boolean"}}),
            turn_on_off,
            effect="acts",
        )
    )
    tools.add(
        Tool(
            "set_value",
            "Set " + "; ".join(_setting_words(c) for c in SETTABLE) + ".",
            target_schema(
                ["setting", "value"],
                {
                    "setting": {"type": "string", "enum": [c.key for c in SETTABLE]},
                    "value": {"type": ["number", "string", "boolean"]},
                },
            ),
            set_value,
            effect="acts",
        )
    )
    tools.add(
        Tool(
            "media",
            "Control speakers: " + ", ".join(MEDIA.options) + " (play_favorite takes a query, play_uri a uri, "
            "join a group_with speaker).",
            target_schema(
                ["action"],
                {
                    "action": {"type": "string", "enum": list(MEDIA.options)},
                    "query": {"type": "string"},
                    "uri": {"type": "string"},
                    "group_with": {"type": "string"},
                },
            ),
            media,
            effect="acts",
        )
    )
    tools.add(
        Tool(
            "device_action",
            "Run a device's named action from its skill (e.g. load_preset, identify); home_state lists them.",
            target_schema(["action"], {"action": {"type": "string"}, "params": {"type": "object"}}),
            device_action,
            effect="acts",
        )
    )
    tools.add(
        Tool(
            "run_routine",
            "Run a named routine (see the list in the home overview).",
            {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
                "additionalProperties": False,
            },
            run_routine,
            effect="acts",
        )
    )
    tools.add(
        Tool(
            "manage_device",
            "Rename a device, move it to a room, add an alias, or ignore it.",
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "new_name": {"type": "string"},
                    "new_room": {"type": "string"},
                    "add_alias": {"type": "string"},
                    "ignore": {"type": "boolean"},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
            manage_device,
            effect="manages",
        )
    )
