"""Structured decisions: the model's choice constrained to a JSON schema built from the live home.

The schema lists the actions Claw offers and the home's own device, room and kind names, so a small model
can only propose a well-formed intent; the intent becomes the same tool call any model would make, and
goes through the same grounding, target resolver, Guard and authority checks. The model never sees or
names a device id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.llm import ToolCall
from claw.assistant.llm_openai import parse_arguments
from claw.assistant.understanding import Vocabulary
from claw.home.capabilities import ALARM, BRIGHTNESS, LOCK, POSITION, SETPOINT, VOLUME

SETTINGS = tuple(c.key for c in (BRIGHTNESS, SETPOINT, POSITION, VOLUME, ALARM, LOCK))
HOME_TOOLS = {"turn_on_off", "set_value", "home_state", "run_routine"}  # what the schema's home actions become
GUIDANCE = (
    "Answer with one JSON decision. action: reply (just talk; text is your short answer), turn_on, turn_off, "
    "set (a setting to a value), check (read the live state), run_routine, or use_tool (another tool, with its "
    'arguments). device, room, kind: exactly as the home names them, or "" for what the owner did not say. '
    "Act only on what the owner asked for; if unsure which device, reply with a question."
)
# A decision cut short ({"action": "set", "device": "Desk La…): the fields it got to, read for a question.
_TEXT = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)')
_FIELD = re.compile(r'"(action|device|room|kind|setting|routine|tool)"\s*:\s*"([^"]*)"')


@dataclass(frozen=True, slots=True)
class Decision:
    """What a decision amounts to: tool calls to make, or a reply to say (or neither: unreadable).

    `wanted`: an action the model chose but could not be carried out as said (no target, cut short): Claw asks
    which device the owner means; the model's own words about it are never said (they tell of what did not happen).
    """

    calls: tuple[ToolCall, ...] = ()
    text: str = ""
    readable: bool = True
    wanted: ToolCall | None = None


def schema(home: Vocabulary, tools: Sequence[str], choices: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON schema of one decision for this home: one shape per action, each with only the fields it needs
    (a reply has no device; a setting has its value), so a small model cannot leave out what the action needs.
    A value is a number, true/false, or one of the home's `choices` (modes such as "cool" or "away"). Other tools
    are offered through use_tool."""
    routines = sorted({r.name for r in home.routines})
    others = sorted(set(tools) - HOME_TOOLS)
    target: dict[str, Any] = {
        "device": {"type": "string", "enum": ["", *sorted({e.name for e in home.entities})]},
        "room": {"type": "string", "enum": ["", *sorted({a.name for a in home.areas})]},
        "kind": {"type": "string", "enum": ["", *sorted({e.kind for e in home.entities})]},
    }
    shapes = [
        _shape({"action": {"const": "reply"}, "text": {"type": "string"}}),
        _shape({"action": {"type": "string", "enum": ["turn_on", "turn_off"]}, **target}),
        _shape(
            {
                "action": {"const": "set"},
                **target,
                "setting": {"type": "string", "enum": list(SETTINGS)},
                "value": {"anyOf": [{"type": "number"}, {"type": "boolean"}, *_choices(choices)]},
            }
        ),
        _shape({"action": {"const": "check"}, **target}),
    ]
    if routines:
        shapes.append(_shape({"action": {"const": "run_routine"}, "routine": {"type": "string", "enum": routines}}))
    if others:
        shapes.append(
            _shape(
                {
                    "action": {"const": "use_tool"},
                    "tool": {"type": "string", "enum": others},
                    "arguments": {"type": "object"},
                }
            )
        )
    return {"anyOf": shapes}


def _choices(choices: Sequence[str]) -> list[dict[str, Any]]:
    return [{"type": "string", "enum": sorted(set(choices))}] if choices else []


def reply_only() -> dict[str, Any]:
    """The decision after a read: only a reply, from what was read (a question is never answered by acting)."""
    return _shape({"action": {"const": "reply"}, "text": {"type": "string"}})


def _shape(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def tools_note(schemas: Sequence[Mapping[str, Any]]) -> str:
    """The tools outside the home actions, one line each, for use_tool (kept short: it is in every prompt)."""
    lines = []
    for s in schemas:
        function = s.get("function") or {}
        name = str(function.get("name") or "")
        if name and name not in HOME_TOOLS:
            args = ", ".join((function.get("parameters") or {}).get("properties") or {})
            lines.append(f"- {name}({args}): {str(function.get('description') or '')[:120]}")
    return "Tools for use_tool:\n" + "\n".join(lines) if lines else ""


def read(content: str, known_tools: Sequence[str]) -> Decision:
    """The decision in a model's answer; unreadable when it is not one (then the answer is taken as text)."""
    if "{" not in content:
        return Decision(readable=False)
    data = parse_arguments(content)
    if not data and content.lstrip().startswith("{"):  # cut short: what it got to, never to act on
        data = dict(_FIELD.findall(content))
        action = str(data.get("action") or "").strip().lower()
        if action == "reply":
            return Decision(text=_cut_text(content))
        return Decision(wanted=_wanted(action, data)) if action else Decision()
    action = str(data.get("action") or "").strip().lower()
    if not action:
        return Decision(readable=False)
    text = str(data.get("text") or "").strip()
    if action == "reply":
        return Decision(text=text)
    target = _target(data)
    call: ToolCall | None = None
    if action in ("turn_on", "turn_off") and target:
        call = ToolCall("turn_on_off", {"on": action == "turn_on", **target})
    elif action == "set" and target and data.get("setting") and data.get("value") not in (None, ""):
        call = ToolCall("set_value", {"setting": data["setting"], "value": data["value"], **target})
    elif action == "check":
        call = ToolCall("home_state", target)
    elif action == "run_routine" and data.get("routine"):
        call = ToolCall("run_routine", {"name": str(data["routine"])})
    elif action == "use_tool" and str(data.get("tool") or "") in known_tools:
        arguments = data.get("arguments")
        call = ToolCall(str(data["tool"]), arguments if isinstance(arguments, dict) else {})
    if call is not None and call.name in known_tools:
        return Decision(calls=(call,))
    return Decision(wanted=_wanted(action, data))  # an action Claw cannot carry out as said: ask, never claim it


def _cut_text(content: str) -> str:
    """The reply's text as far as a decision cut short got ("Raindrops fall…")."""
    found = _TEXT.search(content)
    if found is None:
        return ""
    try:
        return str(json.loads(f'"{found.group(1).rstrip(chr(92))}"')).strip()
    except ValueError:
        return ""


def _target(data: Mapping[str, Any]) -> dict[str, str]:
    target = {k: str(data.get(f) or "").strip() for k, f in (("name", "device"), ("room", "room"), ("kind", "kind"))}
    return {k: v for k, v in target.items() if v}


def _wanted(action: str, data: Mapping[str, Any]) -> ToolCall:
    """The tool an action meant, with what the model said of it: the question names what would do it."""
    if action in ("turn_on", "turn_off"):
        return ToolCall("turn_on_off", {"on": action == "turn_on", **_target(data)})
    if action == "set":
        setting = {"setting": str(data["setting"])} if data.get("setting") else {}
        return ToolCall("set_value", {**setting, **_target(data)})
    return ToolCall({"check": "home_state", "run_routine": "run_routine"}.get(action, "device_action"), _target(data))
